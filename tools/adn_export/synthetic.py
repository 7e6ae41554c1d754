"""Seeded stand-ins for the published weight files, with exactly their key names, shapes and
torch file formats, so that the whole tool chain can be tested where the real files cannot be
downloaded.

Scaling (why the values look the way they do):
- VGG layer 0 is the real conversion [0,1] RGB -> BGR x 255 - ImageNet mean, so the 3x3 layers see
  inputs of magnitude ~100 as in the real network.
- All other convolutions are He-normal (std sqrt(2 / fan_in)), which keeps the mean square of
  ReLU activations roughly constant: relu4_1 features stay O(1)..O(100).
- The decoder's first layer is divided by the RMS of relu4_1 features of a seeded calibration
  image, so decoder activations are O(1); its last layer is rescaled per channel so that the
  calibration image decodes to mean 0.5, std 0.15: photographs decode to roughly [-0.5, 1.5].
"""
import collections
import os

import torch
from torch import nn
import torch.nn.functional as F

from . import layouts, networks

SOURCE_DIR = "source"
VGG_FILE = "vgg_normalised.pth"
VGG_ZIP_FILE = "vgg_normalised_zip.pth"
DECODER_FILE = "decoder.pth"
DEPTH_FILE = "model-small-traced.pt"

_CALIBRATION_SIZE = 64
# Std 0.15 on the smooth calibration image gives about 0.3 on photographs (more detail).
_OUTPUT_MEAN, _OUTPUT_STD = 0.5, 0.15


def _he_normal(shape, generator):
    fan_in = shape[1] * shape[2] * shape[3]
    return torch.randn(shape, generator=generator) * (2.0 / fan_in) ** 0.5


def vgg_state(generator):
    """Full vgg_normalised.pth state dict (all 17 convolutions, official key order)."""
    state = collections.OrderedDict()
    weight0 = torch.zeros(3, 3, 1, 1)
    for bgr_channel, rgb_channel in enumerate((2, 1, 0)):
        weight0[bgr_channel, rgb_channel] = 255.0
    state["0.weight"] = weight0
    state["0.bias"] = -torch.tensor(layouts.VGG_BGR_MEAN)
    for index, c_out, c_in, k in layouts.VGG_CONVS[1:]:
        state[f"{index}.weight"] = _he_normal((c_out, c_in, k, k), generator)
        state[f"{index}.bias"] = torch.randn(c_out, generator=generator)
    return state


def calibration_image(generator):
    """A smooth seeded colour image (bilinearly enlarged 8x8 noise), like a photo's statistics
    more than white noise is."""
    coarse = torch.rand(1, 3, 8, 8, generator=generator)
    return F.interpolate(coarse, size=(_CALIBRATION_SIZE, _CALIBRATION_SIZE), mode="bilinear",
                         align_corners=False)


def decoder_state(generator, vgg):
    """decoder.pth state dict scaled on the relu4_1 features of a calibration image."""
    state = collections.OrderedDict()
    for index, c_out, c_in in layouts.DECODER_CONVS:
        state[f"{index}.weight"] = _he_normal((c_out, c_in, 3, 3), generator)
        state[f"{index}.bias"] = torch.randn(c_out, generator=generator) * 0.05
    last = layouts.DECODER_LAST
    state[f"{last}.bias"] = torch.zeros(3)
    with torch.no_grad():
        features = networks.vgg_layers(vgg)(calibration_image(generator))
        first = layouts.DECODER_CONVS[0][0]
        state[f"{first}.weight"] /= features.pow(2).mean().sqrt().clamp_min(1e-6)
        raw = networks.decoder_layers(state)(features)
    mean = raw.mean(dim=(0, 2, 3))
    std = raw.std(dim=(0, 2, 3)).clamp_min(1e-6)
    gain = _OUTPUT_STD / std
    state[f"{last}.weight"] *= gain.view(3, 1, 1, 1)
    state[f"{last}.bias"] = _OUTPUT_MEAN - gain * mean
    return state


class MidasLike(nn.Module):
    """A tiny network shaped like MiDaS small from the outside: input a multiple of 32 on each
    side, five stride-2 stages, align_corners bilinear x32 upsampling, a head that also sees the
    input, positive output squeezed to [N, H, W] (relative inverse depth)."""

    def __init__(self):
        super().__init__()
        widths = (3, 8, 16, 16, 16, 16)
        stages = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            stages += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU()]
        self.encoder = nn.Sequential(*stages)
        self.head = nn.Conv2d(widths[-1] + 3, 1, 3, padding=1)

    def forward(self, x):
        coarse = F.interpolate(self.encoder(x), scale_factor=32.0, mode="bilinear", align_corners=True)
        return F.softplus(self.head(torch.cat([coarse, x], dim=1))).squeeze(1)


def midas_like(generator):
    """MidasLike with seeded He-normal weights, traced like model-small-traced.pt (at 256x256)."""
    net = MidasLike().eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.copy_(_he_normal(tuple(module.weight.shape), generator))
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
        return torch.jit.trace(net, torch.rand(1, 3, 256, 256, generator=generator))


def write_sources(seed, source_dir):
    """Writes the four stand-in files into source_dir; returns their paths by role."""
    generator = torch.Generator().manual_seed(seed)
    vgg = vgg_state(generator)
    decoder = decoder_state(generator, vgg)
    depth = midas_like(generator)
    os.makedirs(source_dir, exist_ok=True)
    paths = {role: os.path.join(source_dir, name) for role, name in
             (("vgg", VGG_FILE), ("vgg_zip", VGG_ZIP_FILE), ("decoder", DECODER_FILE),
              ("depth", DEPTH_FILE))}
    # The published files use the legacy (pre-1.6, non-zip) format; the zip copy tests the other.
    torch.save(vgg, paths["vgg"], _use_new_zipfile_serialization=False)
    torch.save(vgg, paths["vgg_zip"], _use_new_zipfile_serialization=True)
    torch.save(decoder, paths["decoder"], _use_new_zipfile_serialization=False)
    depth.save(paths["depth"])
    return paths
