"""Deliveries over time: many suppliers, each delivering again and again, all numbered from 001, into one store
that may be reset or lose pictures. The store, not local state, says what is there.

Every test runs ansible-playbook against the real store (gunicorn) and a real SMTP server (aiosmtpd)."""

import json
import shutil
import subprocess

import pytest
import requests

from tests.conftest import REPO, copy_of
from tests.integration.deliveries import LAB, pictures_match, report_names, small_delivery, store_products
from tests.integration.playbook import environment, run_import, start_import
from tools.services import Store

# Supplier A's next delivery: two new products and a restock of Apple, numbered from 001 like every delivery.
A_NEXT_WEEK = [("Cherry", 80, "Dark red and sweet."), ("Fig", 60, "Soft and honeyed."),
               ("Apple", 500, "Crisp and red, the new harvest.")]
# Supplier B: products of its own, numbered from 001 too.
B = [("Banana", 300, "Yellow and ripe."), ("Papaya", 120, "Orange flesh."), ("Lime", 90, "Small and sour."),
     ("Peach", 110, "Velvety skin.")]


def delete_state(*deliveries):
    for delivery in deliveries:
        shutil.rmtree(delivery / ".fruitstore")


@pytest.fixture
def three_deliveries(lab_delivery, tmp_path):
    return (copy_of(lab_delivery, tmp_path / "acme-week-47"),
            small_delivery(tmp_path / "acme-week-48" / "supplier-data", A_NEXT_WEEK, seed=48),
            small_delivery(tmp_path / "beta-week-47" / "supplier-data", B, seed=7))


def own_pictures(store, deliveries):
    """Every product of the store shows its own picture: the stored file is its delivery's JPEG, byte for byte."""
    products = store_products(store)
    assert sorted(path.name for path in store.images.iterdir()) == sorted(p["image_name"] for p in products)
    for product in products:
        stem = product["image_name"].split("-")[0]
        stored = (store.images / product["image_name"]).read_bytes()
        own = [delivery for delivery in deliveries if (delivery / "descriptions" / (stem + ".txt")).exists()
               and (delivery / "descriptions" / (stem + ".txt")).read_text().splitlines()[0].strip() == product["name"]
               and (delivery / "images" / (stem + ".jpeg")).read_bytes() == stored]
        assert len(own) == 1, product
    return products


@pytest.mark.parametrize("serve_media", [True, False], ids=["store with media", "Django alone"])
def test_three_deliveries_numbered_alike_import_whole_and_reruns_post_nothing(store_factory, mail_server,
                                                                              three_deliveries, serve_media):
    store = store_factory(serve_media=serve_media)
    outputs = []
    for delivery in three_deliveries:
        result = run_import(delivery, store, mail_server)
        assert result.returncode == 0, result.output
        outputs.append(result.output)
    products = own_pictures(store, three_deliveries)
    wanted = [(name, weight) for name, weight in LAB] + [("Cherry", 80), ("Fig", 60)] + [(n, w) for n, w, _ in B]
    assert [(p["name"], p["weight"]) for p in products] == wanted  # every product once
    assert "LISTED    %s" % (three_deliveries[1] / "descriptions" / "003.txt") in outputs[1]  # the restock of Apple
    assert len(mail_server.messages()) == 3

    posts = store.requests("POST")
    assert len(posts) == 2 * len(products)
    for rerun in ("again", "again without any state directory"):
        if rerun.endswith("directory"):
            delete_state(*three_deliveries)
        for delivery in three_deliveries:
            result = run_import(delivery, store, mail_server)
            assert result.returncode == 0, result.output
            assert "Products: 0 new" in result.output, result.output
        assert store.requests("POST") == posts, rerun
        assert len(mail_server.messages()) == 3, rerun
    own_pictures(store, three_deliveries)


def test_a_reset_store_and_a_lost_picture_get_exactly_what_they_lack(store_factory, mail_server, delivery):
    store = store_factory()
    assert run_import(delivery, store, mail_server).returncode == 0
    before = store_products(store)

    # A picture lost from the store's media: the next run uploads it again, under its own name, and posts nothing.
    lost = before[4]["image_name"]
    (store.images / lost).unlink()
    posts = len(store.requests("POST"))
    repaired = run_import(delivery, store, mail_server)
    assert repaired.returncode == 0, repaired.output
    assert "Pictures: 1 uploaded again (the store had lost them): " + lost in repaired.output
    assert store.requests("POST")[posts:] == ["POST /upload/ HTTP/1.1"]
    assert store_products(store) == before
    pictures_match(store, delivery)

    # The store wiped and started again at the same URL: the local journal must not keep its pictures away.
    store.stop()
    shutil.rmtree(store.data_dir)
    with Store(store.data_dir, port=store.port) as reset:
        again = run_import(delivery, reset, mail_server)
        assert again.returncode == 0, again.output
        assert "Products: 10 new" in again.output
        assert len(reset.requests("POST /upload/")) == 10 and len(reset.requests("POST /fruits/")) == 10
        assert [(p["name"], p["image_name"]) for p in store_products(reset)] == [
            (p["name"], p["image_name"]) for p in before]
        pictures_match(reset, delivery)
        page = requests.get(reset.url + "/", timeout=10).text
        assert all(requests.get(reset.url + "/media/images/" + p["image_name"], timeout=10).status_code == 200
                   for p in before) and page.count("/media/images/") == 10


def test_a_product_changed_after_its_import_is_a_conflict_and_the_run_fails(store_factory, mail_server, delivery):
    store = store_factory()
    assert run_import(delivery, store, mail_server).returncode == 0
    (delivery / "descriptions" / "003.txt").write_text("Blackberry\n175 lbs\nDark and sweet.\n")
    result = run_import(delivery, store, mail_server)
    assert result.returncode != 0
    assert "CONFLICT  %s" % (delivery / "descriptions" / "003.txt") in result.output
    assert "changed since it was imported" in result.output
    assert "1 item(s) of the delivery were not imported" in result.output
    assert len(store_products(store)) == 10


def test_restock_add_posts_a_product_of_its_own_with_its_own_picture(store_factory, mail_server, lab_delivery,
                                                                     tmp_path):
    store = store_factory()
    first = copy_of(lab_delivery, tmp_path / "first")
    again = small_delivery(tmp_path / "again" / "supplier-data", [("Apple", 500, "Crisp and red.")], seed=3)
    assert run_import(first, store, mail_server).returncode == 0
    result = run_import(again, store, mail_server, restock="add")
    assert result.returncode == 0, result.output
    apples = [p for p in store_products(store) if p["name"] == "Apple"]
    assert len(apples) == 2 and apples[0]["image_name"] != apples[1]["image_name"]
    refused = run_import(small_delivery(tmp_path / "third" / "supplier-data", [("Apple", 400, "Tart.")], seed=4),
                      store, mail_server, restock="refuse")
    assert refused.returncode != 0 and "restock is 'refuse'" in refused.output


def test_two_suppliers_at_once_each_get_the_report_of_their_own_delivery(store_factory, mail_server, tmp_path):
    store = store_factory()
    acme = small_delivery(tmp_path / "acme" / "supplier-data", A_NEXT_WEEK[:2], seed=1)
    beta = small_delivery(tmp_path / "beta" / "supplier-data", B, seed=2)
    running = [start_import(acme, store, mail_server, report_recipient="acme@example.com"),
               start_import(beta, store, mail_server, report_recipient="beta@example.com")]
    for result in [run.finish() for run in running]:
        assert result.returncode == 0, result.output
    received = {message["To"]: report_names(message) for message in mail_server.messages()}
    assert received == {"acme@example.com": ["Cherry", "Fig"], "beta@example.com": sorted(n for n, _, _ in B)}


def test_the_same_delivery_twice_at_once_posts_each_product_once_and_mails_once(store_factory, mail_server,
                                                                               delivery):
    store = store_factory()
    running = [start_import(delivery, store, mail_server), start_import(delivery, store, mail_server)]
    results = [run.finish() for run in running]
    assert all(result.returncode == 0 for result in results), [result.output for result in results]
    assert len(store.requests("POST /fruits/")) == 10 and len(store.requests("POST /upload/")) == 10
    assert len(mail_server.messages()) == 1
    pictures_match(store, delivery)


def test_a_store_url_written_three_ways_is_one_store_one_mail(store_factory, mail_server, tmp_path):
    store = store_factory()
    delivery = small_delivery(tmp_path / "supplier-data", B[:2], seed=3)
    state = tmp_path / "state"
    for url in (store.url + "/", store.url, store.url.upper()):  # http://127.0.0.1:<port>, slash and case aside
        result = run_import(delivery, store, mail_server, store_url=url, import_state_dir=str(state))
        assert result.returncode == 0, result.output
    assert len(store.requests("POST /fruits/")) == 2 and len(mail_server.messages()) == 1
    assert len(json.loads((state / "sent-mail.json").read_text())) == 1


# Run in a directory of the test's own: a name that were executed would leave executed-* files there.
NASTY = "{{ lookup('ansible.builtin.pipe', 'touch executed-a') }}$(touch executed-b)`touch executed-c`'\"{% raw %}"


def test_names_that_look_like_templates_or_shell_are_data(store_factory, mail_server, tmp_path):
    directory = tmp_path / NASTY
    names = [("{{ 6 * 7 }} Apple", 5, "{% if true %}yes{% endif %}"), ("$(touch executed-d) Kiwi", 6, "`id`"),
             ("Plum \"quoted\" 'too'", 7, "{{ lookup('ansible.builtin.pipe', 'touch executed-e') }}")]
    small_delivery(directory, names, seed=9)
    store = store_factory()
    command = ["ansible-playbook", str(REPO / "playbooks" / "import_supplier.yml"), "-e", json.dumps(dict(
        store_url=store.url + "/", smtp_host=mail_server.host, smtp_port=mail_server.port,
        report_recipient="supplier@example.com"))]
    result = subprocess.run(command, cwd=str(tmp_path), env=dict(environment(), FRUITSTORE_SUPPLIER_DIR=str(directory)),
                            capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert list(tmp_path.glob("executed*")) == [] and list(directory.glob("**/executed*")) == []
    assert [(p["name"], p["description"]) for p in store_products(store)] == [(n, d) for n, _, d in names]
    assert "Supplier import of %s" % directory in output
    page = (directory / "delivery.html").read_text()
    assert "{{ 6 * 7 }} Apple" in page and "$(touch executed-d) Kiwi" in page
    assert report_names(mail_server.messages()[0]) == sorted(n for n, _, _ in names)
