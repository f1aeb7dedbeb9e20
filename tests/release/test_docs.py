"""The documentation a user reads with ansible-doc: it renders, and every example uses only documented options."""

import json
import subprocess

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.playbook import environment

COLLECTION = REPO / "collections/ansible_collections/fruitstore/catalog"
GALAXY = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
MODULES = sorted(path.stem for path in (COLLECTION / "plugins/modules").glob("*.py"))
TASK_KEYWORDS = {"name", "register", "delegate_to", "check_mode", "when", "loop", "vars", "no_log", "become",
                 "run_once"}


def ansible_doc(*args):
    return subprocess.run(["ansible-doc"] + list(args), cwd=str(REPO), env=environment(), capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.parametrize("module", MODULES)
def test_module_doc_renders_and_its_examples_use_documented_options(module):
    fqcn = "fruitstore.catalog." + module
    assert "EXAMPLES" in ansible_doc(fqcn)
    doc = json.loads(ansible_doc("--json", fqcn))[fqcn]
    options = doc["doc"]["options"]
    known = set(options) | {alias for option in options.values() for alias in option.get("aliases", [])}
    tasks = yaml.safe_load(doc["examples"])
    assert tasks, "no examples"
    for task in tasks:
        assert task.get("name"), task
        modules = [key for key in task if key not in TASK_KEYWORDS]
        assert modules == [fqcn], "examples of %s use the module by its FQCN: %s" % (module, modules)
        unknown = set(task[fqcn]) - known
        assert not unknown, "%s example %r uses undocumented options %s" % (module, task["name"], unknown)
        missing = {name for name, option in options.items() if option.get("required")} - set(task[fqcn])
        assert not missing, "%s example %r lacks required options %s" % (module, task["name"], missing)


@pytest.mark.parametrize("role", ["supplier_import", "health_monitor", "fleet_health"])
def test_role_argument_specs_render(role):
    text = ansible_doc("-t", "role", "-r", str(REPO / "roles"), role)
    assert "ENTRY POINT: *main*" in text and "Options" in text


def test_readme_and_changelog_know_every_module_and_the_version_that_added_it():
    docs = json.loads(ansible_doc("--json", *("fruitstore.catalog." + module for module in MODULES)))
    changelog = yaml.safe_load((COLLECTION / "changelogs/changelog.yaml").read_text())
    new_in = {plugin["name"]: version for version, release in changelog["releases"].items()
              for plugin in release.get("modules", [])}
    readme = (COLLECTION / "README.md").read_text()
    for module in MODULES:
        assert "`fruitstore.catalog.%s`" % module in readme, "the collection's README does not list " + module
        version_added = str(docs["fruitstore.catalog." + module]["doc"]["version_added"])
        if module not in new_in and version_added == GALAXY["version"]:
            continue  # new in the version being made; the release puts it in the changelog
        assert new_in.get(module) == version_added, \
            "%s: version_added %s, new in %s by changelogs/changelog.yaml" % (module, version_added, new_in.get(module))
