"""The command line: config file and flags, status line, --json, exit codes, and real delivery over SMTP
with the deployed fruitstore_smtp module (the collection's _smtp.py)."""

import email
import email.policy
import json
import mailbox
import os
import socket
import sys

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

from health_check_support import ROLE_FILES, FakeProbe

CONTRACT_BODY = "Please check your system and resolve the issue as soon as possible."


@pytest.fixture
def config_file(tmp_path):
    def write(name="health_check.ini", **values):
        values.setdefault("recipient", "ops@example.com")
        values.setdefault("state_dir", str(tmp_path / "state"))
        values.setdefault("lib_dir", str(ROLE_FILES))
        values.setdefault("cpu_interval_seconds", "0.01")
        path = tmp_path / name
        path.write_text("[health_check]\n" + "".join("%s = %s\n" % item for item in values.items()))
        return str(path)
    return write


def run_main(hc, argv, probe=None):
    return hc.main(argv, probe=probe or FakeProbe())


def test_the_deployed_mail_library_is_the_collections_module():
    library = ROLE_FILES / "fruitstore_smtp.py"
    assert library.is_symlink()
    assert library.resolve().name == "_smtp.py" and library.resolve().parent.name == "module_utils"


def test_a_healthy_run_prints_one_ok_line_and_exits_0(hc, config_file, capsys):
    assert run_main(hc, ["--config", config_file(), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("HEALTH OK - cpu: 10.0% used; disk /: 50.0% free; memory: 4096MB available; "
                          "localhost: resolves to 127.0.0.1 | dry run")


def test_a_failing_check_exits_2_and_comes_first(hc, config_file, capsys):
    assert run_main(hc, ["--config", config_file(), "--dry-run"], FakeProbe(memory_mb=1)) == 2
    assert capsys.readouterr().out.startswith("HEALTH CRITICAL - FAILED memory: 1MB available; cpu:")


def test_json_output_for_machines(hc, config_file, capsys):
    assert run_main(hc, ["--config", config_file(), "--dry-run", "--json"], FakeProbe(cpu=99)) == 2
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "CRITICAL" and result["exit_code"] == 2
    assert result["would_send"] == ["Error - CPU usage is over 80%"]
    assert [check["name"] for check in result["checks"] if check["failed"]] == ["cpu"]


def test_flags_override_the_config_file(hc, config_file, capsys):
    path = config_file(memory_available_mb_min="100000", disk_mounts="/, /srv")
    probe = FakeProbe(disks={"/": (10, 5), "/srv": (10, 5)})
    assert run_main(hc, ["--config", path, "--dry-run", "--json", "--memory-available-mb-min", "100"], probe) == 0
    assert [check["name"] for check in json.loads(capsys.readouterr().out)["checks"]] == [
        "cpu", "disk /", "disk /srv", "memory", "localhost"]


@pytest.mark.parametrize("argv, message", [
    (["--config", "/nonexistent/health_check.ini"], "config file /nonexistent/health_check.ini not found"),
    (["--no-such-flag"], "unrecognized arguments"),
    (["--smtp-port", "many"], "invalid int value"),
])
def test_unusable_arguments_exit_3_unknown(hc, argv, message, capsys):
    assert run_main(hc, argv) == 3
    out = capsys.readouterr().out
    assert out.startswith("HEALTH UNKNOWN - ") and message in out


@pytest.mark.parametrize("values, message", [
    ({"colour": "red"}, "unknown setting 'colour'"),
    ({"consecutive_failures": "0"}, "consecutive_failures must be at least 1"),
    ({"recipient": ""}, "no recipient configured"),
    ({"recipient": "not an address"}, "is not a valid mail address"),
    ({"smtp_security": "ssl"}, "security must be one of"),
    ({"smtp_username": "monitor"}, "username and password must be given together"),
    ({"lib_dir": "/nonexistent"}, "cannot import fruitstore_smtp from /nonexistent"),
])
def test_bad_settings_exit_3_unknown(hc, config_file, values, message, capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "fruitstore_smtp", raising=False)  # imported by an earlier test
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry != str(ROLE_FILES)])
    assert run_main(hc, ["--config", config_file(**values)]) == 3
    assert message in capsys.readouterr().out


def test_a_held_lock_exits_3_unknown(hc, config_file, tmp_path, capsys):
    with hc.StateStore(str(tmp_path / "state")).locked():
        assert run_main(hc, ["--config", config_file()]) == 3
    assert "another health_check run holds" in capsys.readouterr().out


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def messages(maildir):
    return [email.message_from_bytes(maildir.get_bytes(key), policy=email.policy.default) for key in maildir.keys()]


def test_alerts_and_recoveries_reach_a_real_relay_with_login(hc, config_file, relay, capsys):
    port, maildir = relay
    path = config_file(smtp_host="127.0.0.1", smtp_port=port, smtp_username="monitor", smtp_password="s3cret%")
    assert run_main(hc, ["--config", path], FakeProbe(memory_mb=1)) == 2
    assert run_main(hc, ["--config", path], FakeProbe(memory_mb=1)) == 2
    [alert] = messages(maildir)
    assert alert["Subject"] == "Error - Available memory is less than 500MB"
    assert (alert["From"], alert["To"]) == ("automation@example.com", "ops@example.com")
    assert alert.get_content().strip() == CONTRACT_BODY
    assert alert["X-Health-Check-Host"] == socket.gethostname() and alert["Message-ID"]
    assert run_main(hc, ["--config", path], FakeProbe()) == 0
    assert sorted(message["Subject"] for message in messages(maildir)) == [
        "Error - Available memory is less than 500MB", "Recovered - Available memory is less than 500MB"]
    assert "mails sent: 1, waiting: 0" in capsys.readouterr().out.splitlines()[-1]


def test_a_dead_relay_keeps_the_mail_with_its_message_id(hc, config_file, relay, capsys):
    port, maildir = relay
    path = config_file(smtp_host="127.0.0.1", smtp_port=port, smtp_username="monitor", smtp_password="s3cret%")
    dead = config_file("dead_relay.ini", smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout="2")
    assert run_main(hc, ["--config", dead], FakeProbe(cpu=99)) == 2
    captured = capsys.readouterr()
    assert "mails sent: 0, waiting: 1" in captured.out and "1 mail(s) kept for the next run" in captured.err
    state = json.loads(open(os.path.join(os.path.dirname(path), "state", "state.json")).read())
    queued_id = email.message_from_string(state["spool"][0]["message"])["Message-ID"]
    assert run_main(hc, ["--config", path], FakeProbe(cpu=99)) == 2
    [alert] = messages(maildir)
    assert alert["Subject"] == "Error - CPU usage is over 80%" and alert["Message-ID"] == queued_id


def test_a_wrong_password_keeps_the_mail(hc, config_file, relay, capsys):
    port, maildir = relay
    path = config_file(smtp_host="127.0.0.1", smtp_port=port, smtp_username="monitor", smtp_password="wrong")
    assert run_main(hc, ["--config", path], FakeProbe(cpu=99)) == 2
    assert "refused the login of monitor" in capsys.readouterr().err
    assert messages(maildir) == []
