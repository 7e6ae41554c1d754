"""pytest hook for the suites meson runs: a run in which every test skipped (a module-level skip for
a missing tool, file or backend) exits 77, so meson reports SKIP.  Without it pytest exits 5 ("no
tests collected") after a module-level skip, which meson reports as a failure, and 0 when every
collected test skipped, which meson reports as OK.  Loaded by
tests/conftest.py and bindings/gstreamer/tests/conftest.py."""

MESON_SKIP = 77


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = reporter.stats if reporter else {}
    ran = any(stats.get(outcome) for outcome in ("passed", "failed", "error", "xfailed", "xpassed"))
    if exitstatus in (0, 5) and stats.get("skipped") and not ran:
        session.exitstatus = MESON_SKIP
