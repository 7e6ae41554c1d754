"""End-to-end tests of the command-line programs adn-stylize and adn-video (examples/).

Run by tests/meson.build with pytest under the python that has torch; ADN_BUILD_DIR points at the
build folder.  Expected numbers come from an independent PyTorch/numpy implementation of
METHOD.md for the analytic bundle (encoder = 8x8 space-to-depth, decoder = its inverse, depth =
luma), written here from the method text, never from the library's code.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

BUILD = os.environ.get("ADN_BUILD_DIR", "")
SOURCE = os.environ.get("ADN_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("ADN_SHARED_DATA") or os.path.join(SOURCE, "..", "shared", "data")
PYTHON = os.environ.get("ADN_PYTHON_TORCH") or sys.executable
HAVE_TORCH_BACKEND = os.environ.get("ADN_HAVE_TORCH", "1") == "1"
STYLIZE = os.path.join(BUILD, "examples", "adn-stylize")
VIDEO = os.path.join(BUILD, "examples", "adn-video")
EPS = 1e-5

if not (BUILD and os.path.exists(STYLIZE) and os.path.exists(VIDEO)):
    pytest.skip("ADN_BUILD_DIR does not hold examples/adn-stylize and examples/adn-video",
                allow_module_level=True)

Image = pytest.importorskip("PIL.Image", reason="PIL is needed to read and write test PNGs")

needs_backend = pytest.mark.skipif(not HAVE_TORCH_BACKEND,
                                   reason="library built without the torch backend: no model runs")


def run(program, *args, stdin=None, cwd=None, stdout=None, timeout=600):
    """Runs a program; stdout=None captures it, else it goes to that open file."""
    if stdout is None:
        return subprocess.run([program] + [str(a) for a in args], input=stdin, capture_output=True,
                              cwd=cwd, timeout=timeout)
    return subprocess.run([program] + [str(a) for a in args], input=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, cwd=cwd, timeout=timeout)


# ---- images ------------------------------------------------------------------------------------

def write_png(path, array):
    """uint8 H x W (grey), H x W x 3 or x 4; uint16 H x W (16-bit grey)."""
    if array.dtype == np.uint16:
        Image.fromarray(array.astype(np.uint16), mode="I;16").save(path)
    else:
        Image.fromarray(array).save(path)
    return path


def read_png(path):
    with Image.open(path) as img:
        return np.array(img)


def random_image(rng, height, width, channels=3, low=0, high=256):
    return rng.integers(low, high, size=(height, width, channels), dtype=np.uint8)


def to_chw(array_u8):
    """H x W x 3 uint8 -> 3 x H x W float64 tensor in [0,1]."""
    return torch.from_numpy(array_u8[..., :3].astype(np.float64) / 255.0).permute(2, 0, 1).contiguous()


def to_u8_float(tensor_chw):
    """Reference output as 8-bit units (clamped, not rounded), H x W x 3."""
    return tensor_chw.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0


def assert_matches_reference(out_u8, ref_chw):
    """An 8-bit output equals the float reference rounded: within half a level (plus float slack)."""
    ref = to_u8_float(ref_chw)
    assert out_u8.shape[:2] == ref.shape[:2]
    diff = np.abs(out_u8[..., :3].astype(np.float64) - ref)
    assert diff.max() <= 0.5 + 0.02, f"max |out - reference| = {diff.max():.3f} levels"
    return diff.max()


# ---- reference implementation of METHOD.md for the analytic bundle ------------------------------

def reflect_index(i, n):
    """Header: bottom/right reflection without repeating the edge, period 2(n-1); n = 1 repeats."""
    if n == 1:
        return 0
    period = 2 * (n - 1)
    m = i % period
    return m if m < n else period - m


def pad8(x):
    """C x H x W -> C x H8 x W8 (multiples of 8) by extended reflection at the bottom/right."""
    _, h, w = x.shape
    h8, w8 = -(-h // 8) * 8, -(-w // 8) * 8
    rows = [reflect_index(i, h) for i in range(h8)]
    cols = [reflect_index(j, w) for j in range(w8)]
    return x[:, rows][:, :, cols]


def encode(x):
    return F.pixel_unshuffle(pad8(x)[None], 8)[0]


def decode(f, height, width):
    return F.pixel_shuffle(f[None], 8)[0][:, :height, :width]


def to_features(map_hw):
    """A content-size map -> its 8x8 block means at feature resolution (pad, avg_pool2d)."""
    return F.avg_pool2d(pad8(map_hw[None])[None], 8)[0, 0].reshape(-1)


def stats(v, select=None):
    """Per-channel mean and unbiased std with eps on the variance (METHOD.md section 2)."""
    if select is not None:
        v = v[:, select]
    n = v.shape[1]
    if n == 0:
        return torch.zeros(v.shape[0], dtype=v.dtype), torch.full((v.shape[0],), EPS ** 0.5, dtype=v.dtype)
    mean = v.mean(1)
    var = ((v - mean[:, None]) ** 2).sum(1) / (n - 1) if n > 1 else torch.zeros_like(mean)
    return mean, torch.sqrt(var + EPS)


def normalize(d):
    lo, hi = d.min(), d.max()
    return (d - lo) / (hi - lo) if hi > lo else torch.zeros_like(d)


def luma(rgb):
    """The analytic bundle's depth network (larger = farther)."""
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def coral(style, content):
    """METHOD.md section 6 on 3 x N pixel matrices."""
    def standardize(x):
        mean, std = x.mean(1, keepdim=True), x.std(1, unbiased=True, keepdim=True)
        return (x - mean) / std, mean, std

    def sym_power(a, p):
        e, v = torch.linalg.eigh(a)
        return v @ torch.diag(e ** p) @ v.T

    xs, _, _ = standardize(style)
    xc, mc, sc = standardize(content)
    eye = torch.eye(3, dtype=style.dtype)
    x = sym_power(xc @ xc.T + eye, 0.5) @ sym_power(xs @ xs.T + eye, -0.5) @ xs
    return x * sc + mc


def reference(content, styles, alpha=1.0, weights=None, regions=None, mask=None, range_map=None,
              preserve_color=False):
    """out = G(S t + (1 - S) fc), everything in float64.  range_map: R(D) at content size or None."""
    _, height, width = content.shape
    fc = encode(content)
    c, h, w = fc.shape
    x = fc.reshape(c, -1)
    if preserve_color:
        cpix = content.reshape(3, -1)
        styles = [coral(s.reshape(3, -1), cpix).reshape(s.shape) for s in styles]
    style_stats = [stats(encode(s).reshape(c, -1)) for s in styles]

    def adain(k, select=None):
        cm, cs = stats(x, select)
        sm, ss = style_stats[k]
        return ss[:, None] * (x - cm[:, None]) / cs[:, None] + sm[:, None]

    if regions is not None:
        masks = [to_features(regions[k]) for k in range(len(styles))]
        t = sum(masks[k] * adain(k, masks[k] > 0.5) for k in range(len(styles)))
    else:
        wts = torch.tensor(weights if weights is not None else [1.0] * len(styles), dtype=torch.float64)
        wts = wts / wts.sum()
        t = sum(wts[k] * adain(k) for k in range(len(styles)))
    s = torch.full((h * w,), float(alpha), dtype=torch.float64)
    if mask is not None:
        s = s * to_features(mask)
    if range_map is not None:
        s = s * to_features(range_map)
    s = s.clamp(0, 1)
    f = s * t + (1 - s) * x
    return decode(f.reshape(c, h, w), height, width), s.reshape(h, w)


# ---- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def analytic(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "analytic"
    done = subprocess.run([PYTHON, os.path.join(SOURCE, "tools", "adn-export"), "--analytic", "--out",
                           str(out)], capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    return out


@pytest.fixture
def images(tmp_path):
    """A content (37 x 23, odd both ways) and two styles of other sizes and colours."""
    rng = np.random.default_rng(7)
    content = random_image(rng, 23, 37)
    style_a = random_image(rng, 19, 26, low=40, high=120)
    style_b = (random_image(rng, 32, 24) // 2 + np.array([100, 0, 60], np.uint8))
    return {
        "content": write_png(tmp_path / "content.png", content), "content_px": content,
        "style_a": write_png(tmp_path / "sa.png", style_a), "style_a_px": style_a,
        "style_b": write_png(tmp_path / "sb.png", style_b), "style_b_px": style_b,
    }


# ---- usage -------------------------------------------------------------------------------------

def test_help_exits_0_and_documents_the_options():
    done = run(STYLIZE, "--help")
    assert done.returncode == 0
    text = done.stdout.decode()
    for option in ["--content-dir", "--style-dir", "--out-dir", "--out-ext", "--depth-range",
                   "--depth-is-disparity", "--depth-invalid", "--no-depth", "--mask",
                   "--interp-weights", "--regions", "--preserve-color", "--content-size",
                   "--style-size", "--device", "--threads", "--save-depth", "--save-strength",
                   "--quiet", "--depth-from-rgb", "Exit status"]:
        assert option in text, option
    assert "floor(v K)" in text          # the --regions rule is spelt out
    # What invalid depth pixels get is spelt out: D = 1, and R(1) (full style by default) for a
    # block with no valid pixel.
    flat = " ".join(text.split())
    assert "D = 1" in flat and "R(1)" in flat and "full style" in flat
    video = run(VIDEO, "--help")
    assert video.returncode == 0
    for words in ["BT.601", "limited range", "XCOLORRANGE=FULL", "--depth-ema", "--range-ema", "C420mpeg2",
                  "C444"]:
        assert words in video.stdout.decode(), words
    assert "deprecated" in video.stdout.decode()   # --depth-size is kept only to say so


@pytest.mark.parametrize("program", [STYLIZE, VIDEO])
def test_unknown_option_exits_1(program):
    done = run(program, "--no-such-option")
    assert done.returncode == 1
    assert "--no-such-option" in done.stderr.decode() and "--help" in done.stderr.decode()


@pytest.mark.parametrize("args, says", [
    ([], "--models"),
    (["--models", "m", "--content", "c.png", "--content-dir", "d", "--style", "s.png", "--out", "o.png"], "--content"),
    (["--models", "m", "--content", "c.png", "--style", "s.png"], "--out"),
    (["--models", "m", "--content", "c.png", "--style", "s.png", "--out", "o.png", "--alpha", "1.5"], "--alpha"),
    (["--models", "m", "--content", "c.png", "--style", "s.png", "--out", "o.png", "--alpha", "x"], "--alpha"),
    (["--models", "m", "--content", "c.png", "--style", "s.png", "--out", "o.png", "--depth-range", "0.5"], "--depth-range"),
    (["--models", "m", "--content", "c.png", "--style", "s.png", "--out", "o.png", "--device", "tpu"], "--device"),
    (["--models", "m", "--content", "c.png", "--style", "a.png,b.png", "--out", "o.png", "--interp-weights", "1,2,3"], "3 weights for 2 styles"),
    (["--models", "m", "--content", "c.png", "--style", "a.png,b.png", "--out", "o.png"], "--out-dir"),
    (["--models", "m", "--content", "c.png", "--style", "a.png,,b.png", "--out-dir", "o"], "empty"),
    (["--models", "m", "--content", "c.png", "--style", "s.png", "--out", "o.png", "--depth-invalid", "0"], "--depth"),
    (["--models", "m", "--content", "c.png", "--style", "s.png", "--out", "o.png", "--no-depth", "--depth", "d.png"], "--no-depth"),
    (["--models", "m", "--content", "c.png", "--style", "a.png,b.png", "--out", "o.png", "--regions", "r.png", "--interp-weights", "1,1"], "exclude"),
    (["--models", "m", "--content", "c.png", "--style", "s.png", "--out", "o.png", "--threads"], "needs a value"),
    (["--models", "m", "--content", "c.png", "--style", "s.png", "--out", "o.png", "stray"], "stray"),
])
def test_stylize_usage_errors_exit_1(args, says):
    done = run(STYLIZE, *args)
    assert done.returncode == 1, done.stderr.decode()
    assert says in done.stderr.decode()


@pytest.mark.parametrize("args, says", [
    (["--models", "m"], "--style"),
    (["--models", "m", "--style", "s.png", "--depth-ema", "1.5"], "--depth-ema"),
    (["--models", "m", "--style", "a.png,b.png", "--interp-weights", "1"], "1 weights for 2 styles"),
    (["--models", "m", "--style", "s.png", "--depth-ema", "1"], "below 1"),
    (["--models", "m", "--style", "s.png", "--range-ema", "1.5"], "--range-ema"),
    (["--models", "m", "--style", "s.png", "--range-ema", "1"], "below 1"),
    (["--models", "m", "--style", "s.png", "--depth-size", "x"], "--depth-size"),
])
def test_video_usage_errors_exit_1(args, says):
    done = run(VIDEO, *args, stdin=b"")
    assert done.returncode == 1, done.stderr.decode()
    assert says in done.stderr.decode()


# ---- file errors -------------------------------------------------------------------------------

@needs_backend
def test_missing_files_exit_2_naming_the_file(analytic, images, tmp_path):
    missing = tmp_path / "no_such_content.png"
    done = run(STYLIZE, "--models", analytic, "--content", missing, "--style", images["style_a"],
               "--out", tmp_path / "o.png")
    assert done.returncode == 2
    assert str(missing) in done.stderr.decode()
    assert not (tmp_path / "o.png").exists()

    missing_style = tmp_path / "no_such_style.jpg"
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", missing_style,
               "--out", tmp_path / "o.png")
    assert done.returncode == 2 and str(missing_style) in done.stderr.decode()

    done = run(STYLIZE, "--models", tmp_path / "no_bundle", "--content", images["content"], "--style",
               images["style_a"], "--out", tmp_path / "o.png")
    assert done.returncode == 2 and "no_bundle" in done.stderr.decode()

    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
               "--out", tmp_path / "o.png", "--mask", tmp_path / "no_mask.png")
    assert done.returncode == 2 and "no_mask.png" in done.stderr.decode()


@needs_backend
def test_corrupt_content_exit_2_with_reason(analytic, images, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    done = run(STYLIZE, "--models", analytic, "--content", bad, "--style", images["style_a"], "--out",
               tmp_path / "o.png")
    assert done.returncode == 2
    message = done.stderr.decode()
    assert str(bad) in message and len(message.strip().splitlines()[-1]) > len(str(bad)) + 10


@needs_backend
def test_batch_continues_past_a_bad_file_and_exits_2(analytic, images, tmp_path):
    contents = tmp_path / "contents"
    contents.mkdir()
    rng = np.random.default_rng(3)
    write_png(contents / "a.png", random_image(rng, 16, 24))
    (contents / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is no JPEG")
    write_png(contents / "c.png", random_image(rng, 9, 11))
    (contents / "notes.txt").write_text("not an image, not part of the batch")
    out = tmp_path / "out"
    done = run(STYLIZE, "--models", analytic, "--content-dir", contents, "--style",
               f"{images['style_a']},{tmp_path / 'missing_style.png'}", "--out-dir", out)
    assert done.returncode == 2
    message = done.stderr.decode()
    assert "b.jpg" in message and "missing_style.png" in message and "notes.txt" not in message
    assert sorted(os.listdir(out)) == ["a_stylized_sa.png", "c_stylized_sa.png"]
    assert read_png(out / "c_stylized_sa.png").shape == (9, 11, 3)


# ---- end to end with the analytic bundle -------------------------------------------------------

@needs_backend
@pytest.mark.parametrize("height, width", [(1, 1), (23, 37), (17, 9), (48, 64)])
def test_alpha_0_returns_the_content_exactly(analytic, tmp_path, height, width):
    rng = np.random.default_rng(height * 100 + width)
    content = random_image(rng, height, width)
    write_png(tmp_path / "c.png", content)
    write_png(tmp_path / "s.png", random_image(rng, 20, 30, low=0, high=90))
    done = run(STYLIZE, "--models", analytic, "--content", tmp_path / "c.png", "--style", tmp_path / "s.png",
               "--out", tmp_path / "o.png", "--alpha", "0")
    assert done.returncode == 0, done.stderr.decode()
    out = read_png(tmp_path / "o.png")
    assert out.shape == content.shape
    assert np.array_equal(out, content)


@needs_backend
def test_alpha_channel_is_carried(analytic, images, tmp_path):
    rng = np.random.default_rng(11)
    rgba = random_image(rng, 21, 30, channels=4)
    write_png(tmp_path / "c.png", rgba)
    done = run(STYLIZE, "--models", analytic, "--content", tmp_path / "c.png", "--style", images["style_a"],
               "--out-dir", tmp_path / "out", "--no-depth")
    assert done.returncode == 0, done.stderr.decode()
    out = read_png(tmp_path / "out" / "c_stylized_sa.png")
    assert out.shape == (21, 30, 4)
    assert np.array_equal(out[..., 3], rgba[..., 3])
    ref, _ = reference(to_chw(rgba), [to_chw(read_png(images["style_a"]))])
    assert_matches_reference(out, ref)


@needs_backend
@pytest.mark.parametrize("case", ["alpha", "depth_range", "interp", "regions", "mask", "preserve",
                                  "content_size", "max_side", "crop", "style_size"])
def test_output_matches_reference(analytic, images, tmp_path, case):
    content = to_chw(images["content_px"])
    sa, sb = to_chw(images["style_a_px"]), to_chw(images["style_b_px"])
    base = ["--models", analytic, "--content", images["content"], "--out", tmp_path / "o.png"]
    one_style = ["--style", images["style_a"]]
    two_styles = ["--style", f"{images['style_a']},{images['style_b']}"]
    h, w = content.shape[1:]
    if case == "alpha":
        args = one_style + ["--alpha", "0.6", "--no-depth"]
        ref, _ = reference(content, [sa], alpha=0.6)
    elif case == "depth_range":   # the bundle's depth is luma (larger = farther)
        args = one_style + ["--alpha", "0.9", "--depth-range", "0.8,0.1"]
        ref, _ = reference(content, [sa], alpha=0.9, range_map=0.8 - 0.7 * normalize(luma(content)))
    elif case == "interp":
        args = two_styles + ["--interp-weights", "1,3", "--no-depth"]
        ref, _ = reference(content, [sa, sb], weights=[0.25, 0.75])
    elif case == "regions":       # grey map: dark = first style, light = second
        grey = np.zeros((h, w), np.uint8)
        grey[:, w // 2:] = 200
        grey[h // 2:, :5] = 127
        write_png(tmp_path / "regions.png", grey)
        args = two_styles + ["--regions", tmp_path / "regions.png", "--no-depth"]
        light = torch.from_numpy((grey >= 128).astype(np.float64))
        ref, _ = reference(content, [sa, sb], regions=torch.stack([1 - light, light]))
    elif case == "mask":
        rng = np.random.default_rng(5)
        mask = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
        write_png(tmp_path / "mask.png", mask)
        args = one_style + ["--mask", tmp_path / "mask.png", "--alpha", "0.8"]
        ref, _ = reference(content, [sa], alpha=0.8, mask=torch.from_numpy(mask / 255.0),
                           range_map=normalize(luma(content)))
    elif case == "preserve":
        args = one_style + ["--preserve-color", "--no-depth"]
        ref, _ = reference(content, [sa], preserve_color=True)
    elif case == "content_size":   # short side 16 as in the peers: 23 x 37 -> 16 x round(25.7)
        args = one_style + ["--content-size", "16", "--no-depth"]
        small = F.interpolate(content[None], size=(16, 26), mode="bilinear", align_corners=False)[0]
        ref, _ = reference(small, [sa])
    elif case == "max_side":       # long sides at most 16 (bilinear, half-pixel centres): the
        args = one_style + ["--max-side", "16", "--no-depth"]   # content 10 x 16, the style 12 x 16
        small = F.interpolate(content[None], size=(10, 16), mode="bilinear", align_corners=False)[0]
        small_style = F.interpolate(sa[None], size=(12, 16), mode="bilinear", align_corners=False)[0]
        ref, _ = reference(small, [small_style])
    elif case == "crop":           # short side 16, then the centre 16 x 16 (columns 5..20); the
        args = one_style + ["--content-size", "16", "--crop", "--no-depth"]   # style 19 x 26 too
        small = F.interpolate(content[None], size=(16, 26), mode="bilinear", align_corners=False)[0]
        ref, _ = reference(small[:, :, 5:21], [sa[:, :, 3:22]])
    else:                          # style_size: the style's short side 8 (19 x 26 -> 8 x 11)
        args = one_style + ["--style-size", "8", "--no-depth"]
        small_style = F.interpolate(sa[None], size=(8, 11), mode="bilinear", align_corners=False)[0]
        ref, _ = reference(content, [small_style])
    done = run(STYLIZE, *base, *args)
    assert done.returncode == 0, done.stderr.decode()
    out = read_png(tmp_path / "o.png")
    assert out.shape[:2] == ref.shape[1:]
    assert_matches_reference(out, ref)
    # The case must actually do something: the output is not the content.
    if case not in ("content_size", "max_side", "crop"):
        assert np.abs(out.astype(int) - images["content_px"].astype(int)).max() > 10


@needs_backend
def test_region_map_in_colour(analytic, images, tmp_path):
    """Colour maps: the strongest of the first K channels picks the style (red = 1st, green = 2nd)."""
    content = to_chw(images["content_px"])
    h, w = content.shape[1:]
    colour = np.zeros((h, w, 3), np.uint8)
    colour[:, :, 0] = 180
    colour[:12, :, 1] = 250        # top rows: green wins
    colour[:, 30:, 2] = 255        # blue is not among K = 2 channels: ignored
    write_png(tmp_path / "regions.png", colour)
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style",
               f"{images['style_a']},{images['style_b']}", "--regions", tmp_path / "regions.png",
               "--no-depth", "--out", tmp_path / "o.png")
    assert done.returncode == 0, done.stderr.decode()
    green = torch.zeros(h, w, dtype=torch.float64)
    green[:12] = 1
    ref, _ = reference(content, [to_chw(images["style_a_px"]), to_chw(images["style_b_px"])],
                       regions=torch.stack([1 - green, green]))
    assert_matches_reference(read_png(tmp_path / "o.png"), ref)


@needs_backend
def test_save_depth_and_strength(analytic, images, tmp_path):
    content = to_chw(images["content_px"])
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
               "--out", tmp_path / "o.png", "--alpha", "0.7", "--depth-range", "0.2,0.9",
               "--save-depth", tmp_path / "d.png", "--save-strength", tmp_path / "s.png")
    assert done.returncode == 0, done.stderr.decode()
    depth = read_png(tmp_path / "d.png").astype(np.float64) / 65535.0
    strength = read_png(tmp_path / "s.png").astype(np.float64) / 65535.0
    d_ref = normalize(luma(content))
    ref, s_ref = reference(content, [to_chw(images["style_a_px"])], alpha=0.7,
                           range_map=0.2 + 0.7 * d_ref)
    assert depth.shape == (23, 37) and strength.shape == (3, 5)
    assert np.abs(depth - d_ref.numpy()).max() <= 1.0 / 65535
    assert np.abs(strength - s_ref.numpy()).max() <= 1.0 / 65535
    assert_matches_reference(read_png(tmp_path / "o.png"), ref)


@needs_backend
def test_caller_depth_disparity_with_invalid_pixels(analytic, images, tmp_path):
    rng = np.random.default_rng(9)
    content_px = random_image(rng, 24, 32)
    write_png(tmp_path / "c.png", content_px)
    disparity = rng.integers(1000, 60000, size=(24, 32)).astype(np.uint16)
    disparity[:8, :8] = 0          # one whole block unknown
    disparity[10:13, 20:22] = 0    # and a few pixels elsewhere
    write_png(tmp_path / "disp.png", disparity)
    done = run(STYLIZE, "--models", analytic, "--content", tmp_path / "c.png", "--style", images["style_a"],
               "--out", tmp_path / "o.png", "--depth", tmp_path / "disp.png", "--depth-is-disparity",
               "--depth-invalid", "0", "--save-depth", tmp_path / "d.png", "--save-strength",
               tmp_path / "s.png")
    assert done.returncode == 0, done.stderr.decode()
    d = torch.from_numpy(disparity.astype(np.float64))
    valid = d != 0
    lo, hi = d[valid].min(), d[valid].max()
    d_ref = torch.where(valid, 1 - (d - lo) / (hi - lo), torch.ones_like(d))
    # Strength: mean of R(D) = D over the valid pixels of each 8x8 block, R(1) = 1 where none.
    blocks = (d_ref * valid).reshape(3, 8, 4, 8).sum((1, 3)) / valid.reshape(3, 8, 4, 8).sum((1, 3)).clamp(min=1)
    blocks[0, 0] = 1.0
    depth = read_png(tmp_path / "d.png").astype(np.float64) / 65535.0
    strength = read_png(tmp_path / "s.png").astype(np.float64) / 65535.0
    assert np.abs(depth - d_ref.numpy()).max() <= 1.0 / 65535
    assert np.abs(strength - blocks.numpy()).max() <= 1.0 / 65535


@needs_backend
def test_out_dir_names_and_extensions(analytic, images, tmp_path):
    out = tmp_path / "made"
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style",
               f"{images['style_a']},{images['style_b']}", "--interp-weights", "1,1", "--out-dir", out,
               "--out-ext", "jpg", "--quiet")
    assert done.returncode == 0, done.stderr.decode()
    assert os.listdir(out) == ["content_stylized_sa+sb.jpg"]
    assert (out / "content_stylized_sa+sb.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style-dir",
               os.path.dirname(images["style_a"]), "--out-dir", out, "--no-depth")
    # The style folder holds content.png, sa.png and sb.png: three outputs, named after each.
    assert done.returncode == 0, done.stderr.decode()
    assert sorted(os.listdir(out)) == ["content_stylized_content.png", "content_stylized_sa+sb.jpg",
                                       "content_stylized_sa.png", "content_stylized_sb.png"]


# ---- adn-video ---------------------------------------------------------------------------------

def parse_y4m(data):
    """Strict Y4M parser: returns (header line, width, height, chroma, [ (Y, Cb, Cr) per frame ])."""
    header, rest = data.split(b"\n", 1)
    tags = header.split(b" ")
    assert tags[0] == b"YUV4MPEG2"
    tag = {t[:1]: t[1:] for t in tags[1:]}
    width, height = int(tag[b"W"]), int(tag[b"H"])
    chroma = tag.get(b"C", b"420jpeg").decode()
    cw, ch = (width, height) if chroma == "444" else ((width + 1) // 2, (height + 1) // 2)
    sizes = [width * height, cw * ch, cw * ch]
    frames = []
    while rest:
        line, rest = rest.split(b"\n", 1)
        assert line == b"FRAME" or line.startswith(b"FRAME "), line[:20]
        assert len(rest) >= sum(sizes), "truncated frame"
        planes, offset = [], 0
        for size, shape in zip(sizes, [(height, width), (ch, cw), (ch, cw)]):
            planes.append(np.frombuffer(rest[offset:offset + size], np.uint8).reshape(shape))
            offset += size
        frames.append(planes)
        rest = rest[offset:]
    return header, width, height, chroma, frames


def make_y4m(width, height, chroma, frames, extra=b""):
    out = [b"YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C%s%s\n" % (width, height, chroma.encode(), extra)]
    for planes in frames:
        out.append(b"FRAME\n" + b"".join(np.ascontiguousarray(p, np.uint8).tobytes() for p in planes))
    return b"".join(out)


def yuv444_to_rgb(planes, full_range):
    """BT.601 (Kr = 0.299, Kb = 0.114), 3 x H x W float64, not clipped."""
    y, cb, cr = (torch.from_numpy(p.astype(np.float64)) for p in planes)
    if full_range:
        y, pb, pr = y / 255, (cb - 128) / 255, (cr - 128) / 255
    else:
        y, pb, pr = (y - 16) / 219, (cb - 128) / 224, (cr - 128) / 224
    r = y + 1.402 * pr
    b = y + 1.772 * pb
    g = (y - 0.299 * r - 0.114 * b) / 0.587
    return torch.stack([r, g, b])


def rgb_to_yuv444(rgb, full_range):
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    pb, pr = (b - y) / 1.772, (r - y) / 1.402
    if full_range:
        codes = [255 * y, 128 + 255 * pb, 128 + 255 * pr]
    else:
        codes = [16 + 219 * y, 128 + 224 * pb, 128 + 224 * pr]
    return [c.clamp(0, 255).numpy() for c in codes]


def assert_codes_close(planes, expected, tolerance):
    for p, e in zip(planes, expected):
        diff = np.abs(p.astype(np.float64) - e)
        assert diff.max() <= tolerance, f"max code difference {diff.max():.2f}"


@pytest.fixture(scope="session")
def bunny(tmp_path_factory):
    """Short Y4M clips made by ffmpeg from the shared test video."""
    source = os.path.join(DATA, "video", "cutBunny.mp4")
    if not os.path.exists(source):
        pytest.skip(f"no test video at {source}")
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    folder = tmp_path_factory.mktemp("video")

    def clip(name, size, pix_fmt, frames):
        path = folder / name
        done = subprocess.run(["ffmpeg", "-v", "error", "-i", source, "-frames:v", str(frames), "-vf",
                               f"scale={size}", "-pix_fmt", pix_fmt, "-f", "yuv4mpegpipe", "-y", str(path)],
                              capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        return path.read_bytes()

    return {"420": clip("c420.y4m", "66:38", "yuv420p", 5), "444": clip("c444.y4m", "67:37", "yuv444p", 4),
            "444ema": clip("ema.y4m", "52:36", "yuv444p", 4)}


def run_video(analytic, style, data, *args):
    return run(VIDEO, "--models", analytic, "--style", style, *args, stdin=data)


@needs_backend
@pytest.mark.parametrize("kind", ["420", "444"])
def test_video_alpha_0_keeps_the_frames(analytic, images, bunny, kind):
    done = run_video(analytic, images["style_a"], bunny[kind], "--alpha", "0")
    assert done.returncode == 0, done.stderr.decode()
    in_header, w, h, chroma, in_frames = parse_y4m(bunny[kind])
    out_header, ow, oh, out_chroma, out_frames = parse_y4m(done.stdout)
    assert out_header == in_header and (ow, oh, out_chroma) == (w, h, chroma)
    assert len(out_frames) == len(in_frames)
    planes = 1 if kind == "420" else 3   # 4:2:0 chroma is re-filtered; 4:4:4 must round-trip
    for a, b in zip(in_frames, out_frames):
        for p in range(planes):
            assert np.abs(a[p].astype(int) - b[p].astype(int)).max() <= 2


@needs_backend
@pytest.mark.parametrize("full_range", [False, True])
def test_video_stylizes_in_the_declared_colour_range(analytic, images, tmp_path, full_range):
    """A 4:4:4 stream stylized with --no-depth equals the reference computed in the colour range the
    header declares; the same bytes give a different picture in the other range."""
    rng = np.random.default_rng(21)
    frames = [[rng.integers(0, 256, (24, 40)).astype(np.uint8) for _ in range(3)] for _ in range(2)]
    data = make_y4m(40, 24, "444", frames, b" XCOLORRANGE=FULL" if full_range else b"")
    done = run_video(analytic, images["style_a"], data, "--no-depth", "--alpha", "0.75")
    assert done.returncode == 0, done.stderr.decode()
    _, _, _, _, out_frames = parse_y4m(done.stdout)
    style = to_chw(images["style_a_px"])
    for planes, out in zip(frames, out_frames):
        ref, _ = reference(yuv444_to_rgb(planes, full_range), [style], alpha=0.75)
        assert_codes_close(out, rgb_to_yuv444(ref, full_range), 0.5 + 0.02)
        other, _ = reference(yuv444_to_rgb(planes, not full_range), [style], alpha=0.75)
        assert np.abs(out[0] - rgb_to_yuv444(other, not full_range)[0]).max() > 5


def smoothed_depths(frames, depth_ema, range_ema):
    """METHOD.md section 8 for the analytic bundle (raw depth = luma): per frame, the EMA of the raw
    min and max (factor b), D_t = clamp((d - lo') / (hi' - lo'), 0, 1), then D'_t = a D'_{t-1} +
    (1 - a) D_t; the first frame starts every average at its own values."""
    lo = hi = smoothed = None
    out = []
    for planes in frames:
        rgb = yuv444_to_rgb(planes, False)
        d = luma(rgb)
        lo = d.min() if lo is None else range_ema * lo + (1 - range_ema) * d.min()
        hi = d.max() if hi is None else range_ema * hi + (1 - range_ema) * d.max()
        dt = ((d - lo) / (hi - lo)).clamp(0, 1) if hi > lo else torch.zeros_like(d)
        smoothed = dt if smoothed is None else depth_ema * smoothed + (1 - depth_ema) * dt
        out.append((rgb, smoothed))
    return out


@needs_backend
def test_video_depth_is_smoothed_over_time(analytic, images, bunny):
    """Default --depth-ema 0.8 (in the library now): each frame's depth (luma for this bundle) is
    normalised, averaged as D'_t = 0.8 D'_{t-1} + 0.2 D_t, and R(D'_t) sets frame t's strength."""
    _, w, h, _, frames = parse_y4m(bunny["444ema"])
    done = run_video(analytic, images["style_a"], bunny["444ema"], "--depth-range", "0.1,1")
    assert done.returncode == 0, done.stderr.decode()
    _, _, _, _, out_frames = parse_y4m(done.stdout)
    assert len(out_frames) == len(frames)
    style = to_chw(images["style_a_px"])
    for (rgb, smoothed), out in zip(smoothed_depths(frames, 0.8, 0.0), out_frames):
        ref, _ = reference(rgb, [style], range_map=0.1 + 0.9 * smoothed)
        assert_codes_close(out, rgb_to_yuv444(ref, False), 0.5 + 0.05)
    # Without smoothing the later frames come out differently (the clip moves).
    plain = run_video(analytic, images["style_a"], bunny["444ema"], "--depth-range", "0.1,1",
                      "--depth-ema", "0")
    assert plain.returncode == 0, plain.stderr.decode()
    _, _, _, _, plain_frames = parse_y4m(plain.stdout)
    assert np.abs(plain_frames[0][0].astype(int) - out_frames[0][0].astype(int)).max() <= 1
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(plain_frames[1:], out_frames[1:]))


def ranged_clip(rng):
    """A 4:4:4 clip whose brightness range changes from frame to frame (so per-frame min/max
    normalisation and a moving average of them give clearly different depths)."""
    yy, xx = np.mgrid[0:24, 0:40]
    pattern = 0.5 + 0.25 * np.sin(xx / 5.0) + 0.25 * np.cos(yy / 4.0)
    frames = []
    for low, high in [(30, 200), (90, 150), (20, 120), (120, 230)]:
        y = (low + (high - low) * pattern + rng.normal(0, 2, pattern.shape)).clip(16, 235)
        cb = 128 + 20 * np.sin(xx / 7.0 + low)
        cr = 128 + 20 * np.cos(yy / 6.0 + high)
        frames.append([np.rint(p).astype(np.uint8) for p in (y, cb, cr)])
    return make_y4m(40, 24, "444", frames)


@needs_backend
@pytest.mark.parametrize("depth_ema, range_ema", [(0.0, 0.5), (0.6, 0.7)])
def test_video_depth_range_is_smoothed_over_time(analytic, images, depth_ema, range_ema):
    """--range-ema B: the min and max that normalise each frame's raw depth are moving averages
    too (D clamped to [0,1]); with --depth-ema as well, both averages apply, in that order."""
    data = ranged_clip(np.random.default_rng(31))
    _, _, _, _, frames = parse_y4m(data)
    done = run_video(analytic, images["style_a"], data, "--depth-range", "0.1,1",
                     "--depth-ema", depth_ema, "--range-ema", range_ema)
    assert done.returncode == 0, done.stderr.decode()
    _, _, _, _, out_frames = parse_y4m(done.stdout)
    assert len(out_frames) == len(frames)
    style = to_chw(images["style_a_px"])
    expected = smoothed_depths(frames, depth_ema, range_ema)
    for (rgb, smoothed), out in zip(expected, out_frames):
        ref, _ = reference(rgb, [style], range_map=0.1 + 0.9 * smoothed)
        assert_codes_close(out, rgb_to_yuv444(ref, False), 0.5 + 0.05)
    # The range average matters on this clip: per-frame ranges give other later frames.
    per_frame = smoothed_depths(frames, depth_ema, 0.0)
    assert all((a[1] - b[1]).abs().max() > 0.05 for a, b in zip(expected[1:], per_frame[1:]))
    plain = run_video(analytic, images["style_a"], data, "--depth-range", "0.1,1", "--depth-ema", depth_ema)
    assert plain.returncode == 0 and plain.stdout != done.stdout


@needs_backend
def test_video_depth_size_is_deprecated_and_no_extra_pass_is_made(analytic, images, bunny):
    """--depth-size used to run a second, small stylization per frame just for its depth; the
    library smooths the depth of the frame's own pass now, so the option only warns: the frames
    still follow the full-size depth exactly, and equal a run without the option."""
    _, _, _, _, frames = parse_y4m(bunny["444ema"])
    done = run_video(analytic, images["style_a"], bunny["444ema"], "--depth-range", "0.1,1",
                     "--depth-size", "16")
    assert done.returncode == 0, done.stderr.decode()
    assert "deprecated" in done.stderr.decode() and "--depth-size" in done.stderr.decode()
    _, _, _, _, out_frames = parse_y4m(done.stdout)
    style = to_chw(images["style_a_px"])
    for (rgb, smoothed), out in zip(smoothed_depths(frames, 0.8, 0.0), out_frames):
        ref, _ = reference(rgb, [style], range_map=0.1 + 0.9 * smoothed)
        assert_codes_close(out, rgb_to_yuv444(ref, False), 0.5 + 0.05)
    plain = run_video(analytic, images["style_a"], bunny["444ema"], "--depth-range", "0.1,1")
    assert plain.returncode == 0 and plain.stdout == done.stdout


@needs_backend
def test_truncated_video_exit_2_and_output_stays_valid(analytic, images, bunny):
    header_len = bunny["420"].index(b"\n") + 1
    frame_len = 6 + 66 * 38 + 2 * 33 * 19
    cut = bunny["420"][:header_len + 3 * frame_len + 100]   # 3 frames and a bit of the 4th
    done = run_video(analytic, images["style_a"], cut, "--alpha", "0")
    assert done.returncode == 2
    assert "frame 4" in done.stderr.decode() and "truncated" in done.stderr.decode()
    header, _, _, _, frames = parse_y4m(done.stdout)
    assert header + b"\n" == bunny["420"][:header_len] and len(frames) == 3


@needs_backend
@pytest.mark.parametrize("data, says", [
    (b"", "no Y4M header"),
    (b"GIF89a....\n", "YUV4MPEG2"),
    (b"YUV4MPEG2 W64 H48 F25:1 C422\nFRAME\n", "C422"),
    (b"YUV4MPEG2 W64 H48 F25:1 C420p10\nFRAME\n", "C420p10"),
    (b"YUV4MPEG2 W100000 H48\n", "width"),
    (b"YUV4MPEG2 W30000 H30000\n", "limit"),
    (b"YUV4MPEG2 W0 H48\n", "width"),
    (b"YUV4MPEG2 H48\n", "W (width)"),
    (b"YUV4MPEG2 W4 H2 C444\nFRAME\n" + b"\x80" * 24 + b"FRAMX\n", "frame 2: bad frame header"),
    (b"YUV4MPEG2 W4 H2 C444\nFRA", "truncated frame header"),
])
def test_malformed_y4m_exit_2(analytic, images, data, says):
    done = run_video(analytic, images["style_a"], data)
    assert done.returncode == 2
    assert says in done.stderr.decode()
    if done.stdout:                     # whatever was written is a valid stream
        parse_y4m(done.stdout)


# ---- the examples against an installed library --------------------------------------------------

@needs_backend
def test_examples_build_against_the_installed_library(tmp_path):
    meson = shutil.which("meson")
    if meson is None or shutil.which("pkg-config") is None:
        pytest.skip("meson or pkg-config not on PATH: cannot install and build the examples")
    options = json.loads(subprocess.run([meson, "introspect", "--buildoptions", BUILD], capture_output=True,
                                        check=True).stdout)
    prefix = next(o["value"] for o in options if o["name"] == "prefix")
    done = subprocess.run([meson, "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir",
                           str(tmp_path / "dest")], capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
    installed = str(tmp_path / "dest") + prefix
    assert os.path.exists(os.path.join(installed, "bin", "adn-stylize"))
    done = subprocess.run(["sh", os.path.join(SOURCE, "examples", "build-installed.sh"), installed],
                          capture_output=True, timeout=600, env=dict(os.environ, PYTHON=PYTHON))
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


# ---- found in review: destructive or silent cases ---------------------------------------------

@needs_backend
def test_caller_depth_with_invalid_value_follows_content_size(analytic, tmp_path):
    """--depth-invalid with --max-side: the map is brought to the content by nearest neighbour,
    so the marker survives (the library refuses an invalid-marked map of another size)."""
    rng = np.random.default_rng(11)
    write_png(tmp_path / "c.png", random_image(rng, 40, 64))
    disparity = rng.integers(1000, 60000, size=(40, 64)).astype(np.uint16)
    disparity[:16, :16] = 0  # after halving: exactly the top-left 8x8 block
    write_png(tmp_path / "disp.png", disparity)
    style = write_png(tmp_path / "s.png", random_image(rng, 16, 16))
    done = run(STYLIZE, "--models", analytic, "--content", tmp_path / "c.png", "--style", style,
               "--out", tmp_path / "o.png", "--max-side", 32, "--depth", tmp_path / "disp.png",
               "--depth-is-disparity", "--depth-invalid", "0", "--save-depth", tmp_path / "d.png")
    assert done.returncode == 0, done.stderr.decode()
    assert read_png(tmp_path / "o.png").shape == (20, 32, 3)
    depth = read_png(tmp_path / "d.png").astype(np.float64) / 65535.0
    nearest = disparity[1::2, 1::2].astype(np.float64)  # half-pixel centres at 2x: odd rows/cols
    valid = nearest != 0
    lo, hi = nearest[valid].min(), nearest[valid].max()
    expected = np.where(valid, 1 - (nearest - lo) / (hi - lo), 1.0)
    assert np.abs(depth - expected).max() <= 1.0 / 65535


@needs_backend
def test_colliding_output_names_are_refused_before_any_work(analytic, tmp_path):
    rng = np.random.default_rng(12)
    contents = tmp_path / "in"
    contents.mkdir()
    write_png(contents / "a.png", random_image(rng, 9, 9))
    Image.fromarray(random_image(rng, 9, 9)).save(contents / "a.jpg")
    style = write_png(tmp_path / "s.png", random_image(rng, 9, 9))
    done = run(STYLIZE, "--models", analytic, "--content-dir", contents, "--style", style,
               "--out-dir", tmp_path / "out", "--out-ext", "png")
    assert done.returncode == 1
    assert b"a_stylized_s.png" in done.stderr
    assert not (tmp_path / "out").exists()


def test_sizes_and_threads_beyond_the_limits_are_usage_errors(tmp_path):
    for args in (["--content-size", "16385"], ["--style-size", "20000"], ["--threads", "1025"]):
        done = run(STYLIZE, "--models", tmp_path, "--content", "c.png", "--style", "s.png", "--out", "o.png", *args)
        assert done.returncode == 1, (args, done.stderr.decode())
    done = run(VIDEO, "--models", tmp_path, "--style", ",".join(["s.png"] * 65))
    assert done.returncode == 1 and b"at most 64 styles" in done.stderr


@needs_backend
def test_video_never_destroys_its_input_nor_leaves_empty_outputs(analytic, tmp_path):
    rng = np.random.default_rng(13)
    planes = [rng.integers(16, 235, size=(16, 16), dtype=np.uint8) for _ in range(3)]
    stream = make_y4m(16, 16, "444", [planes])
    source = tmp_path / "in.y4m"
    source.write_bytes(stream)
    style = write_png(tmp_path / "s.png", random_image(rng, 8, 8))
    done = run(VIDEO, "--models", analytic, "--style", style, "--input", source, "--output", source)
    assert done.returncode == 1 and b"--output" in done.stderr and b"--input" in done.stderr
    assert source.read_bytes() == stream
    done = run(VIDEO, "--models", tmp_path / "no-such-bundle", "--style", style, "--input", source,
               "--output", tmp_path / "out.y4m")
    assert done.returncode == 2
    assert not (tmp_path / "out.y4m").exists()


# ---- no silent data loss: outputs never overwrite inputs or each other, and are checked first ----

def snapshot(folder):
    """Every file under folder (links as their targets) -> its bytes."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = open(path, "rb").read() if os.path.exists(path) else None
    return out


@pytest.fixture
def clash_dir(tmp_path):
    """A folder (the working directory of the clash tests) with a content, a style, a mask and a
    folder o/, plus a symlink to the content."""
    rng = np.random.default_rng(41)
    write_png(tmp_path / "content.png", random_image(rng, 16, 24))
    write_png(tmp_path / "style.png", random_image(rng, 12, 12))
    write_png(tmp_path / "mask.png", random_image(rng, 16, 24, channels=1)[..., 0])
    (tmp_path / "o").mkdir()
    os.symlink("content.png", tmp_path / "link.png")
    return tmp_path


@needs_backend
@pytest.mark.parametrize("extra, first, second", [
    (["--out", "o/x.png", "--save-depth", "o/x.png"], "--save-depth", "--out"),
    (["--out", "o/x.png", "--save-depth", "./o/x.png"], "--save-depth", "--out"),
    (["--out", "o/x.png", "--save-depth", "o/../o/x.png"], "--save-depth", "--out"),
    (["--out", "o/x.png", "--save-depth", "d.png", "--save-strength", "./d.png"], "--save-strength", "--save-depth"),
    (["--out", "o/x.png", "--save-depth", "content.png"], "--save-depth", "--content"),
    (["--out", "style.png"], "--out", "--style"),
    (["--out", "./link.png"], "--out", "--content"),
    (["--out", "o/x.png", "--mask", "mask.png", "--save-strength", "mask.png"], "--save-strength", "--mask"),
    (["--out", "o/x.png", "--save-depth", "o/y.png", "--save-strength", "o/y.png"], "--save-strength", "--save-depth"),
])
def test_stylize_refuses_outputs_that_clash_before_any_work(analytic, clash_dir, extra, first, second):
    """Every output must be a file of its own: not another output, not an input, however spelt
    (./a, a/../a, symlinks).  The run stops before any work with exit 1, naming both uses, and
    every file stays as it was."""
    before = snapshot(clash_dir)
    done = run(STYLIZE, "--models", analytic, "--content", "content.png", "--style", "style.png", *extra,
               cwd=clash_dir)
    message = done.stderr.decode()
    assert done.returncode == 1, message
    assert first in message and second in message and "same file" in message, message
    assert snapshot(clash_dir) == before


@needs_backend
def test_stylize_refuses_batch_names_that_overwrite_inputs(analytic, tmp_path):
    """--out-dir names are outputs too: in a folder that holds the inputs, a generated name that is
    an input (a content, a style; also through a symlinked folder) stops the run before any work."""
    rng = np.random.default_rng(42)
    d = tmp_path / "pics"
    d.mkdir()
    write_png(d / "a.png", random_image(rng, 9, 9))
    write_png(d / "a_stylized_s.png", random_image(rng, 9, 9))   # what a.png + s.png would make
    style = write_png(tmp_path / "s.png", random_image(rng, 9, 9))
    os.symlink("pics", tmp_path / "same")
    before = snapshot(tmp_path)
    for out_dir in (d, tmp_path / "same", str(d) + "/"):
        done = run(STYLIZE, "--models", analytic, "--content-dir", d, "--style", style, "--out-dir", out_dir)
        message = done.stderr.decode()
        assert done.returncode == 1, message
        assert "a_stylized_s.png" in message and "--out-dir" in message and "--content-dir" in message
        assert snapshot(tmp_path) == before
    # The same with a style: --style-dir is the output folder and holds c_stylized_t.png as a style.
    styles = tmp_path / "styles"
    styles.mkdir()
    write_png(styles / "t.png", random_image(rng, 9, 9))
    write_png(styles / "c_stylized_t.png", random_image(rng, 9, 9))
    content = write_png(tmp_path / "c.png", random_image(rng, 9, 9))
    before = snapshot(tmp_path)
    done = run(STYLIZE, "--models", analytic, "--content", content, "--style-dir", styles, "--out-dir", styles)
    assert done.returncode == 1 and b"--style-dir" in done.stderr and b"c_stylized_t.png" in done.stderr
    assert snapshot(tmp_path) == before
    # A folder of inputs can still be the output folder when no name clashes.
    done = run(STYLIZE, "--models", analytic, "--content", content, "--style", styles / "t.png", "--out-dir",
               styles, "--no-depth")
    assert done.returncode == 0, done.stderr.decode()
    assert (styles / "c_stylized_t.png").read_bytes() != before["styles/c_stylized_t.png"]


@needs_backend
def test_stylize_new_out_dir_takes_side_outputs_and_is_gone_after_a_refusal(analytic, clash_dir):
    """A missing --out-dir is made before the checks, so --save-depth may go into it too; when the
    run is refused the folder is removed again (nothing is left behind)."""
    before = snapshot(clash_dir)
    done = run(STYLIZE, "--models", analytic, "--content", "content.png", "--style", "style.png",
               "--out-dir", "new/", "--save-depth", "content.png", cwd=clash_dir)
    assert done.returncode == 1 and b"--save-depth" in done.stderr and b"--content" in done.stderr
    assert not (clash_dir / "new").exists() and snapshot(clash_dir) == before
    done = run(STYLIZE, "--models", analytic, "--content", "content.png", "--style", "style.png",
               "--out-dir", "new/", "--save-depth", "new/d.png", cwd=clash_dir)
    assert done.returncode == 0, done.stderr.decode()
    assert sorted(os.listdir(clash_dir / "new")) == ["content_stylized_style.png", "d.png"]


@needs_backend
@pytest.mark.parametrize("extra, says", [
    (["--out", "/nonexistent-adn-dir/x.png"], "/nonexistent-adn-dir"),
    (["--out", "o.png", "--save-depth", "/nonexistent-adn-dir/d.png"], "--save-depth"),
    (["--out", "o.png", "--save-strength", "missing/s.png"], "--save-strength"),
    (["--out", "o.png", "--save-depth", "content.png/d.png"], "not a directory"),
    (["--out", "folder"], "directory"),
    (["--out", "new/"], "--out"),
    (["--out-dir", "/nonexistent-adn-dir/sub"], "/nonexistent-adn-dir"),
    (["--out-dir", "content.png"], "--out-dir"),
])
def test_stylize_checks_every_output_before_loading_anything(tmp_path, extra, says):
    """An output that cannot be written is found before any work: the bundle given does not even
    exist, so a check made after loading it (or after rendering) would exit 2 about the bundle."""
    rng = np.random.default_rng(43)
    write_png(tmp_path / "content.png", random_image(rng, 9, 9))
    write_png(tmp_path / "style.png", random_image(rng, 9, 9))
    (tmp_path / "folder").mkdir()
    done = run(STYLIZE, "--models", tmp_path / "no-bundle", "--content", "content.png", "--style", "style.png",
               *extra, cwd=tmp_path)
    message = done.stderr.decode()
    assert done.returncode == 1, message
    assert says in message and "no-bundle" not in message, message
    assert sorted(os.listdir(tmp_path)) == ["content.png", "folder", "style.png"]


@needs_backend
@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_stylize_refuses_a_read_only_output_folder(analytic, images, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
                   "--out", locked / "o.png")
        assert done.returncode == 1 and b"writable" in done.stderr
    finally:
        locked.chmod(0o755)


@needs_backend
def test_colour_depth_map_is_refused_unless_depth_from_rgb(analytic, images, tmp_path):
    """A colour --depth file used to become its luma without a word.  Now it is refused (exit 1,
    before any work) unless --depth-from-rgb asks for the luma; a grey map stored as RGB (R = G = B)
    is still a grey map."""
    rng = np.random.default_rng(44)
    colour = random_image(rng, 23, 37)
    write_png(tmp_path / "colour.png", colour)
    args = ["--models", analytic, "--content", images["content"], "--style", images["style_a"],
            "--out", tmp_path / "o.png", "--save-depth", tmp_path / "d.png"]
    done = run(STYLIZE, *args, "--depth", tmp_path / "colour.png")
    assert done.returncode == 1
    assert b"colour" in done.stderr and b"--depth-from-rgb" in done.stderr
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "d.png").exists()

    done = run(STYLIZE, *args, "--depth", tmp_path / "colour.png", "--depth-from-rgb")
    assert done.returncode == 0, done.stderr.decode()
    raw = colour.astype(np.float64)
    expected = normalize(torch.from_numpy(0.299 * raw[..., 0] + 0.587 * raw[..., 1] + 0.114 * raw[..., 2]))
    depth = read_png(tmp_path / "d.png").astype(np.float64) / 65535.0
    assert np.abs(depth - expected.numpy()).max() <= 1.5 / 65535

    grey = rng.integers(0, 256, size=(23, 37), dtype=np.uint8)
    write_png(tmp_path / "grey_rgb.png", np.stack([grey] * 3, axis=-1))
    done = run(STYLIZE, *args, "--depth", tmp_path / "grey_rgb.png")
    assert done.returncode == 0, done.stderr.decode()
    depth = read_png(tmp_path / "d.png").astype(np.float64) / 65535.0
    expected = normalize(torch.from_numpy(grey.astype(np.float64)))
    assert np.abs(depth - expected.numpy()).max() <= 1.0 / 65535


@pytest.fixture
def video_dir(tmp_path):
    rng = np.random.default_rng(45)
    planes = [rng.integers(16, 235, size=(16, 16), dtype=np.uint8) for _ in range(3)]
    (tmp_path / "in.y4m").write_bytes(make_y4m(16, 16, "444", [planes]))
    write_png(tmp_path / "style.png", random_image(rng, 8, 8))
    os.symlink("in.y4m", tmp_path / "link.y4m")
    return tmp_path


@needs_backend
@pytest.mark.parametrize("extra, first, second", [
    (["--input", "in.y4m", "--output", "./in.y4m"], "--output", "--input"),
    (["--input", "in.y4m", "--output", "link.y4m"], "--output", "--input"),
    (["--input", "in.y4m", "--output", "style.png"], "--output", "--style"),
])
def test_video_refuses_an_output_that_is_an_input(analytic, video_dir, extra, first, second):
    before = snapshot(video_dir)
    done = run(VIDEO, "--models", analytic, "--style", "style.png", *extra, cwd=video_dir)
    message = done.stderr.decode()
    assert done.returncode == 1, message
    assert first in message and second in message, message
    assert snapshot(video_dir) == before


@needs_backend
def test_video_refuses_standard_output_onto_an_input(analytic, video_dir):
    """Standard output redirected (appending) onto the input or the style file is refused too."""
    before = snapshot(video_dir)
    for target, says in (("in.y4m", "--input"), ("style.png", "--style")):
        with open(video_dir / target, "ab") as sink:
            done = run(VIDEO, "--models", analytic, "--style", "style.png", "--input", "in.y4m",
                       cwd=video_dir, stdout=sink, timeout=120)
        assert done.returncode == 1, done.stderr.decode()
        assert says.encode() in done.stderr
        assert snapshot(video_dir) == before


@needs_backend
def test_video_checks_its_output_before_loading_anything(video_dir):
    done = run(VIDEO, "--models", video_dir / "no-bundle", "--style", "style.png", "--input", "in.y4m",
               "--output", "/nonexistent-adn-dir/out.y4m", cwd=video_dir)
    assert done.returncode == 1, done.stderr.decode()
    assert b"/nonexistent-adn-dir" in done.stderr and b"no-bundle" not in done.stderr


# ---- issue 11: sizes as the peers mean them, bounded memory, output formats ----------------------

def test_help_speaks_to_users_of_the_peers():
    text = " ".join(run(STYLIZE, "--help").stdout.decode().split())
    for option in ["--max-side", "--crop", "--save-original", "--jpeg-quality", "--png-16", "cuda:N",
                   "--max-pixels", "--memory-budget", "--fast-decode", "--compare", "--compare-dir",
                   "--report"]:
        assert option in text, option
    assert "SHORT side" in text and "default to 512" in text        # --content-size, and why not 512
    assert "-mask gives WHITE to the FIRST of two styles" in text    # the Lua convention beside ours
    assert "Eigen et al. 2014" in text and "z = 1 + D" in text       # what --report's numbers are


@pytest.mark.parametrize("args, says", [
    (["--jpeg-quality", "0"], "--jpeg-quality"),
    (["--max-pixels", "0"], "--max-pixels"),
    (["--memory-budget", "12X"], "--memory-budget"),
    (["--device", "cuda:"], "--device"),
    (["--device", "cuda:-1"], "--device"),
    (["--compare", "p.png", "--compare-dir", "d"], "exclude"),
    (["--compare", "p.png", "--no-depth"], "--no-depth"),
    (["--report", "--no-depth"], "--no-depth"),
])
def test_new_options_usage_errors_exit_1(args, says):
    done = run(STYLIZE, "--models", "m", "--content", "c.png", "--style", "s.png", "--out", "o.png", *args)
    assert done.returncode == 1, done.stderr.decode()
    assert says in done.stderr.decode()


def write_bomb_png(path, side):
    """A grey side x side PNG of zeros, deflated (16384: 261 KB on disk, 256 MiB of pixels)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0 + the samples
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def peak_rss_mib(*command):
    """Runs command in a fresh python (so no earlier child counts) and returns (returncode, peak
    RSS in MiB of the command, its stderr)."""
    script = ("import resource, subprocess, sys\n"
              "done = subprocess.run(sys.argv[1:], capture_output=True)\n"
              "sys.stderr.buffer.write(done.stderr)\n"
              "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", script] + [str(c) for c in command], capture_output=True,
                          timeout=600)
    rc, kib = done.stdout.decode().split()
    return int(rc), int(kib) / 1024.0, done.stderr.decode()


@needs_backend
def test_content_size_decodes_a_16384_png_in_bounded_memory(analytic, tmp_path):
    """The issue's memory bomb: a 261 KB 16384 x 16384 PNG, exactly at the default pixel limit.
    Decoded whole it is 1 GiB of samples and 3 GiB of float RGB (3.5 GiB peak before); read
    with --content-size it is resized while decoding, two rows at a time."""
    bomb = write_bomb_png(tmp_path / "bomb.png", 16384)
    assert bomb.stat().st_size < 300_000
    style = write_png(tmp_path / "s.png", random_image(np.random.default_rng(3), 16, 16))
    rc, mib, err = peak_rss_mib(STYLIZE, "--models", analytic, "--content", bomb, "--style", style,
                                "--content-size", 64, "--out", tmp_path / "o.png")
    assert rc == 0, err
    assert read_png(tmp_path / "o.png").shape == (64, 64, 3)
    assert mib < 1024, f"peak RSS {mib:.0f} MiB"
    # --max-pixels refuses it from its header, before any pixel is decoded.
    done = run(STYLIZE, "--models", analytic, "--content", bomb, "--style", style, "--content-size", 64,
               "--max-pixels", 100_000_000, "--out", tmp_path / "o2.png")
    assert done.returncode == 2
    assert b"16384x16384 pixels, above the limit of 100000000" in done.stderr
    assert not (tmp_path / "o2.png").exists()


@needs_backend
def test_max_pixels_also_bounds_the_resized_size(analytic, images, tmp_path):
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
               "--content-size", 2000, "--max-pixels", 3_000_000, "--out", tmp_path / "o.png")
    assert done.returncode == 2
    assert b"resized to 3217x2000 pixels is above the limit of 3000000" in done.stderr  # 37 x 23 -> W x H


@needs_backend
def test_memory_budget_too_small_is_refused_with_the_estimate(analytic, images, tmp_path):
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
               "--memory-budget", "1K", "--out", tmp_path / "o.png")
    assert done.returncode == 2
    message = done.stderr.decode()
    assert "needs an estimated" in message and "memory budget of" in message, message
    assert not (tmp_path / "o.png").exists()
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
               "--memory-budget", "2G", "--out", tmp_path / "o.png")
    assert done.returncode == 0, done.stderr.decode()


@needs_backend
def test_fast_decode_scales_jpegs_in_the_decoder(analytic, images, tmp_path):
    """--fast-decode: the same size as the exact resize and close to it, but not equal (libjpeg's
    DCT scaling averages); without it the resize equals F.interpolate of the whole decode."""
    rng = np.random.default_rng(21)
    y, x = np.mgrid[0:160, 0:256]
    pixels = np.stack([(x + y) % 256, (3 * x) % 256, (y * 2) % 256], -1).astype(np.uint8)
    pixels[::7] = rng.integers(0, 256, size=pixels[::7].shape, dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "c.jpg", quality=95)
    common = ["--models", analytic, "--content", tmp_path / "c.jpg", "--style", images["style_a"],
              "--alpha", "0", "--no-depth"]
    for name, extra in (("whole.png", []), ("exact.png", ["--content-size", 20]),
                        ("fast.png", ["--content-size", 20, "--fast-decode"])):
        done = run(STYLIZE, *common, *extra, "--png-16", "--out", tmp_path / name)
        assert done.returncode == 0, done.stderr.decode()
    whole, exact, fast = (read_png16_rgb(tmp_path / n) for n in ("whole.png", "exact.png", "fast.png"))
    assert exact.shape == fast.shape == (20, 32, 3)
    expected = F.interpolate(torch.from_numpy(whole).permute(2, 0, 1)[None], size=(20, 32), mode="bilinear",
                             align_corners=False)[0].permute(1, 2, 0).numpy()
    assert np.abs(exact - expected).max() <= 1.0 / 65535 + 1e-6
    assert np.abs(fast - exact).max() > 1.0 / 255       # really another decode
    assert np.abs(fast - exact).mean() < 0.06            # of the same picture


def read_png16_rgb(path):
    """A 16-bit (or 8-bit) RGB PNG as H x W x 3 floats in [0,1] (PIL cannot read 48-bit RGB)."""
    import struct
    import zlib
    data = open(path, "rb").read()
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert colour == 2 and interlace == 0, header
    size = depth // 8
    stride, bpp = width * 3 * size, 3 * size
    raw = zlib.decompress(idat)
    rows, previous = [], bytearray(stride)
    for r in range(height):
        kind, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    samples = np.frombuffer(b"".join(rows), dtype=">u2" if size == 2 else np.uint8)
    return samples.reshape(height, width, 3).astype(np.float64) / (65535.0 if size == 2 else 255.0)


def png_bit_depth(path):
    return open(path, "rb").read()[24]


@needs_backend
def test_save_original_png_16_and_jpeg_quality(analytic, images, tmp_path):
    content = to_chw(images["content_px"])
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
               "--content-size", 16, "--crop", "--save-original", "--png-16", "--out", tmp_path / "o.png")
    assert done.returncode == 0, done.stderr.decode()
    assert png_bit_depth(tmp_path / "o.png") == 16 and png_bit_depth(tmp_path / "o_content.png") == 16
    # The content as the network saw it: short side 16 (16 x 26), then the centre square.
    small = F.interpolate(content[None], size=(16, 26), mode="bilinear", align_corners=False)[0][:, :, 5:21]
    got = read_png16_rgb(tmp_path / "o_content.png")
    assert np.abs(got - small.permute(1, 2, 0).numpy()).max() <= 0.5 / 65535 + 1e-6
    # The style, 19 x 26, cropped to its centre 19 x 19 (columns 3..21).
    style = read_png16_rgb(tmp_path / "o_style.png")
    assert np.abs(style * 255 - images["style_a_px"][:, 3:22]).max() < 1e-3
    # Mixed styles get one file each.
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--out", tmp_path / "m.png",
               "--style", f"{images['style_a']},{images['style_b']}", "--interp-weights", "1,1",
               "--save-original")
    assert done.returncode == 0, done.stderr.decode()
    assert np.array_equal(read_png(tmp_path / "m_style2.png"), images["style_b_px"])
    assert np.array_equal(read_png(tmp_path / "m_content.png"), images["content_px"])
    # --jpeg-quality reaches the encoder: coarser quantisation tables at a low quality.
    tables = {}
    for quality in (20, 95):
        out = tmp_path / f"q{quality}.jpg"
        done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
                   "--jpeg-quality", quality, "--out", out)
        assert done.returncode == 0, done.stderr.decode()
        with Image.open(out) as img:
            tables[quality] = sum(img.quantization[0])
    assert tables[20] > 3 * tables[95]


@needs_backend
def test_save_original_names_are_checked_like_every_output(analytic, images, tmp_path):
    """OUT_content.EXT must not be an input either."""
    victim = tmp_path / "o_content.png"
    shutil.copy(images["content"], victim)
    done = run(STYLIZE, "--models", analytic, "--content", victim, "--style", images["style_a"],
               "--save-original", "--out", tmp_path / "o.png")
    assert done.returncode == 1
    assert b"--save-original" in done.stderr and b"--content" in done.stderr
    assert read_png(victim).tobytes() == images["content_px"].tobytes()


@needs_backend
def test_device_cuda_n_selects_a_gpu(analytic, images, tmp_path):
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
               "--device", "cuda:7", "--out", tmp_path / "o.png")
    # Without that GPU (or without CUDA) the bundle cannot load there, and the message says so.
    if done.returncode != 0:
        assert done.returncode == 2
        assert b"CUDA" in done.stderr or b"cuda" in done.stderr or b"device" in done.stderr


# ---- --compare and --report -----------------------------------------------------------------------

def panel_tiles(panel, height, width, n=5):
    """The pictures of a --compare panel (5x7 font at scale 1 for tiles under 200 pixels: 11-pixel
    caption strip, tiles 2 pixels apart) and the caption strips."""
    strip, gap = 11, 2
    assert panel.shape[:2] == (strip + height, n * width + (n - 1) * gap)
    tiles = [panel[strip:, k * (width + gap):k * (width + gap) + width] for k in range(n)]
    captions = [panel[:strip, k * (width + gap):k * (width + gap) + width] for k in range(n)]
    return tiles, captions


@needs_backend
def test_compare_panel_shows_the_papers_comparison(analytic, images, tmp_path):
    content = to_chw(images["content_px"])
    sa = to_chw(images["style_a_px"])
    h, w = content.shape[1:]
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
               "--out", tmp_path / "o.png", "--compare", tmp_path / "panel.png")
    assert done.returncode == 0, done.stderr.decode()
    panel = read_png(tmp_path / "panel.png")
    tiles, captions = panel_tiles(panel, h, w)
    depth = normalize(luma(content))
    dcs, s = reference(content, [sa], range_map=depth)
    adain, _ = reference(content, [sa], alpha=float(s.mean()))
    assert np.array_equal(tiles[0], images["content_px"])                      # content
    assert np.abs(tiles[1][..., 0] - depth.numpy() * 255).max() <= 0.5 + 1e-3  # D, black = near
    assert_matches_reference(tiles[2], adain)                                   # AdaIN at mean S
    assert np.array_equal(tiles[3], read_png(tmp_path / "o.png"))               # AdaIN-DCS, the output
    assert_matches_reference(tiles[3], dcs)
    blocks = s.numpy().repeat(8, 0).repeat(8, 1)[:h, :w]                         # S, 8x8 blocks
    assert np.abs(tiles[4][..., 0] - blocks * 255).max() <= 0.5 + 1e-3
    # The uniform alpha is really another picture, and every tile has a caption in black ink.
    assert np.abs(tiles[2].astype(int) - tiles[3].astype(int)).max() > 10
    for caption in captions:
        ink = (caption.max(-1) < 60).mean()
        assert 0.03 < ink < 0.6, ink
        assert (caption.min(-1) > 250).mean() > 0.4   # a white strip


@needs_backend
def test_compare_dir_makes_one_panel_per_pair(analytic, images, tmp_path):
    styles = f"{images['style_a']},{images['style_b']}"
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", styles,
               "--out-dir", tmp_path / "out", "--compare-dir", tmp_path / "panels")
    assert done.returncode == 0, done.stderr.decode()
    assert sorted(os.listdir(tmp_path / "panels")) == ["content_compare_sa.png", "content_compare_sb.png"]
    for name in ("sa", "sb"):
        tiles, _ = panel_tiles(read_png(tmp_path / "panels" / f"content_compare_{name}.png"), 23, 37)
        assert np.array_equal(tiles[3], read_png(tmp_path / "out" / f"content_stylized_{name}.png"))
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", styles,
               "--out-dir", tmp_path / "out2", "--compare", tmp_path / "p.png")
    assert done.returncode == 1 and b"--compare-dir" in done.stderr
    assert not (tmp_path / "out2").exists()


def plain_scores(content_depth, output_depth):
    """Pearson, Spearman (average ranks of ties, from np.unique) and the scale-invariant error of
    Eigen et al. 2014 (lambda = 1) on z = 1 + D, from their definitions."""
    a, b = content_depth.ravel().astype(np.float64), output_depth.ravel().astype(np.float64)

    def ranks(x):
        values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
        last = np.cumsum(counts)                 # rank of the last member of each group
        return (last - (counts - 1) / 2.0)[inverse]

    def corr(x, y):
        return float(np.corrcoef(x, y)[0, 1])

    g = np.log(1 + b) - np.log(1 + a)
    return corr(a, b), corr(ranks(a), ranks(b)), float((g ** 2).mean() - g.mean() ** 2)


REPORT_LINE = r"^  (AdaIN, uniform alpha ([0-9.]+)|AdaIN-DCS)\s+pearson\s+(\S+)\s+spearman\s+(\S+)\s+si\s+(\S+)$"


@needs_backend
def test_report_scores_match_an_independent_computation(analytic, images, tmp_path):
    import re
    content = to_chw(images["content_px"])
    sa = to_chw(images["style_a_px"])
    done = run(STYLIZE, "--models", analytic, "--content", images["content"], "--style", images["style_a"],
               "--depth-range", "0.1,0.9", "--out", tmp_path / "o.png", "--report")
    assert done.returncode == 0, done.stderr.decode()
    lines = re.findall(REPORT_LINE, done.stdout.decode(), re.M)
    assert [line[0].split(",")[0] for line in lines] == ["AdaIN", "AdaIN-DCS"], done.stdout.decode()
    depth = normalize(luma(content))
    dcs, s = reference(content, [sa], range_map=0.1 + 0.8 * depth)
    assert float(lines[0][1]) == pytest.approx(float(s.mean()), abs=1e-4)
    adain, _ = reference(content, [sa], alpha=float(s.mean()))
    for line, out in zip(lines, (adain, dcs)):
        want = plain_scores(depth.numpy(), normalize(luma(out.clamp(0, 1))).numpy())
        got = [float(v) for v in line[2:]]
        assert got[0] == pytest.approx(want[0], abs=1e-4)
        assert got[1] == pytest.approx(want[1], abs=2e-3)
        assert got[2] == pytest.approx(want[2], rel=1e-3, abs=1e-7)
    assert 0 < float(lines[1][2]) < 0.999    # not a case that cannot fail


@needs_backend
def test_report_needs_a_depth_network(images, tmp_path):
    bundle = tmp_path / "nodepth"
    done = subprocess.run([PYTHON, os.path.join(SOURCE, "tools", "adn-export"), "--analytic",
                           "--analytic-depth", "none", "--out", str(bundle)], capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    done = run(STYLIZE, "--models", bundle, "--content", images["content"], "--style", images["style_a"],
               "--out", tmp_path / "o.png", "--report")
    assert done.returncode == 2 and b"--report" in done.stderr and b"depth.pt" in done.stderr
    assert not (tmp_path / "o.png").exists()


@needs_backend
def test_ground_plane_depth_of_the_analytic_bundle(images, tmp_path):
    """--analytic-depth ground-plane: depth 1 - (y + 0.5) / H whatever the picture, so the
    normalised D is (H - 1 - y) / (H - 1): the top row farthest (1), the bottom row nearest (0)."""
    bundle = tmp_path / "ground"
    done = subprocess.run([PYTHON, os.path.join(SOURCE, "tools", "adn-export"), "--analytic",
                           "--analytic-depth", "ground-plane", "--out", str(bundle)], capture_output=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    done = run(STYLIZE, "--models", bundle, "--content", images["content"], "--style", images["style_a"],
               "--out", tmp_path / "o.png", "--save-depth", tmp_path / "d.png")
    assert done.returncode == 0, done.stderr.decode()
    d = read_png(tmp_path / "d.png").astype(np.float64) / 65535
    rows = (22 - np.arange(23, dtype=np.float64)) / 22
    assert np.abs(d - rows[:, None]).max() <= 1.0 / 65535


@needs_backend
def test_trust_unsealed_loads_a_hand_made_bundle_in_both_programs(analytic, images, tmp_path):
    """A bundle without manifest.txt is refused (exit 2, naming adn-export --seal) unless
    --trust-unsealed is given; then adn-stylize gives the sealed bundle's output, and adn-video runs."""
    unsealed = tmp_path / "unsealed"
    shutil.copytree(analytic, unsealed)
    (unsealed / "manifest.txt").unlink()
    base = ["--content", images["content"], "--style", images["style_a"]]
    done = run(STYLIZE, "--models", unsealed, *base, "--out", tmp_path / "refused.png")
    assert done.returncode == 2 and b"--seal" in done.stderr, done.stderr.decode()
    assert not (tmp_path / "refused.png").exists()
    done = run(STYLIZE, "--models", unsealed, "--trust-unsealed", *base, "--out", tmp_path / "trusted.png")
    assert done.returncode == 0, done.stderr.decode()
    done = run(STYLIZE, "--models", analytic, *base, "--out", tmp_path / "sealed.png")
    assert done.returncode == 0, done.stderr.decode()
    assert np.array_equal(read_png(tmp_path / "trusted.png"), read_png(tmp_path / "sealed.png"))
    stream = b"YUV4MPEG2 W16 H16 F25:1 C444\nFRAME\n" + bytes(range(256)) * 3
    for extra, status in (([], 2), (["--trust-unsealed"], 0)):
        done = subprocess.run([VIDEO, "--models", str(unsealed), "--style", str(images["style_a"]), "--quiet",
                               *extra], input=stream, capture_output=True, timeout=300)
        assert done.returncode == status, done.stderr.decode()
