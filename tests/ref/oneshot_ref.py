#!/usr/bin/python3
"""One stylization as a whole process, the way pytorch-AdaIN's test.py does it: for timing a
one-shot `adn-stylize` against the reference process (docs/PERFORMANCE.md, "Start-up").

usage: oneshot_ref.py --bundle DIR --content FILE --style FILE --out FILE.png [--threads N]

Imports torch, builds net.py's encoder and decoder (nn.ReflectionPad2d, eager float32) from the
bundle's weight files, loads its depth.pt, reads both images with PIL at their own size, and
writes the stylized PNG: the same work as `adn-stylize --models DIR --content FILE --style FILE
--out FILE.png` (depth from the network, alpha 1, depth range 0..1).
"""
import argparse
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import method_ref as mr  # noqa: E402
from bench_ref import EagerReference  # noqa: E402


def read_rgb(path):
    """3 x H x W float32 in [0,1]."""
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("--bundle", "--content", "--style", "--out"):
        ap.add_argument(name, required=True)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    torch.set_grad_enabled(False)
    reference = EagerReference(args.bundle)
    content, style = read_rgb(args.content), read_rgb(args.style)
    fs = reference.features(style)
    mean, std = mr.channel_stats(fs.reshape(fs.shape[0], -1))
    grid = reference.features(content)
    _, range_grid = reference.ref._range_grid(content, "auto", None, False, None, 0.0, 1.0)
    fc = grid.reshape(grid.shape[0], -1)
    f = mr.blend(mr.adain(fc, mean, std), fc, mr.strength_map(1.0, range=range_grid, n=fc.shape[1]))
    out = reference.decoder(f.reshape(grid.shape).to(torch.float32)[None])[0]
    out = out[:, :content.shape[1], :content.shape[2]].clamp(0, 1)
    pixels = (out.permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    Image.fromarray(pixels).save(args.out)


if __name__ == "__main__":
    main()
