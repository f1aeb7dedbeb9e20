"""Fixtures for the health_check script's unit tests: the script itself, stand-ins for psutil, the clock and the
relay (health_check_support.py, a module with a name of its own so that no other conftest shadows it), config
files, and a real SMTP relay."""

import mailbox
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

from health_check_support import ROLE_FILES, Clock, FakeMailer, FakeProbe, load_script
from tools.services import free_port


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
def relay(tmp_path):
    """A real SMTP server on loopback keeping mail in a Maildir; accepts the login monitor/secret."""
    def check_login(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=isinstance(auth_data, LoginPassword)
                          and (auth_data.login, auth_data.password) == (b"monitor", b"s3cret%"), handled=False)
    port = free_port()
    controller = Controller(Mailbox(str(tmp_path / "maildir")), hostname="127.0.0.1", port=port,
                            authenticator=check_login, auth_require_tls=False)
    controller.start()
    yield port, mailbox.Maildir(str(tmp_path / "maildir"), factory=None, create=False)
    controller.stop()
