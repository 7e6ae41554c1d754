"""Model, Style and Model.stylize on the analytic bundle (8x8 space-to-depth pair + luma depth).

The analytic encoder is F.pixel_unshuffle(x, 8) and AdaIN acts per channel, so METHOD.md §1 can be
recomputed directly in PyTorch below and compared with what the binding returns.
"""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import adain_dcs as adn

np = pytest.importorskip("numpy")

EPS = 1e-5
REF_TOL = 1e-4  # METHOD.md §7


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
        assert isinstance(info, adn.ModelInfo)
        assert (info.feature_channels, info.downsample) == (192, 8)
        assert info.depth_kind == "depth" and info.device == "cpu"
        assert info.cuda_device_index == -1  # not on a GPU
        assert info.precision == "fp32" and info.backend == "torch"
        assert not hasattr(info, "depth_lo")  # the depth range lives on contexts now
        assert not hasattr(m, "set_depth_range")
    with adn.Model(analytic_bundle, device="cpu", load_depth=False) as m:
        assert m.info.depth_kind == "none"
    with pytest.raises(adn.InvalidArgument):
        adn.Model(analytic_bundle, device="tpu")
    with pytest.raises(adn.InvalidArgument, match="precision"):
        adn.Model(analytic_bundle, device="cpu", precision="int8")


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_precisions_not_implemented_yet_are_unsupported(analytic_bundle, precision):
    if precision == "bf16" and adn.has_feature("bf16"):
        pytest.skip("this CPU runs bf16 (AVX512_BF16 or AMX-BF16)")
    with pytest.raises(adn.Unsupported) as info:
        adn.Model(analytic_bundle, device="cpu", precision=precision)
    assert info.value.message


@pytest.mark.parametrize("height, width", [(1, 1), (7, 5), (13, 21), (32, 24), (45, 3)])
def test_alpha_zero_returns_the_uint8_content_exactly(model, rng, height, width):
    content = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    style = rng.integers(0, 256, size=(11, 9, 3), dtype=np.uint8)
    out = adn.stylize(model, content, style, alpha=0.0).image
    assert out.dtype == np.uint8 and out.shape == content.shape
    assert np.array_equal(out, content)


@pytest.mark.parametrize("height, width", [(1, 1), (9, 17), (30, 31)])
def test_output_shape_and_float_kind(model, rng, height, width):
    content = rng.uniform(size=(height, width, 3)).astype(np.float32)
    out = model.stylize(content, rng.uniform(size=(8, 8, 3)).astype(np.float32), depth="none").image
    assert out.dtype == np.float32 and out.shape == content.shape
    same = model.stylize(content, content, alpha=0.0).image
    assert np.max(np.abs(same - content)) <= 1e-6


def test_result_is_a_named_tuple_of_fixed_shape(model, rng):
    content = rng.uniform(size=(12, 16, 3)).astype(np.float32)
    plain = model.stylize(content, content)
    assert isinstance(plain, adn.StylizeResult) and isinstance(plain, tuple) and len(plain) == 3
    assert plain._fields == ("image", "depth", "strength")
    assert plain.depth is None and plain.strength is None
    image, depth, strength = model.stylize(content, content, return_depth=True, return_strength=True)
    assert image.shape == (12, 16, 3) and depth.shape == (12, 16) and strength.shape == (2, 2)
    only_strength = model.stylize(content, content, return_strength=True)
    assert only_strength.depth is None and only_strength.strength.shape == (2, 2)
    with pytest.raises(adn.InvalidArgument, match="return_depth"):
        model.stylize(content, content, depth="none", return_depth=True)


def test_stylize_matches_torch_reference(model, rng, torch):
    content = rng.uniform(size=(21, 29, 3)).astype(np.float32)
    style = rng.uniform(0.2, 0.9, size=(19, 13, 3)).astype(np.float32) ** 2
    with model.style(style) as s:
        out = adn.stylize(model, content, s, alpha=1.0, depth="none").image
        ref, _ = reference_stylize(torch, content, [style])
        assert np.max(np.abs(out - ref)) < REF_TOL
        mask = rng.uniform(size=(21, 29)).astype(np.float32)
        out, _, strength = adn.stylize(model, content, s, alpha=0.6, mask=mask, depth="none",
                                       return_strength=True)
        ref, ref_strength = reference_stylize(torch, content, [style], alpha=0.6, mask=mask)
        assert np.max(np.abs(out - ref)) < REF_TOL
        assert strength.shape == (3, 4) and np.max(np.abs(strength - ref_strength)) < 1e-5


def test_float64_and_uint16_content_match_float32(model, rng):
    pixels = rng.integers(0, 65536, size=(10, 14, 3)).astype(np.uint16)
    as_float = (pixels / 65535.0).astype(np.float32)
    style = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    expected = model.stylize(as_float, style).image
    for content in (pixels, as_float.astype(np.float64)):
        out = model.stylize(content, style).image
        assert out.dtype == np.float32
        assert np.max(np.abs(out - expected)) < 1e-6, content.dtype


def test_two_style_interpolation_matches_reference(model, rng, torch):
    content = rng.uniform(size=(16, 16, 3)).astype(np.float32)
    styles = [rng.uniform(size=(16, 8, 3)).astype(np.float32) for _ in range(2)]
    out = adn.stylize(model, content, styles, weights=[1.0, 3.0], depth="none").image
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


def test_caller_depth_of_integer_dtype_keeps_its_values(model, rng):
    """Depth maps are raw measurements, not pixels: a uint16 (Kinect millimetres) or int32 map is
    taken as its numbers, invalid value included, not divided by 65535."""
    content = rng.uniform(size=(16, 16, 3)).astype(np.float32)
    millimetres = rng.integers(500, 4000, size=(16, 16)).astype(np.uint16)
    millimetres[2:5, 3:7] = 0  # no reading
    expected = model.stylize(content, content[::-1].copy(), depth=millimetres.astype(np.float32),
                             depth_invalid=0.0, return_depth=True)
    for raw in (millimetres, millimetres.astype(np.int32)):
        got = model.stylize(content, content[::-1].copy(), depth=raw, depth_invalid=0,
                            return_depth=True)
        assert np.array_equal(got.depth, expected.depth) and np.array_equal(got.image, expected.image)
    with pytest.raises(TypeError, match="bool"):
        model.stylize(content, content, depth=millimetres > 1000)


def test_network_depth_is_normalised_luma(model, rng):
    content = rng.uniform(size=(12, 10, 3)).astype(np.float32)
    depth = adn.stylize(model, content, content[::-1].copy(), return_depth=True).depth
    luma = content.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    ref = (luma - luma.min()) / (luma.max() - luma.min())
    assert np.max(np.abs(depth - ref)) < 1e-5
    assert np.max(np.abs(model.estimate_depth(content) - ref)) < 1e-5


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
    ctx = m.context()
    with m.style(image) as s:
        assert not s.closed
    assert s.closed
    s.close()  # second close: no-op, no crash
    with pytest.raises(adn.InvalidArgument, match="closed"):
        adn.stylize(m, image, s)
    with pytest.raises(adn.InvalidArgument, match="closed"):
        s.stats()
    m.close()  # closes `kept` and `ctx` first, as the C API requires
    assert kept.closed and ctx.closed and m.closed
    m.close()
    kept.close()
    ctx.close()
    with pytest.raises(adn.InvalidArgument):
        m.info
    with pytest.raises(adn.InvalidArgument):
        adn.stylize(m, image, image)
    with pytest.raises(adn.InvalidArgument):
        ctx.stylize(image, image)
    with pytest.raises(adn.InvalidArgument):
        m.context()


def test_style_from_another_model_is_refused(analytic_bundle, rng):
    image = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    with adn.Model(analytic_bundle) as a, adn.Model(analytic_bundle) as b:
        with a.style(image) as s:
            with pytest.raises(adn.InvalidArgument, match="another model"):
                adn.stylize(b, image, s)
            with b.context() as ctx, pytest.raises(adn.InvalidArgument, match="another model"):
                ctx.stylize(image, s)


def test_model_stylize_threads_share_one_model(model, rng):
    """Model.stylize from several threads at once: each runs on its own private context."""
    content = rng.integers(0, 256, size=(24, 40, 3), dtype=np.uint8)
    style = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    with model.style(style) as s:
        expected = adn.stylize(model, content, s, alpha=0.7).image
        reversed_ = adn.stylize(model, content, s, alpha=0.7, depth_range=(1.0, 0.0)).image
        assert not np.array_equal(expected, reversed_)
        results = [None] * 8
        errors = []

        def work(i):
            try:
                for _ in range(3):
                    results[i] = adn.stylize(model, content, s, alpha=0.7,
                                             depth_range=(1.0, 0.0) if i % 2 else (0.0, 1.0)).image
            except Exception as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    for i, r in enumerate(results):
        assert np.array_equal(r, reversed_ if i % 2 else expected), i


def test_model_stylize_carries_no_state_between_calls(model, rng):
    content = rng.uniform(size=(16, 24, 3)).astype(np.float32)
    style = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    first = model.stylize(content, style).image
    model.stylize(content, style, depth_range=(0.9, 0.1))
    assert np.array_equal(model.stylize(content, style).image, first)


def test_stylize_without_numpy(analytic_bundle):
    script = f"""
import sys
sys.modules['numpy'] = None
import adain_dcs as adn
content = adn.Image(9, 3, 3, bytes((7 * i) % 256 for i in range(81)))
style = adn.Image(4, 4, 3, bytes((11 * i) % 256 for i in range(48)))
with adn.Model({str(analytic_bundle)!r}, device='cpu') as model:
    out = adn.stylize(model, content, style, alpha=0.0).image
    assert isinstance(out, adn.Image) and out == content, out
    out, depth, strength = adn.stylize(model, content, style, return_depth=True)
    assert out.is_uint8 and out.shape == (3, 9, 3) and strength is None
    assert isinstance(depth, adn.Image) and depth.shape == (3, 9, 1)
    with model.context() as ctx:
        result = ctx.stylize(content, style, return_strength=True)
        assert result.image == adn.stylize(model, content, style).image
        assert isinstance(result.strength, adn.Image) and result.strength.shape == (1, 2, 1)
        est = ctx.estimate_depth(content)
        assert isinstance(est, adn.Image) and est.data == depth.data
        assert isinstance(ctx.last_depth(), adn.Image)
print("ok")
"""
    env = dict(os.environ, PYTHONPATH=str(Path(adn.__file__).parents[1]))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_closing_never_frees_under_a_running_call(analytic_bundle, rng):
    """close() of a model (and with it its styles and contexts) while other threads stylize: the
    running calls finish with correct results, later ones are refused, nothing crashes, and the
    C objects are freed once the last call returns."""
    content = rng.integers(0, 256, size=(32, 48, 3), dtype=np.uint8)
    style = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    model = adn.Model(analytic_bundle, device="cpu", threads=1)
    s = model.style(style)
    expected = model.stylize(content, s).image
    outcomes, errors, started = [], [], threading.Barrier(4)

    def work(use_context):
        started.wait()
        try:
            ctx = model.context() if use_context else None
            for _ in range(20):
                outcomes.append((ctx or model).stylize(content, s).image)
        except adn.InvalidArgument as err:  # the model was closed under us: refused, not a crash
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(3)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.01)
    model.close()
    for t in threads:
        t.join()
    assert all(np.array_equal(o, expected) for o in outcomes)
    assert all("closed" in e.message for e in errors)
    assert s.closed and model.closed
    assert model._h._value is None, "the C model was not freed after the last call"


@pytest.mark.parametrize("kind", ["context", "style"])
def test_a_child_made_during_close_is_closed_and_the_model_freed(analytic_bundle, kind):
    """The window the race above can hit, made certain: close() runs after a child's C object
    exists but before the child is in the model's set.  The child must come out closed, and the
    model be freed, rather than the child holding its use of the model forever."""
    model = adn.Model(analytic_bundle, device="cpu", threads=1)
    register = model._register

    def close_first(child):
        model.close()
        register(child)

    model._register = close_first
    child = model.context() if kind == "context" else model.style(np.zeros((8, 8, 3), np.uint8))
    assert child.closed and model.closed
    assert model._h._value is None, "the C model was not freed"
    with pytest.raises(adn.InvalidArgument, match="closed"):
        child.handle


def test_garbage_collected_objects_free_their_handles(analytic_bundle, rng):
    import gc
    import weakref
    content = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    model = adn.Model(analytic_bundle, device="cpu")
    handle = model._h
    ctx = model.context()
    model.stylize(content, content)  # also makes this thread's private context
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is not None  # the explicit context keeps its model alive
    assert handle._value is not None
    del ctx
    gc.collect()
    assert ref() is None and handle._value is None


def test_an_unsealed_bundle_needs_trust_unsealed(analytic_bundle, tmp_path):
    """A bundle without manifest.txt (made by hand) is refused by default with a message saying how
    to seal it, and loads with trust_unsealed=True; the model works the same."""
    import shutil

    unsealed = tmp_path / "unsealed"
    shutil.copytree(analytic_bundle, unsealed)
    (unsealed / "manifest.txt").unlink()
    with pytest.raises(adn.ModelError, match="--seal"):
        adn.Model(unsealed, device="cpu", threads=1)
    rng = np.random.default_rng(2)
    content = rng.uniform(size=(16, 24, 3)).astype(np.float32)
    style = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    with adn.Model(unsealed, device="cpu", threads=1, trust_unsealed=True) as trusted, \
            adn.Model(analytic_bundle, device="cpu", threads=1) as sealed:
        assert np.array_equal(trusted.stylize(content, style).image, sealed.stylize(content, style).image)
