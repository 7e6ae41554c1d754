#!/usr/bin/python3
"""The eager PyTorch reference of one stylization, timed inside its own process, for tools/adn-bench.

What it runs is what pytorch-AdaIN's test.py runs, on the bundle's own weights: the nn.Sequential
encoder and decoder of net.py (nn.ReflectionPad2d before every 3x3 convolution, float32, eager,
torch.no_grad), the bundle's depth.pt as shipped, and METHOD.md's AdaIN, strength and blend
(tests/ref/method_ref.py).  One "run" is the same work as one adn_stylize with a cached style:
content encode, depth, AdaIN + blend, decode and crop; the style statistics are computed once per
size and timed separately.

usage: bench_ref.py --bundle DIR [--threads N] --serve
adn-bench starts it once and talks to it over stdin / stdout, one line each way, so that the
reference runs interleave with the library's in one benchmark:
  it prints            {"ready": true, "load_ms": L, "threads": T}    once loaded
  adn-bench writes     SIZE                                         (one run at SIZE x SIZE)
  it answers           {"size": S, "style_encode_ms": .., "content_encode_ms": .., "depth_ms": ..,
                        "adain_blend_ms": .., "decode_ms": .., "total_ms": .., "peak_rss_mib": ..}
  adn-bench writes     quit
The images are adn-bench's deterministic patterns (their values do not change the timings).
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import method_ref as mr  # noqa: E402
import pipeline_ref  # noqa: E402


def test_image(size, seed):
    """A smooth deterministic pattern like adn-bench's make_image (values do not matter to speed)."""
    g = torch.Generator().manual_seed(seed)
    phase = torch.rand(3, generator=g)
    y = torch.arange(size, dtype=torch.float32).view(size, 1)
    x = torch.arange(size, dtype=torch.float32).view(1, size)
    planes = [0.5 + 0.25 * (((x * (c + 3) + y * 7) % 97) / 97.0 - 0.5) + 0.2 * phase[c] * y / size for c in range(3)]
    return torch.stack(planes)


def with_reflection_pad2d(sequential):
    """net.py's layers: nn.ReflectionPad2d(1) where pipeline_ref has its gather-based _Pad (which
    also accepts sides of length 1; the benchmark's sizes are >= 16, where both agree)."""
    layers = [nn.ReflectionPad2d(1) if isinstance(m, pipeline_ref._Pad) else m for m in sequential]
    return nn.Sequential(*layers).eval()


class EagerReference:
    def __init__(self, bundle_dir):
        self.ref = pipeline_ref.Reference(bundle_dir)
        if self.ref.kind != "vgg":
            raise SystemExit(f"bench_ref.py: {bundle_dir} is not a VGG bundle")
        self.encoder = with_reflection_pad2d(self.ref._encoder_net)
        self.decoder = with_reflection_pad2d(self.ref._decoder_net)
        self.styles = {}

    def features(self, image):
        height, width = image.shape[1], image.shape[2]
        padded = mr.pad_reflect(image, pipeline_ref._round_up(height), pipeline_ref._round_up(width))
        return self.encoder(padded.to(torch.float32)[None])[0].to(torch.float64)

    def style(self, size):
        """Cached style statistics per size, and how long computing them took."""
        if size not in self.styles:
            start = time.perf_counter()
            f = self.features(test_image(size, 2))
            stats = mr.channel_stats(f.reshape(f.shape[0], -1))
            self.styles[size] = (stats, (time.perf_counter() - start) * 1e3)
        return self.styles[size]

    def run(self, size):
        """One stylization with a cached style, stage by stage, like adn_stylize's timings."""
        (mean, std), style_ms = self.style(size)
        content = test_image(size, 1)
        marks = [time.perf_counter()]
        grid = self.features(content)
        marks.append(time.perf_counter())
        _, range_grid = self.ref._range_grid(content, "auto", None, False, None, 0.0, 1.0)
        marks.append(time.perf_counter())
        fc = grid.reshape(grid.shape[0], -1)
        f = mr.blend(mr.adain(fc, mean, std), fc, mr.strength_map(1.0, range=range_grid, n=fc.shape[1]))
        marks.append(time.perf_counter())
        self.decoder(f.reshape(grid.shape).to(torch.float32)[None])[0][:, :size, :size].contiguous()
        marks.append(time.perf_counter())
        ms = [(b - a) * 1e3 for a, b in zip(marks, marks[1:])]
        return {"size": size, "style_encode_ms": style_ms, "content_encode_ms": ms[0], "depth_ms": ms[1],
                "adain_blend_ms": ms[2], "decode_ms": ms[3], "total_ms": (marks[-1] - marks[0]) * 1e3,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--serve", action="store_true", help="answer adn-bench's requests on stdin")
    args = ap.parse_args()
    if not args.serve:
        ap.error("only --serve is supported (adn-bench drives this script)")
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    torch.set_grad_enabled(False)
    start = time.perf_counter()
    reference = EagerReference(args.bundle)
    load_ms = (time.perf_counter() - start) * 1e3
    print(json.dumps({"ready": True, "load_ms": load_ms, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        request = line.strip()
        if request == "quit":
            break
        try:
            size = int(request)
            if size < 16:
                raise ValueError("sizes below 16 are not benchmarked (ReflectionPad2d needs 2 pixels at 1/8)")
            print(json.dumps(reference.run(size)), flush=True)
        except Exception as e:  # one line back, so adn-bench can report it
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)


if __name__ == "__main__":
    main()
