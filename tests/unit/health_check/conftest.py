"""Fixtures for the health_check script's unit tests: the script itself, stand-ins for psutil, the clock and the
relay (health_check_support.py, a module with a name of its own so that no other conftest shadows it), config
files, and a real SMTP relay (the repository's one, tools/services.py)."""

from types import SimpleNamespace

import pytest

from health_check_support import ROLE_FILES, Clock, FakeMailer, FakeProbe, load_script
from tools.services import Relay


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


@pytest.fixture
def config_file(tmp_path):
    """write(name, **settings) -> the path of an INI file with these settings, over working defaults for a test.
    A value with a line break is written as INI continuation lines (configparser joins them with a newline)."""
    def write(name="health_check.ini", **values):
        values.setdefault("recipient", "ops@example.com")
        values.setdefault("state_dir", str(tmp_path / "state"))
        values.setdefault("lib_dir", str(ROLE_FILES))
        values.setdefault("cpu_interval_seconds", "0.1")
        path = tmp_path / name
        path.write_text("[health_check]\n" + "".join("%s = %s\n" % (key, str(value).replace("\n", "\n  "))
                                                     for key, value in values.items()))
        return str(path)
    return write


@pytest.fixture
def relay():
    """A real SMTP server on loopback (.port, .messages); accepts the login monitor/s3cret%, and mail without one."""
    with Relay(login=("monitor", "s3cret%"), login_required=False) as relay:
        yield relay
