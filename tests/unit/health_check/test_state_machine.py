"""Alert, quiet, reminder, recovery, N consecutive failures, spool, lock: the script's state across runs."""

import json

import pytest

MEMORY_ALERT = "Error - Available memory is less than 500MB"
MEMORY_RECOVERY = "Recovered - Available memory is less than 500MB"
CPU_ALERT = "Error - CPU usage is over 80%"


def test_a_failing_check_alerts_once_then_stays_quiet(run_once, probe, mailer, clock):
    probe.memory_mb = 100
    for _ in range(5):
        report = run_once()
        clock.advance(1)
        assert report["status"] == "CRITICAL"
    assert mailer.subjects == [MEMORY_ALERT]
    assert mailer.outbox[0]["body"] == "Please check your system and resolve the issue as soon as possible."


def test_each_failing_check_sends_its_own_mail(run_once, probe, mailer):
    probe.memory_mb, probe.cpu = 100, 95
    run_once()
    assert sorted(mailer.subjects) == sorted([CPU_ALERT, MEMORY_ALERT])


def test_a_reminder_goes_out_when_the_interval_has_passed(run_once, probe, mailer, clock):
    probe.memory_mb = 100
    run_once()
    clock.advance(59)
    run_once()
    assert mailer.subjects == [MEMORY_ALERT]
    clock.advance(1)
    run_once()
    clock.advance(30)
    run_once()
    assert mailer.subjects == [MEMORY_ALERT, MEMORY_ALERT]
    clock.advance(30)
    run_once()
    assert len(mailer.subjects) == 3


def test_a_reminder_interval_of_zero_never_reminds(run_once, make_settings, probe, mailer, clock):
    settings = make_settings(reminder_minutes=0)
    probe.memory_mb = 100
    for _ in range(3):
        run_once(settings)
        clock.advance(600)
    assert mailer.subjects == [MEMORY_ALERT]


def test_a_recovery_is_mailed_once_when_the_check_passes_again(run_once, probe, mailer, clock):
    probe.memory_mb = 100
    run_once()
    probe.memory_mb = 4096
    for _ in range(3):
        report = run_once()
        clock.advance(1)
    assert report["status"] == "OK"
    assert mailer.subjects == [MEMORY_ALERT, MEMORY_RECOVERY]
    assert mailer.outbox[1]["body"].startswith("The problem is resolved")


def test_a_recovery_names_the_threshold_its_alert_named(run_once, make_settings, probe, mailer):
    probe.memory_mb = 100
    run_once(make_settings(memory_available_mb_min=1000))
    run_once(make_settings(memory_available_mb_min=50))
    assert mailer.subjects == ["Error - Available memory is less than 1000MB",
                               "Recovered - Available memory is less than 1000MB"]


def test_no_recovery_without_an_alert(run_once, make_settings, probe, mailer):
    settings = make_settings(consecutive_failures=3)
    probe.memory_mb = 100
    run_once(settings)
    probe.memory_mb = 4096
    run_once(settings)
    assert mailer.subjects == []


def test_an_alert_waits_for_n_consecutive_failures(run_once, make_settings, probe, mailer):
    settings = make_settings(consecutive_failures=3)
    probe.memory_mb = 100
    run_once(settings)
    run_once(settings)
    assert mailer.subjects == []
    run_once(settings)
    assert mailer.subjects == [MEMORY_ALERT]


def test_a_passing_run_restarts_the_count_of_consecutive_failures(run_once, make_settings, probe, mailer):
    settings = make_settings(consecutive_failures=2)
    for memory in (100, 4096, 100, 4096, 100):
        probe.memory_mb = memory
        run_once(settings)
    assert mailer.subjects == []


def test_a_mail_the_relay_refuses_is_kept_and_sent_later_exactly_once(run_once, probe, mailer, capsys):
    probe.memory_mb = 100
    mailer.relay_up = False
    report = run_once()
    assert report["mails"]["waiting"] == [MEMORY_ALERT] and "Connection refused" in report["mails"]["error"]
    run_once()
    assert mailer.outbox == []
    mailer.relay_up = True
    report = run_once()
    assert report["mails"]["sent"] == [MEMORY_ALERT] and report["mails"]["waiting"] == []
    run_once()
    assert mailer.subjects == [MEMORY_ALERT]


def test_spooled_mails_go_out_in_order(run_once, probe, mailer):
    mailer.relay_up = False
    probe.memory_mb = 100
    run_once()
    probe.memory_mb = 4096
    run_once()
    mailer.relay_up = True
    run_once()
    assert mailer.subjects == [MEMORY_ALERT, MEMORY_RECOVERY]


def test_a_relay_failing_midway_keeps_only_the_unsent_mails(hc, run_once, probe, mailer, monkeypatch):
    probe.memory_mb, probe.cpu = 100, 95
    deliver = mailer.deliver

    def deliver_one_then_fail(text):
        deliver(text)
        mailer.relay_up = False
    monkeypatch.setattr(mailer, "deliver", deliver_one_then_fail)
    report = run_once()
    assert len(report["mails"]["sent"]) == 1 and len(report["mails"]["waiting"]) == 1
    monkeypatch.setattr(mailer, "deliver", deliver)
    mailer.relay_up = True
    report = run_once()
    assert sorted(mailer.subjects) == sorted([CPU_ALERT, MEMORY_ALERT])


def test_state_survives_in_the_state_file(run_once, settings, probe, clock, tmp_path):
    probe.memory_mb = 100
    run_once()
    with open(tmp_path / "state" / "state.json") as handle:
        state = json.load(handle)
    assert state["checks"]["memory"] == {"failures": 1, "alerted": True, "last_mail": clock.now,
                                         "problem": "Available memory is less than 500MB", "since": clock.now,
                                         "alerted_at": clock.now}
    assert state["last_run"] == clock.now and state["last_status"] == "CRITICAL"


def test_an_unreadable_state_file_is_replaced_not_fatal(run_once, settings, probe, mailer, tmp_path, capsys):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "state.json").write_text("{not json")
    probe.memory_mb = 100
    assert run_once()["status"] == "CRITICAL"
    assert mailer.subjects == [MEMORY_ALERT]
    assert "state.json is damaged: it is not valid JSON" in capsys.readouterr().err


def test_a_dry_run_mails_nothing_and_changes_no_state(run_once, probe, mailer, tmp_path):
    probe.memory_mb = 100
    report = run_once(dry_run=True)
    assert report["would_send"] == [MEMORY_ALERT] and report["dry_run"]
    assert mailer.outbox == [] and not (tmp_path / "state").exists()
    run_once()
    assert mailer.subjects == [MEMORY_ALERT]


def test_a_run_while_another_holds_the_lock_does_nothing(hc, run_once, settings, probe, mailer, tmp_path):
    probe.memory_mb = 100
    store = hc.StateStore(settings.state_dir)
    with store.locked():
        with pytest.raises(hc.HealthCheckError, match="another health_check run holds"):
            run_once()
    assert mailer.outbox == [] and not (tmp_path / "state" / "state.json").exists()
    run_once()
    assert mailer.subjects == [MEMORY_ALERT]


def test_the_lock_is_released_after_a_run(hc, run_once, settings):
    run_once()
    with hc.StateStore(settings.state_dir).locked():
        pass
