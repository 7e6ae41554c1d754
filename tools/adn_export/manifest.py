"""manifest.txt, the seal of a bundle (docs/MODELS.md §1).

adn_model_load checks every module file against it in C before libtorch reads a byte, so the
format is a few space-separated lines rather than JSON:

    adn-manifest 1
    exporter adn-export 0.3.0
    file encoder.pt 14057696 <sha256 hex>
    attr encoder.pt adn_kind encoder
    ...
    end

Every bundle write_bundle() makes is sealed; `adn-export --seal DIR` seals a hand-made one.
Sealing is a statement that the bundle is trusted: it records what is there, it does not vet it.
"""
import hashlib
import os
import stat

from . import __version__
from .errors import ExportError

MANIFEST_FILE = "manifest.txt"
FORMAT = 1
MODULE_FILES = ("encoder.pt", "decoder.pt", "depth.pt")
REQUIRED_FILES = ("encoder.pt", "decoder.pt")
# The contract attributes of each module (docs/MODELS.md §1) and their types.
CONTRACT = {
    "encoder.pt": (("adn_kind", str), ("adn_channels", int), ("adn_downsample", int), ("adn_receptive_field", int)),
    "decoder.pt": (("adn_kind", str), ("adn_channels", int), ("adn_upsample", int), ("adn_receptive_field", int)),
    "depth.pt": (("adn_kind", str), ("adn_output", str)),
}
# What the C reader takes (lib/manifest.c): a string value fits in 31 bytes, no spaces.
_MAX_STRING = 31
_HEADER = ("# libadain_dcs bundle manifest (docs/MODELS.md).  adn_model_load checks every module\n"
           "# against it before libtorch reads a byte; rewrite it with `adn-export --seal DIR`.\n")


def file_record(path):
    """(size in bytes, SHA-256 hex) of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _is_token(value):
    return 0 < len(value) <= _MAX_STRING and all(0x20 < ord(c) < 0x7f for c in value)


def module_attributes(module, name):
    """The contract attributes a loaded module declares with the right type, as the C++ shim
    will read them (an int attribute that is a bool or a str does not count)."""
    found = {}
    for attr, kind in CONTRACT[name]:
        if not hasattr(module, attr):
            continue
        value = getattr(module, attr)
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            found[attr] = value
        elif kind is str and isinstance(value, str):
            if not _is_token(value):
                raise ExportError(f"cannot seal {name}: attribute {attr} = {value!r} is not one word of at most "
                                  f"{_MAX_STRING} printable characters")
            found[attr] = value
    return found


def render(records, attributes):
    """The manifest text.  records: {file: (size, sha256)}; attributes: {file: {attr: value}}."""
    lines = [f"adn-manifest {FORMAT}", f"exporter adn-export {__version__}"]
    for name in MODULE_FILES:
        if name not in records:
            continue
        size, sha = records[name]
        lines.append(f"file {name} {size} {sha}")
        for attr, _ in CONTRACT[name]:
            if attr in attributes.get(name, {}):
                lines.append(f"attr {name} {attr} {attributes[name][attr]}")
    lines.append("end")
    return _HEADER + "\n".join(lines) + "\n"


def _fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(directory, attributes, names=None):
    """Writes manifest.txt for the module files `names` of directory (default: those present),
    hashing them as they are now; atomically (temporary file, fsync, rename)."""
    names = [n for n in MODULE_FILES if os.path.exists(os.path.join(directory, n))] if names is None else list(names)
    records = {name: file_record(os.path.join(directory, name)) for name in names}
    path = os.path.join(directory, MANIFEST_FILE)
    try:
        with open(path + ".tmp", "w") as f:
            f.write(render(records, attributes))
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + ".tmp", path)
        _fsync_directory(directory)
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None


def _check_module_file(directory, name):
    path = os.path.join(directory, name)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if name in REQUIRED_FILES:
            raise ExportError(f"cannot seal {directory}: {name} is missing") from None
        return False
    except OSError as e:
        raise ExportError(f"cannot seal {directory}: {name}: {e.strerror or e}") from None
    if not stat.S_ISREG(mode):
        raise ExportError(f"cannot seal {directory}: {name} is not a regular file")
    return True


def seal(directory):
    """`adn-export --seal DIR`: loads each module with torch to read its attributes (a module
    torch cannot load is refused) and writes manifest.txt."""
    import torch
    if not os.path.isdir(directory):
        raise ExportError(f"cannot seal {directory}: not a directory")
    names = [n for n in MODULE_FILES if _check_module_file(directory, n)]
    attributes = {}
    for name in names:
        path = os.path.join(directory, name)
        try:
            module = torch.jit.load(path, map_location="cpu")
        except Exception as e:
            lines = str(e).strip().splitlines()
            raise ExportError(f"cannot seal {directory}: {name} is not a loadable TorchScript file: "
                              f"{lines[0] if lines else type(e).__name__}") from None
        attributes[name] = module_attributes(module, name)
    write_manifest(directory, attributes, names)


def read_manifest(directory):
    """The manifest as {"format", "exporter", "files": {name: (size, sha)}, "attrs": {name: {..}}}
    (for tests and tools; the library has its own reader in C)."""
    result = {"format": None, "exporter": None, "files": {}, "attrs": {}}
    with open(os.path.join(directory, MANIFEST_FILE)) as f:
        for line in f:
            fields = line.rstrip("\n").split(" ")
            if not fields[0] or fields[0].startswith("#"):
                continue
            if fields[0] == "adn-manifest":
                result["format"] = int(fields[1])
            elif fields[0] == "exporter":
                result["exporter"] = " ".join(fields[1:])
            elif fields[0] == "file":
                result["files"][fields[1]] = (int(fields[2]), fields[3])
            elif fields[0] == "attr":
                value = fields[3]
                result["attrs"].setdefault(fields[1], {})[fields[2]] = int(value) if value.lstrip("-").isdigit() else value
    return result
