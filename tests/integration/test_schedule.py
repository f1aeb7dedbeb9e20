"""The import, unattended: the role import_schedule applied to this control node with ansible-playbook, the machine's
real cron daemon running the wrapper every minute, the real store (gunicorn) and a real SMTP server (aiosmtpd) for
the suppliers' reports and the operations team's alerts.

Each test has a cron entry and a wrapper of its own (a unique name, paths under its tmp_path) and removes them, also
when it fails, and the crontab itself when it was made for them. When no cron daemon runs, the tests start one of
their own and stop it, by its PID, when they end; a daemon that was running (cron as a service) is left as it was."""

import json
import os
import re
import stat
import subprocess
import time
import uuid

import pytest

from tests.conftest import REPO
from tests.integration.cron import (OPS, cron_entry, crontab, machine_cron_runs, mails_to, remove_cron_entry, subject,
                                    supplier_with_a_refused_item)
from tests.integration.deliveries import age
from tests.integration.playbook import PlaybookRun, environment

# What cron gives a job: the wrapper must work with no more.
CRON_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "HOME": "/root", "SHELL": "/bin/sh", "LOGNAME": "root"}


@pytest.fixture(scope="module")
def cron_daemon():
    if machine_cron_runs():
        yield
        return
    # In the foreground (-f), so that it stays this test's child and is stopped by its own PID.
    daemon = subprocess.Popen(["/usr/sbin/cron", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


@pytest.fixture
def schedule(store_factory, mail_server, tmp_path):
    """A supplier whose inbox holds a delivery with a refused item, and the role's settings for this test only."""
    delivery, inventory = supplier_with_a_refused_item(tmp_path, store_factory(), mail_server)
    (tmp_path / "bin").mkdir()
    settings = dict(import_schedule_cron_name="fruitstore import test %s" % uuid.uuid4().hex,
                    import_schedule_wrapper_path=str(tmp_path / "bin" / "fruitstore-import"),
                    import_schedule_inventory=str(inventory), import_schedule_minutes=1,
                    import_schedule_log_path=str(tmp_path / "log" / "import.log"),
                    import_schedule_lock_path=str(tmp_path / "import.lock"))
    yield dict(settings=settings, delivery=delivery, mail=mail_server, log=tmp_path / "log" / "import.log",
               wrapper=tmp_path / "bin" / "fruitstore-import", lock=tmp_path / "import.lock")
    remove_cron_entry(settings["import_schedule_cron_name"])  # left only by a test that failed before its absent


def apply_role(settings, *options, **more):
    applied = subprocess.run(["ansible-playbook", str(REPO / "playbooks" / "import_schedule.yml"), "-e",
                              json.dumps(dict(settings, **more))] + list(options), cwd=str(REPO), env=environment(),
                             capture_output=True, text=True, timeout=180)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    return applied.stdout


def changes(output):
    return PlaybookRun(0, output).recap["changed"]


def log_lines(log, kind):
    """The wrapper's lines of one kind in the current log: 'begins', 'ends'."""
    try:
        text = log.read_text()
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line.startswith("=== ") and " import run %s" % kind in line]


def wait_for(log, kind, count, seconds):
    deadline = time.monotonic() + seconds
    while len(log_lines(log, kind)) < count:
        if time.monotonic() > deadline:
            text = log.read_text() if log.exists() else "(no log)"
            raise AssertionError("no %d lines '%s' within %d s; crontab:\n%s\nlog:\n%s"
                                 % (count, kind, seconds, crontab(), text[-4000:]))
        time.sleep(0.2)
    return log_lines(log, kind)


def test_cron_runs_the_import_the_team_hears_once_then_once_of_the_recovery(cron_daemon, schedule):
    settings, log, mail = schedule["settings"], schedule["log"], schedule["mail"]
    output = apply_role(settings)
    installed = time.monotonic()
    assert "No cron daemon runs" not in output
    assert cron_entry(settings["import_schedule_cron_name"]) == "*/1 * * * * %s" % schedule["wrapper"]
    mode = os.stat(schedule["wrapper"])
    assert stat.S_IMODE(mode.st_mode) == 0o755 and mode.st_uid == 0
    checked = subprocess.run(["shellcheck", str(schedule["wrapper"])], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout

    # Nobody runs it: cron does, within a minute.
    wait_for(log, "begins", 1, 70)
    assert time.monotonic() - installed < 70
    (first,) = wait_for(log, "ends", 1, 120)
    assert "exit status 2" in first, log.read_text()  # something needs a person
    (alert,) = mails_to(mail, OPS)
    assert subject(alert) == "Supplier import: 1 problem needs a person"
    assert "acme, delivery week-48: 002.txt: weight 'sixty pounds'" in alert.get_content()
    assert 'Alert mail to ops@example.com: sent, "Supplier import: 1 problem needs a person"' in log.read_text()

    # The next scheduled run finds the same problem: no second mail.
    second = wait_for(log, "ends", 2, 90)[1]
    assert "exit status 2" in second
    assert len(mails_to(mail, OPS)) == 1
    assert "Alert mail to ops@example.com: nothing new to tell (1 open, mailed before)" in log.read_text()

    # A person fixes the description; the delivery has settled by the next run, which imports it and says so once.
    (schedule["delivery"] / "descriptions" / "002.txt").write_text("Fig\n60 lbs\nSoft.\n")
    age(schedule["delivery"], 3600)
    third = wait_for(log, "ends", 3, 90)[2]
    assert "exit status 0" in third, log.read_text()[-3000:]
    alerts = mails_to(mail, OPS)
    assert [subject(message) for message in alerts] == [
        "Supplier import: 1 problem needs a person",
        "Supplier import: recovered acme/week-48/002.txt; nothing needs a person"]
    assert len(mails_to(mail, "acme@example.com")) == 1  # the supplier's report, now that the delivery is whole

    apply_role(settings, import_schedule_state="absent")
    assert cron_entry(settings["import_schedule_cron_name"]) is None
    assert str(schedule["wrapper"]) not in crontab()
    assert not schedule["wrapper"].exists() and not schedule["lock"].exists()
    assert log.exists()  # the logs stay unless import_schedule_remove_logs


def test_a_second_run_while_one_goes_does_nothing_and_says_so_and_the_log_rotates(schedule):
    settings, log = schedule["settings"], schedule["log"]
    log.parent.mkdir()
    for suffix, text in (("", "old-0\n"), (".1", "old-1\n"), (".2", "old-2\n")):
        log.with_name(log.name + suffix).write_text(text * 100)  # 600 bytes, over the limit below
    settings.update(import_schedule_enabled=False, import_schedule_log_max_bytes=300, import_schedule_log_keep=2)
    # Check mode foretells the three changes (log directory mode, wrapper, cron entry) and makes none; then idempotent.
    assert changes(apply_role(settings, "--check")) == 3 and not schedule["wrapper"].exists()
    assert cron_entry(settings["import_schedule_cron_name"]) is None
    assert changes(apply_role(settings)) == 3
    assert changes(apply_role(settings)) == 0
    assert cron_entry(settings["import_schedule_cron_name"]) == "#*/1 * * * * %s" % schedule["wrapper"]  # paused

    wrapper = [str(schedule["wrapper"])]
    first = subprocess.Popen(wrapper, env=CRON_ENVIRONMENT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(log, "begins", 1, 20)
    started = time.monotonic()
    second = subprocess.run(wrapper, env=CRON_ENVIRONMENT, capture_output=True, text=True, timeout=30)
    assert first.poll() is None, "the first run ended before the second one started; the test proves nothing"
    assert second.returncode == 0 and second.stdout == second.stderr == "" and time.monotonic() - started < 5
    busy = [line for line in log.read_text().splitlines() if "another import run is going" in line]
    assert len(busy) == 1, log.read_text()
    assert re.search(r"another import run is going since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \(pid %d\); "
                     r"this one does nothing$" % first.pid, busy[0]), busy[0]
    assert first.wait(180) == 2 and first.stdout.read() == ""
    assert (len(log_lines(log, "begins")), len(log_lines(log, "ends"))) == (1, 1)

    # The lock went with the first run: a third one runs, and rotates the first one's log (over 300 bytes).
    third = subprocess.run(wrapper, env=CRON_ENVIRONMENT, capture_output=True, text=True, timeout=180)
    assert third.returncode == 2 and (len(log_lines(log, "begins")), len(log_lines(log, "ends"))) == (1, 1)
    newest = log.with_name(log.name + ".1").read_text()
    assert "another import run is going" in newest and newest.count("import run begins") == 1
    assert log.with_name(log.name + ".2").read_text() == "old-0\n" * 100  # old-1 and old-2 dropped: 2 kept
    assert sorted(path.name for path in log.parent.iterdir()) == ["import.log", "import.log.1", "import.log.2"]

    apply_role(settings, import_schedule_state="absent", import_schedule_remove_logs=True)
    assert cron_entry(settings["import_schedule_cron_name"]) is None
    assert not schedule["wrapper"].exists() and not schedule["lock"].exists() and not log.parent.exists()
