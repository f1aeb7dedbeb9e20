"""The embedded store and mail server: started by the demo and by the tests.

    python tools/services.py start [store] [mail] [--dir var/demo]   # store on :8000, SMTP on :8025, detached
    python tools/services.py stop [--dir var/demo]

The store is the Django app in store/, served by gunicorn; the mail server is aiosmtpd keeping every
message in a maildir. Both are real servers on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import mailbox
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def free_port(host="127.0.0.1"):
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def ensure_free(host, port):
    """Refuse to start a second server on a busy port: its answers would come from the first one."""
    with socket.socket() as probe:
        if probe.connect_ex((host, port)) == 0:
            raise RuntimeError("%s:%d is already in use; stop what listens there first (make stop) or pick another port"
                               % (host, port))


def wait_for(url, seconds=30, process=None):
    deadline = time.monotonic() + seconds
    unverified = ssl._create_unverified_context()  # only asks whether it is up, of our own test server
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError("%s exited with %s before answering" % (process.args[0], process.returncode))
        try:
            urllib.request.urlopen(url, timeout=2, context=unverified).read()
            return
        except urllib.error.HTTPError:
            return  # any answer, 401 included, means it is up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("%s did not answer within %d s" % (url, seconds))


def wait_for_port(host, port, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nothing listens on %s:%d after %d s" % (host, port, seconds))


class Store:
    """The Django store under gunicorn, with its own SQLite database, media and access log."""

    def __init__(self, data_dir, host="127.0.0.1", port=None, serve_media=True, environment=None, certificate=None):
        self.data_dir = os.path.abspath(data_dir)
        self.host = host
        self.port = port or free_port(host)
        self.certificate = certificate  # (certfile, keyfile): serve HTTPS
        self.url = "%s://%s:%d" % ("https" if certificate else "http", host, self.port)
        self.images = pathlib.Path(self.data_dir, "media", "images")
        self.access_log = os.path.join(self.data_dir, "access.log")
        self.environment = {key: value for key, value in os.environ.items() if not key.startswith("FRUITSTORE_STORE_")}
        self.environment.update(FRUITSTORE_STORE_DIR=self.data_dir, FRUITSTORE_STORE_SERVE_MEDIA="1" if serve_media else "0")
        self.environment.update(environment or {})
        self.process = None

    def command(self):
        return [os.path.join(BIN, "gunicorn"), "--chdir", os.path.join(REPO, "store"),
                "fruitstore_store.wsgi:application", "--bind", "%s:%d" % (self.host, self.port),
                "--worker-class", "gthread", "--workers", "2", "--threads", "4",
                # gunicorn 27 opens one control socket per user by default; stores side by side must not share it.
                "--no-control-socket",
                "--access-logfile", self.access_log, "--error-logfile", os.path.join(self.data_dir, "error.log")] + (
                    ["--certfile", self.certificate[0], "--keyfile", self.certificate[1]] if self.certificate else [])

    def migrate(self):
        os.makedirs(self.data_dir, exist_ok=True)
        subprocess.run([sys.executable, os.path.join(REPO, "store", "manage.py"), "migrate", "--noinput", "-v", "0"],
                       env=self.environment, check=True)

    def start(self, detach=False):
        ensure_free(self.host, self.port)
        self.migrate()
        self.process = subprocess.Popen(self.command(), env=self.environment, start_new_session=detach,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.url + "/fruits/", process=self.process)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def requests(self, method=None):
        """Request lines of the access log, e.g. 'POST /fruits/ HTTP/1.1'."""
        try:
            with open(self.access_log) as handle:
                lines = [line.split('"')[1] for line in handle if line.count('"') >= 2]
        except OSError:
            return []
        return [line for line in lines if method is None or line.startswith(method + " ")]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class MailServer:
    """aiosmtpd on 127.0.0.1 keeping every message it receives in a maildir."""

    def __init__(self, maildir, host="127.0.0.1", port=None):
        self.maildir = os.path.abspath(maildir)
        self.host = host
        self.port = port or free_port(host)
        self.process = None

    def start(self, detach=False):
        ensure_free(self.host, self.port)
        os.makedirs(os.path.dirname(self.maildir), exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", "%s:%d" % (self.host, self.port),
             "-c", "aiosmtpd.handlers.Mailbox", self.maildir],
            start_new_session=detach, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.host, self.port)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def messages(self):
        """Every received message, parsed, oldest first."""
        if not os.path.isdir(self.maildir):
            return []
        box = mailbox.Maildir(self.maildir, factory=None, create=False)
        # Maildir keys start with the delivery time.
        return [email.message_from_bytes(box.get_bytes(key), policy=email.policy.default) for key in sorted(box.keys())]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _pidfile(directory, name):
    return os.path.join(directory, name + ".pid")


def _wait_until_gone(pid, seconds=15):
    """Until the process has exited (and so freed its port)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def start_background(directory, names=("store", "mail"), store_port=8000, smtp_port=8025):
    """Start the store and/or the mail server detached, for the demo; pid files in directory."""
    os.makedirs(directory, exist_ok=True)
    stop_background(directory)
    services = {"store": lambda: Store(os.path.join(directory, "store"), port=store_port),
                "mail": lambda: MailServer(os.path.join(directory, "mail"), port=smtp_port)}
    started = {}
    for name in names:
        started[name] = services[name]().start(detach=True)
        with open(_pidfile(directory, name), "w") as handle:
            handle.write(str(started[name].process.pid))
    return started


DESCRIPTIONS = {"store": "the embedded store", "mail": "the embedded mail server"}


def stop_background(directory):
    """Stop what start_background started there; returns [(name, pid)] of those that were running."""
    stopped = []
    for name in ("store", "mail"):
        try:
            with open(_pidfile(directory, name)) as handle:
                pid = int(handle.read())
            os.killpg(pid, signal.SIGTERM)
            _wait_until_gone(pid)
            stopped.append((name, pid))
        except (OSError, ValueError):
            pass
        try:
            os.remove(_pidfile(directory, name))
        except OSError:
            pass
    return stopped


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("services", nargs="*", metavar="store|mail", help="what to start (default: both)")
    parser.add_argument("--dir", default=os.path.join(REPO, "var", "demo"))
    parser.add_argument("--store-port", type=int, default=8000)
    parser.add_argument("--smtp-port", type=int, default=8025)
    args = parser.parse_args()
    if set(args.services) - {"store", "mail"}:
        parser.error("services are store and mail, not %s" % " ".join(args.services))
    if args.action == "stop":
        stopped = stop_background(args.dir)
        for name, pid in stopped:
            print("stopped %s (pid %d)" % (DESCRIPTIONS[name], pid))
        if not stopped:
            print("nothing to stop: neither the embedded store nor the mail server runs from %s" % args.dir)
        return
    started = start_background(args.dir, args.services or ("store", "mail"), args.store_port, args.smtp_port)
    if "store" in started:
        print("store: %s/ (data in %s)" % (started["store"].url, started["store"].data_dir))
    if "mail" in started:
        print("mail:  smtp://%s:%d (messages in %s)" % (started["mail"].host, started["mail"].port, started["mail"].maildir))


if __name__ == "__main__":
    main()
