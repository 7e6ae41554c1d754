#!/usr/bin/env python3
"""Malloc fault injection over image I/O and adn_stylize (tests/fault/meson.build, suite
'reliability').  For each scenario, runs fault_driver under LD_PRELOAD=fail_malloc.so from N = 1
until the driver reports that allocation N was never reached; the driver fails allocation N, then
N + 1, ... in one process and checks every result itself (fault_driver.c).  This script watches it:
a driver that dies (signal, abort, exit) or goes silent for --hang-seconds at allocation N is
restarted at N + 1, and that N counts as a failure unless the stack of the failed allocation (which
fail_malloc.so prints) contains a site listed in --exclusions (libtorch/libgomp aborts that cannot
be caught; docs/RELIABILITY.md).  Exit status 0: all clean; 1: failures; 77: the stylize part could
not run (no torch backend or no bundle) or the test images are absent."""
import argparse
import collections
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

MAX_FAILURES_SHOWN = 10
MAX_RESTARTS = 200


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--driver", required=True)
    p.add_argument("--shim", required=True)
    p.add_argument("--data", required=True, help="the shared test data folder")
    p.add_argument("--exclusions", required=True)
    p.add_argument("--bundle", help="the analytic bundle (absent: the stylize part is skipped)")
    p.add_argument("--hang-seconds", type=float, default=120.0)
    p.add_argument("--only", help="run the scenarios whose name contains this")
    p.add_argument("--load", type=int, metavar="SAMPLES", default=0,
                   help="also fail allocations of adn_model_load, one process per N, at about SAMPLES N: "
                        "lists libtorch's abort sites during loading (out of scope of the test)")
    p.add_argument("--first-call", type=int, metavar="SAMPLES", default=0,
                   help="also fail allocations of the first adn_stylize after loading, one process per N, "
                        "at about SAMPLES evenly spaced N (slow: seconds per N; not part of the meson test)")
    return p.parse_args()


def read_exclusions(path):
    sites = []
    with open(path) as f:
        for line in f:
            pattern = line.split("#", 1)[0].strip()
            if pattern:
                sites.append((pattern, line.split("#", 1)[1].strip() if "#" in line else ""))
    return sites


def demangle(lines):
    if not lines or not shutil.which("c++filt"):
        return lines
    out = subprocess.run(["c++filt"], input="\n".join(lines), capture_output=True, text=True)
    return out.stdout.splitlines() if out.returncode == 0 else lines


class Scenario:
    def __init__(self, name, argv, samples=0):
        self.name, self.argv = name, argv
        self.samples = samples                 # > 0: one process per N, about this many N in all
        self.stride = 1
        self.statuses = collections.Counter()
        self.excluded = collections.Counter()  # site -> times
        self.failures = []                     # (n, what, stack)
        self.last_n = 0
        self.complete = False
        self.baseline = None                   # allocations of one unarmed run


def stream_lines(proc, lines):
    for raw in proc.stdout:
        lines.put(raw.decode(errors="replace").rstrip("\n"))
    lines.put(None)


def run_driver(args, scenario, start, sites):
    """One driver process from allocation `start`; returns the N to restart at, or None when done."""
    # Two OpenMP threads: the pool's own allocations stay few, and parallel paths still run.
    env = dict(os.environ, LD_PRELOAD=os.path.abspath(args.shim), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    proc = subprocess.Popen([args.driver] + scenario.argv + [str(start)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    lines = queue.Queue()
    threading.Thread(target=stream_lines, args=(proc, lines), daemon=True).start()
    current, stack, in_stack, failed_line, hung = None, [], False, None, False
    while True:
        try:
            line = lines.get(timeout=args.hang_seconds)
        except queue.Empty:
            hung = True
            proc.kill()
            break
        if line is None:
            break
        if line.startswith("fail_malloc: failing allocation"):
            stack, in_stack = [line], True
        elif line.startswith("fail_malloc: end of stack"):
            in_stack = False
        elif in_stack:
            stack.append(line)
        elif line.startswith("allocations ") and scenario.baseline is None:
            scenario.baseline = int(line.split()[1])
        elif line.startswith("begin "):
            current, stack = int(line.split()[1]), []
            scenario.last_n = current
        elif line.startswith("ok "):
            # "ok N <status words> fired=F"
            scenario.statuses[line.split(" ", 2)[2].rsplit(" fired=", 1)[0]] += 1
        elif line.startswith("complete "):
            scenario.complete = True
        elif line.startswith("FAIL "):
            failed_line = line[5:]
    proc.wait()
    if scenario.complete and proc.returncode == 0:
        return None
    if scenario.samples and proc.returncode == 0 and current is not None and not failed_line:
        return current + scenario.stride
    if current is None:  # died before the first armed run: nothing to step past
        scenario.failures.append((start, failed_line or f"driver exited with {proc.returncode} before arming", []))
        return None
    step = scenario.stride if scenario.samples else 1
    if failed_line:
        scenario.failures.append((current, failed_line, demangle(stack)))
        return current + step
    what = "hang (no output for %.0f s)" % args.hang_seconds if hung else (
        "killed by signal %d" % -proc.returncode if proc.returncode < 0 else "exit status %d" % proc.returncode)
    readable = demangle(stack)
    for pattern, _reason in sites:
        if any(pattern in frame for frame in readable):
            scenario.excluded[pattern] += 1
            print(f"  {scenario.name}: allocation {current}: {what}, at known site {pattern}", flush=True)
            return current + step
    scenario.failures.append((current, what, readable))
    print(f"  {scenario.name}: allocation {current}: {what}", flush=True)
    return current + step


def run_scenario(args, scenario, sites):
    start, restarts, began = 1, 0, time.time()
    if scenario.samples:  # one unarmed run first, for the count that sets the stride
        run_driver(args, scenario, 0, sites)
        scenario.complete, scenario.statuses = False, collections.Counter()
        scenario.stride = max(1, (scenario.baseline or 1) // scenario.samples)
        start = max(1, scenario.stride // 2)
    while start is not None and restarts < MAX_RESTARTS + 2 * scenario.samples and (
            scenario.samples or len(scenario.failures) < MAX_FAILURES_SHOWN * 3):
        start = run_driver(args, scenario, start, sites)
        restarts += 1
    sweep = f"every {scenario.stride}th" if scenario.stride > 1 else "in turn"
    line = (f"{scenario.name}: allocations 1..{scenario.last_n} failed {sweep} (an unarmed run makes "
            f"{scenario.baseline}); results: " +
            ", ".join(f"{k} {v}" for k, v in sorted(scenario.statuses.items())) +
            f"; excluded {sum(scenario.excluded.values())}; failures {len(scenario.failures)}; "
            f"{time.time() - began:.0f} s")
    print(line, flush=True)
    for pattern, times in scenario.excluded.items():
        print(f"  excluded x{times}: known site {pattern}")
    for n, what, stack in scenario.failures[:MAX_FAILURES_SHOWN]:
        print(f"  FAILED at allocation {n}: {what}")
        # The failed allocation's stack, down to the first frame of ours.
        for frame in stack[:14]:
            print(f"      {frame[:200]}")
            if "libadain_dcs" in frame:
                break
    if not scenario.complete and not scenario.failures:
        scenario.failures.append((scenario.last_n, "did not finish", []))
        print("  FAILED: the sweep did not reach its end")


def scenarios(args, out_dir):
    data = args.data
    png = os.path.join(data, "rgbd", "cones", "image.png")
    depth16 = os.path.join(data, "rgbd", "tum_office", "depth.png")
    jpeg = os.path.join(data, "content", "modern.jpg")
    corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus")
    small = {
        "png-palette-trns": os.path.join(corpus, "png", "palette4_trns.png"),
        "png-adam7-16bit": os.path.join(corpus, "png", "rgb16_adam7.png"),
        "jpeg-progressive": os.path.join(corpus, "jpeg", "progressive.jpg"),
        "jpeg-cmyk": os.path.join(corpus, "jpeg", "cmyk_adobe.jpg"),
    }
    found = [
        Scenario("read png", ["read", png]),
        Scenario("read png 16-bit", ["read", depth16]),
        Scenario("read jpeg", ["read", jpeg]),
        Scenario("read-memory png", ["read-memory", png]),
        Scenario("read-memory jpeg", ["read-memory", jpeg]),
    ]
    found += [Scenario(f"read {name}", ["read", path]) for name, path in small.items()]
    for name, path in (("png", small["png-palette-trns"]), ("jpeg", small["jpeg-progressive"])):
        folder = os.path.join(out_dir, "write-" + name)
        os.makedirs(folder)
        found.append(Scenario(f"write {name}", ["write", path, folder]))
    if args.bundle:
        content = os.path.join(data, "content", "chicago.jpg")
        style = os.path.join(data, "style", "sketch.png")
        found.append(Scenario("stylize", ["stylize", args.bundle, content, style]))
        found.append(Scenario("stylize preserve_color", ["stylize-color", args.bundle, content, style]))
        if args.load:
            found.append(Scenario("model load", ["load", args.bundle], args.load))
        if args.first_call:
            found.append(Scenario("stylize first call", ["stylize-first", args.bundle, content, style], args.first_call))
    return found


def main():
    args = parse_args()
    if not os.path.isdir(args.data):
        print(f"SKIP: no test data at {args.data}")
        return 77
    sites = read_exclusions(args.exclusions)
    with tempfile.TemporaryDirectory(prefix="adn-fault-") as out_dir:
        todo = [s for s in scenarios(args, out_dir) if not args.only or args.only in s.name]
        for s in todo:
            run_scenario(args, s, sites)
    failed = [s for s in todo if s.failures]
    if failed:
        print("fault injection FAILED in: " + ", ".join(s.name for s in failed))
        return 1
    if not args.bundle:
        print("SKIP: image I/O passed; adn_stylize not run (no torch backend or no analytic bundle)")
        return 77
    print("fault injection passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
