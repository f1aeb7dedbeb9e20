"""The health_monitor role is self-contained and its derived files come from their one source: the mail library is
a real copy of the collection's _smtp.py, and the settings' docs, defaults and config template are written from the
script's SETTINGS (tools/health_monitor_files.py, `make role-files`)."""

import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tools import health_monitor_files as derived

ROLES = REPO / "collections/ansible_collections/fruitstore/health/roles"


def test_every_derived_file_is_up_to_date():
    found = derived.stale()
    assert not found, "".join(diff for _path, diff in found) + "run `make role-files`"


def test_no_role_links_out_of_its_tree():
    links = [str(path.relative_to(REPO)) for path in ROLES.rglob("*") if path.is_symlink()]
    assert links == []


def test_the_role_copied_alone_runs_its_script_with_its_own_mail_library(tmp_path):
    role = tmp_path / "health_monitor"
    shutil.copytree(ROLES / "health_monitor", role, symlinks=True)
    config = tmp_path / "health_check.ini"
    config.write_text("[health_check]\nrecipient = ops@example.com\nlib_dir = %s\n" % (role / "files"))
    done = subprocess.run([sys.executable, str(role / "files/health_check.py"), "--config", str(config),
                           "--check-config"], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "health_check: the settings are usable\n"), done


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The tool pointed at a copy of the role and of the collection's library."""
    role = tmp_path / "health_monitor"
    shutil.copytree(ROLES / "health_monitor", role)
    library = tmp_path / "_smtp.py"
    shutil.copy(derived.LIBRARY, library)
    monkeypatch.setattr(derived, "ROLE", role)
    monkeypatch.setattr(derived, "LIBRARY", library)
    monkeypatch.setattr(derived, "REPO", tmp_path)
    return role, library


def names(found):
    return sorted(str(path.relative_to(derived.ROLE)) for path, _diff in found)


def test_a_changed_library_or_a_link_in_its_place_is_found_and_written_again(scratch):
    role, library = scratch
    assert derived.stale() == []
    library.write_text(library.read_text() + "# changed\n")
    assert names(derived.stale()) == ["files/fruitstore_smtp.py"]
    copy = role / "files/fruitstore_smtp.py"
    copy.unlink()
    copy.symlink_to(library)
    assert names(derived.stale()) == ["files/fruitstore_smtp.py"]
    assert derived.main([]) == 0
    assert derived.stale() == [] and not copy.is_symlink() and copy.read_text() == library.read_text()


def test_a_new_setting_reaches_the_specs_defaults_template_and_readme(scratch, monkeypatch):
    hc = derived.load_script()
    settings = dict(hc.SETTINGS, load_percent_max=(hc.Number(1, 1000, "percent"), 300.0, "alert above this load"))
    monkeypatch.setattr(hc, "SETTINGS", settings)
    monkeypatch.setattr(derived, "load_script", lambda: hc)
    assert names(derived.stale()) == ["README.md", "defaults/main.yml", "meta/argument_specs.yml",
                                      "templates/health_check.ini.j2"]
    derived.main([])
    role, _library = scratch
    assert "health_monitor_load_percent_max: 300\n" in (role / "defaults/main.yml").read_text()
    assert "load_percent_max = {{ health_monitor_load_percent_max }}\n" in (
        role / "templates/health_check.ini.j2").read_text()
    assert "a number from 1 to 1000 (percent)" in (role / "meta/argument_specs.yml").read_text()
