#!/usr/bin/env python3
"""The supplier import beside the textbook pipeline, on this machine (make bench).

    python benchmarks/bench_import.py [--quick] [--sections conversion,import,rerun,day,memory,startup]
                                      [--sizes 10,200,2000]
                                      [--compressions none,tiff_lzw] [--update]
                                      [--work var/bench] [--out benchmarks/results/latest.json]

One run measures, side by side, with every ratio taken within the run:
  conversion  the textbook loop (benchmarks/textbook.py convert) vs the image_convert module run alone
              (`ansible localhost -m fruitstore.catalog.image_convert`, start-up included), beside the decode
              floor (every image decoded and nothing else, on all cores) and the PSNR of both outputs;
  import      the whole import against a real store and SMTP server (tools/services.py), textbook sequence
              vs `ansible-playbook playbooks/import_supplier.yml`;
  rerun       the playbook again on the largest delivery: with nothing new, with the state directory deleted, then
              with one product more;
  day         a day of deliveries: 20 suppliers x 10 products, the textbook script once per delivery vs one playbook
              run over an inventory of the 20 suppliers (their inboxes), CPU per delivery;
  memory      peak memory of the conversion (RSS summed over the module's process tree), 200 vs 2,000 images;
  startup     each module of the collection imported alone (`python -c "import ...plugins.modules.<name>"`): median
              wall time of 5 runs and the modules Python imports for it (-X importtime), import_alert beside
              delivery_import.

Each timed run gets a fresh delivery (images hard-linked from a pool of distinct images, see deliveries.py) and,
for imports, a fresh store and mail server. The images are read once before every timed run, so both sides start
with a warm page cache. CPU used by other processes during a run is recorded ("foreign CPU", as a share of all
cores); a run disturbed by more than 10% is repeated (up to twice, if it took under two minutes) and the least
disturbed attempt is kept. Results: the table on stdout (Markdown) and JSON in --out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
from PIL import Image, features

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

import deliveries  # noqa: E402  (benchmarks/ is on sys.path as the script's directory)
import quality  # noqa: E402
from tools import services  # noqa: E402

CORES = os.cpu_count() or 1
DISTURBED = 0.10  # foreign CPU share above which a run is repeated
RETRY_UNDER = 120  # seconds: longer runs are not repeated
MAX_ATTEMPTS = 3
TIMEOUT = 3600  # seconds, any single command
PSNR_IMAGES = 10
MODULES = REPO / "collections" / "ansible_collections" / "fruitstore" / "catalog" / "plugins" / "modules"
STARTUP_RUNS = 5
SECTIONS = ("conversion", "import", "rerun", "day", "memory", "startup")
RETRY = True  # --quick: measure once
RETRY_BUDGET = [900.0]  # seconds that repeated measurements may take in all


def environment():
    bin_dir = os.path.dirname(sys.executable)
    return dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
                ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")


# --- measuring ---------------------------------------------------------------------------------------------------

def _busy_cpu():
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal"))


def _own_cpu():
    """CPU seconds of this process and of its children that have been waited for (and theirs)."""
    return sum(getattr(resource.getrusage(who), field)
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for field in ("ru_utime", "ru_stime"))


def _tree(process):
    try:
        return [process] + process.children(recursive=True)
    except psutil.Error:
        return []


def _tree_cpu(pids):
    """CPU seconds of running processes (the store, the mail server) and their children."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
        except psutil.Error:
            continue
        for process in _tree(root):
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
    return total


class MemoryPoll(threading.Thread):
    """Polls the RSS of a process tree every 20 ms: the peak of the sum, over the whole tree and over the
    processes whose command line contains `marker` (the module and its workers)."""

    def __init__(self, pid, marker):
        super().__init__(daemon=True)
        self.pid, self.marker = pid, marker
        self.peak_tree = self.peak_marked = 0
        self.stopped = threading.Event()
        self.marked = {}

    def run(self):
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.stopped.is_set():
            tree = marked = 0
            for process in _tree(root):
                try:
                    rss = process.memory_info().rss
                    if process.pid not in self.marked:
                        self.marked[process.pid] = self.marker in " ".join(process.cmdline())
                except psutil.Error:
                    continue
                tree += rss
                marked += rss if self.marked[process.pid] else 0
            self.peak_tree = max(self.peak_tree, tree)
            self.peak_marked = max(self.peak_marked, marked)
            self.stopped.wait(0.02)


class Meter:
    """Wall time of a block and the CPU other processes used meanwhile (share of all cores)."""

    def __init__(self, service_pids=()):
        self.service_pids = service_pids

    def __enter__(self):
        self.busy, self.own, self.services = _busy_cpu(), _own_cpu(), _tree_cpu(self.service_pids)
        self.load = os.getloadavg()[0]
        self.start = time.perf_counter()
        return self

    def stop(self):
        self.seconds = time.perf_counter() - self.start
        self.busy = _busy_cpu() - self.busy
        self.services = _tree_cpu(self.service_pids) - self.services

    def __exit__(self, *exc):
        if not hasattr(self, "seconds"):
            self.stop()

    def result(self):
        """Call after the measured processes were waited for (their CPU counts as ours only then)."""
        own = _own_cpu() - self.own + self.services
        foreign = max(0.0, self.busy - own) / (self.seconds * CORES)
        result = {"seconds": round(self.seconds, 3), "cpu_seconds": round(own, 2), "foreign_cpu": round(foreign, 3),
                  "load_before": round(self.load, 2)}
        if self.service_pids:
            result["service_cpu_seconds"] = round(self.services, 2)  # the store's and the mail server's share
        return result


def run_command(command, service_pids=(), memory_marker=None):
    """Run command (output captured); return its measurement, output and return code.

    The output is read as it comes: each Ansible task's time is taken from when its "TASK [...]" line appears
    to when the next one does (the last one ends with the play recap), into result["tasks"]."""
    lines, tasks = [], []
    with Meter(service_pids) as meter:
        process = subprocess.Popen([str(part) for part in command], cwd=str(REPO), env=environment(),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        killer = threading.Timer(TIMEOUT, process.kill)
        killer.start()
        poll = MemoryPoll(process.pid, memory_marker) if memory_marker else None
        if poll:
            poll.start()
        task, since = "(start-up)", meter.start
        for line in process.stdout:
            lines.append(line)
            if line.startswith(("TASK [", "PLAY RECAP")):
                now = time.perf_counter()
                tasks.append([task, round(now - since, 3)])
                task, since = line.strip(" *\n")[6:-1], now
        process.wait()
        killer.cancel()
        meter.stop()
        if poll:
            poll.stopped.set()
            poll.join()
    result = meter.result()
    result["returncode"] = process.returncode
    if len(tasks) > 1:
        result["tasks"] = tasks
    if poll:
        result["peak_rss_mb"] = round(poll.peak_marked / 2 ** 20, 1)
        result["peak_rss_tree_mb"] = round(poll.peak_tree / 2 ** 20, 1)
    return result, "".join(lines)


def image_convert(arguments, memory=False):
    """The collection's conversion alone, as users run a module: `ansible localhost -m ...image_convert`."""
    return run_command(["ansible", "localhost", "-m", "fruitstore.catalog.image_convert", "-a", json.dumps(arguments)],
                       memory_marker="AnsiballZ_image_convert" if memory else None)


def least_disturbed(attempt, what):
    """Run attempt() (-> a result dict with seconds and foreign_cpu) until it is undisturbed, within bounds."""
    results = []
    for _ in range(MAX_ATTEMPTS if RETRY else 1):
        result = attempt()
        results.append(result)
        if len(results) > 1:
            RETRY_BUDGET[0] -= result["seconds"]
        if (not RETRY or len(results) == MAX_ATTEMPTS or result["foreign_cpu"] <= DISTURBED
                or result["seconds"] >= RETRY_UNDER or RETRY_BUDGET[0] < result["seconds"]):
            break
        print("  %s: %.0f%% of the CPU went to other processes; measuring again" % (what, 100 * result["foreign_cpu"]),
              flush=True)
    best = min(results, key=lambda result: result["foreign_cpu"])
    best["attempts"] = len(results)
    return best


def check(condition, message, output=""):
    if not condition:
        raise SystemExit("benchmark run failed: %s\n%s" % (message, output[-3000:]))


# --- the sides ---------------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, work, quick):
        self.work = Path(work).resolve()
        self.runs = self.work / "runs"
        self.quick = quick
        self.pool_size = 10 if quick else deliveries.POOL_SIZE
        self.counter = 0

    def fresh(self, label):
        self.counter += 1
        path = self.runs / ("%03d-%s" % (self.counter, label))
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def delivery(self, label, compression, count):
        run = self.fresh(label)
        return deliveries.make_delivery(run / "supplier-data", self.work, compression, count, pool_size=self.pool_size)

    def done(self, delivery):
        shutil.rmtree(Path(delivery).parent, ignore_errors=True)

    # conversion

    def textbook_convert(self, compression, count, keep=False):
        def attempt():
            delivery = self.delivery("convert-textbook-%s-%d" % (compression, count), compression, count)
            deliveries.warm(deliveries.delivery_images(delivery))
            result, output = run_command([sys.executable, BENCH / "textbook.py", "convert", delivery / "images"])
            check(result["returncode"] == 0, "the textbook conversion failed", output)
            check(len(list((delivery / "images").glob("*.jpeg"))) == count, "the textbook did not write every JPEG")
            result["delivery"] = str(delivery)
            if not keep:
                self.done(delivery)
            return result
        return least_disturbed(attempt, "textbook conversion of %d" % count)

    def module_convert(self, compression, count, keep=False, memory=False):
        def attempt():
            delivery = self.delivery("convert-module-%s-%d" % (compression, count), compression, count)
            (delivery / ".fruitstore").mkdir()
            deliveries.warm(deliveries.delivery_images(delivery))
            arguments = {"images_dir": str(delivery / "images"),
                         "manifest": str(delivery / ".fruitstore" / "images.json")}
            result, output = image_convert(arguments, memory)
            check(result["returncode"] == 0, "the image_convert module failed", output)
            manifest = json.loads((delivery / ".fruitstore" / "images.json").read_text())
            check(len(manifest["images"]) == count and len(list((delivery / "images").glob("*.jpeg"))) == count,
                  "the module did not convert every image", output)
            result["delivery"] = str(delivery)
            if not keep:
                self.done(delivery)
            return result
        return least_disturbed(attempt, "module conversion of %d" % count)

    def module_startup(self):
        """`ansible localhost -m image_convert` on a directory without images: Ansible's and the module's fixed cost."""
        def attempt():
            empty = self.fresh("convert-module-empty") / "images"
            empty.mkdir()
            result, output = image_convert({"images_dir": str(empty)})
            check(result["returncode"] == 0, "the image_convert module failed on an empty directory", output)
            self.done(empty)
            return result
        return least_disturbed(attempt, "module start-up")

    def decode_floor(self, compression, count):
        def attempt():
            delivery = self.delivery("decode-%s-%d" % (compression, count), compression, count)
            paths = deliveries.delivery_images(delivery)
            deliveries.warm(paths)
            with multiprocessing.get_context("fork").Pool(CORES) as pool:
                pool.map(_nothing, range(CORES))  # the workers are up before the clock starts
                with Meter() as meter:
                    pool.map(_decode, paths, chunksize=1)
                    meter.stop()
                pool.close()
                pool.join()
            self.done(delivery)
            return meter.result()
        return least_disturbed(attempt, "decode floor of %d" % count)

    # the whole import

    def import_command(self, side, delivery, store, mail):
        report = delivery.parent / "processed.pdf"
        if side == "textbook":
            return [sys.executable, BENCH / "textbook.py", "import", delivery, "--store", store.url,
                    "--smtp-host", mail.host, "--smtp-port", mail.port, "--report", report,
                    "--recipient", "supplier@example.com"]
        settings = dict(supplier_dir=str(delivery), store_url=store.url + "/", smtp_host=mail.host,
                        smtp_port=mail.port, report_path=str(report), report_recipient="supplier@example.com")
        return ["ansible-playbook", REPO / "playbooks" / "import_supplier.yml", "-e", json.dumps(settings)]

    def timed_import(self, side, delivery, store, mail):
        posts, mails = len(store.requests("POST")), len(mail.messages())
        deliveries.warm(deliveries.delivery_images(delivery))
        result, output = run_command(self.import_command(side, delivery, store, mail),
                                     service_pids=(store.process.pid, mail.process.pid))
        check(result["returncode"] == 0, "the %s import failed" % side, output)
        result["posts"] = len(store.requests("POST")) - posts
        result["mails"] = len(mail.messages()) - mails
        with urllib.request.urlopen(store.url + "/fruits/", timeout=60) as response:
            result["store_products"] = len(json.load(response))
        return result

    def with_services(self, run):
        store = services.Store(run / "store")
        mail = services.MailServer(run / "mail" / "maildir")
        store.start()
        try:
            mail.start()
        except BaseException:
            store.stop()
            raise
        return store, mail

    def whole_import(self, side, count):
        def attempt():
            delivery = self.delivery("import-%s-%d" % (side, count), "none", count)
            store, mail = self.with_services(delivery.parent)
            try:
                result = self.timed_import(side, delivery, store, mail)
                if side == "playbook":
                    # The same playbook with nothing left to do: its fixed cost (start-up, module starts, one GET).
                    again = self.timed_import(side, delivery, store, mail)
                    result["nothing_to_do_seconds"] = again["seconds"]
            finally:
                mail.stop()
                store.stop()
            check(result["store_products"] == count and result["mails"] == 1,
                  "the %s import of %d left %d products and %d mails" % (side, count, result["store_products"],
                                                                         result["mails"]))
            self.done(delivery)
            return result
        return least_disturbed(attempt, "%s import of %d" % (side, count))

    def reruns(self, count):
        """First import of count products, the re-run with nothing new, the re-run with one product more."""
        delivery = self.delivery("rerun-%d" % count, "none", count)
        store, mail = self.with_services(delivery.parent)
        try:
            first = self.timed_import("playbook", delivery, store, mail)
            check(first["store_products"] == count, "the first import left %d products" % first["store_products"])
            again = least_disturbed(lambda: self.timed_import("playbook", delivery, store, mail),
                                    "re-run with nothing new")
            check(again["store_products"] == count, "the re-run changed the store")

            def without_state():
                shutil.rmtree(delivery / ".fruitstore")
                return self.timed_import("playbook", delivery, store, mail)

            # The store alone says what is there: the conversion is done again, nothing is posted or mailed.
            no_state = least_disturbed(without_state, "re-run without the state directory")
            check(no_state["store_products"] == count and no_state["posts"] == 0 and no_state["mails"] == 0,
                  "the re-run without the state directory posted %d and mailed %d" % (no_state["posts"],
                                                                                     no_state["mails"]))
            added = [count]

            def one_more():
                deliveries.add_product(delivery, self.work, "none", added[0], pool_size=self.pool_size)
                added[0] += 1
                return dict(self.timed_import("playbook", delivery, store, mail), expected_products=added[0])

            # A disturbed attempt is measured again with one more product still; each checks its own count.
            plus_one = least_disturbed(one_more, "re-run with one new product")
            check(plus_one["store_products"] == plus_one["expected_products"],
                  "the re-run with a new product left %d products" % plus_one["store_products"])
        finally:
            mail.stop()
            store.stop()
        self.done(delivery)
        return {"count": count, "first": first, "nothing_new": again, "no_state": no_state, "one_new": plus_one}


    def day(self, suppliers, products):
        """A day of deliveries: each of `suppliers` suppliers has one delivery of `products` products in its inbox.
        The textbook script runs once per delivery, one after the other; the playbook once, from an inventory of the
        suppliers (forks as ansible.cfg says), each on a store and mail server of its own."""
        def attempt(side):
            run = self.fresh("day-%s" % side)
            inboxes = []
            for number in range(1, suppliers + 1):
                supplier = "supplier%02d" % number
                deliveries.make_delivery(run / "inbox" / supplier / "day-1", self.work, "none", products,
                                         pool_size=self.pool_size, supplier=supplier)
                inboxes.append((supplier, run / "inbox" / supplier))
            store, mail = self.with_services(run)
            try:
                deliveries.warm([image for _supplier, inbox in inboxes
                                 for image in deliveries.delivery_images(inbox / "day-1")])
                posts, mails = len(store.requests("POST")), len(mail.messages())
                if side == "textbook":
                    command = ["bash", "-c", " && ".join(
                        " ".join('"%s"' % part for part in self.import_command("textbook", inbox / "day-1", store, mail))
                        for _supplier, inbox in inboxes)]
                else:
                    inventory = run / "inventory.yml"
                    inventory.write_text(json.dumps({"suppliers": {"hosts": {
                        supplier: {"supplier_inbox": str(inbox), "report_recipient": supplier + "@example.com"}
                        for supplier, inbox in inboxes}, "vars": {
                        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                        "store_url": store.url + "/", "smtp_host": mail.host, "smtp_port": mail.port,
                        "supplier_settle_seconds": 0, "import_summary_path": str(run / "summary.json")}}}))
                    command = ["ansible-playbook", "-i", inventory, REPO / "playbooks" / "import_supplier.yml"]
                result, output = run_command(command, service_pids=(store.process.pid, mail.process.pid))
                check(result["returncode"] == 0, "the %s day of deliveries failed" % side, output)
                result["posts"] = len(store.requests("POST")) - posts
                result["mails"] = len(mail.messages()) - mails
                with urllib.request.urlopen(store.url + "/fruits/", timeout=60) as response:
                    result["store_products"] = len(json.load(response))
            finally:
                mail.stop()
                store.stop()
                shutil.rmtree(run, ignore_errors=True)
            check(result["store_products"] == suppliers * products and result["mails"] == suppliers,
                  "the %s day left %d products and %d mails" % (side, result["store_products"], result["mails"]))
            result["cpu_seconds_per_delivery"] = round(result["cpu_seconds"] / suppliers, 2)
            return result
        textbook = least_disturbed(lambda: attempt("textbook"), "textbook day of deliveries")
        playbook = least_disturbed(lambda: attempt("playbook"), "playbook day of deliveries")
        return {"suppliers": suppliers, "products": products, "textbook": textbook, "playbook": playbook,
                "speedup": round(textbook["seconds"] / playbook["seconds"], 2)}


def _nothing(_):
    return None


def _decode(path, buffer=bytearray(32 << 20)):
    """Decode the image and nothing else. Pillow maps an uncompressed TIFF instead of reading it: its
    floor is reading the file's bytes (from the page cache, into a reused buffer)."""
    with Image.open(path) as image:
        image.load()
        mapped = getattr(image, "map", None) is not None
    if mapped:
        with open(path, "rb", buffering=0) as handle:
            while handle.readinto(buffer) == len(buffer):
                pass


def _import_module(name, *options):
    """Import one module of the collection in a fresh Python, as Ansible's module start does; its stderr."""
    command = [sys.executable, *options, "-c", "import ansible_collections.fruitstore.catalog.plugins.modules." + name]
    process = subprocess.run(command, cwd=str(REPO), env=dict(environment(), PYTHONPATH=str(REPO / "collections")),
                             capture_output=True, text=True, timeout=TIMEOUT)
    check(process.returncode == 0, "importing the module %s failed" % name, process.stderr)
    return process.stderr


def module_startup(names, runs=STARTUP_RUNS):
    """Per module: the median wall time of `runs` imports, and how many modules Python imported for it."""
    seconds = {name: [] for name in names}
    for _ in range(runs):
        for name in names:  # round after round, so that a busy spell of the machine falls on every module alike
            start = time.perf_counter()
            _import_module(name)
            seconds[name].append(time.perf_counter() - start)
    rows = []
    for name in names:
        imported = [line for line in _import_module(name, "-X", "importtime").splitlines()
                    if line.startswith("import time:") and "imported package" not in line]
        rows.append({"module": name, "seconds": round(statistics.median(seconds[name]), 3),
                     "runs": [round(value, 3) for value in seconds[name]], "modules_imported": len(imported)})
    return rows


# --- the run -----------------------------------------------------------------------------------------------------

def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpu": model, "cores": CORES, "memory_gb": round(psutil.virtual_memory().total / 2 ** 30, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "pillow": Image.__version__, "libjpeg_turbo": bool(features.check_feature("libjpeg_turbo")),
            "ansible_core": _ansible_version(), "load_at_start": [round(v, 2) for v in os.getloadavg()]}


def code_state():
    """The commit measured, and the files that differ from it (the benchmark measures the working tree)."""
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=str(REPO), capture_output=True, text=True, timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "HEAD").strip(),
            "changed": [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]}


def _ansible_version():
    try:
        from ansible.release import __version__
        return __version__
    except ImportError:
        return None


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def put(results, section, row, *identity):
    """Add row to results[section], replacing the row measured earlier for the same identity (--update)."""
    row["measured"] = now()
    results[section] = [old for old in results[section] if any(old[key] != row[key] for key in identity)] + [row]
    order = {"none": 0, "tiff_lzw": 1}
    results[section].sort(key=lambda item: (order.get(item.get("compression"), 0), item["count"]))
    save(results)


def run_conversion(bench, compressions, sizes, results):
    startup = bench.module_startup()
    for compression in compressions:
        for count in sizes:
            print("conversion: %s, %d images" % (deliveries.COMPRESSIONS[compression], count), flush=True)
            keep = count == sizes[0]  # the smallest delivery's outputs are scored for PSNR
            textbook = bench.textbook_convert(compression, count, keep=keep)
            module = bench.module_convert(compression, count, keep=keep)
            floor = bench.decode_floor(compression, count)
            row = {"compression": compression, "count": count, "textbook": textbook, "module": module,
                   "decode_floor": floor, "speedup": round(textbook["seconds"] / module["seconds"], 2),
                   "module_vs_floor": round(module["seconds"] / floor["seconds"], 2),
                   # What bounds the speed-up once the images are many: the conversion itself, without the
                   # fixed cost of starting Ansible and the module (measured in the same run).
                   "module_startup_seconds": startup["seconds"],
                   "speedup_after_startup": round(textbook["seconds"] / (module["seconds"] - startup["seconds"]), 2)}
            for side in (textbook, module, floor):
                side["images_per_second"] = round(count / side["seconds"], 2)
            if keep:
                row.update(score(textbook.pop("delivery"), module.pop("delivery")))
            put(results, "conversion", row, "compression", "count")


def score(textbook_delivery, module_delivery):
    """Mean PSNR (dB) of both sides' JPEGs of the first PSNR_IMAGES images against the float reference."""
    textbook_delivery, module_delivery = Path(textbook_delivery), Path(module_delivery)
    sources = deliveries.delivery_images(textbook_delivery)[:PSNR_IMAGES]
    totals = {"textbook": 0.0, "module": 0.0}
    for source in sources:
        reference = quality.reference(source)
        stem = Path(source).stem
        totals["textbook"] += quality.psnr(reference, str(textbook_delivery / "images" / (stem + ".jpeg")))
        totals["module"] += quality.psnr(reference, str(module_delivery / "images" / (stem + ".jpeg")))
    shutil.rmtree(textbook_delivery.parent, ignore_errors=True)
    shutil.rmtree(module_delivery.parent, ignore_errors=True)
    return {"psnr_images": len(sources), "textbook_psnr_db": round(totals["textbook"] / len(sources), 2),
            "module_psnr_db": round(totals["module"] / len(sources), 2)}


def run_import(bench, sizes, results):
    for count in sizes:
        print("whole import: %d products" % count, flush=True)
        textbook = bench.whole_import("textbook", count)
        playbook = bench.whole_import("playbook", count)
        put(results, "import", {"count": count, "textbook": textbook, "playbook": playbook,
                                "speedup": round(textbook["seconds"] / playbook["seconds"], 2)}, "count")


def run_rerun(bench, count, results):
    print("re-runs: %d products" % count, flush=True)
    rerun = bench.reruns(count)
    rerun["nothing_new_share"] = round(rerun["nothing_new"]["seconds"] / rerun["first"]["seconds"], 4)
    rerun["measured"] = now()
    results["rerun"] = rerun
    save(results)


def run_day(bench, suppliers, results):
    print("a day of deliveries: %d suppliers x 10 products" % suppliers, flush=True)
    day = bench.day(suppliers, 10)
    day["measured"] = now()
    results["day"] = day
    save(results)


def run_startup(results):
    names = sorted(path.stem for path in MODULES.glob("*.py") if not path.name.startswith("_"))
    print("module start-up: %d modules, %d imports each" % (len(names), STARTUP_RUNS), flush=True)
    rows = module_startup(names)
    by_name = {row["module"]: row for row in rows}
    startup = {"runs": STARTUP_RUNS, "modules": rows, "measured": now()}
    alert, baseline = by_name.get("import_alert"), by_name.get("delivery_import")
    if alert and baseline:  # the module that only mails, against the whole import, in the same run
        startup["import_alert_vs_delivery_import"] = {
            "seconds": round(alert["seconds"] / baseline["seconds"], 2),
            "modules_imported": round(alert["modules_imported"] / baseline["modules_imported"], 2)}
    results["startup"] = startup
    save(results)


def run_memory(bench, sizes, results):
    for count in sizes:
        print("memory: converting %d images" % count, flush=True)
        result = bench.module_convert("none", count, memory=True)
        result.pop("delivery", None)
        put(results, "memory", dict(result, count=count), "count")


# --- targets, table, results -------------------------------------------------------------------------------------

def targets(results):
    """The issue's targets, each with the figure reached (None when its section did not run at that size)."""
    def conversion(compression):
        rows = [row for row in results["conversion"] if row["compression"] == compression]
        return max(rows, key=lambda row: row["count"]) if rows else None

    found = []
    raw, lzw = conversion("none"), conversion("tiff_lzw")
    if raw:
        found.append(("uncompressed conversion, %d images: module vs textbook throughput" % raw["count"], ">= 10x",
                      "%.1fx" % raw["speedup"], raw["speedup"] >= 10))
    psnr_rows = {}
    for row in results["conversion"]:  # one per compression (the same images are scored at every size)
        if "module_psnr_db" in row:
            psnr_rows.setdefault(row["compression"], row)
    for row in psnr_rows.values():
        found.append(("%s: PSNR, module vs textbook" % deliveries.COMPRESSIONS[row["compression"]], "no worse",
                      "%.2f vs %.2f dB" % (row["module_psnr_db"], row["textbook_psnr_db"]),
                      row["module_psnr_db"] >= row["textbook_psnr_db"]))
    if lzw:
        found.append(("LZW conversion, %d images: module time / decode floor" % lzw["count"], "<= 1.25x",
                      "%.2fx" % lzw["module_vs_floor"], lzw["module_vs_floor"] <= 1.25))
    imports = [row for row in results["import"] if row["count"] >= 200] or results["import"][-1:]
    for row in imports:
        found.append(("whole import of %d: playbook vs textbook" % row["count"], ">= 3x", "%.1fx" % row["speedup"],
                      row["speedup"] >= 3))
    rerun = results.get("rerun")
    if rerun:
        posts = rerun["nothing_new"]["posts"]
        found.append(("re-run of %d with nothing new: share of the first run, POSTs" % rerun["count"], "< 5%, 0",
                      "%.1f%%, %d" % (100 * rerun["nothing_new_share"], posts),
                      rerun["nothing_new_share"] < 0.05 and posts == 0))
        found.append(("re-run of %d with one new product: POSTs" % rerun["count"], "2",
                      "%d (%.1f s)" % (rerun["one_new"]["posts"], rerun["one_new"]["seconds"]),
                      rerun["one_new"]["posts"] == 2))
        if "no_state" in rerun:
            no_state = rerun["no_state"]
            found.append(("re-run of %d with the state directory deleted: POSTs, mails" % rerun["count"], "0, 0",
                          "%d, %d (%.1f s against %.1f s with it)" % (no_state["posts"], no_state["mails"],
                                                                     no_state["seconds"],
                                                                     rerun["nothing_new"]["seconds"]),
                          no_state["posts"] == 0 and no_state["mails"] == 0))
    day = results.get("day")
    if day:
        found.append(("a day of %d deliveries: one playbook run vs the textbook once per delivery" % day["suppliers"],
                      ">= 2x", "%.1fx" % day["speedup"], day["speedup"] >= 2))
    memory = sorted(results["memory"], key=lambda row: row["count"])
    if len(memory) >= 2:
        ratio = memory[-1]["peak_rss_mb"] / memory[0]["peak_rss_mb"]
        found.append(("peak memory of conversion, %d vs %d images" % (memory[-1]["count"], memory[0]["count"]),
                      "within 1.5x", "%.2fx" % ratio, ratio <= 1.5))
    return [{"target": name, "wanted": wanted, "reached": reached, "met": met} for name, wanted, reached, met in found]


def _disturbed(result):
    return " (!)" if result["foreign_cpu"] > DISTURBED else ""


def _again(results, row):
    """' (+)' for a row measured again by an --update run, after the run that measured the rest."""
    return " (+)" if results.get("finished") and row.get("measured", "") > results["finished"] else ""


def table(results):
    lines = []
    add = lines.append
    if results["conversion"]:
        add("### 1. Image conversion (600x400 JPEG from 3000x2000 RGBA TIFF)")
        add("")
        add("| delivery | textbook loop | module (one call) | speed-up | speed-up after the module's start "
            "| CPU ms/image textbook, module | decode floor (all cores) | module / floor | PSNR textbook | PSNR module |")
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for row in results["conversion"]:
            t, m, f, count = row["textbook"], row["module"], row["decode_floor"], row["count"]
            add("| %s, %d%s | %.1f s, %.1f img/s%s | %.2f s, %.1f img/s%s | **%.1fx** | %s | %.0f, %.0f "
                "| %.2f s, %.1f img/s%s | %.2fx | %s | %s |" % (
                    deliveries.COMPRESSIONS[row["compression"]], count, _again(results, row), t["seconds"],
                    t["images_per_second"],
                    _disturbed(t), m["seconds"], m["images_per_second"], _disturbed(m), row["speedup"],
                    "%.1fx (start %.2f s)" % (row["speedup_after_startup"], row["module_startup_seconds"])
                    if "speedup_after_startup" in row else "",
                    1000 * t["cpu_seconds"] / count, 1000 * m["cpu_seconds"] / count, f["seconds"],
                    f["images_per_second"], _disturbed(f), row["module_vs_floor"],
                    "%.2f dB" % row["textbook_psnr_db"] if "textbook_psnr_db" in row else "",
                    "%.2f dB" % row["module_psnr_db"] if "module_psnr_db" in row else ""))
        add("")
    if results["import"]:
        add("### 2. Whole import against the real store and SMTP server (uncompressed delivery)")
        add("")
        add("| products | textbook sequence | playbook | speed-up | POSTs textbook / playbook "
            "| store CPU textbook / playbook | playbook again, nothing to do |")
        add("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for row in results["import"]:
            t, p = row["textbook"], row["playbook"]
            add("| %d%s | %.2f s%s | %.2f s%s | **%.1fx** | %d / %d | %s | %s |" % (
                row["count"], _again(results, row), t["seconds"], _disturbed(t), p["seconds"], _disturbed(p),
                row["speedup"], t["posts"], p["posts"],
                "%.2f s / %.2f s" % (t["service_cpu_seconds"], p["service_cpu_seconds"])
                if "service_cpu_seconds" in p else "",
                "%.2f s" % p["nothing_to_do_seconds"] if "nothing_to_do_seconds" in p else ""))
        add("")
    rerun = results.get("rerun")
    if rerun:
        add("### 3. Running the playbook again (%d products)" % rerun["count"])
        add("")
        add("| run | time | share of the first run | POSTs | mails |")
        add("| --- | ---: | ---: | ---: | ---: |")
        for key, label in (("first", "first import"), ("nothing_new", "again, nothing new"),
                           ("no_state", "again, state directory deleted (the store alone says what is there)"),
                           ("one_new", "again, one new product")):
            if key not in rerun:
                continue  # results of an earlier version
            r = rerun[key]
            add("| %s | %.2f s%s | %.1f%% | %d | %d |" % (label, r["seconds"], _disturbed(r),
                                                       100 * r["seconds"] / rerun["first"]["seconds"], r["posts"],
                                                       r["mails"]))
        add("")
        runs = [row["playbook"] for row in results["import"] if row["count"] >= 200]
        labels = (("first", "first import of %d" % rerun["count"]), ("nothing_new", "again, nothing new"),
                  ("no_state", "again, no state directory"), ("one_new", "again, one new product"))
        runs += [rerun[key] for key, _label in labels if key in rerun]
        headers = ["import of %d" % row["count"] for row in results["import"] if row["count"] >= 200]
        headers += [label for key, label in labels if key in rerun]
        add(task_table(runs, headers))
    day = results.get("day")
    if day:
        add("### 3b. A day of deliveries (%d suppliers x %d products, one delivery each)" % (day["suppliers"],
                                                                                          day["products"]))
        add("")
        add("| side | time | CPU | CPU per delivery | POSTs | mails | store CPU |")
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for side, label in (("textbook", "textbook script, once per delivery"),
                            ("playbook", "one playbook run over the inventory")):
            r = day[side]
            add("| %s | %.2f s%s | %.2f s | %.2f s | %d | %d | %.2f s |" % (
                label, r["seconds"], _disturbed(r), r["cpu_seconds"], r["cpu_seconds_per_delivery"], r["posts"],
                r["mails"], r.get("service_cpu_seconds", 0)))
        add("")
        add("Speed-up: **%.1fx**." % day["speedup"])
        add("")
        add(task_table([day["playbook"]], ["playbook run of the day"]))
    if results["memory"]:
        add("### 4. Peak memory of the conversion (RSS summed over the module's processes)")
        add("")
        add("| images | module and workers | whole tree (with ansible) | time |")
        add("| ---: | ---: | ---: | ---: |")
        for row in results["memory"]:
            add("| %d | %.0f MB | %.0f MB | %.2f s |" % (row["count"], row["peak_rss_mb"], row["peak_rss_tree_mb"],
                                                        row["seconds"]))
        add("")
    startup = results.get("startup")
    if startup:
        add("### 5. Starting each module (`python -c \"import ...plugins.modules.<name>\"`, median of %d runs)"
            % startup["runs"])
        add("")
        add("| module | wall time | modules imported |")
        add("| --- | ---: | ---: |")
        for row in startup["modules"]:
            add("| %s | %.3f s | %d |" % (row["module"], row["seconds"], row["modules_imported"]))
        add("")
        ratio = startup.get("import_alert_vs_delivery_import")
        if ratio:
            rows = {row["module"]: row for row in startup["modules"]}
            alert, baseline = rows["import_alert"], rows["delivery_import"]
            add("import_alert against delivery_import (the baseline, same run): %.3f s vs %.3f s (%.2fx), %d vs %d "
                "modules imported (%.2fx)." % (alert["seconds"], baseline["seconds"], ratio["seconds"],
                                               alert["modules_imported"], baseline["modules_imported"],
                                               ratio["modules_imported"]))
            add("")
    if results["quick"]:
        add("A smoke run (--quick, 10 products): start-up costs dominate, the targets are judged on the full run.")
        add("")
    elif results["targets"]:
        add("### Targets")
        add("")
        add("| target | wanted | reached | met |")
        add("| --- | --- | --- | --- |")
        for target in results["targets"]:
            add("| %s | %s | %s | %s |" % (target["target"], target["wanted"], target["reached"],
                                           "yes" if target["met"] else "**no**"))
        add("")
    if "(!)" in "\n".join(lines):
        add("(!) more than %d%% of the CPU went to other processes during that run." % (100 * DISTURBED))
    if any(_again(results, row) for section in ("conversion", "import") for row in results[section]):
        add("(+) measured again, both sides, by a later run (`--update`) after the first was disturbed.")
    return "\n".join(lines)


def _task_name(name):
    """A task's name without the paths some names show, and without the role's name."""
    name = re.sub(r"[ ,(]*(progress in )?/\S*", "", name.replace("supplier_import : ", ""))
    return name.split(" - ")[0]


def task_table(runs, headers):
    """Where a playbook run's time goes, task by task (seconds from one task's start to the next's)."""
    runs = [[(_task_name(name), seconds) for name, seconds in run.get("tasks", [])] for run in runs]
    names = []
    for run in runs:
        for name, _seconds in run:
            if name not in names:
                names.append(name)
    lines = ["Where the playbook's time goes (seconds, from each task's start to the next one's):", "",
             "| task | " + " | ".join(headers) + " |", "| --- |" + " ---: |" * len(headers)]
    for name in names:
        cells = []
        for run in runs:
            seconds = [s for n, s in run if n == name]
            cells.append("%.2f" % seconds[0] if seconds else "")
        lines.append("| %s | %s |" % (name, " | ".join(cells)))
    return "\n".join(lines) + "\n"


def save(results):
    results["targets"] = targets(results)
    path = Path(results["output"])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(results, indent=1) + "\n")
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 products only: a smoke run of every section")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--sizes", help="conversion sizes (default 10,200,2000; --quick: 10)")
    parser.add_argument("--compressions", default="none,tiff_lzw", help="conversion: TIFF compressions to measure")
    parser.add_argument("--update", action="store_true",
                        help="measure again what the options select and replace those rows in --out, keeping the "
                             "others (for a section a busy machine disturbed); each row says when it was measured")
    parser.add_argument("--work", default=str(REPO / "var" / "bench"),
                        help="where pools and runs go (default var/bench; about 9 GB for the pools)")
    parser.add_argument("--out", help="JSON results (default benchmarks/results/latest.json; --quick: WORK/quick.json)")
    args = parser.parse_args(argv)
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error("unknown sections: %s" % ", ".join(sorted(unknown)))
    sizes = [int(size) for size in (args.sizes or ("10" if args.quick else "10,200,2000")).split(",")]
    if any(size < 1 or size > 100000 for size in sizes):
        parser.error("sizes must be between 1 and 100,000")
    out = args.out or (os.path.join(args.work, "quick.json") if args.quick else str(BENCH / "results" / "latest.json"))
    compressions = [name.strip() for name in args.compressions.split(",") if name.strip()]
    if not compressions or set(compressions) - set(deliveries.COMPRESSIONS):
        parser.error("compressions are %s" % ", ".join(deliveries.COMPRESSIONS))

    global RETRY
    RETRY = not args.quick
    bench = Bench(args.work, args.quick)
    started = datetime.datetime.now(datetime.timezone.utc)
    results = {"started": started.isoformat(timespec="seconds"), "quick": args.quick, "output": out,
               "machine": machine(), "code": code_state(), "pool_size": bench.pool_size,
               "page_cache": "warm: every image of a delivery is read once before each timed run, on both sides",
               "conversion": [], "import": [], "rerun": None, "day": None, "memory": [], "startup": None,
               "targets": []}
    if args.update and os.path.exists(out):
        update = {"started": results["started"], "arguments": sys.argv[1:], "machine": results["machine"],
                  "code": results["code"]}
        with open(out) as handle:
            results = json.load(handle)
        results.setdefault("updates", []).append(update)
        results["output"] = out
    print("benchmark: %s, %d cores; load average %s; work in %s" % (
        results["machine"]["cpu"], CORES, [round(v, 2) for v in os.getloadavg()], bench.work), flush=True)
    if set(sections) - {"startup"}:  # every other section needs the images
        for compression in compressions if "conversion" in sections else ("none",):
            deliveries.pool(bench.work, compression, bench.pool_size)
    try:
        if "conversion" in sections:
            run_conversion(bench, compressions, sizes, results)
        if "import" in sections:
            run_import(bench, [10] if args.quick else [10, 200], results)
        if "rerun" in sections:
            run_rerun(bench, 10 if args.quick else 2000, results)
        if "day" in sections:
            run_day(bench, 2 if args.quick else 20, results)
        if "memory" in sections:
            run_memory(bench, [10] if args.quick else [200, 2000], results)
        if "startup" in sections:
            run_startup(results)
    finally:
        shutil.rmtree(bench.runs, ignore_errors=True)
    finished = datetime.datetime.now(datetime.timezone.utc)
    minutes = round((finished - started).total_seconds() / 60, 1)
    if results.get("updates") and args.update:
        results["updates"][-1].update(finished=finished.isoformat(timespec="seconds"), minutes=minutes,
                                      load_at_end=[round(v, 2) for v in os.getloadavg()])
    else:
        results["finished"] = finished.isoformat(timespec="seconds")
        results["minutes"] = minutes
        results["machine"]["load_at_end"] = [round(v, 2) for v in os.getloadavg()]
    save(results)
    print()
    print(table(results))
    print()
    print("results: %s (%.1f minutes)" % (out, minutes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
