#!/usr/bin/python3
"""Writes broken model bundles for the error-path tests of adn_model_load.

usage: make_bad_bundles.py OUTPUT_DIR STAMP

Each sub-directory is one defect (the test expects ADN_ERR_MODEL and a message naming the file):
  missing_encoder   decoder.pt only
  not_torchscript   encoder.pt is random bytes
  wrong_shape       the encoder downsamples by 4 while declaring 8
  channel_mismatch  encoder has 192 channels, decoder declares and takes 64
  missing_attr      the encoder lacks adn_channels
  bad_depth         depth.pt returns 3 channels
  empty_depth       depth.pt returns a map with no rows
  raising_depth     loads fine, but depth.pt raises "depth exploded" for inputs taller than 32
  truncated         encoder.pt cut in half
  nan_decoder       loads fine, but decoder.pt returns NaN for inputs taller than 32 (16 in the probe)
  nan_depth         loads fine, but depth.pt returns NaN for inputs taller than 32
"""
import os
import sys

import torch
import torch.nn.functional as F


class SpaceToDepth(torch.nn.Module):
    def __init__(self, factor: int, channels: int, declare_channels: bool = True):
        super().__init__()
        self.factor = factor
        if declare_channels:
            self.adn_channels = channels
        self.adn_downsample = 8
        self.adn_kind = "encoder"

    def forward(self, x):
        return F.pixel_unshuffle(x, self.factor)


class DepthToSpace(torch.nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.adn_channels = channels
        self.adn_upsample = 8
        self.adn_kind = "decoder"

    def forward(self, f):
        return F.pixel_shuffle(f[:, :192], 8)


class DepthContract(torch.nn.Module):
    """The attributes of a valid depth.pt; subclasses break the contract in forward()."""

    def __init__(self):
        super().__init__()
        self.adn_kind = "depth"
        self.adn_output = "depth"


class ThreeChannelDepth(DepthContract):
    def forward(self, x):
        return x


class EmptyDepth(DepthContract):
    def forward(self, x):
        return x[:, :1, :0, :]


class RaisingDepth(DepthContract):
    def forward(self, x):
        if x.shape[2] > 32:
            raise RuntimeError("depth exploded")
        return x[:, :1]


class NanDepth(DepthContract):
    def forward(self, x):
        d = x[:, :1]
        if x.shape[2] > 32:
            d = d * float("nan")
        return d


class NanDecoder(DepthToSpace):
    def forward(self, f):
        y = F.pixel_shuffle(f[:, :192], 8)
        if y.shape[2] > 32:
            y = y * float("nan")
        return y


def save(module, path):
    torch.jit.save(torch.jit.script(module), path)


def bundle(root, name):
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    return path


def main():
    root, stamp = sys.argv[1], sys.argv[2]
    good_encoder, good_decoder = SpaceToDepth(8, 192), DepthToSpace(192)

    save(good_decoder, os.path.join(bundle(root, "missing_encoder"), "decoder.pt"))

    d = bundle(root, "not_torchscript")
    with open(os.path.join(d, "encoder.pt"), "wb") as f:
        f.write(bytes(range(256)) * 4)
    save(good_decoder, os.path.join(d, "decoder.pt"))

    d = bundle(root, "wrong_shape")
    save(SpaceToDepth(4, 48), os.path.join(d, "encoder.pt"))
    save(DepthToSpace(48), os.path.join(d, "decoder.pt"))

    d = bundle(root, "channel_mismatch")
    save(good_encoder, os.path.join(d, "encoder.pt"))
    save(DepthToSpace(64), os.path.join(d, "decoder.pt"))

    d = bundle(root, "missing_attr")
    save(SpaceToDepth(8, 192, declare_channels=False), os.path.join(d, "encoder.pt"))
    save(good_decoder, os.path.join(d, "decoder.pt"))

    for name, depth in (("bad_depth", ThreeChannelDepth()), ("empty_depth", EmptyDepth()),
                        ("raising_depth", RaisingDepth()), ("nan_depth", NanDepth())):
        d = bundle(root, name)
        save(good_encoder, os.path.join(d, "encoder.pt"))
        save(good_decoder, os.path.join(d, "decoder.pt"))
        save(depth, os.path.join(d, "depth.pt"))

    d = bundle(root, "nan_decoder")
    save(good_encoder, os.path.join(d, "encoder.pt"))
    save(NanDecoder(192), os.path.join(d, "decoder.pt"))

    d = bundle(root, "truncated")
    save(good_encoder, os.path.join(d, "full.pt"))
    data = open(os.path.join(d, "full.pt"), "rb").read()
    os.remove(os.path.join(d, "full.pt"))
    with open(os.path.join(d, "encoder.pt"), "wb") as f:
        f.write(data[: len(data) // 2])
    save(good_decoder, os.path.join(d, "decoder.pt"))

    open(stamp, "w").write("ok\n")


if __name__ == "__main__":
    main()
