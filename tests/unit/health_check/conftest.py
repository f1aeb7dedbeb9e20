"""Fixtures for the health_check script's unit tests: the script itself, and stand-ins for psutil, the clock
and the relay (health_check_support.py, a module with a name of its own so that no other conftest shadows it)."""

from types import SimpleNamespace

import pytest

from health_check_support import Clock, FakeMailer, FakeProbe, load_script


@pytest.fixture(scope="session")
def hc():
    return load_script()


@pytest.fixture
def probe():
    return FakeProbe()


@pytest.fixture
def mailer(hc):
    return FakeMailer(hc)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_settings(hc, tmp_path):
    """The script's defaults with a private state directory, and any override."""
    def make(**overrides):
        values = {name: default for name, (_parse, default, _help) in hc.SETTINGS.items()}
        values.update(recipient="ops@example.com", state_dir=str(tmp_path / "state"), cpu_interval_seconds=0.01)
        values.update(overrides)
        return SimpleNamespace(**values)
    return make


@pytest.fixture
def settings(make_settings):
    return make_settings()


@pytest.fixture
def run_once(hc, probe, mailer, clock, settings):
    """One run of the script's logic with the fakes; returns its report."""
    def run(settings=settings, **kwargs):
        return hc.run(settings, probe, mailer, clock, host="web1", **kwargs)
    return run
