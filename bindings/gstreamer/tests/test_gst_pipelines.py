"""The adnstylize element in gst-launch-1.0 pipelines, checked against the library through the
Python binding (adain_dcs):

- gst-inspect-1.0 documents every property;
- videotestsrc and the shared test video: frame counts and sizes; raw frames (filesink) of the
  element equal adn_stylize on the same input frames, bit for bit for RGB caps;
- I420: the element's output against adn_stylize on the frame converted here with numpy by the
  formulas of adn_gst_frames.h (caps' matrix and range, bilinear half-pixel chroma up, 2x2 mean
  down); tolerance 1 code, from float rounding of the colour conversion only;
- a bad property value is refused with a warning and the pipeline still runs; a bundle that does
  not load stops it with the library's message;
- the README pipeline (decodebin ! ... ! x264enc ! mp4mux) makes a playable file.

Environment (tests/meson.build and bindings/gstreamer/meson.build): GST_PLUGIN_PATH, GST_REGISTRY,
ADN_LIBRARY, PYTHONPATH, ADN_BUNDLE_ANALYTIC, ADN_BUNDLE_SYNTHETIC, ADN_SHARED_DATA.
"""
import os
import re
import shutil
import subprocess

import pytest

np = pytest.importorskip("numpy")
LAUNCH, INSPECT = shutil.which("gst-launch-1.0"), shutil.which("gst-inspect-1.0")
if not (LAUNCH and INSPECT):
    pytest.skip("gst-launch-1.0 / gst-inspect-1.0 not installed (Debian: gstreamer1.0-tools)",
                allow_module_level=True)
ANALYTIC = os.environ.get("ADN_BUNDLE_ANALYTIC", "")
SYNTHETIC = os.environ.get("ADN_BUNDLE_SYNTHETIC", "")
if not (ANALYTIC and os.path.isdir(ANALYTIC)):
    pytest.skip("ADN_BUNDLE_ANALYTIC is not built (bundles need python with torch)", allow_module_level=True)
BUNNY = os.path.join(os.environ.get("ADN_SHARED_DATA", ""), "video", "cutBunny.mp4")

import adain_dcs  # noqa: E402  (after the skips: it loads the library)

PROPERTIES = ["models", "style", "alpha", "depth-range", "depth-ema", "range-ema", "content-stats-ema",
              "scene-cut-threshold", "device", "precision", "threads", "preserve-color", "trust-unsealed",
              "frames-processed", "library-time-ms"]


def launch(*pipeline, timeout=900):
    return subprocess.run([LAUNCH, "-q", "-e"] + [str(p) for p in pipeline], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def style_path(tmp_path_factory):
    rng = np.random.default_rng(5)
    path = tmp_path_factory.mktemp("style") / "style.png"
    adain_dcs.write_image(str(path), rng.integers(20, 230, (28, 36, 3), dtype=np.uint8))
    return path


def element(models, style, extra=""):
    return f"adnstylize models={models} style={style} device=cpu depth-ema=0 {extra}".split()


def raw_frames(path, frame_size):
    data = path.read_bytes()
    assert len(data) % frame_size == 0, f"{path.name}: {len(data)} bytes is not a whole number of frames"
    return [data[i:i + frame_size] for i in range(0, len(data), frame_size)]


def tee_pipeline(source, caps, models, style, tmp_path, extra=""):
    """source ! caps ! tee: the input frames to in.raw, the element's output to out.raw."""
    return ([*source.split(), "!", caps, "!", "tee", "name=t", "t.", "!", "queue", "!", "filesink",
             f"location={tmp_path / 'in.raw'}", "t.", "!", "queue", "!", *element(models, style, extra), "!",
             "filesink", f"location={tmp_path / 'out.raw'}"])


def stylize_u8(models, style, frames_hwc):
    """adn_stylize through the binding, one fresh context per frame (the per-frame exact result)."""
    with adain_dcs.Model(models, device="cpu") as model, model.style(adain_dcs.read_image(str(style))) as s:
        return [model.stylize(f, s).image for f in frames_hwc]


# ---- documentation --------------------------------------------------------------------------------

def test_gst_inspect_documents_every_property():
    done = subprocess.run([INSPECT, "adnstylize"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    section = done.stdout.split("Element Properties:", 1)[1]
    blurbs = dict(re.findall(r"^  ([a-z][a-z0-9-]*)\s*: (.+)$", section, flags=re.M))
    for name in PROPERTIES:
        assert name in blurbs, f"{name} is not listed by gst-inspect-1.0"
        assert len(blurbs[name]) > 20, f"{name}: blurb '{blurbs[name]}' says too little"
    for fmt in ("RGB", "RGBx", "BGRx", "I420"):
        assert f"(string){fmt}" in done.stdout
    assert re.search(r"style\s*:.*\n\s*flags:.*changeable in NULL, READY, PAUSED or PLAYING", section)
    assert re.search(r"models\s*:.*\n\s*flags:.*changeable only in NULL or READY", section)


# ---- videotestsrc ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, bundle", [("RGB", "analytic"), ("BGRx", "analytic"), ("RGB", "synthetic")])
def test_videotestsrc_frames_equal_adn_stylize(tmp_path, style_path, fmt, bundle):
    models = ANALYTIC if bundle == "analytic" else SYNTHETIC
    if not models:
        pytest.skip("ADN_BUNDLE_SYNTHETIC is not built")
    w, h, n = 64, 48, 4
    caps = f"video/x-raw,format={fmt},width={w},height={h},framerate=25/1"
    done = launch(*tee_pipeline(f"videotestsrc num-buffers={n} pattern=ball", caps, models, style_path, tmp_path))
    assert done.returncode == 0, done.stderr
    bpp = 3 if fmt == "RGB" else 4
    ins, outs = raw_frames(tmp_path / "in.raw", w * h * bpp), raw_frames(tmp_path / "out.raw", w * h * bpp)
    assert len(ins) == len(outs) == n

    def rgb(frame):
        a = np.frombuffer(frame, np.uint8).reshape(h, w, bpp)
        return a[..., [2, 1, 0]] if fmt == "BGRx" else a[..., :3]

    want = stylize_u8(models, style_path, [np.ascontiguousarray(rgb(f)) for f in ins])
    for t, (out, ref) in enumerate(zip(outs, want)):
        assert np.array_equal(rgb(out), ref), f"frame {t}: max |diff| {np.abs(rgb(out).astype(int) - ref).max()}"
        if fmt == "BGRx":  # the x byte passes through
            assert np.array_equal(np.frombuffer(out, np.uint8)[3::4], np.frombuffer(ins[t], np.uint8)[3::4])


# ---- I420 -----------------------------------------------------------------------------------------

KR_KB = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}


def i420_planes(frame, w, h):
    y = np.frombuffer(frame, np.uint8, w * h).reshape(h, w)
    cw, ch = (w + 1) // 2, (h + 1) // 2
    u = np.frombuffer(frame, np.uint8, cw * ch, w * h).reshape(ch, cw)
    v = np.frombuffer(frame, np.uint8, cw * ch, w * h + cw * ch).reshape(ch, cw)
    return y, u, v


def i420_to_rgb(frame, w, h, matrix):
    """adn_gst_frames.h, limited range (Y 16 + 219 Y', C 128 + 224 P), in float32 as the element."""
    kr, kb = (np.float32(k) for k in KR_KB[matrix])
    kg = np.float32(1) - kr - kb
    y, u, v = i420_planes(frame, w, h)
    chroma = np.stack([u, v]).astype(np.float32)
    full = np.asarray(adain_dcs.resize_bilinear(chroma, h, w), np.float32)  # half-pixel centres
    yy = (y.astype(np.float32) - np.float32(16)) / np.float32(219)
    pb, pr = (full[0] - np.float32(128)) / np.float32(224), (full[1] - np.float32(128)) / np.float32(224)
    r = yy + np.float32(2) * (np.float32(1) - kr) * pr
    b = yy + np.float32(2) * (np.float32(1) - kb) * pb
    g = (yy - kr * r - kb * b) / kg
    return np.stack([r, g, b], axis=-1)


def rgb_to_i420(rgb, matrix):
    kr, kb = KR_KB[matrix]
    kg = 1 - kr - kb
    r, g, b = (rgb[..., c].astype(np.float64) for c in range(3))
    yy = kr * r + kg * g + kb * b
    y = 16 + 219 * yy
    cb = 128 + 224 * (b - yy) / (2 * (1 - kb))
    cr = 128 + 224 * (r - yy) / (2 * (1 - kr))
    h, w = y.shape

    def down(c):  # mean of each 2x2 block (even sizes here)
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    return [np.clip(np.floor(p + 0.5), 0, 255) for p in (y, down(cb), down(cr))]


@pytest.mark.parametrize("matrix", ["bt601", "bt709"])
def test_i420_matches_adn_stylize_within_one_code(tmp_path, style_path, matrix):
    w, h, n = 64, 48, 3
    caps = f"video/x-raw,format=I420,width={w},height={h},framerate=25/1,colorimetry={matrix}"
    done = launch(*tee_pipeline(f"videotestsrc num-buffers={n} pattern=smpte", caps, ANALYTIC, style_path, tmp_path))
    assert done.returncode == 0, done.stderr
    size = w * h * 3 // 2
    ins, outs = raw_frames(tmp_path / "in.raw", size), raw_frames(tmp_path / "out.raw", size)
    assert len(ins) == len(outs) == n
    with adain_dcs.Model(ANALYTIC, device="cpu") as model, model.style(adain_dcs.read_image(str(style_path))) as s:
        for t in range(n):
            out = model.stylize(i420_to_rgb(ins[t], w, h, matrix), s).image
            want = rgb_to_i420(np.asarray(out), matrix)
            got = i420_planes(outs[t], w, h)
            worst = max(np.abs(g.astype(np.float64) - e).max() for g, e in zip(got, want))
            assert worst <= 1, f"frame {t}: max code difference {worst}"


# ---- properties and errors ------------------------------------------------------------------------

def test_bad_property_is_refused_and_the_pipeline_runs(tmp_path, style_path):
    done = launch("videotestsrc", "num-buffers=3", "!", "video/x-raw,format=RGB,width=32,height=24", "!",
                  *element(ANALYTIC, style_path, "alpha=2 depth-range=1,7 depth-ema=1"), "!", "filesink",
                  f"location={tmp_path / 'out.raw'}")
    assert done.returncode == 0, done.stderr
    assert "depth-range" in done.stderr and "depth-ema" in done.stderr and "alpha" in done.stderr
    assert (tmp_path / "out.raw").stat().st_size == 3 * 32 * 24 * 3


def test_bundle_that_does_not_load_is_an_error_with_the_library_message(tmp_path, style_path):
    empty = tmp_path / "not-a-bundle"
    empty.mkdir()
    done = launch("videotestsrc", "num-buffers=3", "!", "video/x-raw,width=32,height=24", "!",
                  *element(empty, style_path), "!", "fakesink", timeout=120)
    assert done.returncode != 0
    with pytest.raises(adain_dcs.AdnError) as err:
        adain_dcs.Model(str(empty), device="cpu")
    library_message = err.value.message
    assert "adnstylize: " in done.stderr and library_message[:40] in done.stderr, (done.stderr, library_message)


# ---- the shared test video ------------------------------------------------------------------------

needs_bunny = pytest.mark.skipif(not os.path.exists(BUNNY), reason=f"no test video at {BUNNY}")


@needs_bunny
def test_bunny_frame_count_size_and_first_frame(tmp_path, style_path):
    w, h = 160, 90
    source = f"filesrc location={BUNNY} ! decodebin ! videoconvert ! videoscale"
    caps = f"video/x-raw,format=RGB,width={w},height={h}"
    done = launch(*tee_pipeline(source, caps, ANALYTIC, style_path, tmp_path, "scene-cut-threshold=0.1"))
    assert done.returncode == 0, done.stderr
    ins, outs = raw_frames(tmp_path / "in.raw", w * h * 3), raw_frames(tmp_path / "out.raw", w * h * 3)
    assert len(ins) == len(outs) == 240  # 10 s at 24 frames/s
    first_in = np.frombuffer(ins[0], np.uint8).reshape(h, w, 3)
    want = stylize_u8(ANALYTIC, style_path, [first_in])[0]
    assert np.array_equal(np.frombuffer(outs[0], np.uint8).reshape(h, w, 3), want)


SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def readme_block(section, index=0):
    """The index-th ```sh block of README.md's section headed `section`."""
    text = open(os.path.join(SOURCE, "README.md"), encoding="utf-8").read()
    body = text.split("\n## " + section + "\n", 1)[1].split("\n## ", 1)[0]
    return body.split("```sh\n")[index + 1].split("```", 1)[0]


def checkout_copy(tmp_path):
    """A folder laid out like the checkout after the README's build, where its commands run as
    written: tools/ of the source, build/ = this build, ../shared/data beside it."""
    data = os.environ.get("ADN_SHARED_DATA", "")
    if not os.path.isdir(data):
        pytest.skip("../shared/data is absent: the README's commands use its files")
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "shared").mkdir()
    os.symlink(os.path.abspath(data), tmp_path / "shared" / "data")
    os.symlink(os.path.join(SOURCE, "tools"), root / "tools")
    os.symlink(os.path.dirname(os.path.dirname(os.environ["GST_PLUGIN_PATH"].rstrip("/"))), root / "build")
    return root


@needs_bunny
def test_readme_pipeline_runs_as_written_and_writes_a_playable_mp4(tmp_path):
    """README.md's GStreamer block, run as written from a copy of the checkout (checkout_copy)."""
    if subprocess.run([INSPECT, "x264enc"], capture_output=True).returncode != 0:
        pytest.skip("x264enc not installed (gstreamer1.0-plugins-ugly)")
    script = readme_block("Live video (GStreamer)")
    assert "gst-launch-1.0" in script and "adnstylize" in script
    root = checkout_copy(tmp_path)
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    out = root / "scratch" / "bunny_gst.mp4"
    if shutil.which("ffprobe"):
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                                "stream=width,height,nb_read_frames", "-of", "csv=p=0", str(out)],
                               capture_output=True, text=True, timeout=300)
        assert probe.stdout.strip() == "640,360,240", probe.stdout + probe.stderr
    else:
        assert out.stat().st_size > 10000


def test_readme_camera_pipeline_runs_as_written(tmp_path):
    """README.md's camera block, as written after its first block (same variables, same bundle): with
    a camera it runs (still playing when the 120 s timeout ends it); without one the only error is
    v4l2src's missing device, so every other element and property of the line was accepted."""
    if subprocess.run([INSPECT, "v4l2src"], capture_output=True).returncode != 0:
        pytest.skip("v4l2src not installed (gstreamer1.0-plugins-good)")
    first = readme_block("Live video (GStreamer)")
    camera = readme_block("Live video (GStreamer)", 1)
    assert "v4l2src" in camera and "adnstylize" in camera
    setup = "\n".join(line for line in first.splitlines() if not line.startswith("gst-launch") and
                      not line.startswith("  !"))  # the exports and the bundle, not the file pipeline
    root = checkout_copy(tmp_path)
    try:
        done = subprocess.run(["bash", "-e", "-c", setup + "\n" + camera], cwd=root, capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        return  # a camera was there and the pipeline kept playing
    if done.returncode == 0:
        return
    errors = [line for line in done.stdout.splitlines() + done.stderr.splitlines() if line.startswith("ERROR: from element")]
    assert errors and all("GstV4l2Src" in line for line in errors), done.stdout + done.stderr
    assert "Cannot identify device" in done.stdout + done.stderr or "Could not open" in done.stdout + done.stderr
