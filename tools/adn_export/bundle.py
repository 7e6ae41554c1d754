"""Writing a bundle directory and checking it the way the C++ shim will use it."""
import json
import os

import torch

from . import manifest as seal
from .errors import ExportError

ENCODER_FILE = "encoder.pt"
DECODER_FILE = "decoder.pt"
DEPTH_FILE = "depth.pt"
MANIFEST_FILE = "bundle.json"
BUNDLE_FORMAT = 1

# Sizes the finished modules are probed with: small, odd and one very elongated image.
_PROBE_SIZE = (16, 24)
_DEPTH_PROBE_SIZES = ((1, 1), (13, 17), (37, 53), (5, 301))


def _save_script(module, path, name):
    """torch.jit.script (not frozen, not optimized: the library does that after reading the
    attributes) and save to path."""
    try:
        scripted = torch.jit.script(module)
    except Exception as e:
        raise ExportError(f"cannot compile {name} to TorchScript: {str(e).strip().splitlines()[0]}") from None
    try:
        scripted.save(path)
    except (OSError, RuntimeError) as e:
        lines = str(e).strip().splitlines()
        raise ExportError(f"cannot write {path}: {lines[0] if lines else type(e).__name__}") from None


def _load(files, name):
    return torch.jit.load(files[name], map_location="cpu")


def _require_attr(module, name, attr, kind):
    if not hasattr(module, attr):
        raise ExportError(f"{name}: attribute {attr} is missing after saving")
    value = getattr(module, attr)
    if not isinstance(value, kind):
        raise ExportError(f"{name}: attribute {attr} is a {type(value).__name__}, expected {kind.__name__}")
    return value


def _probe_coders(files):
    """Runs encoder and decoder as the library will (fresh torch.jit.load, CPU)."""
    encoder, decoder = _load(files, ENCODER_FILE), _load(files, DECODER_FILE)
    channels = _require_attr(encoder, ENCODER_FILE, "adn_channels", int)
    down = _require_attr(encoder, ENCODER_FILE, "adn_downsample", int)
    up = _require_attr(decoder, DECODER_FILE, "adn_upsample", int)
    if _require_attr(decoder, DECODER_FILE, "adn_channels", int) != channels or up != down:
        raise ExportError("encoder and decoder do not match (channels or scale factor)")
    height, width = _PROBE_SIZE
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = encoder(x)
        if tuple(features.shape) != (1, channels, height // down, width // down):
            raise ExportError(f"{ENCODER_FILE}: a 1x3x{height}x{width} input gave {tuple(features.shape)}")
        image = decoder(features)
    if tuple(image.shape) != (1, 3, height, width):
        raise ExportError(f"{DECODER_FILE}: features {tuple(features.shape)} gave {tuple(image.shape)}")
    if not (torch.isfinite(features).all() and torch.isfinite(image).all()):
        raise ExportError("encoder or decoder produced non-finite values on a probe image")


def _probe_depth(files):
    depth = _load(files, DEPTH_FILE)
    output = _require_attr(depth, DEPTH_FILE, "adn_output", str)
    if output not in ("depth", "disparity"):
        raise ExportError(f"{DEPTH_FILE}: adn_output is {output!r}, expected 'depth' or 'disparity'")
    generator = torch.Generator().manual_seed(1)
    for height, width in _DEPTH_PROBE_SIZES:
        x = torch.rand(1, 3, height, width, generator=generator)
        try:
            with torch.no_grad():
                y = depth(x)
        except Exception as e:
            message = str(e).strip().splitlines()
            raise ExportError(f"the depth network fails on a 1x3x{height}x{width} image: "
                              f"{message[-1] if message else type(e).__name__}") from None
        if y.dim() != 4 or y.size(0) != 1 or y.size(1) != 1 or y.size(2) < 1 or y.size(3) < 1:
            raise ExportError(f"the depth network gave {tuple(y.shape)} for a 1x3x{height}x{width} "
                              "image, expected [1,1,h,w]")
        if not torch.isfinite(y).all():
            raise ExportError(f"the depth network gave non-finite values for a 1x3x{height}x{width} image")


def _prepare_directory(directory):
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create {directory}: {e.strerror or e}") from None
    if not os.access(directory, os.W_OK):
        raise ExportError(f"cannot write to {directory}: permission denied")


def write_bundle(directory, encoder, decoder, depth=None, manifest=None):
    """Writes encoder.pt, decoder.pt, depth.pt (or removes a stale one when depth is None),
    manifest.txt (the seal) and bundle.json into directory.  The modules are saved under temporary names, loaded back and
    probed, and only then renamed into place, so a failed export leaves no half-made bundle."""
    _prepare_directory(directory)
    modules = {ENCODER_FILE: encoder, DECODER_FILE: decoder}
    if depth is not None:
        modules[DEPTH_FILE] = depth
    staged = {name: os.path.join(directory, name + ".tmp") for name in modules}
    try:
        for name, module in modules.items():
            _save_script(module, staged[name], name)
        _probe_coders(staged)
        if depth is not None:
            _probe_depth(staged)
        for name, path in staged.items():
            os.replace(path, os.path.join(directory, name))
        if depth is None and os.path.exists(os.path.join(directory, DEPTH_FILE)):
            os.remove(os.path.join(directory, DEPTH_FILE))
    except OSError as e:
        raise ExportError(f"cannot write the bundle to {directory}: {e.strerror or e}") from None
    finally:
        for path in staged.values():
            if os.path.exists(path):
                os.remove(path)
    seal_bundle(directory, modules)
    write_manifest(directory, manifest or {})


def seal_bundle(directory, modules):
    """manifest.txt for the modules just written: their sizes and SHA-256 as they are on disk,
    and the contract attributes read back from the saved files (what the library will see)."""
    attributes = {name: seal.module_attributes(_load({name: os.path.join(directory, name)}, name), name)
                  for name in modules}
    seal.write_manifest(directory, attributes, list(modules))


def write_manifest(directory, fields):
    """bundle.json: informational record of how the bundle was made (the library does not read
    it; tests/ref/pipeline_ref.py reads "kind").  The seal the library checks is manifest.txt."""
    record = {"format": BUNDLE_FORMAT}
    record.update(fields)
    path = os.path.join(directory, MANIFEST_FILE)
    try:
        with open(path + ".tmp", "w") as f:
            json.dump(record, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(path + ".tmp", path)
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None


def read_manifest(directory):
    path = os.path.join(directory, MANIFEST_FILE)
    with open(path) as f:
        return json.load(f)
