"""Running the import playbook as a user would, and reading its play recap."""

import json
import os
import re
import subprocess
import sys

from tests.conftest import REPO

RECAP = re.compile(r"^localhost\s+:\s+(.*)$", re.MULTILINE)


class PlaybookRun:
    def __init__(self, returncode, output):
        self.returncode = returncode
        self.output = output
        match = RECAP.search(output)
        self.recap = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))} if match else {}


class RunningPlaybook:
    def __init__(self, process):
        self.process = process

    def finish(self, timeout=600):
        output, _ = self.process.communicate(timeout=timeout)
        return PlaybookRun(self.process.returncode, output)


def environment():
    bin_dir = os.path.dirname(sys.executable)
    return dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")


def import_command(delivery, store, mail, *options, **variables):
    settings = dict(supplier_dir=str(delivery), store_url=store.url + "/", smtp_host=mail.host, smtp_port=mail.port,
                    report_recipient="supplier@example.com")
    settings.update(variables)
    return ["ansible-playbook", str(REPO / "playbooks" / "import_supplier.yml"), "-e", json.dumps(settings)] + list(options)


def start_import(delivery, store, mail, *options, **variables):
    # A session of its own, so that a test can kill the playbook with all its module processes.
    process = subprocess.Popen(import_command(delivery, store, mail, *options, **variables), cwd=str(REPO),
                               env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    return RunningPlaybook(process)


def run_import(delivery, store, mail, *options, **variables):
    return start_import(delivery, store, mail, *options, **variables).finish()
