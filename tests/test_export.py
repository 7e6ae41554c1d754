"""Tests of tools/adn-export and of the reference pipeline's networks (pytest, /usr/bin/python3).

The exported TorchScript modules are compared with tests/ref/pipeline_ref.py, which rebuilds the
networks from the .pth files on its own (pytorch-AdaIN's nn.Sequential); the depth wrapper is
compared with its definition in docs/MODELS.md written out here with numpy.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "adn-export"
sys.path.insert(0, str(ROOT / "tests" / "ref"))
sys.path.insert(0, str(ROOT / "tools"))

import pipeline_ref  # noqa: E402
from adn_export import synthetic  # noqa: E402

SEED = 1234
VGG_KEYS = [0, 2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51]
DECODER_KEYS = [1, 5, 8, 11, 14, 18, 21, 25, 28]
# relative tolerance of TorchScript vs the reference's nn.Sequential (same float32 kernels)
NET_TOLERANCE = 1e-5


def run_tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))


def export_ok(*args):
    result = run_tool(*args)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="session")
def bundles(tmp_path_factory):
    return tmp_path_factory.mktemp("bundles")


@pytest.fixture(scope="session")
def synthetic_bundle(bundles):
    out = bundles / "synthetic"
    export_ok("--synthetic", SEED, "--out", out)
    return out


@pytest.fixture(scope="session")
def analytic_bundle(bundles):
    out = bundles / "analytic"
    export_ok("--analytic", "--out", out)
    return out


@pytest.fixture(scope="session")
def source(synthetic_bundle):
    return synthetic_bundle / "source"


@pytest.fixture(scope="session")
def reference(synthetic_bundle):
    return pipeline_ref.Reference(str(synthetic_bundle))


def load(path):
    return torch.jit.load(str(path), map_location="cpu")


def rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def max_rel_error(a, b):
    return ((a - b).abs().max() / max(1.0, b.abs().max())).item()


# ---- synthetic weight files ---------------------------------------------------------------------

def test_synthetic_files_have_the_official_layout(source):
    vgg = torch.load(source / "vgg_normalised.pth")
    assert list(vgg) == [f"{k}.{p}" for k in VGG_KEYS for p in ("weight", "bias")]
    assert vgg["0.weight"].shape == (3, 3, 1, 1)
    assert vgg["2.weight"].shape == (64, 3, 3, 3)
    assert vgg["29.weight"].shape == (512, 256, 3, 3)
    assert vgg["51.weight"].shape == (512, 512, 3, 3)
    decoder = torch.load(source / "decoder.pth")
    assert list(decoder) == [f"{k}.{p}" for k in DECODER_KEYS for p in ("weight", "bias")]
    assert decoder["1.weight"].shape == (256, 512, 3, 3)
    assert decoder["28.weight"].shape == (3, 64, 3, 3)
    assert all(t.dtype == torch.float32 for t in list(vgg.values()) + list(decoder.values()))


def test_legacy_and_zip_formats_hold_identical_tensors(source):
    assert not zipfile.is_zipfile(source / "vgg_normalised.pth"), "the published file is the legacy format"
    assert zipfile.is_zipfile(source / "vgg_normalised_zip.pth")
    legacy = torch.load(source / "vgg_normalised.pth")
    zipped = torch.load(source / "vgg_normalised_zip.pth")
    assert list(legacy) == list(zipped)
    for key in legacy:
        assert torch.equal(legacy[key], zipped[key]), key


def test_first_layer_is_rgb_to_bgr255_minus_mean(source):
    vgg = torch.load(source / "vgg_normalised.pth")
    rgb = torch.tensor([0.2, 0.5, 0.9])
    bgr = F.conv2d(rgb.view(1, 3, 1, 1), vgg["0.weight"], vgg["0.bias"]).flatten()
    expected = torch.tensor([0.9 * 255 - 103.939, 0.5 * 255 - 116.779, 0.2 * 255 - 123.68])
    assert torch.allclose(bgr, expected, atol=1e-4)


def test_synthetic_weights_follow_the_seed(tmp_path):
    a = synthetic.write_sources(7, tmp_path / "a")
    b = synthetic.write_sources(7, tmp_path / "b")
    c = synthetic.write_sources(8, tmp_path / "c")
    da, db, dc = (torch.load(p["decoder"]) for p in (a, b, c))
    assert all(torch.equal(da[k], db[k]) for k in da)
    assert not torch.equal(da["5.weight"], dc["5.weight"])


def test_synthetic_networks_keep_activations_in_range(reference):
    content = rand(3, 64, 64, seed=4)
    features = reference.encode(content)
    out = reference.decode(features)
    assert 1.0 < features.pow(2).mean().sqrt().item() < 1000.0
    assert -1.5 < out.min().item() and out.max().item() < 2.5
    assert 0.2 < out.mean().item() < 0.8


# ---- exported TorchScript vs the reference's own networks --------------------------------------

def in_layout(module, x, layout):
    """The module and its input as the library runs them: channels_last on CPU (weights too), or
    contiguous (the exported default, and CUDA)."""
    if layout == "channels_last":
        module = module.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return module, x


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("height,width", [(8, 8), (8, 16), (24, 40), (64, 48)])
def test_encoder_matches_reference(synthetic_bundle, reference, height, width, layout):
    x = rand(1, 3, height, width, seed=height * 100 + width)
    encoder, x_in = in_layout(load(synthetic_bundle / "encoder.pt"), x, layout)
    with torch.no_grad():
        got = encoder(x_in)
    assert got.shape == (1, 512, height // 8, width // 8)
    want = reference.encode(x[0]).float()
    assert max_rel_error(got[0], want) <= NET_TOLERANCE


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("height,width", [(1, 1), (1, 3), (3, 5), (8, 6)])
def test_decoder_matches_reference(synthetic_bundle, reference, height, width, layout):
    features = rand(1, 512, height, width, seed=height * 10 + width) * 200.0
    decoder, f_in = in_layout(load(synthetic_bundle / "decoder.pt"), features, layout)
    with torch.no_grad():
        got = decoder(f_in)
    assert got.shape == (1, 3, height * 8, width * 8)
    assert max_rel_error(got[0], reference.decode(features[0])) <= NET_TOLERANCE


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("height,width", [(1, 1), (1, 4), (3, 1), (5, 7)])
def test_padding_modules_are_relu_reflect_pad_exactly(height, width, relu, layout):
    """ReflectionPad1 / UpsamplePad1 / Upsample2 give bit for bit what the ops they replace give
    (the ReLU they fold in included), in both memory formats."""
    from adn_export import padding
    x = rand(1, 4, height, width, seed=height * 10 + width) - 0.5
    x_in = x.contiguous(memory_format=torch.channels_last) if layout == "channels_last" else x
    act = torch.relu(x) if relu else x
    want_pad = act.index_select(2, pipeline_ref._edge_indices(height)).index_select(3, pipeline_ref._edge_indices(width))
    up = F.interpolate(act, scale_factor=2.0, mode="nearest")
    want_up = up.index_select(2, pipeline_ref._edge_indices(2 * height)).index_select(3, pipeline_ref._edge_indices(2 * width))
    got_pad = torch.jit.script(padding.ReflectionPad1(relu=relu))(x_in)
    got_up = torch.jit.script(padding.UpsamplePad1(relu=relu))(x_in)
    got_up_unpadded = torch.jit.script(padding.Upsample2(relu=relu))(x_in)  # the limit network's
    assert torch.equal(got_pad, want_pad) and torch.equal(got_up, want_up) and torch.equal(got_up_unpadded, up)
    # The layout the next convolution wants is kept (a 1 x 1 input is in both layouts at once).
    if layout == "channels_last" and height * width > 1:
        assert got_pad.is_contiguous(memory_format=torch.channels_last)
        assert got_up.is_contiguous(memory_format=torch.channels_last)


def test_zip_format_exports_the_same_bundle(source, synthetic_bundle, tmp_path):
    export_ok("--vgg", source / "vgg_normalised_zip.pth", "--decoder", source / "decoder.pth",
              "--out", tmp_path)
    x = rand(1, 3, 16, 24, seed=11)
    with torch.no_grad():
        assert torch.equal(load(tmp_path / "encoder.pt")(x), load(synthetic_bundle / "encoder.pt")(x))
    assert not (tmp_path / "depth.pt").exists()


# ---- attributes the C++ shim reads ---------------------------------------------------------------

EXPECTED_ATTRIBUTES = {
    ("synthetic", "encoder.pt"): {"adn_kind": "encoder", "adn_channels": 512, "adn_downsample": 8},
    ("synthetic", "decoder.pt"): {"adn_kind": "decoder", "adn_channels": 512, "adn_upsample": 8},
    ("synthetic", "depth.pt"): {"adn_kind": "depth", "adn_output": "disparity"},
    ("analytic", "encoder.pt"): {"adn_kind": "encoder", "adn_channels": 192, "adn_downsample": 8},
    ("analytic", "decoder.pt"): {"adn_kind": "decoder", "adn_channels": 192, "adn_upsample": 8},
    ("analytic", "depth.pt"): {"adn_kind": "depth", "adn_output": "depth"},
}


@pytest.mark.parametrize("bundle,name", list(EXPECTED_ATTRIBUTES))
def test_attributes_survive_save_and_load(synthetic_bundle, analytic_bundle, bundle, name):
    directory = synthetic_bundle if bundle == "synthetic" else analytic_bundle
    module = load(directory / name)
    for attr, value in EXPECTED_ATTRIBUTES[(bundle, name)].items():
        assert getattr(module, attr) == value
        assert type(getattr(module, attr)) is type(value)


CPP_PROBE = r"""
#include <torch/script.h>
#include <iostream>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    torch::jit::Module m = torch::jit::load(argv[i]);
    std::cout << m.attr("adn_kind").toStringRef();
    for (const char *name : {"adn_channels", "adn_downsample", "adn_upsample"})
      if (m.hasattr(name)) std::cout << " " << name << "=" << m.attr(name).toInt();
    if (m.hasattr("adn_output")) {
      std::cout << " adn_output=" << m.attr("adn_output").toStringRef();
      auto y = m.forward({torch::rand({1, 3, 13, 17})}).toTensor();
      std::cout << " out=" << y.size(0) << "x" << y.size(1) << "x" << y.size(2) << "x" << y.size(3);
    }
    std::cout << "\n";
  }
}
"""


def test_libtorch_cpp_reads_the_attributes(synthetic_bundle, analytic_bundle, tmp_path):
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None or not Path("/usr/include/torch/script.h").exists():
        pytest.skip("no C++ compiler or no libtorch headers in /usr/include (libtorch-dev)")
    source_file = tmp_path / "probe.cpp"
    source_file.write_text(CPP_PROBE)
    binary = tmp_path / "probe"
    build = subprocess.run([compiler, "-std=c++17", "-O0", str(source_file), "-o", str(binary),
                            "-I/usr/include/torch/csrc/api/include", "-ltorch", "-ltorch_cpu", "-lc10"],
                           capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        pytest.skip("cannot build against libtorch: " + build.stderr.strip().splitlines()[-1])
    files = [synthetic_bundle / n for n in ("encoder.pt", "decoder.pt", "depth.pt")]
    files += [analytic_bundle / n for n in ("encoder.pt", "decoder.pt", "depth.pt")]
    run = subprocess.run([str(binary)] + [str(f) for f in files], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "encoder adn_channels=512 adn_downsample=8",
        "decoder adn_channels=512 adn_upsample=8",
        "depth adn_output=disparity out=1x1x192x256",
        "encoder adn_channels=192 adn_downsample=8",
        "decoder adn_channels=192 adn_upsample=8",
        "depth adn_output=depth out=1x1x13x17",
    ]


# ---- clean failures ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def bad_files(source, tmp_path_factory):
    """Damaged variants of the synthetic files (the VGG ones are legacy format, like the original)."""
    folder = tmp_path_factory.mktemp("bad")
    vgg = torch.load(source / "vgg_normalised.pth")
    decoder = torch.load(source / "decoder.pth")

    def save(name, obj, legacy=True):
        torch.save(obj, folder / name, _use_new_zipfile_serialization=not legacy)
        return folder / name

    renamed = dict(vgg)
    renamed["3.weight"] = renamed.pop("2.weight")
    wrong_shape = dict(decoder)
    wrong_shape["14.weight"] = torch.zeros(128, 256, 5, 5)
    nan = dict(decoder)
    nan["8.bias"] = nan["8.bias"].clone()
    nan["8.bias"][3] = float("nan")
    integer = dict(decoder)
    integer["1.bias"] = torch.zeros(256, dtype=torch.int64)
    wrapped = {"state_dict": decoder}
    data = (source / "vgg_normalised.pth").read_bytes()
    (folder / "truncated_legacy.pth").write_bytes(data[:len(data) // 2])
    zdata = (source / "vgg_normalised_zip.pth").read_bytes()
    (folder / "truncated_zip.pth").write_bytes(zdata[:len(zdata) // 3])
    (folder / "text.pth").write_text("this is not a torch file\n")
    (folder / "empty.pth").write_bytes(b"")
    torch.jit.save(torch.jit.script(torch.nn.Conv2d(3, 3, 1)), str(folder / "script.pt"))
    torch.save(torch.nn.Conv2d(3, 3, 1), folder / "module.pth")
    return {
        "renamed": save("renamed.pth", renamed),
        "wrong_shape": save("wrong_shape.pth", wrong_shape),
        "nan": save("nan.pth", nan, legacy=False),
        "integer": save("integer.pth", integer, legacy=False),
        "wrapped": save("wrapped.pth", wrapped, legacy=False),
        "list": save("list.pth", [1, 2, 3], legacy=False),
        "tensor": save("tensor.pth", torch.zeros(3), legacy=False),
        "truncated_legacy": folder / "truncated_legacy.pth",
        "truncated_zip": folder / "truncated_zip.pth",
        "text": folder / "text.pth",
        "empty": folder / "empty.pth",
        "script": folder / "script.pt",
        "module": folder / "module.pth",
        "missing": folder / "does_not_exist.pth",
        "directory": folder,
    }


# (which file is bad, its name in bad_files, words the one-line message must contain)
FAILURES = [
    ("vgg", "renamed", ["missing key(s) 2.weight", "unexpected key(s) 3.weight"]),
    ("decoder", "wrong_shape", ["14.weight", "(128, 256, 5, 5)", "(128, 256, 3, 3)"]),
    ("decoder", "nan", ["8.bias", "NaN"]),
    ("decoder", "integer", ["1.bias", "int64"]),
    ("decoder", "wrapped", ["'state_dict'", "not a tensor"]),
    ("vgg", "list", ["not hold a state dict", "list"]),
    ("vgg", "tensor", ["single tensor"]),
    ("vgg", "truncated_legacy", ["corrupt or truncated", "legacy format"]),
    ("vgg", "truncated_zip", ["corrupt or truncated", "zip format"]),
    ("decoder", "text", ["not a readable PyTorch file"]),
    ("decoder", "empty", ["empty"]),
    ("vgg", "script", ["TorchScript module, not a state dict"]),
    ("decoder", "module", ["pickled Python objects", "Conv2d"]),
    ("vgg", "missing", ["no such file"]),
    ("decoder", "directory", ["is a directory"]),
]


@pytest.mark.parametrize("role,case,words", FAILURES, ids=[f"{r}-{c}" for r, c, _ in FAILURES])
def test_bad_weight_files_fail_cleanly(source, bad_files, tmp_path, role, case, words):
    files = {"vgg": source / "vgg_normalised.pth", "decoder": source / "decoder.pth"}
    files[role] = bad_files[case]
    out = tmp_path / "bundle"
    result = run_tool("--vgg", files["vgg"], "--decoder", files["decoder"], "--out", out)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adn-export: error: "), result.stderr
    assert str(bad_files[case]) in lines[0]
    for word in words:
        assert word in lines[0]
    assert not (out / "encoder.pt").exists(), "a failed export must not leave a bundle behind"


@pytest.mark.parametrize("args,words", [
    (["--analytic", "--synthetic", "3"], "exactly one of"),
    (["--vgg", "x.pth"], "--vgg and --decoder go together"),
    (["--analytic", "--depth-midas", "m.pt"], "go with --vgg/--decoder"),
    (["--vgg", "a", "--decoder", "b", "--depth-torchscript", "d.pt"], "needs --depth-output"),
    (["--vgg", "a", "--decoder", "b", "--depth-multiple", "4"], "only goes with --depth-torchscript"),
    (["--vgg", "a", "--decoder", "b", "--depth-torchscript", "d", "--depth-output", "depth",
      "--depth-mean", "1,2"], "three comma-separated numbers"),
    (["--vgg", "a", "--decoder", "b", "--depth-torchscript", "d", "--depth-output", "depth",
      "--depth-std", "1,0,1"], "must be > 0"),
])
def test_bad_options_fail_cleanly(tmp_path, args, words):
    result = run_tool(*args, "--out", tmp_path / "b")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert words in result.stderr


def test_bad_depth_files_fail_cleanly(source, bad_files, tmp_path):
    common = ["--vgg", source / "vgg_normalised.pth", "--decoder", source / "decoder.pth", "--out", tmp_path]
    result = run_tool(*common, "--depth-midas", bad_files["renamed"])
    assert result.returncode == 1 and "not a loadable TorchScript file" in result.stderr
    assert "Traceback" not in result.stderr
    # A TorchScript module that is no depth network (a 3->3 conv) fails the probe with a message.
    result = run_tool(*common, "--depth-torchscript", bad_files["script"], "--depth-output", "depth")
    assert result.returncode == 1
    assert "adn-export: error: the depth network" in result.stderr and "Traceback" not in result.stderr
    assert sorted(os.listdir(tmp_path)) == [], "a failed probe must not leave modules behind"


# ---- analytic bundle ----------------------------------------------------------------------------

@pytest.mark.parametrize("height,width", [(8, 8), (16, 40), (64, 64), (8, 200)])
def test_analytic_pair_is_an_exact_inverse(analytic_bundle, height, width):
    encoder, decoder = load(analytic_bundle / "encoder.pt"), load(analytic_bundle / "decoder.pt")
    x = rand(1, 3, height, width, seed=height + width)
    with torch.no_grad():
        features = encoder(x)
        assert features.shape == (1, 192, height // 8, width // 8)
        assert torch.equal(decoder(features), x)
        # the documented channel order: c*64 + dy*8 + dx, as F.pixel_unshuffle and the reference
        assert torch.equal(features, F.pixel_unshuffle(x, 8))
        assert torch.equal(features[0], pipeline_ref.space_to_depth(x[0]))
        assert features[0, 1 * 64 + 3 * 8 + 5, 0, 0] == x[0, 1, 3, 5]


def test_analytic_luma_depth(analytic_bundle):
    depth = load(analytic_bundle / "depth.pt")
    x = rand(1, 3, 7, 11, seed=5)
    with torch.no_grad():
        y = depth(x)
    assert y.shape == (1, 1, 7, 11)
    luma = 0.299 * x[0, 0] + 0.587 * x[0, 1] + 0.114 * x[0, 2]
    assert torch.allclose(y[0, 0], luma, atol=1e-6, rtol=0)


def test_analytic_without_depth_removes_a_stale_depth_module(tmp_path):
    export_ok("--analytic", "--out", tmp_path)
    assert (tmp_path / "depth.pt").exists()
    export_ok("--analytic", "--analytic-depth", "none", "--out", tmp_path)
    assert not (tmp_path / "depth.pt").exists()
    assert (tmp_path / "encoder.pt").exists() and (tmp_path / "decoder.pt").exists()


# ---- the depth wrapper --------------------------------------------------------------------------

def midas_input_size(height, width, long_side=256, multiple=32):
    """MiDaS Resize(keep_aspect_ratio, ensure_multiple_of, "upper_bound"), at least one multiple."""
    scale = min(long_side / height, long_side / width)

    def constrain(x):
        y = int(np.round(x / multiple) * multiple)
        if y > long_side:
            y = int(np.floor(x / multiple) * multiple)
        return max(y, multiple)
    return constrain(scale * height), constrain(scale * width)


ODD_SIZES = [(1, 1), (7, 13), (300, 17), (17, 300), (255, 257), (1000, 3), (48, 80), (256, 256), (1080, 1920)]


@pytest.mark.parametrize("height,width", ODD_SIZES)
def test_midas_wrapper_resizes_and_normalizes(synthetic_bundle, source, height, width):
    depth = load(synthetic_bundle / "depth.pt")
    inner = load(source / "model-small-traced.pt")
    x = rand(1, 3, height, width, seed=height * 7 + width)
    h2, w2 = midas_input_size(height, width)
    with torch.no_grad():
        y = depth(x)
        resized = x if (h2, w2) == (height, width) else F.interpolate(x, size=(h2, w2), mode="bicubic",
                                                                       align_corners=False)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        want = inner((resized - mean) / std)
    assert y.shape == (1, 1, h2, w2)
    assert h2 % 32 == 0 and w2 % 32 == 0 and max(h2, w2) <= 256
    assert torch.allclose(y[0, 0], want[0], atol=1e-6, rtol=1e-6)


def test_midas_size_rule_known_values():
    assert midas_input_size(480, 640) == (192, 256)
    assert midas_input_size(512, 512) == (256, 256)
    assert midas_input_size(1080, 1920) == (128, 256)  # 144 / 32 = 4.5 rounds to 4 (ties to even)


def test_generic_torchscript_depth(source, tmp_path):
    export_ok("--vgg", source / "vgg_normalised.pth", "--decoder", source / "decoder.pth",
              "--depth-torchscript", source / "model-small-traced.pt", "--depth-output", "depth",
              "--depth-input-size", "128", "--depth-multiple", "32", "--depth-mean", "0.5,0.5,0.5",
              "--depth-std", "0.25,0.5,1", "--out", tmp_path)
    depth = load(tmp_path / "depth.pt")
    assert depth.adn_output == "depth"
    inner = load(source / "model-small-traced.pt")
    x = rand(1, 3, 45, 91, seed=9)
    h2, w2 = midas_input_size(45, 91, long_side=128)
    with torch.no_grad():
        y = depth(x)
        resized = F.interpolate(x, size=(h2, w2), mode="bicubic", align_corners=False)
        want = inner((resized - 0.5) / torch.tensor([0.25, 0.5, 1.0]).view(1, 3, 1, 1))
    assert y.shape == (1, 1, h2, w2) == (1, 1, 64, 128)
    assert torch.allclose(y[0, 0], want[0], atol=1e-6, rtol=1e-6)


# ---- the reference pipeline on the analytic bundle, checked by hand ----------------------------

@pytest.fixture(scope="session")
def analytic_reference(analytic_bundle):
    return pipeline_ref.Reference(str(analytic_bundle))


@pytest.mark.parametrize("height,width", [(1, 1), (9, 17), (37, 45)])
def test_reference_alpha_zero_returns_the_content(analytic_reference, height, width):
    content = rand(3, height, width, seed=height)
    style = rand(3, 20, 12, seed=99)
    result = analytic_reference.stylize(content, [style], alpha=0.0)
    assert torch.equal(result["out"], content)


def test_reference_adain_and_depth_by_hand(analytic_reference):
    content = rand(3, 32, 24, seed=1)
    style = rand(3, 16, 16, seed=2) * 0.5
    result = analytic_reference.stylize(content, [style], alpha=0.6, lo=0.2, hi=0.9)
    # depth by hand: luma, normalized (depth: bright = far = 1), R, 8x8 means
    luma = (0.299 * content[0] + 0.587 * content[1] + 0.114 * content[2]).double()
    D = (luma - luma.min()) / (luma.max() - luma.min())
    assert torch.allclose(result["depth"], D, atol=1e-6)
    S = 0.6 * F.avg_pool2d((0.2 + 0.7 * D)[None, None], 8)[0, 0]
    assert torch.allclose(result["strength"], S, atol=1e-6)
    # AdaIN by hand on the 192 space-to-depth channels
    fc = F.pixel_unshuffle(content[None], 8)[0].reshape(192, -1).double()
    fs = F.pixel_unshuffle(style[None], 8)[0].reshape(192, -1).double()
    t = (fc - fc.mean(1, keepdim=True)) / (fc.var(1, keepdim=True) + 1e-5).sqrt()
    t = t * (fs.var(1, keepdim=True) + 1e-5).sqrt() + fs.mean(1, keepdim=True)
    f = S.reshape(1, -1) * t + (1 - S.reshape(1, -1)) * fc
    out = F.pixel_shuffle(f.reshape(1, 192, 4, 3).float(), 8)[0]
    assert torch.allclose(result["out"], out, atol=1e-5)


def test_reference_invalid_depth_blocks_get_r_of_one(analytic_reference):
    content = rand(3, 16, 16, seed=3)
    depth = rand(16, 16, seed=4) + 1.0
    depth[0:8, 8:16] = 0.0  # one whole block invalid
    depth[9, 1] = 0.0       # and one pixel elsewhere
    result = analytic_reference.stylize(content, [content], alpha=1.0, depth_source="caller", depth=depth,
                                        depth_invalid=0.0, lo=0.1, hi=0.7)
    assert result["strength"][0, 1].item() == pytest.approx(0.7)
    valid = depth > 0
    D = (depth - depth[valid].min()) / (depth[valid].max() - depth[valid].min())
    R = (0.1 + 0.6 * D.double())
    assert result["strength"][1, 0].item() == pytest.approx(R[8:16, 0:8][valid[8:16, 0:8]].mean().item(), abs=1e-6)


# ---- manifest.txt: the seal adn_model_load checks ------------------------------------------------

MODULES = ("encoder.pt", "decoder.pt", "depth.pt")


def manifest_lines(bundle):
    """manifest.txt without comments, read here on its own (not with adn_export.manifest)."""
    text = (bundle / "manifest.txt").read_text()
    assert text.endswith("\n")
    return [line.split(" ") for line in text.splitlines() if line and not line.startswith("#")]


def meson_version():
    import re
    match = re.search(r"project\('adain_dcs',\s*'c',\s*version:\s*'([^']+)'", (ROOT / "meson.build").read_text())
    return match.group(1)


@pytest.mark.parametrize("kind", ["synthetic", "analytic"])
def test_every_export_is_sealed(request, kind):
    bundle = request.getfixturevalue(f"{kind}_bundle")
    lines = manifest_lines(bundle)
    assert lines[0] == ["adn-manifest", "1"] and lines[-1] == ["end"]
    assert lines[1] == ["exporter", "adn-export", meson_version()]
    files = {fields[1]: fields[2:] for fields in lines if fields[0] == "file"}
    assert sorted(files) == sorted(name for name in MODULES if (bundle / name).exists())
    for name, (size, sha) in files.items():
        data = (bundle / name).read_bytes()
        assert int(size) == len(data) and sha == hashlib.sha256(data).hexdigest()
    attrs = {(fields[1], fields[2]): fields[3] for fields in lines if fields[0] == "attr"}
    for (bundle_kind, name), expected in EXPECTED_ATTRIBUTES.items():
        if bundle_kind == kind:
            for attr, value in expected.items():
                assert attrs[(name, attr)] == str(value)


def test_seal_of_a_hand_made_bundle_matches_the_export(analytic_bundle, tmp_path):
    for name in MODULES:
        shutil.copy(analytic_bundle / name, tmp_path / name)
    export_ok("--seal", tmp_path)
    assert (tmp_path / "manifest.txt").read_text() == (analytic_bundle / "manifest.txt").read_text()
    # sealing again after a module changed records the new bytes; without depth.pt, no entry
    (tmp_path / "depth.pt").unlink()
    export_ok("--seal", tmp_path)
    files = {fields[1] for fields in manifest_lines(tmp_path) if fields[0] == "file"}
    assert files == {"encoder.pt", "decoder.pt"}


@pytest.mark.parametrize("case,words", [
    ("not_a_folder", "not a directory"),
    ("no_decoder", "decoder.pt is missing"),
    ("garbage_encoder", "encoder.pt is not a loadable TorchScript file"),
    ("with_out", "--seal DIR goes alone"),
])
def test_seal_fails_cleanly(analytic_bundle, tmp_path, case, words):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for name in ("encoder.pt", "decoder.pt"):
        shutil.copy(analytic_bundle / name, bundle / name)
    args = ["--seal", bundle]
    if case == "not_a_folder":
        args = ["--seal", bundle / "encoder.pt"]
    elif case == "no_decoder":
        (bundle / "decoder.pt").unlink()
    elif case == "garbage_encoder":
        (bundle / "encoder.pt").write_bytes(b"\0" * 100)
    elif case == "with_out":
        args += ["--out", tmp_path / "other"]
    result = run_tool(*args)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert words in result.stderr
    assert not (bundle / "manifest.txt").exists()


def test_exporter_version_is_the_project_version():
    from adn_export import __version__
    assert __version__ == meson_version()
