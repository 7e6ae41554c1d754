#!/usr/bin/python3
"""Conformance cases for adn_stylize: inputs, parameters and the outputs of the independent PyTorch
reference (tests/ref/pipeline_ref.py) on the same bundles, written with vecio for tests/test_pipeline.c.

usage: make_pipeline_vectors.py SYNTHETIC_BUNDLE ANALYTIC_BUNDLE OUTPUT [SHARED_DATA_DIR]

Each case i is stored as case<i>/<field>: the inputs, the reference's outputs out (networks in
float32), out64 (networks in float64: the method's value, rounded to float32 for storage), D and S;
case<i>/params holds, in order:
    bundle (0 synthetic, 1 analytic), alpha, depth_source (ADN_DEPTH_* value), depth_is_disparity,
    depth_has_invalid, depth_invalid_value, lo, hi, preserve_color, n_styles, has_weights,
    has_mask, has_regions
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from vecio import VectorWriter  # noqa: E402
from pipeline_ref import Reference  # noqa: E402

DEPTH_SOURCE = {"auto": 0, "network": 1, "caller": 2, "none": 3}
RGBD_SCENES = ["art", "cones", "laundry", "nyu_basement", "teddy", "tum_office"]
RGBD_CROP = (181, 237)  # odd sizes, so padding and cropping are exercised on real data too


def smooth_image(gen, channels, height, width):
    """Seeded random image with structure at several scales (more realistic statistics than noise)."""
    out = torch.zeros(channels, height, width, dtype=torch.float64)
    for cells in (2, 5, 13):
        coarse = torch.rand(1, channels, cells, cells, generator=gen, dtype=torch.float64)
        out += torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)[0]
    out += 0.15 * torch.rand(channels, height, width, generator=gen, dtype=torch.float64)
    return (out / 3.15).clamp(0, 1).float()


def load_png(path):
    from PIL import Image  # only needed for the real RGB-D pairs
    return np.array(Image.open(path))


class CaseWriter:
    def __init__(self, writer, refs, refs64):
        self.writer = writer
        self.refs = refs
        self.refs64 = refs64
        self.count = 0

    def add(self, bundle, content, styles, alpha=1.0, mask=None, weights=None, regions=None, depth_source="none",
            depth=None, depth_is_disparity=False, depth_invalid=None, lo=0.0, hi=1.0, preserve_color=False):
        args = dict(styles=styles, alpha=alpha, mask=mask, weights=weights, regions=regions, depth_source=depth_source,
                    depth=depth, depth_is_disparity=depth_is_disparity, depth_invalid=depth_invalid, lo=lo, hi=hi,
                    preserve_color=preserve_color)
        result = self.refs[bundle].stylize(content, **args)
        exact = self.refs64[bundle].stylize(content, **args)
        prefix = f"case{self.count}/"
        w = self.writer
        w.add(prefix + "params", [bundle, alpha, DEPTH_SOURCE[depth_source], int(depth_is_disparity),
                                  int(depth_invalid is not None), depth_invalid or 0.0, lo, hi, int(preserve_color),
                                  len(styles), int(weights is not None), int(mask is not None),
                                  int(regions is not None)])
        w.add(prefix + "content", content)
        for k, style in enumerate(styles):
            w.add(prefix + f"style{k}", style)
        if mask is not None:
            w.add(prefix + "mask", mask)
        if weights is not None:
            w.add(prefix + "weights", weights)
        if regions is not None:
            w.add(prefix + "regions", regions)
        if depth is not None:
            w.add(prefix + "depth", depth)
        w.add(prefix + "out", result["out"])
        w.add(prefix + "out64", exact["out"])
        if result.get("depth") is not None:
            w.add(prefix + "D", result["depth"])
        w.add(prefix + "S", result["strength"])
        self.count += 1


def synthetic_cases(cases, gen):
    style_a = smooth_image(gen, 3, 72, 88)
    style_b = smooth_image(gen, 3, 57, 61)
    sizes = [(64, 64), (96, 80), (101, 67)]
    for h, w in sizes:
        content = smooth_image(gen, 3, h, w)
        for alpha in (0.0, 0.5, 1.0):
            cases.add(0, content, [style_a], alpha=alpha, depth_source="none")
        cases.add(0, content, [style_a], depth_source="network")
    content = smooth_image(gen, 3, 101, 67)
    for lo, hi in ((0.0, 1.0), (0.3, 0.8), (1.0, 0.0)):
        cases.add(0, content, [style_a], depth_source="network", lo=lo, hi=hi)
    depth_map = smooth_image(gen, 1, 101, 67)[0] * 5 + 1
    small_depth = smooth_image(gen, 1, 23, 31)[0]
    for disparity in (False, True):
        cases.add(0, content, [style_a], depth_source="caller", depth=depth_map, depth_is_disparity=disparity)
        cases.add(0, content, [style_a], depth_source="caller", depth=small_depth, depth_is_disparity=disparity,
                  lo=0.3, hi=0.8)
    holes = depth_map.clone()
    holes[10:40, 5:30] = 0  # invalid region spanning whole 8x8 blocks
    holes[60, 50] = 0
    cases.add(0, content, [style_a], depth_source="caller", depth=holes, depth_invalid=0.0)
    cases.add(0, content, [style_a], alpha=0.5, depth_source="caller", depth=holes, depth_is_disparity=True,
              depth_invalid=0.0, lo=1.0, hi=0.0)
    mask = smooth_image(gen, 1, 101, 67)[0]
    cases.add(0, content, [style_a], mask=mask, depth_source="none")
    cases.add(0, content, [style_a], alpha=0.5, mask=mask, depth_source="network")
    cases.add(0, content, [style_a, style_b], weights=[0.3, 0.7], depth_source="none")
    cases.add(0, content, [style_a, style_b], weights=[2.0, 2.0], depth_source="network", lo=0.3, hi=0.8)
    left = torch.zeros(101, 67)
    left[:, :30] = 1
    regions = torch.stack([left, 1 - left])
    cases.add(0, content, [style_a, style_b], regions=regions, depth_source="none")
    cases.add(0, content, [style_a], preserve_color=True, depth_source="none")
    cases.add(0, content, [style_a, style_b], weights=[0.5, 0.5], preserve_color=True, depth_source="network")


def analytic_cases(cases, gen):
    style = smooth_image(gen, 3, 40, 48)
    for h, w in ((64, 64), (101, 67), (1, 1), (9, 17)):
        content = smooth_image(gen, 3, h, w)
        cases.add(1, content, [style], alpha=1.0, depth_source="network")
        cases.add(1, content, [style], alpha=0.7, depth_source="none")
    one_pixel = smooth_image(gen, 3, 1, 1)
    cases.add(1, one_pixel, [style], preserve_color=True, depth_source="none")  # mean-colour match
    cases.add(1, smooth_image(gen, 3, 9, 17), [one_pixel], preserve_color=True, depth_source="none")


def rgbd_cases(cases, data_dir):
    gen = torch.Generator().manual_seed(7)
    style = smooth_image(gen, 3, 64, 64)
    for scene in RGBD_SCENES:
        folder = os.path.join(data_dir, "rgbd", scene)
        if not os.path.isdir(folder):
            continue
        meta = open(os.path.join(folder, "meta.txt")).read()
        disparity = "DISPARITY" in meta
        image = load_png(os.path.join(folder, "image.png"))
        depth = load_png(os.path.join(folder, "depth.png")).astype(np.float32)
        h, w = RGBD_CROP
        top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
        image = image[top:top + h, left:left + w, :3]
        depth = depth[top:top + h, left:left + w]
        content = torch.from_numpy(image.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()
        cases.add(0, content, [style], depth_source="caller", depth=torch.from_numpy(depth.copy()),
                  depth_is_disparity=disparity, depth_invalid=0.0)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    synthetic, analytic, output = sys.argv[1:4]
    data_dir = sys.argv[4] if len(sys.argv) > 4 else None
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    refs = {0: Reference(synthetic), 1: Reference(analytic)}
    refs64 = {k: Reference(path, network_dtype=torch.float64) for k, path in ((0, synthetic), (1, analytic))}
    gen = torch.Generator().manual_seed(20261124)
    with VectorWriter(output) as writer:
        cases = CaseWriter(writer, refs, refs64)
        synthetic_cases(cases, gen)
        analytic_cases(cases, gen)
        have_rgbd = False
        if data_dir and os.path.isdir(os.path.join(data_dir, "rgbd")):
            try:
                import PIL  # noqa: F401
                have_rgbd = True
            except ImportError:
                print("make_pipeline_vectors: PIL missing, RGB-D cases skipped", file=sys.stderr)
        if have_rgbd:
            rgbd_cases(cases, data_dir)
        else:
            print("make_pipeline_vectors: no shared data, RGB-D cases skipped", file=sys.stderr)
        writer.add("ncases", [cases.count])
        writer.add("rgbd_included", [int(have_rgbd)])


if __name__ == "__main__":
    main()
