"""Upgrades keep the store right: a delivery imported by an earlier release, taken from its tag, is run again by this
release over the same state. The real store (gunicorn), a real SMTP server (aiosmtpd), ansible-playbook as a user
runs it."""

import json
import subprocess

import pytest

from tests.conftest import REPO
from tests.integration.deliveries import small_delivery, store_products
from tests.integration.playbook import environment, run_import

# Each release's tag, and the commit it names (a clone without tags still has the commit).
RELEASES = {"v1.1.0": "d0cd9c2"}
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

    after = run_import(delivery, store, mail_server, restock=restock)
    assert after.returncode == 0, after.output
    assert store.requests("POST") == posts and store_products(store) == stored  # nothing posted again
    assert len(mail_server.messages()) == 1  # nor mailed again
    assert "LISTED" not in after.output and "CONFLICT" not in after.output
    assert "3 already in the store" in " ".join(after.output.split()), after.output
