"""The command line: config file and flags, status line, --json, exit codes, and real delivery over SMTP
with the deployed fruitstore_smtp module (the role's copy of the collection's _smtp.py)."""

import email
import json
import os
import socket
import sys

import pytest

from health_check_support import ROLE_FILES, FakeProbe, run_main
from tools.services import free_port

CONTRACT_BODY = "Please check your system and resolve the issue as soon as possible."


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
    (["--smtp-port", "many"], "bad setting smtp_port = 'many' from --smtp-port: must be a whole number from 1 to 65535"),
])
def test_unusable_arguments_exit_3_unknown(hc, argv, message, capsys):
    assert run_main(hc, argv) == 3
    out = capsys.readouterr().out
    assert out.startswith("HEALTH UNKNOWN - ") and message in out


@pytest.mark.parametrize("values, message", [
    ({"colour": "red"}, "unknown setting 'colour'"),
    ({"consecutive_failures": "0"}, "bad setting consecutive_failures = '0' in "),
    ({"recipient": ""}, "no recipient configured"),
    ({"recipient": "not an address"}, "is not a valid mail address"),
    ({"smtp_security": "ssl"}, "must be one of plain, starttls, tls"),
    ({"smtp_username": "monitor"}, "smtp_username and smtp_password must be set together"),
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


def test_alerts_and_recoveries_reach_a_real_relay_with_login(hc, config_file, relay, capsys):
    path = config_file(smtp_host="127.0.0.1", smtp_port=relay.port, smtp_username="monitor", smtp_password="s3cret%")
    assert run_main(hc, ["--config", path], FakeProbe(memory_mb=1)) == 2
    assert run_main(hc, ["--config", path], FakeProbe(memory_mb=1)) == 2
    [alert] = relay.messages
    assert alert["Subject"] == "Error - Available memory is less than 500MB"
    assert (alert["From"], alert["To"]) == ("automation@example.com", "ops@example.com")
    assert alert.get_content().strip() == CONTRACT_BODY
    assert alert["X-Health-Check-Host"] == socket.gethostname() and alert["Message-ID"]
    assert run_main(hc, ["--config", path], FakeProbe()) == 0
    assert sorted(message["Subject"] for message in relay.messages) == [
        "Error - Available memory is less than 500MB", "Recovered - Available memory is less than 500MB"]
    assert "mails sent: 1, waiting: 0" in capsys.readouterr().out.splitlines()[-1]


def test_a_dead_relay_keeps_the_mail_with_its_message_id(hc, config_file, relay, capsys):
    path = config_file(smtp_host="127.0.0.1", smtp_port=relay.port, smtp_username="monitor", smtp_password="s3cret%")
    dead = config_file("dead_relay.ini", smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout="2")
    assert run_main(hc, ["--config", dead], FakeProbe(cpu=99)) == 2
    captured = capsys.readouterr()
    assert "mails sent: 0, waiting: 1" in captured.out and "1 mail(s) kept for the next run" in captured.err
    state = json.loads(open(os.path.join(os.path.dirname(path), "state", "state.json")).read())
    queued_id = email.message_from_string(state["spool"][0]["message"])["Message-ID"]
    assert run_main(hc, ["--config", path], FakeProbe(cpu=99)) == 2
    [alert] = relay.messages
    assert alert["Subject"] == "Error - CPU usage is over 80%" and alert["Message-ID"] == queued_id


def test_a_wrong_password_keeps_the_mail(hc, config_file, relay, capsys):
    path = config_file(smtp_host="127.0.0.1", smtp_port=relay.port, smtp_username="monitor", smtp_password="wrong")
    assert run_main(hc, ["--config", path], FakeProbe(cpu=99)) == 2
    assert "refused the login of monitor" in capsys.readouterr().err
    assert relay.messages == []
