"""The README's commands work as written.

Every command of the README's ```sh blocks runs here, in the README's order, as one user in one shell would run them:
on a copy of the project (its files, and its .venv), with a home directory of its own, after `make demo`, with the
`-e` settings `make demo` prints at its end added where a command needs a store or a relay (the embedded store and
mail server the demo started in the copy, on free ports). A command that cannot run here is listed in NOT_HERE with
the reason. A command added to the README, or changed there, fails this test until it is classified below.
"""

import json
import os
import re
import shutil
import subprocess
import urllib.request
import uuid
from dataclasses import dataclass

import pytest

from tests.conftest import REPO
from tests.integration.cron import cron_entry, remove_cron_entry
from tests.integration.deliveries import age, small_delivery
from tools import services

README = REPO / "README.md"
ACTIVATE = ". .venv/bin/activate"
AIMED = re.compile(r"^\s*(-e store_url=\S+ -e smtp_host=\S+ -e smtp_port=\d+)\s*$")
# A run with nothing left to do on the demo's delivery (the lab's ten products, in the store since make demo).
NOTHING_NEW = re.compile(r"Products: 0 new( \(would be posted\))?, 10 already in the store")
# A Python warning as the warnings module prints it ("CryptographyDeprecationWarning: DSA is deprecated ...").
LIBRARY_WARNING = re.compile(r"^\S*:\d+: (\w*Warning): ", re.MULTILINE)
# What the suppliers of the README's example inventory have delivered into their inboxes.
SUPPLIERS = {"acme": [("Cherry", 80, "Dark red and sweet."), ("Fig", 60, "Soft and honeyed.")],
             "beta": [("Banana", 300, "Yellow and ripe."), ("Lime", 90, "Small and sour.")]}


def said(done):
    """What a command printed, stdout and stderr."""
    return done.stdout + done.stderr


def readme_commands():
    """The commands of the README's ```sh blocks, in order, without their comments."""
    commands, fence = [], None
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            continue
        if fence == "sh":
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


@dataclass
class Run:
    """A command that runs here. aimed: the demo's -e settings are added (it talks to the store or the relay);
    before/check: names of Project methods that prepare it and look at what it did; status: the exit status it
    must end with."""
    aimed: bool = False
    before: str = ""
    check: str = ""
    extra: str = ""
    status: int = 0
    timeout: int = 600


RUN = {
    "make demo": Run(check="check_demo"),
    ACTIVATE: Run(),
    "ansible-playbook playbooks/import_supplier.yml -e supplier_dir=~/supplier-data -e store_url=http://localhost/":
        Run(aimed=True, check="check_nothing_new"),
    "FRUITSTORE_SUPPLIER_DIR=~/supplier-data ansible-playbook playbooks/import_supplier.yml -e store_url=http://localhost/":
        Run(aimed=True, check="check_nothing_new"),
    "ansible-playbook playbooks/import_supplier.yml --check --diff -e supplier_dir=~/supplier-data":
        Run(aimed=True, check="check_preview"),
    # The inventory is the README's example above these three (acme and beta, /srv/inbox/... made to exist under the
    # home directory), each supplier with a delivery in its inbox.
    "ansible-playbook playbooks/import_supplier.yml":
        Run(aimed=True, before="install_readme_inventory", check="check_every_supplier"),
    "ansible-playbook playbooks/import_supplier.yml --limit acme": Run(aimed=True, check="check_acme_only"),
    "ansible-playbook playbooks/import_supplier.yml -e supplier_dir=~/supplier-data":
        Run(aimed=True, check="check_nothing_new"),
    # The machine is shared: the schedule gets a cron entry, a wrapper, a lock and a log of its own (paths in the home
    # directory), written paused so that the machine's cron never runs the copy's import.
    "ansible-playbook playbooks/import_schedule.yml": Run(extra="schedule_settings", check="check_scheduled"),
    "ansible-playbook playbooks/import_schedule.yml -e import_schedule_state=absent":
        Run(extra="schedule_settings", check="check_unscheduled"),
    "rm -rf build && ansible-galaxy collection build --output-path build collections/ansible_collections/fruitstore/catalog":
        Run(),
    "ansible-galaxy collection build --output-path build collections/ansible_collections/fruitstore/health":
        Run(check="check_built"),
    "ANSIBLE_COLLECTIONS_PATH=~/.ansible/collections ansible-galaxy collection install --offline "
    "build/fruitstore-*.tar.gz": Run(check="check_installed"),
    "python3 -m pip install -r ~/.ansible/collections/ansible_collections/fruitstore/catalog/requirements.txt":
        Run(check="check_nothing_to_install"),
    "make bench BENCH_ARGS=--quick": Run(check="check_quick_bench", timeout=1200),
    # The inventory as the README leaves it has no web server: the health playbooks stop and say how to add them
    # (scripts/test-health runs them on the lab's hosts: Molecule scenario fleet, tests/lab/installed).
    "ansible-playbook playbooks/health_monitoring.yml -e health_monitor_recipient=ops@example.com":
        Run(status=2, check="check_no_web_servers"),
    "ansible-playbook playbooks/health_monitoring.yml -e health_monitor_state=absent":
        Run(status=2, check="check_no_web_servers"),
    "ansible-playbook playbooks/fleet_health.yml": Run(status=2, check="check_no_web_servers"),
}

NOT_HERE = {
    "make test": "it is the test suite this test is part of; run from here it would run itself again",
    "make bench": "15-30 minutes and about 9 GB of images; make bench BENCH_ARGS=--quick runs every section of the "
                  "same benchmark here, on 10 products",
    "make bench BENCH_ONLY=import": "the import's whole benchmark, 15-25 minutes; the quick run covers its sections",
    "make bench BENCH_ONLY=fleet": "six minutes of fresh lab hosts; the quick run rolls out to 2 lab hosts once",
    ".venv/bin/python benchmarks/bench_import.py --sections conversion --compressions tiff_lzw --sizes 200":
        "a pool of 200 LZW 3000x2000 TIFFs (3.6 GB) and minutes of conversion, both sides; the quick run converts "
        "LZW TIFFs with the same code on 10",
    ".venv/bin/python benchmarks/bench_import.py --update --sections conversion --compressions none --sizes 2000":
        "2,000 uncompressed 3000x2000 TIFFs and a conversion of minutes, both sides, and it rewrites "
        "benchmarks/results/latest.json; the quick run converts uncompressed TIFFs with the same code on 10",
}


class Project:
    """A copy of the project in which the README's commands run, as one user's shell would run them."""

    def __init__(self, root):
        self.path = root / "project"
        self.home = root / "home"
        self.home.mkdir()
        self.aim = None  # the -e settings make demo printed
        self.cron_name = "fruitstore supplier import README test %s" % uuid.uuid4().hex
        tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                 cwd=str(REPO), capture_output=True, check=True).stdout.decode().split("\0")
        for name in filter(None, tracked):
            source, target = REPO / name, self.path / name
            if not os.path.lexists(source):
                continue  # deleted in the working tree
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                os.symlink(os.readlink(source), target)
            else:
                shutil.copy2(source, target)
        os.symlink(REPO / ".venv", self.path / ".venv")
        venv_bin = str(REPO / ".venv" / "bin")
        # A user's shell: not the one of make test (make's MAKELEVEL would have make demo name its directories).
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("ANSIBLE_", "FRUITSTORE_", "PYTEST_", "MAKE")) and key not in (
                        "MFLAGS", "VIRTUAL_ENV", "STORE_URL", "SMTP_HOST", "SMTP_PORT", "SUPPLIER_DIR", "REPORT_PATH")}
        self.env.update(HOME=str(self.home), DEMO_STORE_PORT=str(services.free_port()),
                        DEMO_SMTP_PORT=str(services.free_port()),
                        PATH=os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin))

    def run(self, command, plan):
        commands = readme_commands()  # a command after the README's ACTIVATE runs in the shell it activated
        activated = ACTIVATE in commands and commands.index(command) > commands.index(ACTIVATE)
        line = command
        if plan.aimed:
            assert self.aim, "make demo did not say how to aim a command at its store and relay"
            line += " " + self.aim
        if plan.extra:
            line += " " + getattr(self, plan.extra)()
        if activated:
            line = ACTIVATE + " && " + line
        self.before = (len(self.store_products()), len(self.mails())) if self.aim else None
        return subprocess.run(["bash", "-c", line], cwd=str(self.path), env=self.env, capture_output=True,
                              text=True, timeout=plan.timeout)

    def stop(self):
        subprocess.run(["make", "stop"], cwd=str(self.path), env=self.env, capture_output=True, timeout=120)
        remove_cron_entry(self.cron_name)

    def store_products(self):
        url = re.search(r"store_url=(\S+)", self.aim).group(1)
        with urllib.request.urlopen(url + "fruits/", timeout=10) as answer:
            return json.load(answer)

    def mails(self):
        return services.MailServer(self.path / "var" / "demo" / "mail", port=1).messages()

    # What prepares a command.
    def install_readme_inventory(self):
        """inventory/hosts.yml as the README shows it, its inboxes under the home directory, a delivery in each."""
        text = README.read_text()
        example = re.search(r"```yaml\n(# inventory/hosts.yml .*?)```", text, re.DOTALL).group(1)
        inboxes = str(self.home / "inbox")
        (self.path / "inventory" / "hosts.yml").write_text(example.replace("/srv/inbox", inboxes))
        for seed, (supplier, products) in enumerate(SUPPLIERS.items()):
            delivery = small_delivery(self.home / "inbox" / supplier / "week-48", products, seed)
            age(delivery, 3600)  # uploaded an hour ago: settled
        (self.home / "inbox" / "beta" / "week-48" / "READY").write_text("")

    def schedule_settings(self):
        (self.home / "bin").mkdir(exist_ok=True)  # as /usr/local/bin is there
        return "-e '%s'" % json.dumps(dict(
            import_schedule_cron_name=self.cron_name, import_schedule_enabled=False,
            import_schedule_wrapper_path=str(self.home / "bin" / "fruitstore-import"),
            import_schedule_lock_path=str(self.home / "fruitstore-import.lock"),
            import_schedule_log_path=str(self.home / "log" / "import.log")))

    # What each command must have done, besides ending with status 0. Each reads the command's stdout and stderr
    # together, except where it reads a line at a given place: then stdout alone, where no library writes.
    def check_demo(self, done):
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        aimed = AIMED.match(lines[-1])
        assert aimed, "make demo does not end with the -e settings of its store and relay:\n" + "\n".join(lines[-5:])
        warnings = LIBRARY_WARNING.findall(done.stderr)
        assert not warnings, "make demo shows a library's warnings: %s" % warnings
        self.aim = aimed.group(1)
        assert "smtp_port=%s" % self.env["DEMO_SMTP_PORT"] in self.aim
        assert len(self.store_products()) == 10
        assert [message["Subject"] for message in self.mails()] == ["Upload Completed - Online Fruit Store"]
        assert (self.home / "supplier-data" / "processed.pdf").is_file()

    def check_nothing_new(self, done):
        output = said(done)
        assert NOTHING_NEW.search(output) and (len(self.store_products()), len(self.mails())) == self.before

    def check_preview(self, done):
        output = said(done)
        assert "check mode: nothing was changed" in output and NOTHING_NEW.search(output)
        assert (self.home / "supplier-data" / "delivery.html").is_file()

    def check_every_supplier(self, done):
        output = said(done)
        assert len(self.store_products()) == 14, output
        for supplier in ("acme", "beta"):
            assert (self.home / "inbox" / (supplier + "-archive") / "week-48" / "processed.pdf").is_file(), output
        # The demo's report, and one to each supplier; nothing needed a person, so no alert.
        assert sorted(message["To"] for message in self.mails()[1:]) == ["orders@acme.example", "shipping@beta.example"]

    def check_acme_only(self, done):
        output = said(done)
        recap = output[output.index("PLAY RECAP"):]
        assert re.search(r"^acme\s+:", recap, re.MULTILINE) and "beta" not in recap, recap

    def check_scheduled(self, done):
        assert cron_entry(self.cron_name).startswith("#"), "the paused entry is missing"
        assert os.access(self.home / "bin" / "fruitstore-import", os.X_OK)

    def check_unscheduled(self, done):
        assert cron_entry(self.cron_name) is None and not (self.home / "bin" / "fruitstore-import").exists()

    def check_built(self, done):
        output = said(done)
        assert sorted(path.name.split("-")[1] for path in (self.path / "build").glob("fruitstore-*.tar.gz")) == [
            "catalog", "health"], output

    def check_installed(self, done):
        output = said(done)
        installed = self.home / ".ansible/collections/ansible_collections/fruitstore"
        assert (installed / "catalog/MANIFEST.json").is_file() and (installed / "catalog/requirements.txt").is_file()
        assert (installed / "health/roles/health_monitor/files/health_check.py").is_file(), output

    def check_nothing_to_install(self, done):
        output = said(done)
        assert "Requirement already satisfied: Pillow" in output and "Successfully installed" not in output, output

    def check_no_web_servers(self, done):
        output = said(done)
        assert "The inventory's webservers group has no host" in output and "Add your web servers" in output, output

    def check_quick_bench(self, done):
        output = said(done)
        results = json.loads((self.path / "var" / "bench" / "quick.json").read_text())
        assert results["quick"] and "| delivery |" in output, output[-3000:]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    copy = Project(tmp_path_factory.mktemp("readme"))
    yield copy
    copy.stop()


def test_every_command_of_the_readme_is_run_here_or_said_why_not():
    commands = readme_commands()
    assert len(commands) == len(set(commands)), "a command is in the README twice; this test tells them apart by text"
    unknown = [command for command in commands if command not in RUN and command not in NOT_HERE]
    assert not unknown, "README commands this test neither runs nor lists in NOT_HERE: %s" % unknown
    gone = (set(RUN) | set(NOT_HERE)) - set(commands)
    assert not gone, "commands this test knows that the README no longer has: %s" % sorted(gone)
    assert not set(RUN) & set(NOT_HERE)


@pytest.mark.parametrize("command", [command for command in readme_commands() if command in RUN], ids=str)
def test_the_readme_command_works_as_written(project, command):
    plan = RUN[command]
    if plan.before:
        getattr(project, plan.before)()
    done = project.run(command, plan)
    output = said(done)
    assert done.returncode == plan.status, "%s\nended with %d:\n%s" % (command, done.returncode, output[-6000:])
    if plan.check:
        try:
            getattr(project, plan.check)(done)
        except AssertionError as e:
            raise AssertionError("%s\n%s\nsaid:\n%s" % (e, command, output[-6000:])) from None
