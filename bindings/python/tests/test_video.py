"""adain_dcs.video: the flicker measure (docs/METHOD.md §8) against direct computations, the Y4M
reader, and the measure on real library output (the analytic bundle with alpha = 0 returns its
input, so its flicker is exactly 1)."""
import io

import pytest

import adain_dcs
from adain_dcs import video


def test_identical_output_has_flicker_one_and_double_change_two():
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(7)
    frames = [rng.random((6, 5, 3)) for _ in range(4)]
    assert video.flicker(frames, frames) == 1.0
    assert video.flicker(frames, [2 * f for f in frames]) == pytest.approx(2.0, rel=1e-12)
    assert video.flicker(frames, [f + 0.25 for f in frames]) == pytest.approx(1.0, rel=1e-12)


def test_meter_matches_a_direct_computation():
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(8)
    ins = [rng.integers(0, 256, (9, 7, 3), dtype=np.uint8) for _ in range(5)]
    outs = [rng.integers(0, 256, (9, 7, 3), dtype=np.uint8) for _ in range(5)]
    num = sum(np.abs(outs[t].astype(float) - outs[t - 1]).mean() for t in range(1, 5))
    den = sum(np.abs(ins[t].astype(float) - ins[t - 1]).mean() for t in range(1, 5))
    meter = video.FlickerMeter()
    for a, b in zip(ins, outs):
        meter.add(a, b)
    assert meter.frames == 5
    assert meter.value == pytest.approx(num / den, rel=1e-12)
    # uint8 differences must not wrap around: 0 - 255 is 255, not 1
    assert video.mean_abs_difference(np.zeros(4, np.uint8), np.full(4, 255, np.uint8)) == 255.0
    # bytes take the same path as arrays of the same samples
    as_bytes = video.flicker([a.tobytes() for a in ins], [b.tobytes() for b in outs])
    assert as_bytes == pytest.approx(num / den, rel=1e-12)


def test_undefined_cases():
    np = pytest.importorskip("numpy")
    still = [np.full((2, 2), 0.5)] * 3
    assert video.flicker(still, [np.eye(2), np.zeros((2, 2)), np.eye(2)]) is None  # input never changes
    assert video.flicker([still[0]], [still[0]]) is None                             # one frame
    with pytest.raises(adain_dcs.InvalidArgument):
        video.flicker(still, still[:2])
    with pytest.raises(adain_dcs.InvalidArgument):
        video.mean_abs_difference(np.zeros((2, 2)), np.zeros((2, 3)))


def _y4m(width, height, frames, tags="F30000:1001 A4:3"):
    body = b"".join(b"FRAME\n" + f for f in frames)
    return f"YUV4MPEG2 W{width} H{height} {tags} C420jpeg\n".encode() + body


def test_y4m_reader_and_flicker_of_two_streams(tmp_path):
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(9)
    size = 5 * 3 + 2 * 3 * 2  # W5 H3, 4:2:0 chroma planes of 3 x 2
    ins = [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for _ in range(3)]
    outs = [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for _ in range(3)]
    (tmp_path / "in.y4m").write_bytes(_y4m(5, 3, ins))
    (tmp_path / "out.y4m").write_bytes(_y4m(5, 3, outs))
    header, frames = video.read_y4m(tmp_path / "in.y4m")
    assert (header.width, header.height, header.rate, header.aspect) == (5, 3, (30000, 1001), (4, 3))
    assert list(frames) == ins
    want = video.flicker([np.frombuffer(f, np.uint8) for f in ins], [np.frombuffer(f, np.uint8) for f in outs])
    assert video.flicker_y4m(tmp_path / "in.y4m", tmp_path / "out.y4m") == pytest.approx(want, rel=1e-12)
    with pytest.raises(adain_dcs.FormatError):
        list(video.read_y4m(io.BytesIO(_y4m(5, 3, ins)[:-1]))[1])  # truncated last frame


def test_flicker_of_library_output_with_alpha_zero_is_one(analytic_bundle):
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(10)
    base = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    frames = [np.clip(base.astype(int) + 9 * t, 0, 255).astype(np.uint8) for t in range(4)]
    with adain_dcs.Model(str(analytic_bundle), device="cpu") as model, \
            model.style(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)) as style, \
            model.context() as ctx:
        ctx.set_temporal(depth_ema=0.5, content_stats_ema=0.5, scene_cut_threshold=0.2)
        outs = [ctx.stylize(f, style, alpha=0.0).image for f in frames]
        assert video.flicker(frames, outs) == 1.0  # the analytic pair with S = 0 is the identity
        styled = [ctx.stylize(f, style, alpha=1.0).image for f in frames]
    value = video.flicker(frames, styled)
    assert value is not None and value > 0
