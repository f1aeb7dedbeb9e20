"""The health_check script's faults, run as cron runs it (a process of its own, the real psutil, the deployed mail
library) against real SMTP servers: a relay that answers a byte a second, a damaged state file, bad settings.

Each case records what the user sees in docs/faults.md (area "health check"; nothing goes to the store)."""

import json
import subprocess
import sys
import time

import pytest

from tests.faults.conftest import record
from tests.unit.health_check.health_check_support import ROLE_FILES
from tools.services import DrippingServer, Relay

NO_STORE = "n/a (no store)"
# Only the disk check fails (no disk is 100% free), so that each run has exactly one alert to send.
FAILING_DISK = ["--disk-free-percent-min", "100", "--cpu-percent-max", "100", "--memory-available-mb-min", "0"]
ALERT = "Error - Available disk space is less than 100%"


@pytest.fixture
def health_check(tmp_path):
    """run(*flags, config=None, **settings) -> (CompletedProcess, seconds): the script with an INI file of settings."""
    def run(*flags, config=None, **settings):
        values = dict(recipient="ops@example.com", state_dir=str(tmp_path / "state"), lib_dir=str(ROLE_FILES),
                      cpu_interval_seconds="0.1", smtp_host="127.0.0.1", smtp_port="9")
        values.update(settings)
        path = tmp_path / "health_check.ini"
        if config is None:
            path.write_text("[health_check]\n" + "".join("%s = %s\n" % item for item in values.items()))
        else:
            path.write_bytes(config)
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(ROLE_FILES / "health_check.py"), "--config", str(path)] + list(flags),
                              capture_output=True, text=True, timeout=120)
        return done, time.monotonic() - started
    return run


@pytest.mark.parametrize("drip, step, label", [
    ("banner", "the banner", "the relay sends its banner a byte a second and never ends it"),
    ("ehlo", "the answer to EHLO", "the relay answers EHLO a byte a second"),
])
def test_health_check_gives_up_on_a_dripping_relay_and_the_next_run_sends(health_check, drip, step, label):
    with DrippingServer.smtp(drip, interval=1.0) as relay:
        slow, seconds = health_check(*FAILING_DISK, smtp_port=str(relay.port), smtp_timeout="3")
    assert slow.returncode == 2 and seconds <= 0.1 + 3 + 2, "the run took %.1f s" % seconds
    assert slow.stdout.rstrip().endswith("| mails sent: 0, waiting: 1")
    warning = slow.stderr.strip()
    assert warning == ("health_check: the relay 127.0.0.1:%d (plain) did not finish the SMTP exchange within the "
                       "timeout of 3 s (gave up waiting for %s); 1 mail(s) kept for the next run" % (relay.port, step))
    with Relay() as fixed:
        after, _seconds = health_check(*FAILING_DISK, smtp_port=str(fixed.port))
        delivered = [mail["Subject"] for mail in fixed.messages]
    intact = after.returncode == 2 and "another health_check run" not in after.stdout and delivered == [ALERT]
    assert intact, (after.stdout, after.stderr, delivered)
    record("health check", label + " (smtp_timeout 3)", warning.replace(str(relay.port), "PORT"), NO_STORE, intact)


@pytest.mark.parametrize("content, label", [
    (b'{"checks": {"disk /": {"failures": 1, "alerted": tr', "cut short"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary"),
    (b"null", "null"),
    (b'[{"checks": {}}]', "a list"),
    (b'{"checks": {"disk /": {"failures": "3"}}}', "wrong types inside"),
])
def test_health_check_heals_a_damaged_state_file(health_check, tmp_path, content, label):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "state.json").write_bytes(content)
    with Relay() as relay:
        first, _seconds = health_check(*FAILING_DISK, smtp_port=str(relay.port))
        second, _seconds = health_check(*FAILING_DISK, smtp_port=str(relay.port))
        delivered = [mail["Subject"] for mail in relay.messages]
    assert first.returncode == second.returncode == 2 and "Traceback" not in first.stderr + second.stderr
    [aside] = (tmp_path / "state").glob("state.json.damaged-*")
    intact = delivered == [ALERT] and aside.read_bytes() == content and second.stderr == ""
    assert intact, (first.stderr, delivered)
    record("health check", "state file damaged: %s" % label,
           first.stderr.strip().replace(str(tmp_path), "<dir>").replace(aside.name, "state.json.damaged-<time>"),
           NO_STORE, intact)


@pytest.mark.parametrize("settings, config, label", [
    ({"smtp_timeout": "-1"}, None, "smtp_timeout = -1"),
    ({"smtp_timeout": "nan"}, None, "smtp_timeout = nan"),
    ({"cpu_interval_seconds": "1e9"}, None, "cpu_interval_seconds = 1e9 (held the lock for ever)"),
    ({"cpu_percent_max": "nan"}, None, "cpu_percent_max = nan (a check that never fails)"),
    ({"smtp_port": "70000"}, None, "smtp_port = 70000"),
    ({"recipient": "ops@example.com\n  Bcc: spy@example.com"}, None, "recipient with a line break (INI continuation)"),
    ({}, "[health_check]\nrecipient = ops@example.com\n# G\u00e9r\u00e9 par Ansible\n".encode("latin-1"),
     "a config file in Latin-1"),
])
def test_health_check_refuses_a_bad_setting_before_it_runs(health_check, tmp_path, settings, config, label):
    with Relay() as relay:
        done, seconds = health_check("--json", config=config, **dict({"smtp_port": str(relay.port)}, **settings))
        delivered = len(relay.messages)
    error = json.loads(done.stdout)["error"]
    intact = done.returncode == 3 and delivered == 0 and not (tmp_path / "state").exists() and seconds < 10
    assert intact and ("bad setting" in error or "not UTF-8" in error), (done.stdout, done.stderr)
    record("health check", "setting: " + label, "HEALTH UNKNOWN - " + error.replace(str(tmp_path), "<dir>"), NO_STORE,
           intact)
