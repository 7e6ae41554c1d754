"""adn-bench --json: the schema of what it prints (tools/adn-bench.c), never its timings.

One small run (64 x 64, one repeat) of the library in fp32 and bf16, the eager reference
(tests/ref/bench_ref.py) and the zero-padding limit network made from the synthetic bundle's own
weight files.  Environment from tests/meson.build: ADN_BENCH, ADN_BUNDLE_SYNTHETIC,
ADN_BUNDLE_LIMIT, ADN_SOURCE_DIR, ADN_PYTHON_TORCH.
"""
import json
import math
import os
import subprocess
import sys

import pytest

STAGES = ("style_encode", "content_encode", "depth", "adain_blend", "decode")
REQUIRED = {"size": int, "precision": str, "library_total_ms": float, "reference_total_ms": float,
            "limit_total_ms": float, "psnr_vs_fp32_db": float, "isa": str}
ISAS = ("AMX-BF16", "AVX-512-BF16", "AVX-512", "AVX2", "baseline")


def bench(*args):
    env = os.environ
    reference = f"{env['ADN_PYTHON_TORCH']} {os.path.join(env['ADN_SOURCE_DIR'], 'tests', 'ref', 'bench_ref.py')}"
    command = [env["ADN_BENCH"], "--models", env["ADN_BUNDLE_SYNTHETIC"], "--reference", reference, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=800)


@pytest.fixture(scope="module")
def objects():
    result = bench("--json", "--sizes", "64", "--repeats", "1", "--precisions", "fp32,bf16",
                   "--limit-models", os.environ["ADN_BUNDLE_LIMIT"])
    sys.stderr.write(result.stderr)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def is_number(value, kind):
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_one_object_per_size_and_precision(objects):
    assert isinstance(objects, list)
    assert [(o["size"], o["precision"]) for o in objects] == [(64, "fp32"), (64, "bf16")]


def test_required_fields_have_their_types(objects):
    for o in objects:
        for key, kind in REQUIRED.items():
            assert key in o, f"{key} missing from {o}"
            if kind is str:
                assert isinstance(o[key], str) and o[key]
            elif o[key] is not None:  # null where not measured (an error, fp32's PSNR against itself)
                assert is_number(o[key], kind), (key, o[key])
        assert o["isa"] in ISAS
        for part in ("library", "reference", "limit"):
            stages = o[f"{part}_stages_ms"]
            assert set(stages) == set(STAGES)
            assert all(v is None or (is_number(v, float) and v >= 0) for v in stages.values())
        assert len(o["load_average"]) == 2


def test_fp32_measured_every_configuration(objects):
    fp32 = objects[0]
    assert fp32["error"] is None and fp32["reference_error"] is None and fp32["limit_error"] is None, fp32
    for key in ("library_total_ms", "reference_total_ms", "limit_total_ms", "library_gflops", "limit_gflops",
                "library_load_ms", "reference_load_ms", "peak_rss_mib", "reference_peak_rss_mib"):
        assert is_number(fp32[key], float) and fp32[key] > 0, (key, fp32[key])
    assert fp32["psnr_vs_fp32_db"] is None  # itself
    assert fp32["speedup_vs_reference"] == pytest.approx(fp32["reference_total_ms"] / fp32["library_total_ms"], rel=1e-2)
    assert fp32["fraction_of_limit"] == pytest.approx(fp32["limit_total_ms"] / fp32["library_total_ms"], rel=1e-2)
    # The limit network is marked not exact for a reason: zero padding changes the picture.
    assert is_number(fp32["limit_psnr_vs_fp32_db"], float) and fp32["limit_psnr_vs_fp32_db"] < 40


def test_bf16_is_measured_or_says_why_not(objects):
    bf16 = objects[1]
    if bf16["error"] is not None:
        assert "AVX512_BF16" in bf16["error"] and "AMX-BF16" in bf16["error"], bf16["error"]
        assert bf16["library_total_ms"] is None and bf16["psnr_vs_fp32_db"] is None
        assert bf16["isa"] not in ("AMX-BF16", "AVX-512-BF16")
    else:
        assert is_number(bf16["library_total_ms"], float) and bf16["library_total_ms"] > 0
        assert is_number(bf16["psnr_vs_fp32_db"], float) and bf16["psnr_vs_fp32_db"] > 20


def test_a_limit_network_that_does_not_load_is_reported():
    result = bench("--json", "--sizes", "64", "--repeats", "1", "--limit-models", os.environ["ADN_BUNDLE_SYNTHETIC"] + "/source")
    assert result.returncode == 0, result.stderr
    o = json.loads(result.stdout)[0]
    assert o["limit_error"] and o["limit_total_ms"] is None


def test_pause_is_reported_and_every_run_still_measured(objects):
    assert all(o["pause_ms"] == 0 for o in objects)  # the default: settling runs, no pauses
    result = bench("--json", "--sizes", "64", "--repeats", "1", "--pause-ms", "20")
    assert result.returncode == 0, result.stderr
    o = json.loads(result.stdout)[0]
    assert o["pause_ms"] == 20
    assert is_number(o["library_total_ms"], float) and is_number(o["reference_total_ms"], float)


def test_bad_options_fail_with_usage():
    for args in (["--sizes", "8"], ["--precisions", "int8"], ["--repeats", "0"], ["--pause-ms", "-1"], ["extra"]):
        result = bench(*args)
        assert result.returncode == 1 and "adn-bench" in result.stderr + result.stdout, args
