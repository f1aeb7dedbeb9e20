"""An execution environment with each collection: the build context that ansible-builder writes, offline, installs
every Python library and system package the collection's modules need, and nothing else.

Building the image needs a container engine and a registry; this machine has neither. What the build would do with
the collection is done here instead: install the tarball, then run the context's own introspection script on it, the
step of the Containerfile that writes the requirements the image installs."""

import ast
import importlib.metadata
import shutil
import subprocess
import sys

import yaml
from ansible.release import __version__ as ansible_core_version
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.integration.playbook import environment
import pytest

from tests.release.conftest import COLLECTIONS, galaxy, offline

SYSTEM_PACKAGES = {
    # report_mail verifies the relay's certificate against the system's CA store (ssl.create_default_context).
    # report_pdf and the import's report embed DejaVu Sans and Droid Sans Fallback (module_utils/_report.py
    # FONT_FILES).
    "catalog": {"ca-certificates", "fonts-dejavu-core", "fonts-droid-fallback"},
    # fleet_health_report writes two files with the standard library.
    "health": set(),
}


def python_libraries_the_modules_import(collection):
    """The distributions of every module the collection's plugins import, less the standard library and Ansible."""
    names = set()
    for path in (COLLECTIONS[collection] / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    third_party = names - set(sys.stdlib_module_names) - {"ansible", "ansible_collections"}
    distributions = importlib.metadata.packages_distributions()
    missing = {name for name in third_party if name not in distributions}
    assert not missing, "imported by the plugins but not installed here: %s" % missing
    return {canonicalize_name(distributions[name][0]) for name in third_party}


def written_text(path):
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_ansible_builder_context_installs_what_the_modules_need_and_nothing_else(tarballs, collection, tmp_path):
    collection_tarball = tarballs[collection]
    shutil.copy(collection_tarball, tmp_path)
    definition = {
        "version": 3,
        "images": {"base_image": {"name": "registry.fedoraproject.org/fedora:41"}},
        "dependencies": {
            "python_interpreter": {"package_system": "python3", "python_path": "/usr/bin/python3"},
            "ansible_core": {"package_pip": "ansible-core==" + ansible_core_version},
            "ansible_runner": {"package_pip": "ansible-runner"},
            "galaxy": {"collections": [{"name": "/build/collections/" + collection_tarball.name, "type": "file"}]},
        },
        # The built tarball goes into the context, and from there into the image.
        "additional_build_files": [{"src": collection_tarball.name, "dest": "collections"}],
        "additional_build_steps": {"prepend_galaxy": ["COPY _build/collections/ /build/collections/"]},
    }
    (tmp_path / "execution-environment.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
    context = tmp_path / "context"
    subprocess.run(offline(["ansible-builder", "create", "-f", "execution-environment.yml", "-c", str(context),
                            "--output-filename", "Containerfile"]),
                   cwd=str(tmp_path), env=environment(), check=True, capture_output=True, text=True, timeout=300)

    containerfile = (context / "Containerfile").read_text()
    build = context / "_build"
    assert (build / "collections" / collection_tarball.name).read_bytes() == collection_tarball.read_bytes()
    assert yaml.safe_load((build / "requirements.yml").read_text()) == definition["dependencies"]["galaxy"]
    steps = ["COPY _build/collections/ /build/collections/",
             "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml",
             "/output/scripts/introspect.py introspect --write-bindep=/tmp/src/bindep.txt "
             "--write-pip=/tmp/src/requirements.txt",
             "RUN /output/scripts/assemble",
             "RUN /output/scripts/install-from-bindep"]
    positions = [containerfile.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), containerfile
    # Nothing else: no requirements of the definition's own beside the collection's, and only Ansible itself.
    assert not (build / "requirements.txt").exists() and not (build / "bindep.txt").exists()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==%s ansible-runner"' % ansible_core_version in containerfile

    # The galaxy stage: the tarball installed. The builder stage: the context's introspection writes the
    # requirements that assemble and install-from-bindep install.
    collections = tmp_path / "usr/share/ansible/collections"
    galaxy("install", "--offline", "-p", str(collections), str(build / "collections" / collection_tarball.name),
           env=dict(environment(), ANSIBLE_COLLECTIONS_PATH=str(collections)))
    written = tmp_path / "src"
    subprocess.run(offline([sys.executable, str(build / "scripts/introspect.py"), "introspect",
                            "--write-bindep=%s/bindep.txt" % written, "--write-pip=%s/requirements.txt" % written,
                            str(collections)]),
                   env=environment(), check=True, capture_output=True, text=True, timeout=300)

    # A collection that needs nothing gets no file.
    python = [Requirement(line.split("#")[0]) for line in written_text(written / "requirements.txt").splitlines()
              if line.split("#")[0].strip()]
    assert {canonicalize_name(requirement.name) for requirement in python} == python_libraries_the_modules_import(collection)
    for requirement in python:  # the minimum versions admit those the tests here run with
        assert requirement.specifier.contains(importlib.metadata.version(requirement.name)), requirement

    bindep = written_text(written / "bindep.txt")
    entries = [line.split("#")[0].strip() for line in bindep.splitlines() if line.split("#")[0].strip()]
    assert all("platform:dpkg" in line or "platform:rpm" in line for line in entries), bindep
    assert len([line for line in entries if "platform:rpm" in line]) == len(SYSTEM_PACKAGES[collection]), "rpm names"
    # What bindep installs on this (dpkg) platform.
    if not entries:
        assert not SYSTEM_PACKAGES[collection]
        return
    listed = subprocess.run(["bindep", "-f", str(written / "bindep.txt"), "-l", "newline"], env=environment(),
                            capture_output=True, text=True, timeout=60)
    assert set(listed.stdout.split()) == SYSTEM_PACKAGES[collection], listed.stdout + listed.stderr
