"""adn_export: builds libadain_dcs model bundles (docs/MODELS.md).

A bundle is a directory holding encoder.pt, decoder.pt and optionally depth.pt, TorchScript
modules with the attributes the C++ shim reads (adn_kind, adn_channels, adn_downsample,
adn_upsample, adn_output).  The command-line entry point is tools/adn-export.
"""

from .errors import ExportError

__all__ = ["ExportError"]
