"""The two judges a collection meets before it is published: Galaxy's importer on the built tarball, and the
docs linter of the Ansible documentation site on the collection's sources. Both run offline."""

import re
import subprocess

from tests.integration.playbook import environment
import pytest

from tests.release.conftest import COLLECTIONS, offline

# galaxy_importer/config.py reads these keys from the file named by GALAXY_IMPORTER_CONFIG. No ansible-test (it
# wants a container engine); ansible-lint with --offline (no version check); Ansible's temporary files under tmp.
IMPORTER_CONFIG = """[galaxy-importer]
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
ANSIBLE_LOCAL_TMP = {tmp}
TMP_ROOT_DIR = {tmp}
"""


def known_ignore_file(collection, line):
    """The importer warns about every sanity ignore file. One is allowed when each of its entries says why, after a
    '#' (the health check's shebang, /usr/bin/python3, is the one case: ansible-test knows no such shebang)."""
    found = re.search(r"found (ignore-[0-9.]+\.txt) with", line)
    if not found:
        return False
    entries = (COLLECTIONS[collection] / "tests" / "sanity" / found.group(1)).read_text().splitlines()
    return all(" # " in entry for entry in entries if entry.strip())


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_galaxy_importer_accepts_the_tarball_without_a_warning(tarballs, collection, tmp_path):
    config = tmp_path / "galaxy-importer.cfg"
    config.write_text(IMPORTER_CONFIG.format(tmp=tmp_path))
    env = dict(environment(), GALAXY_IMPORTER_CONFIG=str(config))
    # cwd: the importer writes importer_result.json where it runs.
    result = subprocess.run(offline(["python", "-m", "galaxy_importer.main", str(tarballs[collection])]), cwd=str(tmp_path),
                            env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Importer processing completed successfully" in output, output
    warnings = [line for line in output.splitlines() if "WARNING" in line and not known_ignore_file(collection, line)]
    assert not warnings, output


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_antsibull_docs_lints_the_docs_and_every_collection_reference(collection):
    # --validate-collection-refs=all: references to any collection are checked, and an unknown one is an error.
    result = subprocess.run(offline(["antsibull-docs", "lint-collection-docs", "--plugin-docs",
                                     "--validate-collection-refs=all", "--disallow-unknown-collection-refs", "."]),
                            cwd=str(COLLECTIONS[collection]), env=environment(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
