"""Shared pytest set-up of the suites in tests/ (meson runs each file on its own)."""
from skip_exit_status import pytest_sessionfinish  # noqa: F401  (a hook: pytest finds it by name)
