# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.fruitstore.health.plugins.module_utils._fleet import FleetError, fleet_report

NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


def answer(status="OK", failed=(), overdue=False, mounts=("/",)):
    """What health_check --json --dry-run prints (interface version 1)."""
    checks = [{"name": "cpu", "problem": "CPU usage is over 80%", "reading": "3.0% used"}]
    checks += [{"name": "disk " + mount, "problem": "Available disk space is less than 20%",
                "reading": "40.0% free"} for mount in mounts]
    for check in checks:
        check["failed"] = check["name"] in failed
    return json.dumps({
        "version": 1, "status": status, "exit_code": {"OK": 0, "CRITICAL": 2}[status], "host": "h", "time": NOW,
        "checks": checks, "alerts": [], "mails": {"sent": [], "waiting": [], "error": None}, "dry_run": True,
        "would_send": [], "cron": {"schedule": "* * * * *", "last_run": NOW - 20, "last_status": status,
                                   "overdue_after": 120, "overdue": overdue}})


def host(name, **probe):
    """An item of the module's hosts, every key present as the argument spec leaves it."""
    return dict({"unreachable": False, "deployed": True, "script": "/usr/local/bin/health_check", "rc": 0,
                 "stdout": "", "stderr": "", "reason": ""}, name=name, **probe)


def test_rows_are_worst_first_then_by_name():
    hosts = [host("b-ok", stdout=answer()), host("a-ok", stdout=answer()),
             host("c-unknown", deployed=False), host("d-critical", rc=2, stdout=answer("CRITICAL", failed=["cpu"])),
             host("e-overdue", stdout=answer(overdue=True)), host("f-gone", unreachable=True)]
    fleet = fleet_report(hosts, "Fleet health", NOW + 60)
    assert [(found["host"], found["status"]) for found in fleet.rows] == [
        ("f-gone", "UNREACHABLE"), ("d-critical", "CRITICAL"), ("e-overdue", "CRITICAL"), ("c-unknown", "UNKNOWN"),
        ("a-ok", "OK"), ("b-ok", "OK")]
    assert fleet.not_ok == ["f-gone (UNREACHABLE)", "d-critical (CRITICAL)", "e-overdue (CRITICAL)",
                            "c-unknown (UNKNOWN)"]
    assert fleet.summary == {"total": 6, "OK": 2, "CRITICAL": 2, "UNKNOWN": 1, "UNREACHABLE": 1}
    table = fleet.table.splitlines()
    assert table[0] == "Fleet health: 6 hosts, 4 not OK (1 UNREACHABLE, 2 CRITICAL, 1 UNKNOWN), made 2027-01-15 08:01:00 UTC"
    assert [line.split()[0] for line in table[3:9]] == ["f-gone", "d-critical", "e-overdue", "c-unknown", "a-ok", "b-ok"]
    document = json.loads(fleet.document)
    assert document["generated"] == "2027-01-15T08:01:00Z" and document["title"] == "Fleet health"
    assert [found["host"] for found in document["hosts"]] == [found["host"] for found in fleet.rows]


def test_an_answer_that_is_not_json_is_an_unknown_row_that_says_why():
    hosts = [host("web1", stdout=answer()),
             host("web2", rc=1, stdout="", stderr="Traceback (most recent call last):\nImportError: no psutil"),
             host("web3", rc=0, stdout="Usage: health_check [--json]\nhealth_check: error: unknown option")]
    fleet = fleet_report(hosts, "Fleet health", NOW)
    rows = {found["host"]: found for found in fleet.rows}
    assert rows["web1"]["status"] == "OK"
    assert rows["web2"]["status"] == "UNKNOWN" and rows["web2"]["report"] is None
    assert rows["web2"]["problems"] == ["/usr/local/bin/health_check gave no JSON (exit code 1): ImportError: no psutil"]
    assert rows["web3"]["problems"] == [
        "/usr/local/bin/health_check gave no JSON (exit code 0): health_check: error: unknown option"]
    assert "web2: /usr/local/bin/health_check gave no JSON (exit code 1): ImportError: no psutil" in fleet.table
    assert fleet.not_ok == ["web2 (UNKNOWN)", "web3 (UNKNOWN)"]


def test_host_names_and_readings_are_escaped_in_the_page():
    fleet = fleet_report([host("web<b>&1", unreachable=True, reason="<i>gone</i>"),
                          host("web\"2'", stdout=answer(mounts=("/srv/<script>alert(1)</script>",)))],
                         "Fleet & <friends>", NOW)
    assert "<b>" not in fleet.page and "<i>" not in fleet.page and "<script>" not in fleet.page
    assert '<th scope="row">web&lt;b&gt;&amp;1</th>' in fleet.page
    assert '<th scope="row">web&quot;2&#x27;</th>' in fleet.page
    assert "<li>unreachable: &lt;i&gt;gone&lt;/i&gt;</li>" in fleet.page
    assert "<th>disk /srv/&lt;script&gt;alert(1)&lt;/script&gt;</th>" in fleet.page
    assert "<title>Fleet &amp; &lt;friends&gt;</title>" in fleet.page
    assert fleet.rows[0]["host"] == "web<b>&1" and "web<b>&1  UNREACHABLE" in fleet.table  # the table is plain text


def test_a_version_1_answer_without_what_version_1_holds_is_a_fleet_error_naming_the_host():
    hosts = [host("web1", stdout=answer()), host("web2", stdout=json.dumps({"version": 1, "status": "OK"}))]
    with pytest.raises(FleetError) as failed:
        fleet_report(hosts, "Fleet health", NOW)
    assert failed.value.host == "web2"
    assert str(failed.value) == ("The answer of the host web2 (hosts[].stdout) is not what /usr/local/bin/health_check "
                                 "--json version 1 prints: it has no key 'time'")
    weird = json.loads(answer())
    weird["status"] = "WARNING"
    with pytest.raises(FleetError, match="web3 .* its status is 'WARNING'"):
        fleet_report([host("web3", stdout=json.dumps(weird))], "Fleet health", NOW)


def test_another_version_is_an_unknown_row_not_an_error():
    fleet = fleet_report([host("web1", stdout=json.dumps({"version": 2, "status": "OK"}))], "Fleet health", NOW)
    assert fleet.rows[0]["status"] == "UNKNOWN"
    assert fleet.rows[0]["problems"] == [
        "/usr/local/bin/health_check speaks another --json version (2; this report reads version 1)"]
