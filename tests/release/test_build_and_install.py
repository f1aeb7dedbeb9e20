"""The collection as released: built with ansible-galaxy, installed offline into an empty collections path,
and the import playbook run from that install."""

import os
import tarfile

import yaml

from tests.integration.playbook import environment, run_import
from tests.release.conftest import COLLECTION, galaxy


def test_build_install_offline_and_import_from_the_install(collection_tarball, tmp_path, delivery, store_factory,
                                                           mail_server):
    version = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())["version"]
    tarball = collection_tarball
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "plugins/modules/product_upload.py" in names and "CHANGELOG.rst" in names
    # The licence, and what an execution environment is built from (tests/release/test_execution_environment.py).
    assert {"COPYING", "meta/execution-environment.yml", "requirements.txt", "bindep.txt"} <= set(names)
    assert not [name for name in names if "tests/output" in name or "__pycache__" in name]

    installed = tmp_path / "collections"
    # Only the empty path is configured, so the repository's copy is invisible from here on.
    env = dict(environment(), ANSIBLE_COLLECTIONS_PATH=str(installed))
    galaxy("install", "--offline", "-p", str(installed), str(tarball), env=env)
    listing = galaxy("list", "fruitstore.catalog", env=env)
    assert str(installed) in listing and version in listing

    original = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(installed)
    try:
        result = run_import(delivery, store_factory(), mail_server, "-v")
    finally:
        if original is None:
            del os.environ["ANSIBLE_COLLECTIONS_PATH"]
        else:
            os.environ["ANSIBLE_COLLECTIONS_PATH"] = original
    assert result.returncode == 0, result.output
    assert "Products: 10 new" in result.output
    assert len(mail_server.messages()) == 1
