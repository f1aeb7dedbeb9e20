"""The collections as released: both built with ansible-galaxy, installed offline into an empty directory, and the
import run from that install, from a directory that holds nothing of the repository and no ansible.cfg of ours.
(tests/lab/installed deploys the health role from the same kind of install to a lab host, and runs the fleet view.)"""

import json
import os
import subprocess
import tarfile

import yaml

from tests.integration.playbook import PlaybookRun, environment, import_command
from tests.release.conftest import COLLECTIONS, galaxy

SHIPPED = {
    "catalog": {"plugins/modules/product_upload.py", "roles/supplier_import/meta/argument_specs.yml",
                "roles/import_schedule/tasks/main.yml", "playbooks/import_supplier.yml", "playbooks/import_schedule.yml",
                "playbooks/vars/import.yml"},
    "health": {"plugins/modules/fleet_health_report.py", "roles/health_monitor/files/health_check.py",
               "roles/health_monitor/files/fruitstore_smtp.py", "roles/fleet_health/tasks/main.yml",
               "playbooks/deploy.yml", "playbooks/fleet.yml"},
}


def installed_only(installed):
    """An environment in which Ansible sees the installed collections and nothing of the repository."""
    env = {key: value for key, value in environment().items() if not key.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_NOCOLOR="1")
    return env


def test_each_tarball_holds_its_plugins_roles_playbooks_licence_and_what_an_ee_needs(tarballs):
    for name, tarball in tarballs.items():
        with tarfile.open(tarball) as archive:
            names = set(archive.getnames())
        assert SHIPPED[name] <= names, (name, SHIPPED[name] - names)
        assert {"COPYING", "CHANGELOG.rst", "README.md", "meta/runtime.yml", "meta/execution-environment.yml",
                "requirements.txt", "bindep.txt"} <= names, name
        assert not [entry for entry in names if "tests/output" in entry or "__pycache__" in entry or "molecule" in entry]


def test_install_offline_and_import_from_the_install_alone(tarballs, tmp_path, delivery, store_factory, mail_server):
    installed = tmp_path / "collections"
    env = installed_only(installed)
    for tarball in tarballs.values():
        galaxy("install", "--offline", "-p", str(installed), str(tarball), env=env)
    for name, path in COLLECTIONS.items():
        version = yaml.safe_load((path / "galaxy.yml").read_text())["version"]
        listing = galaxy("list", "fruitstore." + name, env=env)
        assert str(installed) in listing and version in listing, listing

    elsewhere = tmp_path / "elsewhere"  # no ansible.cfg, no inventory, nothing of the repository
    elsewhere.mkdir()
    command = import_command(delivery, store_factory(), mail_server, "-v")
    command[1] = "fruitstore.catalog.import_supplier"
    done = subprocess.run(command, cwd=str(elsewhere), env=env, capture_output=True, text=True, timeout=600)
    result = PlaybookRun(done.returncode, done.stdout + done.stderr)
    assert result.returncode == 0, result.output
    assert "Products: 10 new" in result.output
    assert len(mail_server.messages()) == 1

    documented = subprocess.run(["ansible-doc", "-t", "role", "--json", "fruitstore.health.health_monitor"],
                                cwd=str(elsewhere), env=env, capture_output=True, text=True, check=True).stdout
    assert "health_monitor_recipient" in json.dumps(json.loads(documented))
    assert not os.path.exists(elsewhere / "ansible.cfg")
