#!/usr/bin/env python3
"""The tables of docs/PERFORMANCE.md from `adn-bench --json` output (no torch needed):

    build/tools/adn-bench --models M --limit-models L --reference "/usr/bin/python3 tests/ref/bench_ref.py" \\
        --sizes 256,512 --precisions fp32,bf16 --repeats 7 --json > bench.json
    python3 tools/bench_table.py bench.json

prints a Markdown table per configuration (totals, ratios, GFLOP/s, PSNR, peak RSS) and one of
the per-stage medians, to paste under "CPU" together with the machine line it also prints.
"""
import json
import sys

STAGES = ("style_encode", "content_encode", "depth", "adain_blend", "decode")


def cell(value, digits=1, suffix=""):
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def totals(rows):
    lines = ["| size | precision | library ms | eager reference ms | zero-pad limit ms | reference / library "
             "| library / limit speed | GFLOP/s | PSNR vs fp32 | peak RSS MiB |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['size']} | {r['precision']} | not run: {r['error']} | {cell(r['reference_total_ms'])} "
                         "| – | – | – | – | – | – |")
            continue
        psnr = "exact (reference)" if r["precision"] == "fp32" else cell(r["psnr_vs_fp32_db"], 1, " dB")
        lines.append(f"| {r['size']} | {r['precision']} | {cell(r['library_total_ms'])} | {cell(r['reference_total_ms'])} "
                     f"| {cell(r['limit_total_ms'])} | {cell(r['speedup_vs_reference'], 2)}× "
                     f"| {cell(r['fraction_of_limit'], 2)} | {cell(r['library_gflops'], 0)} | {psnr} "
                     f"| {cell(r['peak_rss_mib'], 0)} |")
    return "\n".join(lines)


def stages(rows):
    lines = ["| size | precision | stage | library ms | reference ms | limit ms |", "|---:|---|---|---:|---:|---:|"]
    for r in rows:
        if r.get("error"):
            continue
        for s in STAGES:
            lines.append(f"| {r['size']} | {r['precision']} | {s} | {cell(r['library_stages_ms'][s])} "
                         f"| {cell(r['reference_stages_ms'][s])} | {cell(r['limit_stages_ms'][s])} |")
    return "\n".join(lines)


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    with open(argv[1], encoding="utf-8") as f:
        rows = json.load(f)
    isa = sorted({r["isa"] for r in rows})
    load = rows[0].get("load_average") if rows else None
    print(f"ISA: {', '.join(isa)}; threads: {rows[0]['threads'] if rows else '?'} (0 = all cores); "
          f"repeats: {rows[0]['repeats'] if rows else '?'}; "
          f"{'pause before each run: ' + str(rows[0]['pause_ms']) + ' ms; ' if rows and rows[0].get('pause_ms') else ''}"
          f"load average at the start: {load}\n")
    print(totals(rows))
    print()
    print(stages(rows))


if __name__ == "__main__":
    main(sys.argv)
