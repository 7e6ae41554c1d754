"""Shared fixtures for the adain_dcs binding tests.

Run from meson (`meson test python`), which sets ADN_LIBRARY, PYTHONPATH and ADN_SOURCE_DIR, or by
hand: ADN_LIBRARY=build/libadain_dcs.so /usr/bin/python3 -m pytest bindings/python/tests
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]
if str(PACKAGE_DIR) not in sys.path:
    sys.path.insert(0, str(PACKAGE_DIR))

SOURCE_DIR = Path(os.environ.get("ADN_SOURCE_DIR", PACKAGE_DIR.parents[1]))


def _python_with_torch() -> str:
    """The interpreter that runs the export tool (torch + numpy)."""
    return os.environ.get("ADN_PYTHON_TORCH") or "/usr/bin/python3"


@pytest.fixture(scope="session")
def source_dir() -> Path:
    return SOURCE_DIR


@pytest.fixture(scope="session")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed: reference checks skipped")


@pytest.fixture(scope="session")
def analytic_bundle(tmp_path_factory) -> Path:
    """The analytic space-to-depth bundle (with its luma depth module), made by tools/adn-export."""
    import adain_dcs

    if not adain_dcs.has_feature("torch"):
        pytest.skip("the loaded libadain_dcs has no torch backend: model tests skipped")
    tool = SOURCE_DIR / "tools" / "adn-export"
    if not tool.exists():
        pytest.skip(f"{tool} not found: model tests skipped")
    python = _python_with_torch()
    if subprocess.run([python, "-c", "import torch"], capture_output=True).returncode != 0:
        pytest.skip(f"{python} has no torch, cannot export the analytic bundle: model tests skipped")
    out = tmp_path_factory.mktemp("analytic")
    done = subprocess.run([python, str(tool), "--analytic", "--out", str(out)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.fail(f"adn-export --analytic failed:\n{done.stdout}\n{done.stderr}")
    return out


@pytest.fixture
def rng():
    np = pytest.importorskip("numpy")
    return np.random.default_rng(12345)


@pytest.fixture
def model(analytic_bundle):
    import adain_dcs as adn

    with adn.Model(analytic_bundle, device="cpu", threads=1) as m:
        yield m
