"""--json as an interface (version 1, documented in the role's README): the checks, the open alerts and since when,
the mails waiting, the last run and whether cron's next one is overdue, for a real run and for a dry run, which
reports what the last real run left and changes nothing."""

import json
import os

import pytest

from health_check_support import FakeProbe, run_main

MEMORY_ALERT = "Error - Available memory is less than 500MB"
INTERFACE = {"version", "status", "exit_code", "host", "time", "checks", "alerts", "mails", "dry_run", "would_send",
             "cron"}


def test_every_key_of_version_1_is_there_in_a_real_run_and_in_a_dry_run(run_once, clock):
    for report in (run_once(), run_once(dry_run=True)):
        assert set(report) == INTERFACE and report["version"] == 1
        assert report["time"] == clock.now and report["host"] == "web1"
        assert set(report["cron"]) == {"schedule", "last_run", "last_status", "overdue_after", "overdue"}
        assert set(report["mails"]) == {"sent", "waiting", "error"}
        json.dumps(report)  # all of it is JSON


def test_an_unknown_result_carries_the_version_host_and_time(hc, config_file, capsys):
    assert run_main(hc, ["--config", config_file(smtp_port="0"), "--json"]) == 3
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"version", "status", "exit_code", "host", "time", "error"}
    assert result["version"] == 1 and result["status"] == "UNKNOWN" and "bad setting smtp_port" in result["error"]


def test_an_open_alert_says_since_when_it_failed_and_was_mailed(run_once, probe, clock):
    probe.memory_mb = 100
    first_failure = clock.now
    run_once()
    clock.advance(5)
    report = run_once()
    assert report["alerts"] == [{"check": "memory", "problem": "Available memory is less than 500MB",
                                 "failing_since": first_failure, "alerted_at": first_failure,
                                 "last_mail": first_failure}]


def test_an_alert_after_n_failures_opens_at_the_nth_and_its_failure_began_at_the_first(run_once, make_settings,
                                                                                         probe, clock):
    settings = make_settings(consecutive_failures=3)
    probe.memory_mb = 100
    began = clock.now
    for _ in range(2):
        assert run_once(settings)["alerts"] == []
        clock.advance(1)
    [alert] = run_once(settings)["alerts"]
    assert alert["failing_since"] == began and alert["alerted_at"] == began + 120


def test_a_recovered_check_has_no_open_alert(run_once, probe, clock):
    probe.memory_mb = 100
    run_once()
    probe.memory_mb = 4096
    clock.advance(1)
    assert run_once()["alerts"] == []


def test_a_dry_run_reports_the_alerts_spool_and_last_run_of_the_last_real_run(run_once, probe, mailer, clock,
                                                                               tmp_path):
    probe.memory_mb = 100
    mailer.relay_up = False
    alerted = clock.now
    run_once()
    state_before = (tmp_path / "state" / "state.json").read_bytes()
    clock.advance(3)
    report = run_once(dry_run=True)
    assert [alert["check"] for alert in report["alerts"]] == ["memory"]
    assert report["alerts"][0]["alerted_at"] == alerted
    assert report["mails"]["waiting"] == [MEMORY_ALERT] and report["would_send"] == []
    assert report["cron"]["last_run"] == alerted and report["cron"]["last_status"] == "CRITICAL"
    assert (tmp_path / "state" / "state.json").read_bytes() == state_before


def test_a_dry_run_on_a_host_that_never_ran_has_no_last_run(run_once):
    report = run_once(dry_run=True)
    assert report["cron"]["last_run"] is None and report["cron"]["last_status"] is None
    assert report["alerts"] == [] and report["mails"]["waiting"] == []


@pytest.mark.parametrize("minute, hour, gap_minutes", [
    ("*", "*", 1), ("*/5", "*", 5), ("0", "*", 60), ("0,30", "*", 30), ("15", "3", 1440), ("0", "8-17", 60 * 15),
    ("0-29/10", "*", 40), ("59", "23", 1440), ("0,1,2", "0", 1438), ("*/7", "*", 7),
])
def test_overdue_after_the_longest_gap_of_the_schedule_and_a_minute(run_once, make_settings, clock, minute, hour,
                                                                     gap_minutes):
    settings = make_settings(cron_minute=minute, cron_hour=hour)
    last_run = clock.now
    run_once(settings)
    limit = gap_minutes * 60 + 60
    clock.advance(limit / 60)
    report = run_once(settings, dry_run=True)
    assert report["cron"]["overdue_after"] == limit and not report["cron"]["overdue"]
    assert report["cron"]["schedule"] == "%s %s * * *" % (minute, hour)
    clock.now += 1
    report = run_once(settings, dry_run=True)
    assert report["cron"]["overdue"] and report["cron"]["last_run"] == last_run


def test_a_real_run_is_never_overdue(run_once, clock):
    run_once()
    clock.advance(600)
    assert run_once()["cron"]["overdue"] is False


def test_a_job_that_never_ran_is_overdue_counted_from_when_the_config_was_written(hc, config_file, capsys):
    path = config_file()
    assert run_main(hc, ["--config", path, "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cron"]["overdue"] is False
    written = os.stat(path).st_mtime - 121
    os.utime(path, (written, written))
    assert run_main(hc, ["--config", path, "--dry-run", "--json"]) == 0
    cron = json.loads(capsys.readouterr().out)["cron"]
    assert cron["overdue"] is True and cron["last_run"] is None


def test_the_status_line_of_a_dry_run_says_when_cron_is_overdue(hc, config_file, capsys, tmp_path):
    path = config_file()
    assert run_main(hc, ["--config", path]) == 0
    state_path = tmp_path / "state" / "state.json"
    state = json.loads(state_path.read_text())
    state["last_run"] -= 3600
    state_path.write_text(json.dumps(state))
    capsys.readouterr()
    assert run_main(hc, ["--config", path, "--dry-run"], FakeProbe()) == 0
    line = capsys.readouterr().out
    assert line.startswith("HEALTH OK - ") and "; OVERDUE: no run by cron since " in line, line
