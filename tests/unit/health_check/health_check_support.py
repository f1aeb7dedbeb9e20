"""The health_check script, loaded from the role's files (where the one copy of the check logic lives), and
stand-ins for psutil, the relay and the clock, for the script's unit tests."""

import importlib.util
import json
import pathlib
from types import SimpleNamespace

ROLE_FILES = (pathlib.Path(__file__).resolve().parents[3] / "collections/ansible_collections/fruitstore/health/roles"
              / "health_monitor" / "files")


def load_script():
    spec = importlib.util.spec_from_file_location("health_check", ROLE_FILES / "health_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeProbe:
    """psutil's figures and the resolver's answer, as a test sets them."""

    def __init__(self, cpu=10.0, disks=None, memory_mb=4096, localhost="127.0.0.1"):
        self.cpu = cpu
        self.disks = disks or {"/": (1000, 500)}  # mount: (total, free)
        self.memory_mb = memory_mb
        self.localhost = localhost
        self.cpu_intervals = []

    def cpu_percent(self, interval):
        self.cpu_intervals.append(interval)
        return self.cpu

    def disk_usage(self, mount):
        total, free = self.disks[mount]
        return SimpleNamespace(total=total, free=free, used=total - free, percent=100.0 * (total - free) / total)

    def virtual_memory(self):
        # 'free' is deliberately tiny: the check must read 'available'
        return SimpleNamespace(available=self.memory_mb * 1024 * 1024, free=1, total=64 * 1024 ** 3)

    def resolve(self, name):
        assert name == "localhost"
        if isinstance(self.localhost, Exception):
            raise self.localhost
        return self.localhost


class FakeMailer:
    """Keeps delivered mails in .outbox; set .relay_up = False to make delivery fail like a dead relay."""

    def __init__(self, hc):
        self._hc = hc
        self.outbox = []
        self.relay_up = True

    def compose(self, subject, body, headers):
        return json.dumps({"subject": subject, "body": body, "headers": headers})

    def deliver(self, text):
        if not self.relay_up:
            raise self._hc.DeliveryError("cannot send mail through relay: Connection refused")
        self.outbox.append(json.loads(text))

    @property
    def subjects(self):
        return [mail["subject"] for mail in self.outbox]


class Clock:
    def __init__(self, now=1_800_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, minutes):
        self.now += minutes * 60


def run_main(hc, argv, probe=None):
    return hc.main(argv, probe=probe or FakeProbe())
