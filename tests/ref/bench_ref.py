#!/usr/bin/python3
"""Stage timings of the PyTorch reference (tests/ref/pipeline_ref.py), for tools/adn-bench.

usage: bench_ref.py --bundle DIR [--sizes 256,512] [--runs 5] [--threads N]
Prints "stage size milliseconds" lines (medians of --runs runs), with the stages adn-bench uses.
The images are made the same way as adn-bench's (deterministic smooth patterns).
"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import method_ref as mr  # noqa: E402
from pipeline_ref import Reference  # noqa: E402


def test_image(size, seed):
    """Matches adn-bench's make_image closely enough for timing (values do not matter to speed)."""
    g = torch.Generator().manual_seed(seed)
    phase = torch.rand(3, generator=g)
    y = torch.arange(size, dtype=torch.float32).view(size, 1)
    x = torch.arange(size, dtype=torch.float32).view(1, size)
    planes = [0.5 + 0.25 * (((x * (c + 3) + y * 7) % 97) / 97.0 - 0.5) + 0.2 * phase[c] * y / size for c in range(3)]
    return torch.stack(planes)


def timed(fn, runs):
    samples = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples), result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    load_ms, ref = timed(lambda: Reference(args.bundle), args.runs)
    for size in (int(s) for s in args.sizes.split(",")):
        content, style = test_image(size, 1), test_image(size, 2)
        style_ms, (mean, std) = timed(lambda: ref.style_stats(style), args.runs)
        ref.stylize(content, [style])  # warm-up, as adn-bench does
        encode_ms, fc_grid = timed(lambda: ref._features(content), args.runs)
        depth_ms, (_, range_grid) = timed(
            lambda: ref._range_grid(content, "auto", None, False, None, 0.0, 1.0), args.runs)
        fc = fc_grid.reshape(fc_grid.shape[0], -1)

        def adain_blend():
            t = mr.adain(fc, mean, std)
            s = mr.strength_map(1.0, range=range_grid, n=fc.shape[1])
            return mr.blend(t, fc, s).reshape(fc_grid.shape)

        blend_ms, f = timed(adain_blend, args.runs)
        decode_ms, _ = timed(lambda: ref.decode(f)[:, :size, :size].contiguous(), args.runs)
        def same_work_as_library():
            """One stylize with cached style statistics, as adn_stylize does with an adn_style."""
            grid = ref._features(content)
            _, rng = ref._range_grid(content, "auto", None, False, None, 0.0, 1.0)
            x = grid.reshape(grid.shape[0], -1)
            f = mr.blend(mr.adain(x, mean, std), x, mr.strength_map(1.0, range=rng, n=x.shape[1]))
            return ref.decode(f.reshape(grid.shape))[:, :size, :size].contiguous()

        total_ms, _ = timed(same_work_as_library, args.runs)
        for stage, ms in (("load", load_ms), ("style_encode", style_ms), ("content_encode", encode_ms),
                          ("depth", depth_ms), ("adain_blend", blend_ms), ("decode", decode_ms),
                          ("total", total_ms)):
            print(f"{stage} {size} {ms:.3f}", flush=True)


if __name__ == "__main__":
    main()
