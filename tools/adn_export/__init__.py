"""adn_export: builds libadain_dcs model bundles (docs/MODELS.md).

A bundle is a directory holding encoder.pt, decoder.pt and optionally depth.pt, TorchScript
modules with the attributes the C++ shim reads (adn_kind, adn_channels, adn_downsample,
adn_upsample, adn_output), sealed by manifest.txt (sizes and SHA-256 of the modules, their
attributes, this version), which adn_model_load checks before libtorch reads a byte.  The
command-line entry point is tools/adn-export.
"""

from .errors import ExportError

# The libadain_dcs release this exporter belongs to (meson.build's project version; the tests
# check that the two agree).  Written into every manifest.txt.
__version__ = "0.3.0"

__all__ = ["ExportError", "__version__"]
