"""adain_dcs.batch: stylize_files on a Dask LocalCluster (2 worker processes on 127.0.0.1) and in
process, against single-process renders through the binding and against the adn-stylize program.

The reference for every output is the file written by an independent, plain use of the binding
(one model, one context, read_image / stylize / write_image) with the same settings: outputs are
compared byte for byte, and the analytic bundle makes the renders cheap (64 x 48 images).
"""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")

import adain_dcs as adn  # noqa: E402
from adain_dcs import batch  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
PACKAGE_DIR = TESTS_DIR.parent
N_CONTENTS, HEIGHT, WIDTH = 20, 48, 64
SETTINGS = dict(device="cpu", threads=1, alpha=0.8, depth_range=(0.2, 0.9))
STYLIZE_ARGS = ["--device", "cpu", "--threads", "1", "--alpha", "0.8", "--depth-range", "0.2,0.9"]


def _need_distributed():
    return pytest.importorskip(
        "distributed", reason="dask distributed is not installed (Debian python3-distributed): "
                              "the Dask batch tests are skipped")


def _picture(rng, height, width):
    """A smooth random picture (sines plus a little noise), float32 H x W x 3 in [0,1]."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.random(3) * 6
    base = np.stack([np.sin(x / 5 + phase[0]), np.cos(y / 7 + phase[1]),
                     np.sin((x + y) / 9 + phase[2])], -1)
    return np.clip(0.5 + 0.4 * base + 0.1 * rng.random((height, width, 3)), 0, 1).astype(np.float32)


def _content_names():
    """Names that exercise adn-stylize's naming: kept extensions (jpg, JPG, jpeg), a dotted stem."""
    kinds = ["png", "jpg", "JPG", "jpeg"]
    names = [f"c{i:02d}.{kinds[i % 4]}" for i in range(N_CONTENTS - 1)]
    return names + ["with.dots.png"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """20 content images (one PNG with alpha) in a folder with a hidden and a non-image file that
    must be ignored, and two styles."""
    root = tmp_path_factory.mktemp("batch_inputs")
    rng = np.random.default_rng(2024)
    contents = root / "contents"
    contents.mkdir()
    for i, name in enumerate(_content_names()):
        alpha = rng.random((HEIGHT, WIDTH)).astype(np.float32) if i == 0 else None
        adn.write_image(contents / name, _picture(rng, HEIGHT, WIDTH), alpha=alpha)
    adn.write_image(contents / ".hidden.png", _picture(rng, HEIGHT, WIDTH))
    (contents / "notes.txt").write_text("not an image")
    styles = [root / "wave.png", root / "dots.jpg"]
    adn.write_image(styles[0], _picture(rng, 40, 40))
    adn.write_image(styles[1], _picture(rng, 56, 32))
    return contents, [str(s) for s in styles]


def _expected_names(styles):
    return sorted(f"{Path(c).stem}_stylized_{Path(s).stem}{Path(c).suffix}"
                  for c in _content_names() for s in styles)


@pytest.fixture(scope="module")
def reference(inputs, analytic_bundle, tmp_path_factory):
    """{output name: file bytes}, written by plain binding calls in this process."""
    contents, styles = inputs
    out = tmp_path_factory.mktemp("batch_reference")
    with adn.Model(analytic_bundle, device="cpu", threads=1) as model, \
            model.context(depth_range=SETTINGS["depth_range"]) as ctx:
        encoded = [model.style(adn.read_image(s)) for s in styles]
        for name in _content_names():
            read = adn.read_image(contents / name, full=True)
            for path, style in zip(styles, encoded):
                image = ctx.stylize(read.pixels, style, alpha=SETTINGS["alpha"]).image
                target = out / f"{Path(name).stem}_stylized_{Path(path).stem}{Path(name).suffix}"
                adn.write_image(target, image, alpha=read.alpha)
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _assert_outputs_equal(out_dir, reference):
    """Exactly the expected files (no temporary or partial file left), each equal byte for byte."""
    names = sorted(os.listdir(out_dir))
    assert names == sorted(reference), f"files in {out_dir}: {names}"
    for name in names:
        assert (Path(out_dir) / name).read_bytes() == reference[name], f"{name} differs"


def _content_paths(contents):
    return batch.list_images(contents)


@pytest.fixture(scope="module")
def client(analytic_bundle):
    """A LocalCluster of 2 worker processes (1 thread each) on 127.0.0.1.  The workers are fresh
    interpreters: they find the package (and this module, for the test plugin) by PYTHONPATH and
    the library by ADN_LIBRARY, both inherited."""
    distributed = _need_distributed()
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(PACKAGE_DIR), str(TESTS_DIR)] + ([saved] if saved else []))
    try:
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    with cluster, distributed.Client(cluster) as c:
        yield c


# --- names --------------------------------------------------------------------------------------

def test_output_names_follow_adn_stylize():
    # The rules of output_path() in examples/adn-stylize.c: stems of both files (last dot; a
    # leading dot is no extension), the content's extension as written when it is an image one.
    assert batch.output_name("in/a.b.png", "s/x.y.jpg") == "a.b_stylized_x.y.png"
    assert batch.output_name("a.JPG", "s.png") == "a_stylized_s.JPG"
    assert batch.output_name("a.jpeg", "s") == "a_stylized_s.jpeg"
    assert batch.output_name("a.tif", "s.png") == "a_stylized_s.png"
    assert batch.output_name(".png", "s.png") == ".png_stylized_s.png"
    assert batch.output_name("a.png", "s.png", "jpg") == "a_stylized_s.jpg"
    assert batch.output_path("out/", "a.png", "s.png") == "out/a_stylized_s.png"
    assert batch.output_path("out", "a.png", "s.png") == "out/a_stylized_s.png"


def test_list_images_takes_what_adn_stylize_takes(inputs):
    contents, _ = inputs
    listed = batch.list_images(contents)
    assert [Path(p).name for p in listed] == sorted(_content_names(), key=os.fsencode)
    assert all(p.startswith(str(contents) + "/") for p in listed)


# --- in process (client=None) -------------------------------------------------------------------

def test_in_process_equals_binding_reference(inputs, analytic_bundle, reference, tmp_path):
    contents, styles = inputs
    report = batch.stylize_files(_content_paths(contents), styles, analytic_bundle,
                                 tmp_path / "out", **SETTINGS)
    assert report.ok and len(report.done) == 2 * N_CONTENTS, report.failed
    order = [(Path(f.content).name, Path(f.style).name) for f in report.files]
    assert order == [(c, Path(s).name) for c in sorted(_content_names(), key=os.fsencode)
                     for s in styles]  # content by content, style by style
    _assert_outputs_equal(tmp_path / "out", reference)


def test_failures_carry_the_library_message(inputs, analytic_bundle, tmp_path):
    contents, styles = inputs
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a PNG signature, then garbage
    good = _content_paths(contents)[:1]
    missing_style = str(tmp_path / "missing.png")
    report = batch.stylize_files(good + [str(broken)], [styles[0], missing_style], analytic_bundle,
                                 tmp_path / "out", **SETTINGS)
    by_pair = {(Path(f.content).name, Path(f.style).name): f for f in report.files}
    assert by_pair[(Path(good[0]).name, "wave.png")].status == batch.DONE
    style_failure = by_pair[(Path(good[0]).name, "missing.png")]
    assert style_failure.status == batch.FAILED
    assert style_failure.message.startswith(f"style '{missing_style}': ")
    assert "missing.png" in style_failure.message.split(": ", 1)[1]  # the library names the file
    for style in ("wave.png", "missing.png"):
        failure = by_pair[("broken.png", style)]
        assert failure.status == batch.FAILED
        assert failure.message.startswith(f"content '{broken}': ") and len(failure.message) > 40
    assert sorted(os.listdir(tmp_path / "out")) == [f"{Path(good[0]).stem}_stylized_wave.png"]


def test_refuses_clashing_outputs_before_any_work(inputs, analytic_bundle, tmp_path):
    contents, styles = inputs
    first = _content_paths(contents)[0]
    twin = tmp_path / (Path(first).stem + ".jpg")
    shutil.copy(first, twin)
    with pytest.raises(adn.InvalidArgument, match="two outputs would both be written"):
        batch.stylize_files([first, str(twin)], styles, analytic_bundle, tmp_path / "out",
                            out_ext="png", **SETTINGS)
    assert not (tmp_path / "out").exists()
    # An output that is an input: the content folder as output folder, with an input named like
    # the output of another input.
    victim = contents.parent / "clash"
    victim.mkdir()
    shutil.copy(first, victim / "a.png")
    shutil.copy(first, victim / "a_stylized_wave.png")
    before = (victim / "a_stylized_wave.png").read_bytes()
    with pytest.raises(adn.InvalidArgument, match="is the input"):
        batch.stylize_files(batch.list_images(victim), [styles[0]], analytic_bundle, victim,
                            **SETTINGS)
    assert (victim / "a_stylized_wave.png").read_bytes() == before
    with pytest.raises(adn.InvalidArgument, match="alpha"):
        batch.stylize_files([first], styles, analytic_bundle, tmp_path / "out", alpha=1.5)


# --- on the cluster -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster_out(client, inputs, analytic_bundle, tmp_path_factory):
    """One cluster run of 20 contents x 2 styles: (out folder, report)."""
    contents, styles = inputs
    out = tmp_path_factory.mktemp("batch_cluster") / "out"
    report = batch.stylize_files(_content_paths(contents), styles, analytic_bundle, out,
                                 client=client, **SETTINGS)
    return out, report


def test_cluster_equals_binding_reference(cluster_out, reference, inputs, client):
    out, report = cluster_out
    assert report.ok, report.failed
    assert len(report.done) == 2 * N_CONTENTS and not report.skipped
    assert sorted(Path(f.output).name for f in report.files) == _expected_names(inputs[1])
    _assert_outputs_equal(out, reference)


def test_cluster_rerun_skips_complete_and_redoes_the_rest(cluster_out, reference, inputs,
                                                          analytic_bundle, client):
    out, _ = cluster_out
    contents, styles = inputs
    names = sorted(reference)
    rerun = batch.stylize_files(_content_paths(contents), styles, analytic_bundle, out,
                                client=client, **SETTINGS)
    assert rerun.ok and len(rerun.skipped) == 2 * N_CONTENTS and not rerun.done
    # Not complete: a truncated file, a decodable image of the wrong size, a missing file.
    truncated, wrong_size, missing = out / names[0], out / names[1], out / names[2]
    truncated.write_bytes(reference[names[0]][: len(reference[names[0]]) // 2])
    adn.write_image(wrong_size, np.zeros((HEIGHT // 2, WIDTH, 3), np.float32))
    missing.unlink()
    again = batch.stylize_files(_content_paths(contents), styles, analytic_bundle, out,
                                client=client, **SETTINGS)
    assert again.ok, again.failed
    assert sorted(Path(f.output).name for f in again.done) == names[:3]
    assert len(again.skipped) == 2 * N_CONTENTS - 3
    _assert_outputs_equal(out, reference)


def test_cluster_reports_failures(client, inputs, analytic_bundle, tmp_path):
    contents, styles = inputs
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff" + b"\0" * 20)
    report = batch.stylize_files([str(broken)], styles[:1], analytic_bundle, tmp_path / "out",
                                 client=client, **SETTINGS)
    [failure] = report.files
    assert failure.status == batch.FAILED and failure.message.startswith(f"content '{broken}': ")
    assert os.listdir(tmp_path / "out") == []


def test_cli_on_the_scheduler(client, inputs, analytic_bundle, reference, tmp_path):
    contents, styles = inputs
    address = client.scheduler.address
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(PACKAGE_DIR)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    done = subprocess.run(
        [sys.executable, "-m", "adain_dcs.batch", "--models", str(analytic_bundle),
         "--content-dir", str(contents), "--style", ",".join(styles), "--out-dir",
         str(tmp_path / "out"), "--scheduler", address, "--quiet"] + STYLIZE_ARGS,
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    _assert_outputs_equal(tmp_path / "out", reference)


class SlowStart:
    """A worker plugin that holds each batch task for `seconds` before it starts executing, so
    that the test can kill a worker while it owns a task (analytic renders take ~1 ms)."""

    name = "adn-test-slow-start"

    def __init__(self, seconds):
        self.seconds = seconds

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and str(key).startswith("adn-stylize"):
            time.sleep(self.seconds)


def _busy_worker(client):
    """The address of a worker that is processing a batch task, or None."""
    for address, keys in client.processing().items():
        if any(str(k).startswith("adn-stylize") for k in keys):
            return address
    return None


def test_killed_worker_still_gives_every_output(client, inputs, analytic_bundle, reference,
                                                tmp_path):
    contents, styles = inputs
    out = tmp_path / "out"
    pids = client.run(os.getpid)
    assert len(pids) == 2
    client.register_worker_plugin(SlowStart(0.2), name=SlowStart.name)
    outcome = {}

    def run():
        try:
            outcome["report"] = batch.stylize_files(_content_paths(contents), styles,
                                                    analytic_bundle, out, client=client,
                                                    **SETTINGS)
        except BaseException as error:  # re-raised below, on the test's thread
            outcome["error"] = error

    runner = threading.Thread(target=run)
    runner.start()
    killed, written_at_kill = None, None
    try:
        deadline = time.monotonic() + 60
        while killed is None and runner.is_alive() and time.monotonic() < deadline:
            written = len(os.listdir(out)) if out.exists() else 0
            victim = _busy_worker(client) if written >= 2 else None
            if victim is not None:
                os.kill(pids[victim], signal.SIGKILL)
                killed, written_at_kill = victim, written
            time.sleep(0.01)
        runner.join(120)
    finally:
        client.unregister_worker_plugin(SlowStart.name)
    assert not runner.is_alive(), "the batch did not finish after a worker was killed"
    if "error" in outcome:
        raise outcome["error"]
    assert killed is not None, "no worker was seen processing a task: nothing was killed"
    assert written_at_kill < 2 * N_CONTENTS, "the run was over before the kill"
    report = outcome["report"]
    assert report.ok, report.failed
    assert len(report.done) + len(report.skipped) == 2 * N_CONTENTS
    _assert_outputs_equal(out, reference)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed process
    assert pids[killed] not in client.run(os.getpid).values()


# --- sharing a folder with adn-stylize ------------------------------------------------------------

def _adn_stylize():
    given = os.environ.get("ADN_STYLIZE")
    candidates = [given] if given else []
    if os.environ.get("ADN_LIBRARY"):
        candidates.append(str(Path(os.environ["ADN_LIBRARY"]).parent / "examples" / "adn-stylize"))
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    pytest.skip("adn-stylize not found (set ADN_STYLIZE, or build with -Dexamples=true): the "
                "comparison with it is skipped")


def test_adn_stylize_makes_the_same_files(inputs, analytic_bundle, reference, tmp_path):
    """adn-stylize --content-dir/--out-dir writes the names and the bytes of the reference, and a
    batch run on its folder then finds every output complete."""
    contents, styles = inputs
    program = _adn_stylize()
    out = tmp_path / "shared"
    done = subprocess.run(
        [program, "--models", str(analytic_bundle), "--content-dir", str(contents), "--style",
         ",".join(styles), "--out-dir", str(out), "--quiet"] + STYLIZE_ARGS,
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    _assert_outputs_equal(out, reference)
    report = batch.stylize_files(_content_paths(contents), styles, analytic_bundle, out, **SETTINGS)
    assert report.ok and len(report.skipped) == 2 * N_CONTENTS


@pytest.mark.parametrize("options", [
    ["--content-size", "40", "--style-size", "24", "--preserve-color"],
    ["--no-depth", "--out-ext", "jpg", "--alpha", "0.5"],
    ["--content-size", "100", "--depth-range", "0.9,0.1"],
    ["--content-size", "64", "--max-side", "72", "--style-size", "30"],
], ids=["resized+preserve-color", "no-depth+jpg", "upsized+reversed-range", "short-side+max-side"])
def test_per_image_options_match_adn_stylize(options, inputs, analytic_bundle, tmp_path):
    """The same option on both command lines gives the same files, byte for byte: resizing (of
    the content's alpha too), colour preservation, no depth, output extension, depth range."""
    contents, styles = inputs
    program = _adn_stylize()
    few = tmp_path / "few"
    few.mkdir()
    for name in _content_names()[:3] + _content_names()[-1:]:  # the alpha PNG, jpg, JPG, dots
        shutil.copy(contents / name, few / name)
    common = ["--models", str(analytic_bundle), "--content-dir", str(few), "--style",
              ",".join(styles), "--device", "cpu", "--threads", "1", "--quiet", *options]
    done = subprocess.run([program, *common, "--out-dir", str(tmp_path / "c")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert batch.main([*common, "--out-dir", str(tmp_path / "py")]) == 0
    names = sorted(os.listdir(tmp_path / "c"))
    assert sorted(os.listdir(tmp_path / "py")) == names and len(names) == 8
    for name in names:
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "c" / name).read_bytes(), name


# --- command line without dask ----------------------------------------------------------------------

def test_cli_in_process_and_its_exit_codes(inputs, analytic_bundle, reference, tmp_path, capsys):
    contents, styles = inputs
    common = ["--models", str(analytic_bundle), "--style", ",".join(styles)]
    assert batch.main([*common, "--content-dir", str(contents), "--out-dir",
                       str(tmp_path / "out"), *STYLIZE_ARGS]) == 0
    assert f"{2 * N_CONTENTS} done, 0 skipped, 0 failed" in capsys.readouterr().err
    _assert_outputs_equal(tmp_path / "out", reference)

    assert batch.main([*common, "--content-dir", str(contents), "--out-dir", str(tmp_path / "o2"),
                       "--alpha", "2"]) == 1
    assert "--alpha" in capsys.readouterr().err
    assert batch.main([*common, "--content-dir", str(tmp_path / "nowhere"), "--out-dir",
                       str(tmp_path / "o2")]) == 2
    assert "cannot open folder" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.png").write_bytes(b"not a png")
    assert batch.main([*common, "--content-dir", str(broken), "--out-dir",
                       str(tmp_path / "o3")]) == 2
    assert f"content '{broken}/x.png'" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()
