# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.fruitstore.catalog.plugins.module_utils import _alerts as alerts
from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.module_utils._mail import MailSettings
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Run
from ansible_collections.fruitstore.catalog.plugins.modules import import_alert

from .conftest import AnsibleFailJson

HOUR = 3600
START = 1_790_000_000.0  # a fixed moment; the clock below moves only when a test moves it
FIG = {"key": "acme/week-48/002.txt", "text": "acme, delivery week-48: 002.txt: weight 'sixty pounds' is not a number"}
WAIT = {"key": "beta/2026-11-27/waiting", "text": "beta, delivery 2026-11-27: waiting for 25 hours"}


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        moment = START

        def advance(self, hours):
            self.moment += hours * HOUR

    fake = Clock()
    monkeypatch.setattr(alerts, "now", lambda: fake.moment)
    return fake


@pytest.fixture
def relay(monkeypatch):
    """smtp.send replaced: records each message, or fails like a relay that is down while relay.down is set."""
    class Relay:
        down = False
        messages = []

    fake = Relay()
    fake.messages = []

    def send(settings, message):
        if fake.down:
            raise smtp.MailError("cannot send mail through %s: [Errno 111] Connection refused" % settings.where)
        fake.messages.append(message)
        return [message["To"]]

    monkeypatch.setattr(smtp, "send", send)
    return fake


@pytest.fixture
def args(tmp_path):
    return {"alerts": [], "state_path": str(tmp_path / "state" / "alerts.json"),
            "mail": {"to": ["ops@example.com"], "host": "relay.example.com"}}


MAIL = MailSettings(("ops@example.com",), "automation@example.com", smtp.SMTPSettings("relay.example.com", 25))


def notify(args, alerts_now, check_mode=False, warn=print):
    """_alerts.notify as the module calls it, with these alerts and the defaults of its options."""
    return alerts.notify(Run(check_mode=check_mode, warn=warn), MAIL, alerts_now, args["state_path"])


def recorded(args):
    with open(args["state_path"]) as handle:
        return json.load(handle)["open"]


def test_new_problems_are_mailed_once_in_one_message(run_module, clock, relay, args):
    args["alerts"] = [FIG, WAIT]
    preview = run_module(import_alert, args, check_mode=True)
    assert preview["changed"] and preview["sent"] and preview["new"] == [FIG["key"], WAIT["key"]]
    assert preview["subject"] == "Supplier import: 2 problems need a person"
    assert relay.messages == [] and not os.path.exists(os.path.dirname(args["state_path"]))

    first = run_module(import_alert, args)
    assert first["changed"] and first["sent"] and first["open"] == 2
    assert (first["new"], first["reminded"], first["recovered"]) == ([FIG["key"], WAIT["key"]], [], [])
    (message,) = relay.messages
    assert message["To"] == "ops@example.com" and message["Subject"] == "Supplier import: 2 problems need a person"
    body = message.get_content()
    assert "New (2):" in body and FIG["text"] in body and "[%s]" % WAIT["key"] in body
    assert body == first["body"] == preview["body"]
    assert set(recorded(args)) == {FIG["key"], WAIT["key"]}

    clock.advance(23.9)
    again = run_module(import_alert, args)
    assert not again["changed"] and not again["sent"] and again["open"] == 2 and again["subject"] == ""
    assert (again["new"], again["reminded"], again["recovered"]) == ([], [], [])
    assert len(relay.messages) == 1


def test_a_problem_that_lasts_is_mailed_again_after_the_reminder_time_only(run_module, clock, relay, args):
    args.update(alerts=[FIG], reminder_hours=4)
    run_module(import_alert, args)
    clock.advance(2)
    args["alerts"] = [FIG, WAIT]
    second = run_module(import_alert, args)  # WAIT is new; FIG, mailed 2 hours ago, is not due
    assert (second["new"], second["reminded"]) == ([WAIT["key"]], [])
    assert "Still open, mailed before (1):" in relay.messages[-1].get_content()
    clock.advance(2.5)  # FIG mailed 4.5 hours ago, WAIT 2.5 hours ago
    third = run_module(import_alert, args)
    assert (third["new"], third["reminded"], third["recovered"]) == ([], [FIG["key"]], [])
    assert relay.messages[-1]["Subject"] == "Supplier import: 2 problems need a person"
    assert "Still open, reminder (1):" in relay.messages[-1].get_content()
    assert "open since %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(START)) in relay.messages[-1].get_content()
    assert recorded(args)[FIG["key"]] == dict(text=FIG["text"], since=START, mailed=START + 4.5 * HOUR)
    assert not run_module(import_alert, args)["sent"] and len(relay.messages) == 3


def test_recovered_problems_are_mailed_once(run_module, clock, relay, args):
    args["alerts"] = [FIG, WAIT]
    run_module(import_alert, args)
    clock.advance(1)
    args["alerts"] = [WAIT]
    partly = run_module(import_alert, args)
    assert partly["changed"] and partly["recovered"] == [FIG["key"]] and partly["open"] == 1
    assert relay.messages[-1]["Subject"] == "Supplier import: recovered %s; still 1 problem needs a person" % FIG["key"]
    assert "Recovered: no longer found (1):\n  %s" % FIG["text"] in relay.messages[-1].get_content()
    args["alerts"] = []
    cleared = run_module(import_alert, args)
    assert cleared["recovered"] == [WAIT["key"]] and cleared["open"] == 0
    assert relay.messages[-1]["Subject"] == "Supplier import: recovered %s; nothing needs a person" % WAIT["key"]
    assert recorded(args) == {}
    assert not run_module(import_alert, args)["changed"] and len(relay.messages) == 3


def test_new_and_recovered_in_one_message(run_module, clock, relay, args):
    args["alerts"] = [FIG]
    run_module(import_alert, args)
    args["alerts"] = [WAIT]
    both = run_module(import_alert, args)
    assert (both["new"], both["recovered"]) == ([WAIT["key"]], [FIG["key"]])
    assert relay.messages[-1]["Subject"] == "Supplier import: 1 problem needs a person, 1 recovered"
    assert len(relay.messages) == 2


def test_a_relay_that_is_down_records_nothing_and_the_next_run_tells_the_same(run_module, clock, relay, args):
    args["alerts"] = [FIG]
    relay.down = True
    with pytest.raises(AnsibleFailJson) as failed:
        run_module(import_alert, args)
    result = failed.value.args[0]
    assert "The alert mail to ops@example.com was not sent: cannot send mail through relay.example.com:25 (plain): " \
           "[Errno 111] Connection refused" in result["msg"]
    assert not result["sent"] and not result["changed"]
    assert not os.path.exists(args["state_path"])
    relay.down = False
    clock.advance(1)
    retried = run_module(import_alert, args)
    assert retried["sent"] and retried["new"] == [FIG["key"]] and len(relay.messages) == 1


def test_the_state_is_recorded_only_after_the_relay_took_the_mail(run_module, clock, monkeypatch, args):
    seen = []

    def send(settings, message):
        seen.append(os.path.exists(args["state_path"]))
        return [message["To"]]

    monkeypatch.setattr(smtp, "send", send)
    args["alerts"] = [FIG]
    run_module(import_alert, args)
    assert seen == [False] and FIG["key"] in recorded(args)


@pytest.mark.parametrize("content", [b"{\"open\": {", b"null", b"[1, 2]", b"{\"open\": {\"k\": {\"text\": 3}}}",
                                     b"\x89PNG\r\n\x1a\n\x00\xff\xfe"],
                         ids=["bad JSON", "null", "a list", "wrong shape", "binary"])
def test_a_damaged_state_is_named_set_aside_and_rebuilt(clock, relay, args, content):
    state = args["state_path"]
    os.makedirs(os.path.dirname(state))
    with open(state, "wb") as handle:
        handle.write(content)
    warnings = []
    preview = notify(args, [FIG], True, warnings.append)
    assert preview["new"] == [FIG["key"]] and relay.messages == []
    assert "The alert state %s is damaged" % state in warnings[0]
    with open(state, "rb") as handle:
        assert handle.read() == content  # check mode leaves it

    result = notify(args, [FIG], False, warnings.append)
    aside = state + ".damaged-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(START))
    assert "The alert state %s was damaged" % state in warnings[1] and aside in warnings[1]
    with open(aside, "rb") as handle:
        assert handle.read() == content
    assert result["sent"] and result["new"] == [FIG["key"]] and len(relay.messages) == 1
    assert FIG["key"] in recorded(args)  # rebuilt
    assert not notify(args, [FIG], False, warnings.append)["sent"] and len(warnings) == 2


def test_two_runs_at_once_never_both_mail(clock, monkeypatch, args):
    sent = []

    def slow_send(settings, message):
        time.sleep(0.5)  # the first run is still at the relay when the second arrives
        sent.append(message)
        return [message["To"]]

    monkeypatch.setattr(smtp, "send", slow_send)
    results = []
    runs = [threading.Thread(target=lambda: results.append(notify(args, [FIG]))) for _run in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(10)
    assert len(sent) == 1 and sorted(result["sent"] for result in results) == [False, True]


def test_reminder_hours_must_be_more_than_zero(run_module, relay, args):
    with pytest.raises(AnsibleFailJson, match="reminder_hours must be more than 0, not 0"):
        run_module(import_alert, dict(args, reminder_hours=0))


@pytest.mark.parametrize("bad, message", [
    ({"alerts": [{"text": "no key"}]}, "missing required arguments: key"),
    ({"alerts": [{"key": "k", "text": "t", "colour": "red"}]}, "Unsupported parameters"),
    ({"summary": {"suppliers": []}}, "parameters are required together: summary, summary_path"),
], ids=["an alert without key", "an unknown field", "a summary without its path"])
def test_the_argument_spec_refuses_bad_alerts(run_module, relay, args, bad, message):
    args.update(bad)
    with pytest.raises(AnsibleFailJson, match=message):
        run_module(import_alert, args)
    assert relay.messages == []


def test_without_mail_it_only_writes_the_summary_once_and_tells_no_one(run_module, relay, args, tmp_path):
    del args["mail"]
    summary_path = tmp_path / "run" / "summary.json"
    args.update(summary={"suppliers": [{"supplier": "acme"}], "alerts": args["alerts"]}, summary_path=str(summary_path))
    first = run_module(import_alert, args)
    assert first["changed"] and not first["sent"] and first["open"] == len(args["alerts"])
    assert '"supplier": "acme"' in summary_path.read_text()
    assert not run_module(import_alert, args)["changed"]
    assert relay.messages == [] and not os.path.exists(args["state_path"])


def test_it_starts_without_the_libraries_of_the_import():
    """It only mails: its start (a fresh Python, as Ansible runs it) imports no Pillow, ReportLab, requests or urllib3."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; import %s; print(' '.join(sorted(sys.modules)))" % import_alert.__name__],
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), capture_output=True, text=True, check=True)
    heavy = {"PIL", "reportlab", "requests", "urllib3"} & {name.split(".")[0] for name in loaded.stdout.split()}
    assert heavy == set()
