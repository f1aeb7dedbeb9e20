"""The hashed locks: every package installed is the one a lock names, and every lock follows what a person chose."""

import re
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

# Each lock and the file it is made from (scripts/lock, `make lock`).
LOCKS = {"requirements.txt": "requirements.in",
         "requirements/ansible-core-2.20.txt": "requirements/ansible-core-2.20.in",
         "requirements/ansible-core-2.21.txt": "requirements/ansible-core-2.21.in"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$")


def pins(lock):
    """{canonical name: version} of a lock; every pin must carry at least one hash."""
    lines = (REPO / lock).read_text().splitlines()
    found = {}
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if match:
            assert lines[number + 1].strip().startswith("--hash=sha256:"), "%s: %s has no hash" % (lock, line)
            found[canonicalize_name(match.group(1))] = match.group(2)
    assert found, "%s pins nothing" % lock
    return found


def chosen(source):
    """The requirements of an .in file and of the files it includes with -r."""
    path = REPO / source
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            yield from chosen((path.parent / line[3:].strip()).relative_to(REPO))
        elif line:
            yield Requirement(line)


def test_the_bootstrapped_venv_holds_exactly_the_lock():
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                            check=True).stdout
    installed = {canonicalize_name(name): version for name, version in
                 (line.split("==") for line in frozen.splitlines() if "==" in line)}
    assert installed == pins("requirements.txt")


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_a_lock_holds_every_package_chosen_at_a_version_allowed(lock):
    locked = pins(lock)
    for requirement in chosen(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in locked, "%s does not lock %s, which %s asks for: run make lock" % (lock, name, LOCKS[lock])
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            "%s locks %s %s, but %s asks for %s: run make lock" % (lock, name, locked[name], LOCKS[lock], requirement))

