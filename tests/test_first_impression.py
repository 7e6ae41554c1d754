"""First impression: what a new user runs first, as README.md writes it.

- The README's short tour (its ```sh block, and its Python example) runs as written, from a folder
  laid out like the checkout after the README's build, and writes every output it names.
- An installed copy works on its own: the installed adn-export makes a bundle (finding its Python
  package from its own location) that the installed adn-stylize uses.
- The man pages made from each program's --help by help2man exist and have a NAME section.

Run by tests/meson.build with pytest under the python that has torch (ADN_BUILD_DIR = the build).
"""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

BUILD = os.environ.get("ADN_BUILD_DIR", "")
SOURCE = os.environ.get("ADN_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("ADN_SHARED_DATA") or os.path.join(SOURCE, "..", "shared", "data")
HAVE_TORCH_BACKEND = os.environ.get("ADN_HAVE_TORCH", "1") == "1"

if not (BUILD and os.path.exists(os.path.join(BUILD, "examples", "adn-stylize"))):
    pytest.skip("ADN_BUILD_DIR does not hold examples/adn-stylize", allow_module_level=True)

Image = pytest.importorskip("PIL.Image", reason="PIL is needed to read and write test PNGs")

needs_backend = pytest.mark.skipif(not HAVE_TORCH_BACKEND,
                                   reason="library built without the torch backend: no model runs")


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(7)
    content = rng.integers(0, 256, size=(23, 37, 3), dtype=np.uint8)
    style = rng.integers(40, 120, size=(19, 26, 3), dtype=np.uint8)
    Image.fromarray(content).save(tmp_path / "content.png")
    Image.fromarray(style).save(tmp_path / "sa.png")
    return {"content": tmp_path / "content.png", "style_a": tmp_path / "sa.png"}


def read_png(path):
    with Image.open(path) as img:
        return np.array(img)


def readme_block(section, language):
    """The first ```language block of the README section whose heading is `section`."""
    text = open(os.path.join(SOURCE, "README.md"), encoding="utf-8").read()
    body = text.split("\n## " + section + "\n", 1)[1].split("\n## ", 1)[0]
    return body.split("```" + language + "\n", 1)[1].split("```", 1)[0]


def written_outputs(script):
    """The files the commands of a shell script say they write (--out, --save-*, --compare,
    --out-dir, and ffmpeg's last argument)."""
    import shlex
    outputs = []
    for command in script.replace("\\\n", " ").splitlines():
        words = shlex.split(command, comments=True)
        for option, value in zip(words, words[1:]):
            if option in ("--out", "--save-depth", "--save-strength", "--compare", "--out-dir", "--compare-dir"):
                outputs.append(value)
        if words and words[-1].endswith(".mp4"):   # the video pipe's last ffmpeg
            outputs.append(words[-1])
    return outputs


@pytest.fixture
def checkout_copy(tmp_path):
    """A folder laid out like the checkout after the README's build: tools/ and bindings/ of the
    source, build/ = this build, and ../shared/data beside it."""
    if not os.path.isdir(DATA):
        pytest.skip(f"{DATA} is absent: the tour uses the shared test images")
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "shared").mkdir()
    os.symlink(os.path.abspath(DATA), tmp_path / "shared" / "data")
    for name in ("tools", "bindings"):
        os.symlink(os.path.join(SOURCE, name), root / name)
    os.symlink(os.path.abspath(BUILD), root / "build")
    return root


@needs_backend
def test_readme_tour_runs_as_written(checkout_copy):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: the tour's video command cannot run")
    script = readme_block("A short tour", "sh")
    assert "style.jpg " not in script and "content.png" not in script   # real files only
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=checkout_copy,
                          capture_output=True, timeout=900)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    outputs = written_outputs(script)
    assert len(outputs) >= 8 and all(o.startswith("scratch/") for o in outputs), outputs
    for output in outputs:
        path = checkout_copy / output
        assert path.exists() and (os.listdir(path) if path.is_dir() else path.stat().st_size > 0), output
    assert b"depth preservation of 'scratch/chicago_sketch.png'" in done.stdout
    # The Python example of the tour, as written, with the environment its comment names.
    python = readme_block("A short tour", "python")
    env = dict(os.environ, PYTHONPATH="bindings/python", ADN_LIBRARY=os.path.join(BUILD, "libadain_dcs.so"))
    done = subprocess.run(["/usr/bin/python3", "-c", python], cwd=checkout_copy, env=env, capture_output=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert b"DepthScore(pearson=" in done.stdout
    assert (checkout_copy / "scratch" / "sailboat_python.png").stat().st_size > 0


def meson_install(tmp_path):
    meson = shutil.which("meson")
    if meson is None:
        pytest.skip("meson is not on PATH: cannot install")
    options = json.loads(subprocess.run([meson, "introspect", "--buildoptions", BUILD], capture_output=True,
                                        check=True).stdout)
    value = {o["name"]: o["value"] for o in options}
    done = subprocess.run([meson, "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir",
                           str(tmp_path / "dest")], capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
    root = str(tmp_path / "dest") + value["prefix"]
    return root, value


@needs_backend
def test_installed_adn_export_makes_a_bundle_for_the_installed_adn_stylize(images, tmp_path):
    """An installed user can make a bundle: the installed adn-export finds its package under
    share/adain_dcs/python by its own location (also when staged with --destdir)."""
    root, options = meson_install(tmp_path)
    export = os.path.join(root, options["bindir"], "adn-export")
    stylize = os.path.join(root, options["bindir"], "adn-stylize")
    assert os.access(export, os.X_OK)
    assert os.path.isfile(os.path.join(root, options["datadir"], "adain_dcs", "python", "adn_export", "cli.py"))
    # Run from elsewhere, so nothing of the source tree is found by accident.
    env = dict(os.environ, PYTHONPATH="", LD_LIBRARY_PATH=os.path.join(root, options["libdir"]))
    done = subprocess.run([export, "--analytic", "--out", str(tmp_path / "bundle")], cwd=tmp_path, env=env,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    # A staged copy's rpath names the final prefix: LD_LIBRARY_PATH points it at the staged library.
    done = subprocess.run([stylize, "--models", str(tmp_path / "bundle"), "--content", str(images["content"]),
                           "--style", str(images["style_a"]), "--out", str(tmp_path / "o.png")], cwd=tmp_path,
                          env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    assert read_png(tmp_path / "o.png").shape == (23, 37, 3)
    # The man pages come along.
    if shutil.which("help2man"):
        for name in ("adn-stylize", "adn-video", "adn-export"):
            assert os.path.isfile(os.path.join(root, options["mandir"], "man1", name + ".1")), name


@pytest.mark.parametrize("name", ["adn-stylize", "adn-video", "adn-export"])
def test_man_pages_are_made_from_the_help(name):
    page = os.path.join(BUILD, "tools", name + ".1")
    if shutil.which("help2man") is None and not os.path.exists(page):
        pytest.skip("help2man is not installed: no man pages are made")
    text = open(page, encoding="utf-8").read()
    assert ".SH NAME" in text and f"{name} \\-" in text
    assert "\\-\\-models" in text or name == "adn-export"
    if shutil.which("man"):
        done = subprocess.run(["man", "-l", page], capture_output=True, timeout=60,
                              env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="100"))
        assert done.returncode == 0 and b"NAME" in done.stdout
