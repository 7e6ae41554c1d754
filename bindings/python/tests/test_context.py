"""Contexts: per-thread state, depth range, progress / cancel, timings, estimate_depth, out= buffers
and (experimental) temporal smoothing, on the analytic bundle (luma depth)."""
import threading

import pytest

import adain_dcs as adn

np = pytest.importorskip("numpy")


@pytest.fixture
def images(rng):
    content = rng.uniform(size=(20, 28, 3)).astype(np.float32)
    style = rng.uniform(0.1, 0.9, size=(16, 12, 3)).astype(np.float32)
    return content, style


def luma_depth(content):
    luma = content.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return (luma - luma.min()) / (luma.max() - luma.min())


# --- depth range ------------------------------------------------------------------------------------

def test_depth_range_lives_on_the_context(model, images):
    content, style = images
    with model.context() as a, model.context(depth_range=(1.0, 0.0)) as b:
        assert a.depth_range == (0.0, 1.0)
        assert b.depth_range == (1.0, 0.0)
        forward = a.stylize(content, style).image
        reverse = b.stylize(content, style).image
        assert not np.array_equal(forward, reverse)
        a.set_depth_range(1.0, 0.0)  # one context's range does not touch the other's
        assert a.depth_range == (1.0, 0.0)
        assert np.array_equal(a.stylize(content, style).image, reverse)
        a.depth_range = (0.25, 0.75)
        assert a.depth_range == (0.25, 0.75)
        assert b.depth_range == (1.0, 0.0)
        with pytest.raises(adn.InvalidArgument):
            a.set_depth_range(-0.5, 1.0)
        assert a.depth_range == (0.25, 0.75)
    with pytest.raises(adn.InvalidArgument):
        model.context(depth_range=(0.0, 1.5))


def test_context_model_and_lifetime(model, images):
    content, style = images
    ctx = adn.Context(model)
    assert ctx.model is model and not ctx.closed
    assert adn._lib.C.adn_context_get_model(ctx.handle) == model.handle
    ctx.close()
    ctx.close()
    assert ctx.closed
    with pytest.raises(adn.InvalidArgument, match="context is closed"):
        ctx.stylize(content, style)
    with pytest.raises(adn.InvalidArgument, match="context is closed"):
        ctx.depth_range


# --- threads --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["uint8", "float32"])
def test_four_threads_with_own_contexts_match_a_single_thread(model, rng, kind):
    """One model and one style shared by 4 threads, each with its own context (and its own depth
    range): every result is bit-identical to the single-threaded run."""
    frames = [rng.uniform(size=(24 + 8 * k, 40 - 4 * k, 3)).astype(np.float32) for k in range(3)]
    if kind == "uint8":
        frames = [np.round(f * 255).astype(np.uint8) for f in frames]
    ranges = [(0.0, 1.0), (1.0, 0.0), (0.2, 0.9), (0.5, 0.5)]
    with model.style(rng.uniform(size=(16, 16, 3)).astype(np.float32)) as style:
        expected = {}
        with model.context() as ctx:
            for t, depth_range in enumerate(ranges):
                ctx.set_depth_range(*depth_range)
                for k, frame in enumerate(frames):
                    expected[t, k] = ctx.stylize(frame, style, alpha=0.8, return_depth=True)
        results, errors = {}, []
        barrier = threading.Barrier(len(ranges))

        def work(t):
            try:
                with model.context(depth_range=ranges[t]) as own:
                    barrier.wait()
                    for _ in range(3):
                        for k, frame in enumerate(frames):
                            results[t, k] = own.stylize(frame, style, alpha=0.8, return_depth=True)
            except Exception as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(len(ranges))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert set(results) == set(expected)
    for key, want in expected.items():
        got = results[key]
        assert got.image.dtype == want.image.dtype
        assert np.array_equal(got.image, want.image), key
        assert np.array_equal(got.depth, want.depth), key


def _blocking_progress():
    """A progress callback that holds its call at the first stage until released."""
    entered, release = threading.Event(), threading.Event()

    def progress(stage):
        if not entered.is_set():
            entered.set()
            assert release.wait(30), "the test never released the call"
        return False

    return progress, entered, release


def test_concurrent_use_of_one_context_raises_instead_of_waiting(model, images):
    content, style = images
    progress, entered, release = _blocking_progress()
    ctx = model.context(progress=progress)
    outcome = {}

    def first():
        try:
            outcome["result"] = ctx.stylize(content, style)
        except BaseException as err:  # noqa: BLE001 - reported below
            outcome["error"] = err

    runner = threading.Thread(target=first)
    runner.start()
    try:
        assert entered.wait(30)
        # the first call is inside the C library now: every use from this thread is refused at once
        for attempt in (lambda: ctx.stylize(content, style), lambda: ctx.estimate_depth(content),
                        lambda: ctx.depth_range, lambda: ctx.set_depth_range(0.0, 1.0),
                        ctx.last_timings, ctx.last_depth, ctx.reset):
            with pytest.raises(adn.ContextBusyError, match="one thread at a time"):
                attempt()
        # other contexts of the same model are not affected
        with model.context() as other:
            assert other.stylize(content, style).image.shape == content.shape
    finally:
        release.set()
        runner.join()
    assert "error" not in outcome, outcome.get("error")
    assert np.array_equal(outcome["result"].image, model.stylize(content, style).image)
    assert ctx.depth_range == (0.0, 1.0)  # free again
    assert isinstance(adn.ContextBusyError("x"), RuntimeError)
    ctx.close()


def test_reentering_a_context_from_its_own_callback_is_refused(model, images):
    content, style = images
    holder = {}

    def progress(stage):
        holder["ctx"].set_depth_range(0.5, 0.5)  # the context is busy with this very call

    with model.context(progress=progress) as ctx:
        holder["ctx"] = ctx
        with pytest.raises(adn.ContextBusyError):
            ctx.stylize(content, style)
        assert ctx.depth_range == (0.0, 1.0)


# --- progress and cancellation --------------------------------------------------------------------

def test_progress_reports_the_stages_in_order(model, images):
    content, style = images
    seen = []
    with model.context(progress=lambda stage: seen.append(stage)) as ctx:
        ctx.stylize(content, style, depth="network")
        assert all(isinstance(s, adn.Stage) for s in seen)
        assert seen == sorted(seen) and len(set(seen)) == len(seen), seen
        assert seen[0] == adn.Stage.ENCODE_CONTENT and seen[-1] == adn.Stage.DECODE
        assert {adn.Stage.DEPTH, adn.Stage.ADAIN_BLEND} <= set(seen)
        seen.clear()
        ctx.estimate_depth(content)
        assert adn.Stage.DEPTH in seen and adn.Stage.DECODE not in seen, seen


@pytest.mark.parametrize("stop_at", list(adn.Stage))
def test_cancel_raises_cancelled_and_leaves_out_untouched(model, images, stop_at):
    content, style = images
    stop = {"on": False}
    with model.context(progress=lambda stage: stop["on"] and stage == stop_at) as ctx:
        before = ctx.stylize(content, style, preserve_color=True, return_depth=True)
        stop["on"] = True
        out = np.full(content.shape, 7.0, np.float32)
        with pytest.raises(adn.Cancelled) as info:
            ctx.stylize(content[::-1].copy(), style, preserve_color=True, out=out)
        assert info.value.status == adn.Status.CANCELLED == 11
        assert np.all(out == 7.0), "a cancelled call wrote into out"
        # the header promises the maps of the last *successful* call; the library today drops
        # them when a call fails, which is fine as long as it never hands out another call's D
        try:
            kept = ctx.last_depth()
        except adn.InvalidArgument as err:
            assert "no depth" in err.message
        else:
            assert np.array_equal(kept, before.depth)
        stop["on"] = False
        again = ctx.stylize(content, style, preserve_color=True, out=out)
        assert again.image is out and np.array_equal(out, before.image)


def test_cancel_of_estimate_depth_leaves_out_untouched(model, images):
    content, _ = images
    with model.context(progress=lambda stage: stage == adn.Stage.DEPTH) as ctx:
        out = np.full(content.shape[:2], -1.0, np.float32)
        with pytest.raises(adn.Cancelled):
            ctx.estimate_depth(content, out=out)
        assert np.all(out == -1.0)


class Boom(Exception):
    pass


@pytest.mark.parametrize("exc_type", [Boom, KeyboardInterrupt])
def test_exception_in_progress_cancels_and_is_reraised(model, images, capfd, exc_type):
    content, style = images
    calls = []

    def progress(stage):
        calls.append(stage)
        if len(calls) == 2:
            raise exc_type("from the callback")

    with model.context(progress=progress) as ctx:
        out = np.zeros(content.shape, np.float32)
        with pytest.raises(exc_type, match="from the callback"):
            ctx.stylize(content, style, out=out)
        assert len(calls) == 2, "the call went on after the callback raised"
        assert not out.any()
        # nothing leaked into the next call, and ctypes printed nothing
        calls.append("done")
        assert ctx.stylize(content, style).image.shape == content.shape
    assert "Exception ignored" not in capfd.readouterr().err


def test_progress_must_be_callable(model):
    with pytest.raises(TypeError, match="callable"):
        model.context(progress=42)


# --- timings ------------------------------------------------------------------------------------------

def test_timings(model, images):
    content, style = images
    with model.context() as ctx:
        assert ctx.last_timings() == adn.Timings(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        ctx.stylize(content, style, depth="network")
        t = ctx.last_timings()
        assert isinstance(t, adn.Timings) and t._fields == (
            "style_encode_ms", "content_encode_ms", "depth_ms", "adain_blend_ms", "decode_ms",
            "total_ms")
        assert all(v >= 0.0 for v in t)
        assert t.total_ms > 0.0 and t.content_encode_ms > 0.0 and t.decode_ms > 0.0
        assert t.total_ms >= max(t[:-1])
        ctx.stylize(content, style, preserve_color=True)
        assert ctx.last_timings().style_encode_ms > 0.0
        ctx.estimate_depth(content)
        t = ctx.last_timings()
        assert t.depth_ms > 0.0 and t.total_ms >= t.depth_ms
        assert t.content_encode_ms == t.decode_ms == t.adain_blend_ms == 0.0


# --- depth ------------------------------------------------------------------------------------------

def test_estimate_depth_equals_the_depth_of_stylize(model, images):
    content, style = images
    with model.context(depth_range=(0.9, 0.3)) as ctx:
        result = ctx.stylize(content, style, depth="network", return_depth=True)
        from_getter = ctx.last_depth()
        estimated = ctx.estimate_depth(content)
    assert estimated.dtype == np.float32 and estimated.shape == content.shape[:2]
    assert np.array_equal(from_getter, result.depth)
    assert np.max(np.abs(estimated - from_getter)) < 1e-6
    assert np.max(np.abs(estimated - luma_depth(content))) < 1e-5


def test_estimate_depth_needs_a_depth_network(analytic_bundle, images):
    content, _ = images
    with adn.Model(analytic_bundle, device="cpu", load_depth=False) as model, model.context() as ctx:
        with pytest.raises(adn.InvalidArgument):
            ctx.estimate_depth(content)


def test_last_maps_and_reset(model, images):
    content, style = images
    with model.context() as ctx:
        with pytest.raises(adn.InvalidArgument):
            ctx.last_depth()  # no call yet
        result = ctx.stylize(content, style, return_depth=True, return_strength=True)
        assert np.array_equal(ctx.last_strength(), result.strength)
        assert result.strength.shape == (3, 4)
        ctx.stylize(content, style, depth="none")
        with pytest.raises(adn.InvalidArgument):
            ctx.last_depth()  # the last call used no depth
        ctx.stylize(content, style)
        ctx.reset()
        with pytest.raises(adn.InvalidArgument):
            ctx.last_depth()
        with pytest.raises(adn.InvalidArgument):
            ctx.last_strength()


def test_temporal_smoothing_experimental(model, rng):
    a = rng.uniform(size=(16, 16, 3)).astype(np.float32)
    b = rng.uniform(size=(16, 16, 3)).astype(np.float32)
    with model.context() as ctx:
        ctx.set_temporal(depth_ema=0.5)
        d_a = ctx.stylize(a, a, return_depth=True).depth
        d_b = ctx.stylize(b, a, return_depth=True).depth
        assert np.max(np.abs(d_a - luma_depth(a))) < 1e-5  # a first frame is exact
        assert np.max(np.abs(d_b - (0.5 * d_a + 0.5 * luma_depth(b)))) < 1e-5
        assert np.max(np.abs(ctx.estimate_depth(b) - luma_depth(b))) < 1e-5  # not smoothed
        ctx.reset()
        assert np.max(np.abs(ctx.stylize(b, a, return_depth=True).depth - luma_depth(b))) < 1e-5
        ctx.set_temporal()  # off again
        assert np.max(np.abs(ctx.stylize(a, a, return_depth=True).depth - luma_depth(a))) < 1e-5
        for bad in ({"depth_ema": 1.0}, {"range_ema": -0.1}):
            with pytest.raises(adn.InvalidArgument):
                ctx.set_temporal(**bad)


# --- out= buffers ------------------------------------------------------------------------------------------

def test_out_buffer_receives_the_image(model, images):
    content, style = images
    with model.context() as ctx:
        expected = ctx.stylize(content, style).image
        out = np.empty_like(expected)
        result = ctx.stylize(content, style, out=out)
        assert result.image is out and np.array_equal(out, expected)
        as_u8 = np.round(content * 255).astype(np.uint8)
        expected_u8 = ctx.stylize(as_u8, style).image
        out_u8 = np.empty(content.shape, np.uint8)
        assert ctx.stylize(as_u8, style, out=out_u8).image is out_u8
        assert np.array_equal(out_u8, expected_u8)
        depth_out = np.empty(content.shape[:2], np.float32)
        assert ctx.estimate_depth(content, out=depth_out) is depth_out
        assert np.max(np.abs(depth_out - luma_depth(content))) < 1e-5


def test_out_buffer_is_checked(model, images):
    content, style = images
    height, width, _ = content.shape
    with model.context() as ctx:
        with pytest.raises(TypeError, match="float32"):
            ctx.stylize(content, style, out=np.empty(content.shape, np.float64))
        with pytest.raises(TypeError, match="uint8"):  # uint8 content: uint8 result
            ctx.stylize((content * 255).astype(np.uint8), style, out=np.empty(content.shape, np.float32))
        with pytest.raises(TypeError, match="numpy array"):
            ctx.stylize(content, style, out=[0.0] * content.size)
        with pytest.raises(adn.InvalidArgument, match="shape"):
            ctx.stylize(content, style, out=np.empty((3, height, width), np.float32))
        with pytest.raises(adn.InvalidArgument, match="shape"):
            ctx.stylize(content, style, out=np.empty((height, width + 1, 3), np.float32))
        with pytest.raises(adn.InvalidArgument, match="contiguous"):
            ctx.stylize(content, style, out=np.empty(content.shape, np.float32, order="F"))
        with pytest.raises(adn.InvalidArgument, match="contiguous"):
            ctx.stylize(content, style, out=np.empty((height, 2 * width, 3), np.float32)[:, ::2])
        readonly = np.empty(content.shape, np.float32)
        readonly.flags.writeable = False
        with pytest.raises(adn.InvalidArgument, match="read-only"):
            ctx.stylize(content, style, out=readonly)
        with pytest.raises(adn.InvalidArgument, match="shape"):
            ctx.estimate_depth(content, out=np.empty((height, width, 1), np.float32))
        with pytest.raises(TypeError, match="float32"):
            ctx.estimate_depth(content, out=np.empty((height, width), np.float64))


def test_out_must_not_alias_an_input(model, images):
    content, style = images
    height, width, _ = content.shape
    with model.context() as ctx:
        work = content.copy()
        with pytest.raises(adn.InvalidArgument, match="content"):
            ctx.stylize(work, style, out=work)
        assert np.array_equal(work, content)
        shared = np.zeros((2,) + content.shape, np.float32)
        shared[0] = content
        with pytest.raises(adn.InvalidArgument, match="style"):
            ctx.stylize(content, [style, shared[0]], out=shared[0])
        big = np.zeros((height, width, 4), np.float32)
        with pytest.raises(adn.InvalidArgument, match="mask"):
            ctx.stylize(content, style, mask=big[:, :, 3], out=_overlapping_out(big))
        rgb = content.copy()
        with pytest.raises(adn.InvalidArgument, match="rgb"):
            ctx.estimate_depth(rgb, out=rgb.reshape(-1)[:height * width].reshape(height, width))
        assert np.array_equal(rgb, content)


def _overlapping_out(buffer):
    """A C-contiguous H x W x 3 float32 view that overlaps ``buffer``'s memory."""
    flat = buffer.reshape(-1)
    height, width = buffer.shape[:2]
    return flat[:height * width * 3].reshape(height, width, 3)


def test_a_failed_call_leaves_out_untouched(model, images):
    content, style = images
    depth = np.ones(content.shape[:2], np.float32)
    depth[1, 1] = np.nan
    out = np.full(content.shape, 3.0, np.float32)
    with model.context() as ctx:
        with pytest.raises(adn.NonFinite):
            ctx.stylize(content, style, depth=depth, out=out)
    assert np.all(out == 3.0)


# --- memory budget ----------------------------------------------------------------------------------

def test_memory_budget_tiles_with_the_same_result_and_refuses_what_cannot_fit(model, rng):
    """512 x 512 needs about 270 MiB of activations untiled (adn_context_params in adain_dcs.h), so
    a 40 MiB budget must run over tiles; the result is the untiled one.  One byte cannot fit."""
    content = rng.uniform(size=(512, 512, 3)).astype(np.float32)
    style = rng.uniform(0.1, 0.9, size=(64, 48, 3)).astype(np.float32)
    with model.context() as whole, model.context(memory_budget=40 << 20) as tiled:
        expected = whole.stylize(content, style).image
        got = tiled.stylize(content, style).image
        assert got.shape == expected.shape
        assert float(np.abs(got - expected).max()) <= 1e-4
    with model.context(memory_budget=1) as tiny:
        with pytest.raises(adn.TooLarge, match="memory budget"):
            tiny.stylize(content, style)
    with pytest.raises((adn.InvalidArgument, OverflowError, ValueError)):
        model.context(memory_budget=-1)
