"""Shared pytest set-up of the GStreamer suites: tests/skip_exit_status.py's hook (all skipped: 77)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests"))
from skip_exit_status import pytest_sessionfinish  # noqa: E402,F401  (a hook: pytest finds it by name)
