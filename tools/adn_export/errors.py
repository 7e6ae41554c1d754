"""The one exception type the export tool reports to the user (message only, no traceback)."""


class ExportError(Exception):
    """A problem with the user's input files or options; str(error) is the whole message."""
