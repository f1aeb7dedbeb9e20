# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.fruitstore.health.plugins.modules import fleet_health_report

NOW = 1_800_000_000.0


def answer(status="OK", failed=(), alerts=(), last_run=NOW - 20, overdue=False, waiting=(), mounts=("/",)):
    """What health_check --json --dry-run prints (interface version 1)."""
    checks = [{"name": "cpu", "problem": "CPU usage is over 80%", "reading": "3.0% used"}]
    checks += [{"name": "disk " + mount, "problem": "Available disk space is less than 20%",
                "reading": "40.0% free"} for mount in mounts]
    checks += [{"name": "memory", "problem": "Available memory is less than 500MB", "reading": "2048MB available"}]
    for check in checks:
        check["failed"] = check["name"] in failed
    return json.dumps({
        "version": 1, "status": status, "exit_code": {"OK": 0, "CRITICAL": 2}[status], "host": "h", "time": NOW,
        "checks": checks, "alerts": list(alerts), "mails": {"sent": [], "waiting": list(waiting), "error": None},
        "dry_run": True, "would_send": [],
        "cron": {"schedule": "* * * * *", "last_run": last_run, "last_status": status, "overdue_after": 120,
                 "overdue": overdue}})


def host(name, **probe):
    return dict({"unreachable": False, "deployed": True, "script": "/usr/local/bin/health_check", "rc": 0,
                 "stdout": "", "stderr": "", "reason": ""}, name=name, **probe)


FLEET = [
    host("web1", stdout=answer()),
    host("web2", unreachable=True, reason="Failed to connect to the host via ssh: No route to host"),
    host("web3", rc=2, stdout=answer("CRITICAL", failed=["memory"], alerts=[{
        "check": "memory", "problem": "Available memory is less than 500MB", "failing_since": NOW - 300,
        "alerted_at": NOW - 240, "last_mail": NOW - 240}])),
    host("web4", stdout=answer(last_run=NOW - 400, overdue=True)),
    host("web5", deployed=False),
    host("web6", stdout=answer(waiting=["Error - CPU usage is over 80%"], mounts=("/", "/srv"))),
]


def test_every_host_is_a_row_worst_first(run_module, tmp_path):
    result = run_module(fleet_health_report, {"hosts": FLEET, "output_dir": str(tmp_path)})
    assert [(row["host"], row["status"]) for row in result["hosts"]] == [
        ("web2", "UNREACHABLE"), ("web3", "CRITICAL"), ("web4", "CRITICAL"), ("web5", "UNKNOWN"), ("web1", "OK"),
        ("web6", "OK")]
    assert result["summary"] == {"total": 6, "OK": 2, "CRITICAL": 2, "UNKNOWN": 1, "UNREACHABLE": 1}
    assert result["not_ok"] == ["web2 (UNREACHABLE)", "web3 (CRITICAL)", "web4 (CRITICAL)", "web5 (UNKNOWN)"]
    rows = {row["host"]: row for row in result["hosts"]}
    assert rows["web2"]["problems"] == ["unreachable: Failed to connect to the host via ssh: No route to host"]
    assert rows["web3"]["problems"] == ["memory: 2048MB available (Available memory is less than 500MB)"]
    assert rows["web3"]["alerts"][0]["alerted_at"] == "2027-01-15T07:56:00Z"
    assert rows["web3"]["alerts"][0]["since"] == "07:56 UTC (240 s ago)"
    assert rows["web4"]["overdue"] is True and rows["web4"]["last_run_age_seconds"] == 400
    assert rows["web4"]["problems"] == ["the cron job is overdue: last run 07:53 UTC (6 min ago); on its schedule "
                                        "(* * * * *) a run older than 120 s is late"]
    assert rows["web5"]["problems"] == ["health_check is not deployed (no /usr/local/bin/health_check)"]
    assert rows["web1"]["problems"] == [] and rows["web1"]["mails_waiting"] == 0 and rows["web6"]["mails_waiting"] == 1


def test_the_table_has_a_column_per_check_and_says_why_hosts_are_not_ok(run_module, tmp_path):
    table = run_module(fleet_health_report, {"hosts": FLEET, "output_dir": str(tmp_path)})["table"]
    lines = table.splitlines()
    assert lines[0].startswith("Fleet health: 6 hosts, 4 not OK (1 UNREACHABLE, 2 CRITICAL, 1 UNKNOWN), made ")
    assert re.split(r"\s{2,}", lines[2]) == ["host", "status", "cpu", "disk /", "memory", "disk /srv", "open alerts",
                                             "cron's last run", "mails waiting"]
    rows = {line.split()[0]: re.split(r"\s{2,}", line) for line in lines[3:9]}
    assert rows["web2"] == ["web2", "UNREACHABLE", "-", "-", "-", "-", "-", "-", "-"]
    assert rows["web3"] == ["web3", "CRITICAL", "3.0% used", "40.0% free", "FAILED 2048MB available", "-",
                            "memory since 07:56 UTC (240 s ago)", "07:59 UTC (20 s ago)", "0"]
    assert rows["web4"][-2:] == ["07:53 UTC (6 min ago), OVERDUE", "0"]
    assert rows["web6"][5:7] == ["40.0% free", "-"] and rows["web6"][-1] == "1"
    assert lines[10:] == [
        "web2: unreachable: Failed to connect to the host via ssh: No route to host",
        "web3: memory: 2048MB available (Available memory is less than 500MB)",
        "web4: the cron job is overdue: last run 07:53 UTC (6 min ago); on its schedule (* * * * *) a run older "
        "than 120 s is late",
        "web5: health_check is not deployed (no /usr/local/bin/health_check)"]


def test_json_and_page_hold_the_same_rows_and_check_mode_writes_neither(run_module, tmp_path):
    output = tmp_path / "var" / "fleet"
    args = {"hosts": FLEET, "output_dir": str(output)}
    checked = run_module(fleet_health_report, args, check_mode=True)
    assert checked["changed"] and not output.exists()
    result = run_module(fleet_health_report, args)
    assert result["changed"] and result["json_path"] == str(output / "fleet.json")
    document = json.loads((output / "fleet.json").read_text())
    assert document["version"] == 1 and document["summary"] == result["summary"]
    assert [(row["host"], row["status"]) for row in document["hosts"]] == [
        (row["host"], row["status"]) for row in result["hosts"]]
    page = (output / "fleet.html").read_text()
    assert [re.sub("<.*?>", "", cell) for cell in re.findall(r'<th scope="row">(.*?)</th>', page)] == [
        "web2", "web3", "web4", "web5", "web1", "web6"]
    assert '<span class="status CRITICAL">CRITICAL</span>' in page and '<td class="failed">FAILED 2048MB' in page
    assert "07:53 UTC (6 min ago), OVERDUE" in page and "No route to host" in page


def test_names_and_readings_are_escaped_in_the_page(run_module, tmp_path):
    hostile = answer(mounts=("/srv/<script>alert(1)</script>",))
    result = run_module(fleet_health_report, {"hosts": [host("web<b>&1", stdout=hostile)], "output_dir": str(tmp_path)})
    page = (tmp_path / "fleet.html").read_text()
    assert "<script>" not in page and "<b>" not in page
    assert "web&lt;b&gt;&amp;1" in page and "disk /srv/&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert result["hosts"][0]["host"] == "web<b>&1"


def test_what_is_not_the_interface_is_unknown_and_says_what_it_was(run_module, tmp_path):
    unknown = {"version": 1, "status": "UNKNOWN", "exit_code": 3, "host": "b", "time": NOW,
               "error": "config file /etc/health_check.ini not found"}
    fleet = [host("old", stdout=json.dumps({"status": "OK", "exit_code": 0})),
             host("broken", rc=1, stdout="", stderr="Traceback (most recent call last):\nImportError: no psutil"),
             host("bad-config", rc=3, stdout=json.dumps(unknown)),
             host("no-python", rc=None, reason="Failed to find a Python interpreter")]
    result = run_module(fleet_health_report, {"hosts": fleet, "output_dir": str(tmp_path)})
    rows = {row["host"]: row for row in result["hosts"]}
    assert {row["status"] for row in rows.values()} == {"UNKNOWN"}
    assert rows["old"]["problems"] == [
        "/usr/local/bin/health_check speaks another --json version (None; this report reads version 1)"]
    assert rows["broken"]["problems"] == ["/usr/local/bin/health_check gave no JSON (exit code 1): ImportError: no psutil"]
    assert rows["bad-config"]["problems"] == ["config file /etc/health_check.ini not found"]
    assert rows["no-python"]["problems"] == [
        "could not run /usr/local/bin/health_check: Failed to find a Python interpreter"]


def test_an_all_ok_fleet_says_so(run_module, tmp_path):
    result = run_module(fleet_health_report, {"hosts": [host("web1", stdout=answer())], "output_dir": str(tmp_path)})
    assert result["not_ok"] == [] and result["table"].startswith("Fleet health: 1 host, all OK, made ")


def test_an_answer_that_says_version_1_but_is_not_fails_naming_the_host(run_module, tmp_path):
    with pytest.raises(Exception) as failed:
        run_module(fleet_health_report, {"hosts": [host("web1", stdout=answer()), host("web2", stdout='{"version": 1}')],
                                         "output_dir": str(tmp_path)})
    assert type(failed.value).__name__ == "AnsibleFailJson"
    assert failed.value.args[0]["msg"] == ("The answer of the host web2 (hosts[].stdout) is not what "
                                           "/usr/local/bin/health_check --json version 1 prints: it has no key 'time'")
    assert not list(tmp_path.iterdir())
