"""Reading pytorch-AdaIN state-dict files (legacy non-zip and zip torch formats) with checks.

Every problem becomes an ExportError whose message names the file and what is wrong, so that the
command line can print one line instead of a traceback.
"""
import os
import pickle
import warnings

import torch

from .errors import ExportError
from . import layouts

_MAX_LISTED = 6


def _listing(keys):
    keys = list(keys)
    text = ", ".join(keys[:_MAX_LISTED])
    return text + (f" and {len(keys) - _MAX_LISTED} more" if len(keys) > _MAX_LISTED else "")


def check_readable(path):
    if not os.path.exists(path):
        raise ExportError(f"cannot read {path}: no such file")
    if os.path.isdir(path):
        raise ExportError(f"cannot read {path}: it is a directory")
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as e:
        raise ExportError(f"cannot read {path}: {e.strerror or e}") from None
    if os.path.getsize(path) == 0:
        raise ExportError(f"cannot read {path}: the file is empty")


def _format_name(path):
    """torch writes zip archives since 1.6 and a bare pickle stream before ("legacy"); a zip
    archive starts with a local-file header even when it is truncated."""
    with open(path, "rb") as f:
        return "zip" if f.read(4) == b"PK\x03\x04" else "legacy"


def _torch_load(path):
    """torch.load restricted to tensors and plain containers (weights_only: a downloaded weight
    file must not be able to run code)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch wraps every failure of the restricted unpickler in one message; the part after
        # "WeightsUnpickler error:" says whether the file is damaged or holds other objects.
        detail = _first_line(str(e).split("WeightsUnpickler error:", 1)[-1])
        if detail.startswith("Unsupported"):
            raise ExportError(
                f"{path} holds pickled Python objects, not a plain state dict of tensors "
                f"(a whole saved model?); save model.state_dict() instead ({detail})") from None
        reason = detail
    except Exception as e:  # torch raises many types for damaged archives; all mean the same here
        reason = _first_line(e)
    raise ExportError(f"{path} is not a readable PyTorch file ({_format_name(path)} format; corrupt "
                      f"or truncated?): {reason}")


def _first_line(error):
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def load_state_dict(path):
    """Loads a file written by torch.save(state_dict) in either torch format.
    Returns {key: float32 tensor}.  Raises ExportError for anything else."""
    check_readable(path)
    obj = _torch_load(path)
    if isinstance(obj, torch.jit.ScriptModule):
        raise ExportError(f"{path} is a TorchScript module, not a state dict")
    if isinstance(obj, torch.Tensor):
        raise ExportError(f"{path} holds a single tensor, not a state dict")
    if not isinstance(obj, dict):
        raise ExportError(f"{path} does not hold a state dict (found a {type(obj).__name__})")
    state = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise ExportError(f"{path} does not hold a state dict (key {key!r} is not a string)")
        if not isinstance(value, torch.Tensor):
            raise ExportError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor "
                              "(is this a checkpoint that wraps the state dict?)")
        state[key] = value
    return state


def _vgg_is_ignored(key):
    """Keys of layers past relu4_1 (index >= 32) belong to the file but not to the encoder."""
    index = key.split(".", 1)[0]
    return index.isdigit() and int(index) >= layouts.VGG_FIRST_IGNORED_INDEX


def check_layout(state, expected, path, layout_name, ignore=lambda key: False):
    """Checks that `state` has exactly the keys of `expected` (apart from ignored ones) with the
    expected shapes, floating point and finite.  Returns {key: float32 tensor} of the used keys."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected and not ignore(k)]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing key(s) {_listing(missing)}")
        if unexpected:
            parts.append(f"unexpected key(s) {_listing(unexpected)}")
        raise ExportError(f"{path} is not a {layout_name} state dict: " + "; ".join(parts))
    used = {}
    for key, shape in expected.items():
        tensor = state[key]
        if tuple(tensor.shape) != tuple(shape):
            raise ExportError(f"{path}: {key} has shape {tuple(tensor.shape)}, expected {tuple(shape)} "
                              f"({layout_name} layout)")
        if not tensor.is_floating_point():
            raise ExportError(f"{path}: {key} has dtype {tensor.dtype}, expected floating point")
        tensor = tensor.detach().to(torch.float32).contiguous()
        if not torch.isfinite(tensor).all():
            raise ExportError(f"{path}: {key} contains NaN or infinite values")
        used[key] = tensor
    return used


def load_vgg(path):
    """The encoder part (keys < 32) of a pytorch-AdaIN vgg_normalised.pth."""
    state = load_state_dict(path)
    # Keys >= 32 are ignored whatever their shape: they are not part of the encoder.
    expected = layouts.vgg_expected_shapes(include_ignored=False)
    return check_layout(state, expected, path, "pytorch-AdaIN vgg_normalised", ignore=_vgg_is_ignored)


def load_decoder(path):
    """A pytorch-AdaIN decoder.pth."""
    state = load_state_dict(path)
    return check_layout(state, layouts.decoder_expected_shapes(), path, "pytorch-AdaIN decoder")
