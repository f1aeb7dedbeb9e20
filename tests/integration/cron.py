"""What the tests of the unattended import share: this machine's cron, and a supplier whose delivery needs a person."""

import os
import subprocess

import yaml

from tests.integration.deliveries import age, small_delivery

OPS = "ops@example.com"


def machine_cron_runs():
    """Whether this machine's cron daemon runs: one whose root is /, not a lab host's cron in a root of its own."""
    found = subprocess.run(["pgrep", "-x", "cron"], capture_output=True, text=True).stdout.split()
    for pid in found:
        try:
            if os.readlink("/proc/%s/root" % pid) == "/":
                return True
        except OSError:
            pass  # gone, or not ours to look at
    return False


def crontab():
    listed = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    return listed.stdout if listed.returncode == 0 else ""


def cron_entry(name):
    """The line under the entry's marker, or None when there is no marker."""
    lines = crontab().splitlines()
    markers = [number for number, line in enumerate(lines) if line == "#Ansible: " + name]
    assert len(markers) <= 1, crontab()
    return lines[markers[0] + 1] if markers else None


def remove_cron_entry(name):
    """Cleanup: the marker and its line out of the crontab (what the role's absent does), and the crontab itself
    when nothing else is left in it."""
    lines = crontab().splitlines(keepends=True)
    for number, line in enumerate(lines):
        if line.rstrip("\n") == "#Ansible: " + name:
            del lines[number:number + 2]
            subprocess.run(["crontab", "-"], input="".join(lines), text=True, check=True)
            break
    if not crontab().strip() and subprocess.run(["crontab", "-l"], capture_output=True).returncode == 0:
        subprocess.run(["crontab", "-r"], check=True)


def supplier_with_a_refused_item(tmp_path, store, mail):
    """(delivery, inventory): acme's inbox holds a settled delivery whose 002.txt has a bad weight; the operations
    team (OPS) is told, its alert state in tmp_path/state/alerts.json."""
    delivery = small_delivery(tmp_path / "inbox" / "acme" / "week-48", [("Cherry", 80, "Dark."), ("Fig", 60, "Soft.")],
                              seed=5)
    (delivery / "descriptions" / "002.txt").write_text("Fig\nsixty pounds\nSoft.\n")
    age(delivery, 3600)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"suppliers": {
        "hosts": {"acme": {"supplier_inbox": str(tmp_path / "inbox" / "acme"), "report_recipient": "acme@example.com"}},
        "vars": dict(ansible_connection="local", ansible_python_interpreter="{{ ansible_playbook_python }}",
                     store_url=store.url + "/", smtp_host=mail.host, smtp_port=mail.port,
                     import_summary_path=str(tmp_path / "state" / "summary.json"), import_alert_recipient=OPS,
                     import_alert_state_path=str(tmp_path / "state" / "alerts.json"))}}}}))
    return delivery, inventory


def mails_to(mail, address):
    return [message for message in mail.messages() if message["To"] == address]


def subject(message):
    return " ".join(message["Subject"].split())  # a long subject arrives folded
