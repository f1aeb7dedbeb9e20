"""The documentation a user reads with ansible-doc: it renders, and every example uses only documented options."""

import collections
import json
import re

import pytest
import yaml

from tests.release.conftest import COLLECTIONS, ansible_doc

# Every module of both collections, by its FQCN.
MODULES = sorted("fruitstore.%s.%s" % (name, path.stem) for name, collection in COLLECTIONS.items()
                 for path in (collection / "plugins/modules").glob("*.py"))
ROLES = ["fruitstore.catalog.supplier_import", "fruitstore.catalog.import_schedule", "fruitstore.health.health_monitor",
         "fruitstore.health.fleet_health"]
TASK_KEYWORDS = {"name", "register", "delegate_to", "run_once", "check_mode", "when", "loop", "vars", "no_log", "become"}


@pytest.mark.parametrize("fqcn", MODULES)
def test_module_doc_renders_and_its_examples_use_documented_options(fqcn):
    module = fqcn.rpartition(".")[2]
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


@pytest.mark.parametrize("role", ROLES)
def test_role_argument_specs_render(role):
    text = ansible_doc("-t", "role", role)
    assert "ENTRY POINT: *main*" in text and "Options" in text


SECRET = re.compile(r"password|token|secret|api_key|passphrase")


@pytest.mark.parametrize("role", ["supplier_import", "import_schedule"])
def test_a_role_s_secrets_are_never_logged(role):
    """What sanity's no-log check asks of modules, asked of the import's roles: an option whose name says it is a
    secret is no_log (or says no_log: false)."""
    specs = yaml.safe_load((COLLECTIONS["catalog"] / "roles" / role / "meta" / "argument_specs.yml").read_text())[
        "argument_specs"]
    for entry_point, spec in specs.items():
        secret = {name for name in spec.get("options", {}) if SECRET.search(name)}
        undecided = {name for name in secret if "no_log" not in spec["options"][name]}
        assert not undecided, "%s (%s): secrets without no_log: %s" % (role, entry_point, sorted(undecided))
    if role == "supplier_import":
        options = specs["main"]["options"]
        assert {name for name in options if options[name].get("no_log")} == {
            "store_password", "store_api_token", "smtp_password"}


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_readme_and_changelog_know_every_module_and_the_version_that_added_it(collection):
    path = COLLECTIONS[collection]
    version = yaml.safe_load((path / "galaxy.yml").read_text())["version"]
    modules = [fqcn for fqcn in MODULES if fqcn.startswith("fruitstore.%s." % collection)]
    docs = json.loads(ansible_doc("--json", *modules))
    changelog = yaml.safe_load((path / "changelogs/changelog.yaml").read_text())
    new_in = {plugin["name"]: version for version, release in (changelog["releases"] or {}).items()
              for plugin in release.get("modules", [])}
    readme = (path / "README.md").read_text()
    for fqcn in modules:
        module = fqcn.rpartition(".")[2]
        assert "`%s`" % fqcn in readme, "the collection's README does not list " + fqcn
        version_added = str(docs[fqcn]["doc"]["version_added"])
        if module not in new_in and version_added == version:
            continue  # new in the version being made; the release puts it in the changelog
        assert new_in.get(module) == version_added, \
            "%s: version_added %s, new in %s by changelogs/changelog.yaml" % (module, version_added, new_in.get(module))


# One name, one meaning: an option's name means the same thing in every module that has it, and no module uses it
# as an alias for something else. The names settled in 1.2.0 mean the same wherever they are; an old name kept as an
# alias that is now another option's name, or another module's alias for something else, is one of the renames of
# 1.2.0, deprecated (the unit tests check that Ansible warns) and gone in 2.0.0.
SETTLED = ("images_dir", "image_workers", "upload_workers", "converted_dir")
RENAMED_IN_1_2_0 = {("image_convert", "src"), ("image_convert", "workers"), ("product_upload", "images_dir"),
                    ("product_upload", "workers")}


def first_line(option):
    description = option["description"]
    return description[0] if isinstance(description, list) else description


def test_an_option_name_means_one_thing_in_every_module():
    docs = json.loads(ansible_doc("--json", *MODULES))
    options = {(fqcn.rpartition(".")[2], name): option for fqcn in MODULES
               for name, option in docs[fqcn]["doc"]["options"].items()}
    by_name, by_alias = collections.defaultdict(dict), collections.defaultdict(dict)
    for (module, name), option in options.items():
        by_name[name][module] = option
        for alias in option.get("aliases", []):
            by_alias[alias][module] = name
    for name, where in by_name.items():
        assert len({option["type"] for option in where.values()}) == 1, "%s has several types: %s" % (name, where)
        if name in SETTLED:
            assert len({first_line(option) for option in where.values()}) == 1, \
                "%s means different things: %s" % (name, {module: first_line(o) for module, o in where.items()})
    crossing = {(module, alias) for alias, where in by_alias.items() for module in where
                if alias in by_name or len(set(where.values())) > 1}
    assert crossing <= RENAMED_IN_1_2_0, "aliases that mean something else elsewhere: %s" % (crossing - RENAMED_IN_1_2_0)
    for module, alias in RENAMED_IN_1_2_0:
        option = options[module, by_alias[alias][module]]
        assert "Called C(%s) before 1.2.0" % alias in " ".join(option["description"]) and "2.0.0" in " ".join(
            option["description"]), "%s: the option that was %s does not say that the old name goes" % (module, alias)
    assert "workers" not in by_name and "src" not in by_name


def test_every_dict_a_module_returns_says_what_it_contains():
    docs = json.loads(ansible_doc("--json", *MODULES))
    bare = []

    def look(where, value):
        if "dict" in (value.get("type"), value.get("elements")) and not value.get("contains"):
            bare.append(where)
        for key, inner in (value.get("contains") or {}).items():
            look(where + "." + key, inner)

    for fqcn in MODULES:
        for key, value in (docs[fqcn]["return"] or {}).items():
            look("%s: %s" % (fqcn, key), value)
    assert not bare, "return values of type dict (or lists of them) without contains: %s" % bare
