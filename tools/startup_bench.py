#!/usr/bin/env python3
"""Start-up: a one-shot adn-stylize process against the reference's whole test.py-style process
on the same image, wall clock of each whole process, interleaved, median of N (docs/PERFORMANCE.md,
"Start-up").  Needs no torch itself.

usage: startup_bench.py --adn-stylize build/examples/adn-stylize --models DIR --content FILE
                        --style FILE [--reference "/usr/bin/python3 tests/ref/oneshot_ref.py"]
                        [--repeats 5] [--threads N]
Prints one JSON object: medians and every sample in milliseconds, and the load average.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def timed(command):
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = (time.perf_counter() - start) * 1e3
    if result.returncode != 0:
        sys.exit(f"startup_bench.py: {shlex.join(command)} failed ({result.returncode}): {result.stderr.strip()}")
    return elapsed


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adn-stylize", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--content", required=True)
    ap.add_argument("--style", required=True)
    ap.add_argument("--reference", default="/usr/bin/python3 " + os.path.join(here, "..", "tests", "ref", "oneshot_ref.py"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours = [args.adn_stylize, "--models", args.models, "--content", args.content, "--style", args.style,
                "--out", os.path.join(tmp, "library.png"), "--device", "cpu", "--threads", str(args.threads), "--quiet"]
        theirs = shlex.split(args.reference) + ["--bundle", args.models, "--content", args.content, "--style", args.style,
                                                "--out", os.path.join(tmp, "reference.png"), "--threads", str(args.threads)]
        load_before = os.getloadavg()[0]
        samples = {"adn_stylize_ms": [], "reference_ms": []}
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            samples["adn_stylize_ms"].append(timed(ours))
            samples["reference_ms"].append(timed(theirs))
        result = {key: statistics.median(values) for key, values in samples.items()}
        result["reference_over_adn_stylize"] = result["reference_ms"] / result["adn_stylize_ms"]
        result["samples"] = samples
        result["repeats"] = args.repeats
        result["content"] = os.path.basename(args.content)
        result["style"] = os.path.basename(args.style)
        result["load_average"] = [load_before, os.getloadavg()[0]]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
