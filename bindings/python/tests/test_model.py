"""Model, Style and stylize on the analytic bundle (8x8 space-to-depth pair + luma depth).

The analytic encoder is F.pixel_unshuffle(x, 8) and AdaIN acts per channel, so METHOD.md §1 can be
recomputed directly in PyTorch below and compared with what the binding returns.
"""
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import adain_dcs as adn

np = pytest.importorskip("numpy")

EPS = 1e-5
REF_TOL = 1e-4  # METHOD.md §7


@pytest.fixture
def model(analytic_bundle):
    with adn.Model(analytic_bundle, device="cpu", threads=1) as m:
        yield m


def to_chw(torch, image):
    return torch.from_numpy(np.ascontiguousarray(image)).double().permute(2, 0, 1)[None]


def pad8(torch, x):
    import torch.nn.functional as F
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % 8, 0, -h % 8), mode="reflect")


def reference_stylize(torch, content, styles, alpha=1.0, weights=None, mask=None, depth01=None):
    """METHOD.md §1-§3 for the analytic pair.  content/styles H x W x 3 float in [0,1]; mask and
    depth01 (already normalised D) at content size.  Returns (out H x W x 3, S h x w)."""
    import torch.nn.functional as F
    height, width = content.shape[:2]
    fc = F.pixel_unshuffle(pad8(torch, to_chw(torch, content)), 8)[0].flatten(1)
    weights = np.ones(len(styles)) if weights is None else np.asarray(weights, np.float64)
    weights = weights / weights.sum()
    mean_c, std_c = fc.mean(1, keepdim=True), torch.sqrt(fc.var(1, keepdim=True) + EPS)
    t = torch.zeros_like(fc)
    for w_k, style in zip(weights, styles):
        fs = F.pixel_unshuffle(pad8(torch, to_chw(torch, style)), 8)[0].flatten(1)
        mean_s, std_s = fs.mean(1, keepdim=True), torch.sqrt(fs.var(1, keepdim=True) + EPS)
        t += w_k * (std_s * (fc - mean_c) / std_c + mean_s)
    h, w = (height + 7) // 8, (width + 7) // 8
    strength = torch.full((1, 1, h, w), float(alpha), dtype=torch.float64)
    for plane in (mask, depth01):
        if plane is not None:
            padded = pad8(torch, torch.from_numpy(np.asarray(plane, np.float64))[None, None])
            strength = strength * F.avg_pool2d(padded, 8)
    strength = strength.clamp(0, 1).flatten(2)[0]
    f = strength * t + (1 - strength) * fc
    out = F.pixel_shuffle(f.reshape(1, -1, h, w), 8)[0, :, :height, :width]
    return out.permute(1, 2, 0).numpy(), strength.reshape(h, w).numpy()


def test_info(analytic_bundle):
    with adn.Model(analytic_bundle, device="cpu") as m:
        info = m.info
        assert (info.feature_channels, info.downsample) == (192, 8)
        assert info.depth_kind == "depth" and info.device == "cpu"
        assert (info.depth_lo, info.depth_hi) == (0.0, 1.0)
        m.set_depth_range(0.9, 0.1)
        assert m.info.depth_lo == pytest.approx(0.9) and m.info.depth_hi == pytest.approx(0.1)
        with pytest.raises(adn.InvalidArgument):
            m.set_depth_range(-0.5, 1.0)
    with adn.Model(analytic_bundle, device="cpu", load_depth=False) as m:
        assert m.info.depth_kind == "none"
    with pytest.raises(adn.InvalidArgument):
        adn.Model(analytic_bundle, device="tpu")


@pytest.mark.parametrize("height, width", [(1, 1), (7, 5), (13, 21), (32, 24), (45, 3)])
def test_alpha_zero_returns_the_uint8_content_exactly(model, rng, height, width):
    content = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    style = rng.integers(0, 256, size=(11, 9, 3), dtype=np.uint8)
    out = adn.stylize(model, content, style, alpha=0.0)
    assert out.dtype == np.uint8 and out.shape == content.shape
    assert np.array_equal(out, content)


@pytest.mark.parametrize("height, width", [(1, 1), (9, 17), (30, 31)])
def test_output_shape_and_float_kind(model, rng, height, width):
    content = rng.uniform(size=(height, width, 3)).astype(np.float32)
    out = adn.stylize(model, content, rng.uniform(size=(8, 8, 3)).astype(np.float32), depth="none")
    assert out.dtype == np.float32 and out.shape == content.shape
    same = adn.stylize(model, content, content, alpha=0.0)
    assert np.max(np.abs(same - content)) <= 1e-6


def test_stylize_matches_torch_reference(model, rng, torch):
    content = rng.uniform(size=(21, 29, 3)).astype(np.float32)
    style = rng.uniform(0.2, 0.9, size=(19, 13, 3)).astype(np.float32) ** 2
    with model.style(style) as s:
        out = adn.stylize(model, content, s, alpha=1.0, depth="none")
        ref, _ = reference_stylize(torch, content, [style])
        assert np.max(np.abs(out - ref)) < REF_TOL
        mask = rng.uniform(size=(21, 29)).astype(np.float32)
        out, strength = adn.stylize(model, content, s, alpha=0.6, mask=mask, depth="none",
                                    return_strength=True)
        ref, ref_strength = reference_stylize(torch, content, [style], alpha=0.6, mask=mask)
        assert np.max(np.abs(out - ref)) < REF_TOL
        assert strength.shape == (3, 4) and np.max(np.abs(strength - ref_strength)) < 1e-5


def test_two_style_interpolation_matches_reference(model, rng, torch):
    content = rng.uniform(size=(16, 16, 3)).astype(np.float32)
    styles = [rng.uniform(size=(16, 8, 3)).astype(np.float32) for _ in range(2)]
    out = adn.stylize(model, content, styles, weights=[1.0, 3.0], depth="none")
    ref, _ = reference_stylize(torch, content, styles, weights=[1.0, 3.0])
    assert np.max(np.abs(out - ref)) < REF_TOL
    with pytest.raises(adn.InvalidArgument):
        adn.stylize(model, content, styles, weights=[1.0])


def test_caller_depth_matches_reference(model, rng, torch):
    import torch.nn.functional as F
    content = rng.uniform(size=(20, 27, 3)).astype(np.float32)
    style = rng.uniform(size=(12, 12, 3)).astype(np.float32)
    disparity = rng.uniform(1.0, 5.0, size=(10, 9)).astype(np.float32)
    out, depth, strength = adn.stylize(model, content, style, depth=disparity, depth_is_disparity=True,
                                       return_depth=True, return_strength=True)
    resized = F.interpolate(torch.from_numpy(disparity)[None, None], size=(20, 27), mode="bilinear",
                            align_corners=False)[0, 0].double().numpy()
    d01 = 1.0 - (resized - resized.min()) / (resized.max() - resized.min())
    ref, ref_strength = reference_stylize(torch, content, [style], depth01=d01)
    assert depth.shape == (20, 27) and np.max(np.abs(depth - d01)) < 1e-5
    assert np.max(np.abs(strength - ref_strength)) < 1e-5
    assert np.max(np.abs(out - ref)) < REF_TOL


def test_network_depth_is_normalised_luma(model, rng):
    content = rng.uniform(size=(12, 10, 3)).astype(np.float32)
    _, depth = adn.stylize(model, content, content[::-1].copy(), return_depth=True)
    luma = content.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    ref = (luma - luma.min()) / (luma.max() - luma.min())
    assert np.max(np.abs(depth - ref)) < 1e-5


def test_nan_caller_depth_is_non_finite(model, rng):
    content = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    depth = np.ones((8, 8), np.float32)
    depth[3, 4] = np.nan
    with pytest.raises(adn.NonFinite) as info:
        adn.stylize(model, content, content, depth=depth)
    assert info.value.status == adn.Status.NON_FINITE and info.value.message


def test_style_stats_vs_torch(model, rng, torch):
    import torch.nn.functional as F
    style = rng.uniform(size=(17, 15, 3)).astype(np.float32)
    with adn.Style(model, style) as s:
        mean, std = s.stats()
    fs = F.pixel_unshuffle(pad8(torch, to_chw(torch, style)), 8)[0].flatten(1)
    assert mean.shape == (192,)
    assert np.max(np.abs(mean - fs.mean(1).numpy())) < 1e-5
    assert np.max(np.abs(std - torch.sqrt(fs.var(1) + EPS).numpy())) < 1e-5


def test_handles_close_once_and_refuse_use_after_close(analytic_bundle, rng):
    image = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    m = adn.Model(analytic_bundle, device="cpu")
    kept = m.style(image)
    with m.style(image) as s:
        assert not s.closed
    assert s.closed
    s.close()  # second close: no-op, no crash
    with pytest.raises(adn.InvalidArgument):
        adn.stylize(m, image, s)
    m.close()  # frees `kept` first, as the C API requires
    assert kept.closed and m.closed
    m.close()
    kept.close()
    with pytest.raises(adn.InvalidArgument):
        m.info
    with pytest.raises(adn.InvalidArgument):
        adn.stylize(m, image, image)


def test_style_from_another_model_is_refused(analytic_bundle, rng):
    image = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    with adn.Model(analytic_bundle) as a, adn.Model(analytic_bundle) as b:
        with a.style(image) as s:
            with pytest.raises(adn.InvalidArgument):
                adn.stylize(b, image, s)


def test_threads_share_one_model(model, rng):
    content = rng.integers(0, 256, size=(24, 40, 3), dtype=np.uint8)
    style = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    with model.style(style) as s:
        expected = adn.stylize(model, content, s, alpha=0.7)
        results = [None] * 4

        def work(i):
            results[i] = adn.stylize(model, content, s, alpha=0.7)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(r is not None and np.array_equal(r, expected) for r in results)


def test_stylize_without_numpy(analytic_bundle):
    script = f"""
import sys
sys.modules['numpy'] = None
import adain_dcs as adn
content = adn.Image(9, 3, 3, bytes((7 * i) % 256 for i in range(81)))
style = adn.Image(4, 4, 3, bytes((11 * i) % 256 for i in range(48)))
with adn.Model({str(analytic_bundle)!r}, device='cpu') as model:
    out = adn.stylize(model, content, style, alpha=0.0)
    assert isinstance(out, adn.Image) and out == content, out
    out, depth = adn.stylize(model, content, style, return_depth=True)
    assert out.is_uint8 and out.shape == (3, 9, 3)
    assert isinstance(depth, adn.Image) and depth.shape == (3, 9, 1)
print("ok")
"""
    env = dict(os.environ, PYTHONPATH=str(Path(adn.__file__).parents[1]))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_depth_range_changes_and_closing_wait_for_running_calls(analytic_bundle, rng):
    content = rng.integers(0, 256, size=(32, 48, 3), dtype=np.uint8)
    style = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    model = adn.Model(analytic_bundle, device="cpu", threads=1)
    s = model.style(style)
    model.set_depth_range(0.0, 1.0)
    forward = adn.stylize(model, content, s)
    model.set_depth_range(1.0, 0.0)
    reverse = adn.stylize(model, content, s)
    assert not np.array_equal(forward, reverse)
    outcomes, errors = [], []

    def work():
        try:
            for _ in range(6):
                outcomes.append(adn.stylize(model, content, s))
        except adn.InvalidArgument as err:  # the model was closed under us: refused, not a crash
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(8):
        model.set_depth_range(float(i % 2), float(1 - i % 2))
    model.close()
    for t in threads:
        t.join()
    assert all(np.array_equal(o, forward) or np.array_equal(o, reverse) for o in outcomes)
    assert all("closed" in e.message for e in errors)
    assert s.closed and model.closed


def test_info_and_stats_wait_for_close_and_then_refuse(analytic_bundle, rng):
    """Model.info and Style.stats take the model's shared lock: while close() or set_depth_range()
    holds it exclusively they wait, and after a close they see the closed handle instead of reading
    freed memory (they used to call C straight away, racing with adn_model_free)."""
    model = adn.Model(analytic_bundle, device="cpu", threads=1)
    style = model.style(rng.uniform(size=(8, 8, 3)).astype(np.float32))
    results = {}

    def call(name, fn):
        try:
            results[name] = fn()
        except adn.AdnError as err:
            results[name] = err

    callers = [threading.Thread(target=call, args=("info", lambda: model.info)),
               threading.Thread(target=call, args=("stats", style.stats))]
    with model._lock.exclusive():  # what close() and set_depth_range() hold
        for t in callers:
            t.start()
        for t in callers:
            t.join(timeout=0.5)
        assert [t.is_alive() for t in callers] == [True, True], \
            "info / stats ran while the model was locked exclusively"
        model._free()  # what close() does while holding the lock
    for t in callers:
        t.join()
    for name in ("info", "stats"):
        assert isinstance(results[name], adn.InvalidArgument), (name, results[name])
        assert "closed" in results[name].message
    assert model.closed and style.closed


def test_info_sees_the_depth_range_set_under_the_lock(analytic_bundle):
    with adn.Model(analytic_bundle, device="cpu", threads=1) as model:
        seen = []
        reader = threading.Thread(target=lambda: seen.append(model.info))
        with model._lock.exclusive():
            reader.start()
            reader.join(timeout=0.5)
            assert reader.is_alive(), "info read depth_lo / depth_hi during a depth range change"
            # the C call set_depth_range() makes under this lock (it cannot be called here: the
            # lock is not reentrant)
            assert adn._lib.C.adn_set_depth_range(model._handle, 0.25, 0.75) == adn.Status.OK
        reader.join()
        assert (seen[0].depth_lo, seen[0].depth_hi) == (0.25, 0.75)
