"""The collection as released: one tarball built per test session, and the judges' offline runs."""

import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.playbook import environment

# The two collections, each released on its own: the import, and the web servers' health.
COLLECTIONS = {name: REPO / "collections" / "ansible_collections" / "fruitstore" / name for name in ("catalog", "health")}
COLLECTION = COLLECTIONS["catalog"]


def galaxy(*args, env=None):
    return subprocess.run(["ansible-galaxy", "collection"] + list(args), cwd=str(REPO), env=env or environment(),
                          capture_output=True, text=True, check=True).stdout


def ansible_doc(*args):
    """What ansible-doc prints for the repository's collections."""
    return subprocess.run(["ansible-doc"] + list(args), cwd=str(REPO), env=environment(), capture_output=True,
                          text=True, check=True).stdout


def offline(command):
    """command, run without a network where this machine allows it (root: a network namespace of its own with no
    interface but loopback), so that a judge that tried to reach the network would fail here, not pass by luck."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        return ["unshare", "--net", "--"] + list(command)
    return list(command)


@pytest.fixture(scope="session")
def tarballs(tmp_path_factory):
    """{name: fruitstore-<name>-<galaxy.yml's version>.tar.gz} of both collections, built by ansible-galaxy as a user
    would."""
    out = tmp_path_factory.mktemp("build")
    built = {}
    for name, path in COLLECTIONS.items():
        version = yaml.safe_load((path / "galaxy.yml").read_text())["version"]
        galaxy("build", str(path), "--output-path", str(out))
        built[name] = out / ("fruitstore-%s-%s.tar.gz" % (name, version))
        assert built[name].is_file()
    return built


@pytest.fixture(scope="session")
def collection_tarball(tarballs):
    """The tarball of fruitstore.catalog."""
    return tarballs["catalog"]
