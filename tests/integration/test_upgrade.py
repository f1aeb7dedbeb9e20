"""Upgrades keep the store right: a delivery imported by an earlier release, taken from its tag, is run again by this
release over the same state. The real store (gunicorn), a real SMTP server (aiosmtpd), ansible-playbook as a user
runs it."""

import json
import os
import subprocess

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.deliveries import age, report_names, run, small_delivery, store_products
from tests.integration.playbook import environment, run_import

# Each release's tag, and the commit it names (a clone without tags still has the commit).
RELEASES = {"v1.1.0": "d0cd9c2", "v1.2.0": "7e93fcc"}
PRODUCTS = [("Apple", 500, "Crisp."), ("Pear", 200, "Juicy."), ("Quince", 90, "Fragrant.")]


def release_tree(tag, directory):
    """The repository as it was released under tag, unpacked into directory."""
    reference = tag if subprocess.run(["git", "rev-parse", "-q", "--verify", "refs/tags/" + tag], cwd=str(REPO),
                                      capture_output=True).returncode == 0 else RELEASES[tag]
    directory.mkdir()
    archive = subprocess.run(["git", "archive", reference], cwd=str(REPO), capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
    return directory


def run_release(tree, delivery, store, mail, **variables):
    """The import of one delivery with the release in tree, as its README ran it."""
    settings = dict(supplier_dir=str(delivery), store_url=store.url + "/", smtp_host=mail.host, smtp_port=mail.port,
                    report_recipient="supplier@example.com", **variables)
    return subprocess.run(["ansible-playbook", "playbooks/import_supplier.yml", "-e", json.dumps(settings)],
                          cwd=str(tree), env=dict(environment(), ANSIBLE_CONFIG=str(tree / "ansible.cfg")),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("restock", ["keep", "refuse"])
def test_a_delivery_imported_by_1_1_0_is_itself_after_the_upgrade(store_factory, mail_server, tmp_path, restock):
    store = store_factory()
    delivery = small_delivery(tmp_path / "supplier-data", PRODUCTS, seed=7)
    before = run_release(release_tree("v1.1.0", tmp_path / "v1.1.0"), delivery, store, mail_server)
    assert before.returncode == 0, before.stdout + before.stderr
    posts, stored = store.requests("POST"), store_products(store)
    assert len(posts) == 6 and len(mail_server.messages()) == 1
    converted = {path.name: path.stat().st_mtime_ns for path in (delivery / "images").glob("*.jpeg")}

    after = run_import(delivery, store, mail_server, restock=restock)
    assert after.returncode == 0, after.output
    assert store.requests("POST") == posts and store_products(store) == stored  # nothing posted again
    assert len(mail_server.messages()) == 1  # nor mailed again
    assert {path.name: path.stat().st_mtime_ns for path in (delivery / "images").glob("*.jpeg")} == converted
    assert "LISTED" not in after.output and "CONFLICT" not in after.output
    assert "3 already in the store" in " ".join(after.output.split()), after.output


def suppliers_inventory(tmp_path, inbox, store, mail):
    """One supplier, acme, whose inbox is inbox; its state (alerts, summary) in tmp_path/state."""
    variables = dict(ansible_connection="local", ansible_python_interpreter="{{ ansible_playbook_python }}",
                     store_url=store.url + "/", smtp_host=mail.host, smtp_port=mail.port, supplier_settle_seconds=60,
                     import_alert_recipient="ops@example.com",
                     import_alert_state_path=str(tmp_path / "state" / "alerts.json"),
                     import_summary_path=str(tmp_path / "state" / "summary.json"))
    hosts = {"acme": {"supplier_inbox": str(inbox), "report_recipient": "acme@example.com"}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"suppliers": {"hosts": hosts, "vars": variables}}}}))
    return path


def test_an_inbox_half_imported_by_1_2_0_is_finished_by_this_release_nothing_twice(store_factory, mail_server,
                                                                                  tmp_path):
    store = store_factory()
    inbox = tmp_path / "inbox"
    small_delivery(inbox / "week-47", PRODUCTS[:2], seed=8)
    small_delivery(inbox / "week-48", PRODUCTS[2:], seed=9)
    age(inbox / "week-47", 3600)  # settled; week-48 is still being uploaded
    inventory = suppliers_inventory(tmp_path, inbox, store, mail_server)
    tree = release_tree("v1.2.0", tmp_path / "v1.2.0")
    before = subprocess.run(["ansible-playbook", "-i", str(inventory), "playbooks/import_supplier.yml"], cwd=str(tree),
                            env=dict(environment(), ANSIBLE_CONFIG=str(tree / "ansible.cfg")), capture_output=True,
                            text=True, timeout=600)
    assert before.returncode == 0, before.stdout + before.stderr
    assert os.listdir(inbox) == ["week-48"] and [p["name"] for p in store_products(store)] == ["Apple", "Pear"]

    age(inbox / "week-48", 3600)
    after = run(inventory)
    assert after.returncode == 0, after.output
    assert sorted(p["name"] for p in store_products(store)) == ["Apple", "Pear", "Quince"]
    assert len(store.requests("POST /fruits/")) == 3 and os.listdir(inbox) == []
    reports = sorted(report_names(message) for message in mail_server.messages() if message["To"] == "acme@example.com")
    assert reports == [["Apple", "Pear"], ["Quince"]]  # one each, none again
    assert not [message for message in mail_server.messages() if message["To"] == "ops@example.com"]
    assert "nothing new to tell" in after.output or "Nothing needs a person" in after.output
    summary = json.loads((tmp_path / "state" / "summary.json").read_text())
    assert summary["suppliers"][0]["imported"] == ["week-48"] and summary["alerts"] == []
