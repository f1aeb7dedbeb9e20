"""Every supplier's deliveries from the inventory: one playbook run imports every complete delivery waiting in each
supplier's inbox, leaves the incomplete ones waiting, archives what it imported, and mails each supplier its own
report once per delivery. Real store (gunicorn), real SMTP server (aiosmtpd), ansible-playbook as a user runs it."""

import json
import os
import signal
import time

import psutil
import pytest
import yaml

from tests.integration.deliveries import age, report_names, run, small_delivery, start_run, store_products

SUPPLIERS = {
    "acme": {"week-47": [("Apple", 500, "Crisp."), ("Pear", 200, "Juicy.")],
             "week-48": [("Cherry", 80, "Dark."), ("Fig", 60, "Soft."), ("Quince", 90, "Fragrant.")]},
    "beta": {"2026-11-20": [("Banana", 300, "Yellow."), ("Lime", 90, "Sour.")],
             "2026-11-27": [("Papaya", 120, "Orange."), ("Peach", 110, "Velvety.")]},
    "gamma": {"first": [("Kiwifruit", 250, "Green."), ("Lemon", 300, "Bright.")],
              "second": [("Mango", 300, "Sweet."), ("Plum", 150, "Purple.")]},
}
STILL_UPLOADING = ("beta", "2026-11-27")
LONG_AGO = time.time() - 3600


@pytest.fixture
def inboxes(tmp_path):
    seed = 0
    for supplier, deliveries in SUPPLIERS.items():
        for number, (name, products) in enumerate(deliveries.items()):
            seed += 1
            delivery = small_delivery(tmp_path / "inbox" / supplier / name, products, seed=seed)
            age(delivery, 7200 - 600 * number)  # oldest first
    age(tmp_path / "inbox" / STILL_UPLOADING[0] / STILL_UPLOADING[1], 0)
    return tmp_path / "inbox"


def write_inventory(tmp_path, inboxes, store, mail, **group_vars):
    hosts = {supplier: {"supplier_inbox": str(inboxes / supplier), "report_recipient": "%s@example.com" % supplier}
             for supplier in SUPPLIERS}
    variables = dict(ansible_connection="local", ansible_python_interpreter="{{ ansible_playbook_python }}",
                     store_url=store.url + "/", smtp_host=mail.host, smtp_port=mail.port, supplier_settle_seconds=60,
        import_summary_path=str(tmp_path / "state" / "summary.json"))
    variables.update(group_vars)
    inventory = {"all": {"children": {"suppliers": {"hosts": hosts, "vars": variables}}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


def mails_by_supplier(mail):
    received = {}
    for message in mail.messages():
        received.setdefault(message["To"].split("@")[0], []).append(report_names(message))
    return {supplier: sorted(reports) for supplier, reports in received.items()}


def expected_reports(skip=()):
    return {supplier: sorted(sorted(name for name, _w, _d in products) for delivery, products in deliveries.items()
                             if (supplier, delivery) not in skip)
            for supplier, deliveries in SUPPLIERS.items()}


def test_every_supplier_every_complete_delivery_once_then_the_one_still_uploading(store_factory, mail_server,
                                                                                 inboxes, tmp_path):
    store = store_factory()
    inventory = write_inventory(tmp_path, inboxes, store, mail_server)

    first = run(inventory)
    assert first.returncode == 0, first.output
    assert "WAITING   2026-11-27: still being uploaded" in first.output
    assert sorted(os.listdir(inboxes / "beta")) == ["2026-11-27"]
    assert os.listdir(inboxes / "acme") == [] and os.listdir(inboxes / "gamma") == []
    assert mails_by_supplier(mail_server) == expected_reports(skip=[STILL_UPLOADING])
    summary = json.loads((tmp_path / "state" / "summary.json").read_text())
    assert {row["supplier"]: (len(row["imported"]), row["waiting"], row["failed"]) for row in summary["suppliers"]} == {
        "acme": (2, [], []), "beta": (1, ["2026-11-27"], []), "gamma": (2, [], [])}
    assert summary["alerts"] == []

    for supplier, deliveries in SUPPLIERS.items():
        for delivery in deliveries:
            if (supplier, delivery) == STILL_UPLOADING:
                continue
            archived = inboxes.parent / "inbox" / (supplier + "-archive") / delivery
            assert {"delivery.html", "processed.pdf", "images", "descriptions"} <= set(os.listdir(archived))
            assert (archived / ".fruitstore" / "sent-mail.json").exists()

    age(inboxes / STILL_UPLOADING[0] / STILL_UPLOADING[1], 120)  # the supplier has finished since
    second = run(inventory)
    assert second.returncode == 0, second.output
    assert os.listdir(inboxes / "beta") == []
    assert mails_by_supplier(mail_server) == expected_reports()

    posts = store.requests("POST")
    third = run(inventory)
    assert third.returncode == 0, third.output
    assert store.requests("POST") == posts and mails_by_supplier(mail_server) == expected_reports()
    wanted = sorted(name for deliveries in SUPPLIERS.values() for products in deliveries.values()
                    for name, _w, _d in products)
    assert sorted(product["name"] for product in store_products(store)) == wanted  # every product once
    assert len(posts) == 2 * len(wanted)


def test_limit_imports_one_supplier(store_factory, mail_server, inboxes, tmp_path):
    store = store_factory()
    result = run(write_inventory(tmp_path, inboxes, store, mail_server), "--limit", "gamma")
    assert result.returncode == 0, result.output
    assert sorted(p["name"] for p in store_products(store)) == ["Kiwifruit", "Lemon", "Mango", "Plum"]
    assert len(os.listdir(inboxes / "acme")) == 2


def test_an_item_refused_keeps_its_delivery_in_the_inbox_and_the_run_fails(store_factory, mail_server, inboxes,
                                                                          tmp_path):
    store = store_factory()
    bad = inboxes / "acme" / "week-48" / "descriptions" / "002.txt"
    bad.write_text("Fig\nsixty pounds\nSoft.\n")
    age(bad.parent.parent, 3600)
    result = run(write_inventory(tmp_path, inboxes, store, mail_server))
    assert result.returncode != 0
    assert "FAILED    week-48: 1 item(s) left out of the store" in result.output
    assert "acme, delivery week-48: 002.txt: weight 'sixty pounds'" in result.output
    assert os.listdir(inboxes / "acme") == ["week-48"]  # week-47 archived, week-48 waits for its fix
    assert "acme" not in [m["To"].split("@")[0] for m in mail_server.messages() if "Cherry" in report_names(m)]

    bad.write_text("Fig\n60 lbs\nSoft.\n")
    waiting = run(write_inventory(tmp_path, inboxes, store, mail_server))
    assert "WAITING   week-48: still being uploaded" in waiting.output  # the fix is a change: it settles first
    age(bad.parent.parent, 3600)
    fixed = run(write_inventory(tmp_path, inboxes, store, mail_server))
    assert fixed.returncode == 0, fixed.output
    assert os.listdir(inboxes / "acme") == []
    assert [p["name"] for p in store_products(store)].count("Cherry") == 1


def test_a_run_killed_mid_import_is_finished_by_the_next_nothing_twice(store_factory, mail_server, inboxes, tmp_path):
    store = store_factory(FRUITSTORE_STORE_WRITE_DELAY_MS="150")
    inventory = write_inventory(tmp_path, inboxes, store, mail_server)
    running = start_run(inventory)
    deadline = time.monotonic() + 120
    while len(store.requests("POST /fruits/")) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(running.pid, signal.SIGKILL)
    running.communicate()
    # Ansible runs modules in a session of their own: the killed run's module calls go on to their end. The next
    # scheduled run comes minutes later; so does this one.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any("AnsiballZ_inbox_import" in " ".join(process.info["cmdline"] or [])
                                              for process in psutil.process_iter(["cmdline"])):
        time.sleep(0.2)
    age(inboxes / STILL_UPLOADING[0] / STILL_UPLOADING[1], 120)
    rerun = run(inventory)
    assert rerun.returncode == 0, rerun.output
    names = [product["name"] for product in store_products(store)]
    wanted = {name for deliveries in SUPPLIERS.values() for products in deliveries.values() for name, _w, _d in products}
    archived = sorted(path.name for path in inboxes.glob("*-archive/*"))
    assert sorted(names) == sorted(set(names)) and set(names) == wanted, (wanted - set(names), archived, rerun.output)
    assert mails_by_supplier(mail_server) == expected_reports()


def test_a_flat_inbox_half_moved_to_the_archive_by_a_killed_run_is_finished(store_factory, mail_server, tmp_path):
    store = store_factory()
    inbox = small_delivery(tmp_path / "flat", [("Apple", 5, "Red.")], seed=1)
    age(inbox, 3600)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"suppliers": {"hosts": {"solo": {
        "supplier_inbox": str(inbox), "report_recipient": "solo@example.com"}}, "vars": dict(
        ansible_connection="local", ansible_python_interpreter="{{ ansible_playbook_python }}",
        store_url=store.url + "/", smtp_host=mail_server.host, smtp_port=mail_server.port,
        import_summary_path=str(tmp_path / "summary.json"))}}}}))
    assert run(inventory).returncode == 0
    archive = tmp_path / "flat-archive"
    (first,) = os.listdir(archive)
    assert first.startswith("received-") and os.listdir(inbox) == []

    # A kill in the middle of that move: its images and state were still in the inbox, behind the marker.
    for part in ("images", ".fruitstore"):
        os.rename(archive / first / part, inbox / part)
    (inbox / ".fruitstore-archiving").write_text(str(archive / first))
    posts = store.requests("POST")
    resumed = run(inventory)
    assert resumed.returncode == 0, resumed.output
    assert os.listdir(inbox) == [] and os.listdir(archive) == [first]
    assert {"images", "descriptions", ".fruitstore", "delivery.html", "processed.pdf"} <= set(os.listdir(archive / first))
    assert store.requests("POST") == posts and len(mail_server.messages()) == 1

    # The supplier's next delivery into the same flat inbox is a delivery of its own.
    small_delivery(inbox, [("Banana", 7, "Yellow.")], seed=2)
    age(inbox, 1800)
    second = run(inventory)
    assert second.returncode == 0, second.output
    assert os.listdir(inbox) == [] and len(os.listdir(archive)) == 2
    assert [p["name"] for p in store_products(store)] == ["Apple", "Banana"]
    assert len(mail_server.messages()) == 2
