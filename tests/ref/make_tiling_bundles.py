#!/usr/bin/python3
"""Writes the two bundles of the tiling tests (tests/test_tiling.c) whose adn_receptive_field is
not what tools/adn-export writes:

usage: make_tiling_bundles.py SYNTHETIC_BUNDLE OUTPUT_DIR STAMP

  no_receptive_field    an 8x8 space-to-depth pair that declares no adn_receptive_field (a bundle
                        exported before the attribute existed): tiling must be refused
  understated_field     the synthetic VGG encoder and decoder declaring adn_receptive_field = 8
                        instead of 30, so the halo is 1 feature pixel instead of 4: tiles must
                        then show seams, which proves the tiling test can fail

Both are sealed (tools/adn_export/manifest.py) like every exported bundle.
"""
import os
import shutil
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "tools"))
sys.dont_write_bytecode = True
from adn_export import manifest as seal  # noqa: E402


class SpaceToDepth(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.adn_kind = "encoder"
        self.adn_channels = 192
        self.adn_downsample = 8

    def forward(self, x):
        return F.pixel_unshuffle(x, 8)


class DepthToSpace(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.adn_kind = "decoder"
        self.adn_channels = 192
        self.adn_upsample = 8

    def forward(self, f):
        return F.pixel_shuffle(f, 8)


def fresh_directory(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)


def no_receptive_field(out):
    fresh_directory(out)
    torch.jit.script(SpaceToDepth()).save(os.path.join(out, "encoder.pt"))
    torch.jit.script(DepthToSpace()).save(os.path.join(out, "decoder.pt"))
    seal.seal(out)


def understated_field(synthetic, out):
    fresh_directory(out)
    for name in ("encoder.pt", "decoder.pt"):
        module = torch.jit.load(os.path.join(synthetic, name))
        module._c.setattr("adn_receptive_field", 8)
        module.save(os.path.join(out, name))
    seal.seal(out)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    synthetic, out, stamp = sys.argv[1:]
    no_receptive_field(os.path.join(out, "no_receptive_field"))
    understated_field(synthetic, os.path.join(out, "understated_field"))
    with open(stamp, "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
