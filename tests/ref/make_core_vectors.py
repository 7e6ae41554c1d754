"""Writes seeded inputs and reference outputs (tests/ref/method_ref.py) for tests/test_core.c.

Usage: make_core_vectors.py OUTPUT

Every case is stored as "<function>/<index>/<name>"; tests/test_core.c walks the indices until one
is missing.  Inputs are rounded to float32 *before* the reference runs, so both sides see the
same numbers.  Scalars (eps, lo/hi, flags, block) are 1-element vectors.
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import method_ref as ref  # noqa: E402
from vecio import VectorWriter  # noqa: E402

EPS = float(np.float32(1e-5))  # the C side receives ADN_ADAIN_EPS as a float


def f32(x):
    """Rounds to float32 and returns it as a float64 tensor (the exact values the C code reads)."""
    return torch.as_tensor(np.asarray(x, dtype=np.float32)).to(torch.float64)


def features(gen, c, n, scale=20.0):
    """ReLU-like feature magnitudes: about half zeros, the rest up to `scale`, channel offsets."""
    x = torch.randn(c, n, generator=gen, dtype=torch.float64) * scale / 3 + torch.rand(c, 1, generator=gen) * 4
    return f32(torch.clamp(x, 0.0, scale))


def style_stats(gen, k, c):
    mean = f32(torch.rand(k, c, generator=gen, dtype=torch.float64) * 10)
    std = f32(torch.rand(k, c, generator=gen, dtype=torch.float64) * 8 + 0.1)
    return mean, std


class Cases:
    """Numbers the cases of one function in the order they are added."""

    def __init__(self, writer, function):
        self.writer, self.function, self.count = writer, function, 0

    def add(self, **arrays):
        for name, value in arrays.items():
            self.writer.add(f"{self.function}/{self.count}/{name}", value)
        self.count += 1


def stats_cases(w, gen):
    cases = Cases(w, "stats")
    inputs = [
        features(gen, 8, 101 * 67),                                    # odd size, real magnitudes
        features(gen, 4, 1),                                           # N = 1: variance 0
        f32([[3.0, 5.0]]),                                             # N = 2
        f32(torch.full((2, 50), 7.25, dtype=torch.float64)),           # constant: std = sqrt(eps)
        f32(1000.0 + torch.randn(3, 4096, generator=gen, dtype=torch.float64) * 1e-2),  # large offset
    ]
    for x in inputs:
        mean, std = ref.channel_stats(x, EPS)
        cases.add(x=x, eps=[EPS], mean=mean, std=std)

    masked = Cases(w, "stats_masked")
    x = features(gen, 6, 37 * 23)
    weights = [
        f32(torch.rand(37 * 23, generator=gen, dtype=torch.float64)),  # soft weights
        f32(torch.zeros(37 * 23)),                                     # empty region
        f32(torch.nn.functional.one_hot(torch.tensor(100), 37 * 23).double()),  # one pixel
        f32(torch.where(torch.arange(37 * 23) % 2 == 0, 0.5, 0.75)),   # 0.5 itself is outside
    ]
    for weight in weights:
        mean, std = ref.channel_stats_masked(x, weight, EPS)
        masked.add(x=x, weight=weight, eps=[EPS], mean=mean, std=std)


def adain_cases(w, gen):
    cases = Cases(w, "adain")
    for c, n in [(16, 64 * 48), (5, 1), (3, 13 * 9), (512, 8 * 8)]:
        x = features(gen, c, n)
        mean, std = style_stats(gen, 1, c)
        cases.add(x=x, style_mean=mean[0], style_std=std[0], eps=[EPS],
                  out=ref.adain(x, mean[0], std[0], EPS))

    interp = Cases(w, "interp")
    for c, n, weights in [(8, 32 * 24, [1.0]), (8, 32 * 24, [2.0, 1.0, 1.0]),
                          (6, 11 * 7, [0.0, 0.3, 0.0, 0.7]), (4, 1, [0.5, 0.5])]:
        x = features(gen, c, n)
        mean, std = style_stats(gen, len(weights), c)
        weights = f32(weights)
        interp.add(x=x, weights=weights, style_mean=mean, style_std=std, eps=[EPS],
                   out=ref.adain_interpolate(x, weights, mean, std, EPS))

    regions = Cases(w, "regions")
    h, wd = 24, 32
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(wd, dtype=torch.float64),
                            indexing="ij")
    left = torch.sigmoid((xx - 13.3) / 1.5).flatten()                 # soft left/right split
    hard = (yy < 10).double().flatten()
    mask_sets = [
        torch.stack([1 - left, left]),
        torch.stack([hard, 1 - hard, torch.zeros(h * wd, dtype=torch.float64)]),  # third region empty
        torch.stack([torch.full((h * wd,), 0.6, dtype=torch.float64),
                     torch.full((h * wd,), 0.4, dtype=torch.float64)]),            # only region 0 has pixels
    ]
    for masks in mask_sets:
        masks = f32(masks)
        x = features(gen, 7, h * wd)
        mean, std = style_stats(gen, masks.shape[0], 7)
        regions.add(x=x, masks=masks, style_mean=mean, style_std=std, eps=[EPS],
                    out=ref.adain_regions(x, masks, mean, std, EPS))


def depth_cases(w, gen):
    cases = Cases(w, "depth")
    ramp = f32(torch.rand(101 * 67, generator=gen, dtype=torch.float64) * 9.5 + 0.5)
    middlebury = ramp.clone()
    middlebury[torch.rand(ramp.shape, generator=gen) < 0.1] = 0.0
    specs = [  # depth, is_disparity, invalid value or None
        (ramp, False, None),
        (ramp, True, None),
        (f32(torch.full((40,), 3.5)), False, None),      # constant depth -> 0
        (f32(torch.full((40,), 3.5)), True, None),       # constant disparity -> 1 - 0
        (middlebury, True, 0.0),                         # Middlebury-style zeros are invalid
        (middlebury, False, 0.0),
        (f32(torch.zeros(16)), False, 0.0),              # no valid pixel -> 1 everywhere
        (f32([-4.0, 2.0, -1.0, 8.0]), False, None),      # negative values
        (f32([-1.0, 5.0, -1.0, 2.0, 3.0]), False, -1.0),  # other invalid marker
        (f32([42.0]), True, None),                       # one pixel
    ]
    for d, disparity, invalid in specs:
        D, valid = ref.depth_normalize(d, disparity, invalid)
        params = [1.0 if disparity else 0.0, 0.0 if invalid is None else 1.0, 0.0 if invalid is None else invalid]
        cases.add(d=d, params=params, out=D, valid=valid.double())

    rng = Cases(w, "range")
    D = f32(torch.rand(997, generator=gen, dtype=torch.float64))
    for lo, hi in [(0.0, 1.0), (0.2, 0.9), (0.9, 0.1), (0.5, 0.5), (1.0, 0.0)]:
        lo32, hi32 = float(np.float32(lo)), float(np.float32(hi))
        rng.add(d=D, lohi=[lo32, hi32], out=ref.range_map(D, lo32, hi32))


def resample_cases(w, gen):
    resize = Cases(w, "resize")
    for c, h, wd, h2, w2 in [(3, 101, 67, 64, 40),   # down, odd
                             (2, 17, 13, 101, 67),   # up, odd
                             (1, 1, 1, 5, 7),        # 1 pixel up
                             (3, 5, 7, 1, 1),        # down to 1 pixel
                             (1, 64, 64, 8, 8),      # integer factor down
                             (2, 3, 3, 8, 8),
                             (1, 1, 9, 4, 3),
                             (2, 6, 5, 6, 5),        # same size
                             (1, 67, 30, 29, 71)]:   # down one axis, up the other
        x = f32(torch.rand(c, h, wd, generator=gen, dtype=torch.float64) * 10 - 2)
        resize.add(x=x, out=ref.resize_bilinear(x, h2, w2))

    pad = Cases(w, "pad")
    for c, h, wd, h2, w2 in [(3, 101, 67, 104, 72), (1, 1, 1, 8, 8), (2, 3, 5, 8, 8), (1, 2, 2, 17, 9),
                             (3, 7, 7, 7, 7), (1, 1, 4, 8, 8), (2, 4, 1, 8, 8), (1, 3, 2, 40, 33)]:
        x = f32(torch.rand(c, h, wd, generator=gen, dtype=torch.float64))
        out = ref.pad_reflect(x, h2, w2)
        if h2 - h < h and w2 - wd < wd:  # cross-check with PyTorch's own reflect where it applies
            check = torch.nn.functional.pad(x[None], (0, w2 - wd, 0, h2 - h), mode="reflect")[0]
            assert torch.equal(check, out), "pad_reflect disagrees with F.pad"
        pad.add(x=x, out=out)

    crop = Cases(w, "crop")
    for c, h, wd, h2, w2 in [(3, 104, 72, 101, 67), (1, 8, 8, 1, 1), (2, 5, 5, 5, 5)]:
        x = f32(torch.rand(c, h, wd, generator=gen, dtype=torch.float64))
        crop.add(x=x, out=ref.crop(x, h2, w2))

    block = Cases(w, "block")
    for c, h, wd, b, with_valid, empty in [(3, 104, 72, 8, False, 0.0), (2, 16, 24, 8, True, 0.75),
                                           (1, 12, 8, 4, True, 1.0), (2, 5, 3, 1, False, 0.0),
                                           (1, 8, 8, 8, True, 0.25)]:
        x = f32(torch.rand(c, h, wd, generator=gen, dtype=torch.float64) * 20)
        valid = None
        if with_valid:
            valid = torch.rand(h, wd, generator=gen) < 0.5
            valid[:b, :b] = False  # at least one empty block
        arrays = dict(x=x, block=[b], empty=[empty])
        if valid is not None:
            arrays["valid"] = valid.double()
        arrays["out"] = ref.block_average(x, b, valid, empty)
        block.add(**arrays)


def blend_cases(w, gen):
    strength = Cases(w, "strength")
    n = 13 * 9
    mask = f32(torch.rand(n, generator=gen, dtype=torch.float64) * 1.4 - 0.2)  # clamping both ends
    rng = f32(torch.rand(n, generator=gen, dtype=torch.float64))
    for alpha, use_mask, use_range in [(1.0, True, True), (0.6, True, False), (0.3, False, True),
                                       (0.8, False, False), (0.0, True, True)]:
        alpha = float(np.float32(alpha))
        arrays = dict(alpha=[alpha], n=[n])
        if use_mask:
            arrays["mask"] = mask
        if use_range:
            arrays["range"] = rng
        arrays["out"] = ref.strength_map(alpha, mask if use_mask else None, rng if use_range else None, n=n)
        strength.add(**arrays)

    blend = Cases(w, "blend")
    for c, n in [(16, 40 * 30), (3, 1)]:
        t, fc = features(gen, c, n), features(gen, c, n)
        S = f32(torch.rand(n, generator=gen, dtype=torch.float64))
        if n > 2:
            S[0], S[1] = 0.0, 1.0
        blend.add(t=t, fc=fc, S=S, out=ref.blend(t, fc, S))


def image(gen, n, tint):
    """Natural-looking colours: a shared luminance with per-channel tints, so channels correlate."""
    lum = torch.rand(1, n, generator=gen, dtype=torch.float64)
    noise = torch.rand(3, n, generator=gen, dtype=torch.float64) * 0.3
    return f32(torch.clamp(lum * torch.tensor(tint, dtype=torch.float64)[:, None] + noise, 0, 1))


def coral_cases(w, gen):
    cases = Cases(w, "coral")
    style = image(gen, 64 * 48, [0.9, 0.4, 0.2])
    content = image(gen, 101 * 67, [0.3, 0.6, 0.8])
    gray = image(gen, 500, [1.0, 1.0, 1.0])
    gray = f32(gray[:1].repeat(3, 1))                      # R = G = B: Sigma_s is rank-1 + I
    flat_style = style.clone()
    flat_style[2] = float(np.float32(0.4))                 # constant blue plane in the style
    flat_content = content.clone()
    flat_content[0] = float(np.float32(0.7))               # constant red plane in the content
    pairs = [(style, content), (content, style), (gray, content), (f32([[0.1, 0.9], [0.5, 0.2], [0.3, 0.3]]), style),
             (style, f32([[0.2, 0.4], [0.6, 0.1], [0.9, 0.8]])), (flat_style, content), (style, flat_content)]
    for s, c in pairs:
        cases.add(style=s, content=c, out=ref.coral(s, c))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_core_vectors.py OUTPUT")
    gen = torch.Generator().manual_seed(20190522)
    with VectorWriter(sys.argv[1]) as w:
        stats_cases(w, gen)
        adain_cases(w, gen)
        depth_cases(w, gen)
        resample_cases(w, gen)
        blend_cases(w, gen)
        coral_cases(w, gen)


if __name__ == "__main__":
    main()
