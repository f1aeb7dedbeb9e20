"""The embedded store and mail server, started by the demo and by the tests, and the tests' other servers.

    python tools/services.py start [store] [mail] [--dir var/demo]   # store on :8000, SMTP on :8025, detached
    python tools/services.py stop [--dir var/demo]
    python tools/services.py relay --maildir DIR [--host H] [--smtp-port P] [--user U --password-env VAR]
                                   [--tls-cert PEM --tls-key PEM]   # the mail server alone, in the foreground

The store is the Django app in store/, served by gunicorn; the mail server is aiosmtpd keeping every
message in a maildir (the relay action: what MailServer runs, and the lab's relay). Both are real servers on
127.0.0.1.

The one set of test servers of the repository's tests (tests/unit/health_check, tests/faults, tests/integration,
tests/conftest.py and the lab) is here too, beside MailServer, whose relay it shares:
  Relay           aiosmtpd in this process: records messages (in memory or a Maildir), refuses recipients, wants or
                  accepts a login, offers STARTTLS, answers DATA late
  DrippingServer  a raw TCP server that answers a byte at a time, and never finishes when told so: .smtp() (its
                  banner, or its answer to EHLO) and .http() (a store behind a broken proxy)
  FaultProxy      an HTTP proxy in front of the real store that injects faults (Fault)
  self_signed_certificate, closed_port
The catalog collection's unit tests keep their own (its tests/unit/plugins/conftest.py): ansible-test runs the
collection alone, without this repository.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import email
import email.policy
import http.client
import ipaddress
import itertools
import json
import mailbox
import os
import pathlib
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

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


def wait_for_port(host, port, seconds=15, process=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError("%s exited with %s before listening on %s:%d"
                               % (" ".join(map(str, process.args[:3])), process.returncode, host, port))
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


def maildir_messages(path):
    """Every message of the Maildir at path, parsed, oldest first ([] while there is none)."""
    if not os.path.isdir(path):
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    # Maildir keys start with the delivery time.
    return [email.message_from_bytes(box.get_bytes(key), policy=email.policy.default) for key in sorted(box.keys())]


class _Recorder:
    """aiosmtpd handler: keeps every message (in a Maildir, or in memory); answers 550 to the recipients in refuse,
    and DATA after `delay` seconds."""

    def __init__(self, maildir=None, refuse=(), delay=0):
        self.maildir = os.path.abspath(maildir) if maildir else None
        self.box = mailbox.Maildir(self.maildir) if self.maildir else None  # creates it
        self.received = []
        self.refuse = set(refuse)
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        if self.box is not None:
            self.box.add(envelope.original_content)
        else:
            self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class Relay:
    """aiosmtpd in this process (a thread of it) on 127.0.0.1 and a free port; a context manager, or start() and
    stop(). .host, .port, .messages: every message received, parsed, oldest first.

    maildir: keep the messages in a Maildir there, as a mail server leaves them for others to read, rather than in
    memory. refuse: recipients answered 550. login=(user, password): the one login it accepts (another is answered
    535), offered without TLS; login_required: refuse mail from a client that did not log in (by default, when a
    login is given). starttls_context: offer STARTTLS with it (not required). delay: seconds it takes to answer DATA.
    """

    def __init__(self, maildir=None, refuse=(), login=None, login_required=None, starttls_context=None, delay=0,
                 host="127.0.0.1", port=None):
        from aiosmtpd.controller import Controller  # here: `services.py start|stop` need only the standard library

        self.host = host
        self.port = port or free_port(host)
        self.handler = _Recorder(maildir, refuse, delay)
        options = {}
        if login:
            options.update(authenticator=_login_checker(*login), auth_require_tls=False,
                           auth_required=login_required is None or login_required)
        if starttls_context:
            options.update(tls_context=starttls_context)
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, **options)

    @property
    def messages(self):
        if self.handler.maildir:
            return maildir_messages(self.handler.maildir)
        return list(self.handler.received)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _login_checker(user, password):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):
        accepted = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(), password.encode())
        return AuthResult(success=accepted, handled=False)  # handled=False: the server answers 535 itself
    return check


def serve_relay(host, port, maildir, login=None, tls_files=None):
    """A Relay keeping mail in maildir, until SIGTERM or SIGINT: the relay action (MailServer's process, the lab's
    relay). A login is accepted, not required; with tls_files (certfile, keyfile) it offers STARTTLS."""
    context = None
    if tls_files:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls_files)
    # Blocked before the server's thread starts (it inherits the mask), so that sigwait below takes them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    with Relay(maildir, login=login, login_required=False, starttls_context=context, host=host, port=port):
        print("smtp: listening on %s:%s, maildir %s" % (host, port, os.path.abspath(maildir)), flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})


class MailServer:
    """The relay (Relay, keeping every message in a maildir) in a process of its own on 127.0.0.1: the demo's, which
    outlives the command that started it, and the end-to-end tests'."""

    def __init__(self, maildir, host="127.0.0.1", port=None):
        self.maildir = os.path.abspath(maildir)
        self.host = host
        self.port = port or free_port(host)
        self.process = None

    def start(self, detach=False):
        ensure_free(self.host, self.port)
        os.makedirs(os.path.dirname(self.maildir), exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "relay", "--host", self.host, "--smtp-port", str(self.port),
             "--maildir", self.maildir],
            start_new_session=detach, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.host, self.port, process=self.process)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def messages(self):
        """Every received message, parsed, oldest first."""
        return maildir_messages(self.maildir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- the servers that go wrong, for the tests ---------------------------------------------------------------------

def closed_port(host="127.0.0.1"):
    """A port nothing listens on."""
    port = free_port(host)
    with socket.socket() as probe:
        assert probe.connect_ex((host, port)) != 0
    return port


def self_signed_certificate(directory, address="127.0.0.1"):
    """(certfile, keyfile), written in directory, for the address (127.0.0.1) and localhost, signed by itself:
    untrusted unless given as the CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fruitstore test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address(address))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256()))
    certfile, keyfile = pathlib.Path(directory, "cert.pem"), pathlib.Path(directory, "key.pem")
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return str(certfile), str(keyfile)


class DrippingServer:
    """A raw TCP server on 127.0.0.1 that answers a byte every `interval` seconds; a context manager (or close()).

    Each connection gets `greeting` at once; then, when `until` is given, the server reads what the client sends
    until `until` has come (at most 30 s); then it sends `answer` (byte values, maybe endless) a byte at a time and
    hangs up. A client whose timeout covers only each read waits as long as the answer lasts, for ever if it is
    endless; one that keeps a deadline gives up at it. .held: how many seconds each client stayed connected before
    it (or the server) hung up. .host, .port, and .url for the HTTP variant.

    DrippingServer.smtp("banner"): a banner that never ends (a line that grows by a byte at a time);
    DrippingServer.smtp("ehlo"): the banner at once, the answer to EHLO a byte at a time (minutes at a byte a second);
    DrippingServer.http(): a whole, valid answer to any request, a byte at a time (a broken proxy in front of a store).
    """

    EHLO_ANSWER = b"".join(b"250-drip.example offers feature %02d\r\n" % n for n in range(8)) + b"250 HELP\r\n"
    HTTP_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"

    def __init__(self, answer, greeting=b"", until=None, interval=1.0):
        self.answer, self.greeting, self.until, self.interval = answer, greeting, until, interval
        self.host = "127.0.0.1"
        self.held = []
        self._server = socket.create_server((self.host, 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self.url = "http://%s:%d" % (self.host, self.port)
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @classmethod
    def smtp(cls, drip="ehlo", interval=1.0):
        if drip == "banner":
            return cls(itertools.chain(b"220 drip.example ESMTP ", itertools.repeat(ord("."))), interval=interval)
        assert drip == "ehlo", drip
        return cls(cls.EHLO_ANSWER, greeting=b"220 drip.example ESMTP\r\n", until=b"\n", interval=interval)

    @classmethod
    def http(cls, interval=1.0):
        return cls(cls.HTTP_ANSWER, until=b"\r\n\r\n", interval=interval)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._server.close()

    def _accept(self):
        while not self._stopping.is_set():
            try:
                connection, _peer = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection):
        opened = time.monotonic()
        with connection:
            try:
                connection.sendall(self.greeting)
                heard = self.until is None or self._wait(connection, 30, until=self.until)
                for byte in iter(self.answer) if heard else ():
                    if not self._wait(connection, self.interval):
                        break
                    connection.sendall(bytes([byte]))
            except OSError:
                pass
        self.held.append(time.monotonic() - opened)

    def _wait(self, connection, seconds, until=None):
        """Read what the client sends for `seconds` (or until `until` has come); False once it has hung up."""
        end = time.monotonic() + seconds
        heard = b""
        while not self._stopping.is_set() and time.monotonic() < end:
            if select.select([connection], [], [], min(0.1, max(0.0, end - time.monotonic())))[0]:
                try:
                    data = connection.recv(4096)
                except OSError:
                    return False
                if not data:
                    return False
                heard = (heard + data)[-4096:]
                if until and until in heard:
                    return True
        return not self._stopping.is_set()


HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


class Fault:
    """What to do to the next `times` requests whose method and path start as given."""

    def __init__(self, method, path, action, times=1, **details):
        self.method, self.path, self.action, self.times, self.details = method, path, action, times, details

    def matches(self, method, path):
        return self.times > 0 and method == self.method and path.startswith(self.path)


class FaultProxy:
    """An HTTP proxy in front of the real store that injects the faults a real network and store produce:
    proxy.url in place of the store's; proxy.add(Fault(...)) arms a fault; proxy.seen lists (method, path) of every
    request; close() stops it.

    Actions: 'status' answers details['status'] (and details['body']) without asking the store; 'lose' lets the
    store handle the request, then drops the connection without an answer; 'delay' waits details['seconds']
    before passing the request on; 'rewrite' passes the store's answer through details['rewrite'](body)."""

    def __init__(self, upstream):
        self.upstream = urlsplit(upstream)
        self.faults = []
        self.seen = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, fault):
        with self.lock:
            self.faults.append(fault)
        return fault

    def take(self, method, path):
        with self.lock:
            self.seen.append((method, path))
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def forward(self, method, path, headers, body):
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = proxy.take(self.command, self.path)
                if fault and fault.action == "status":
                    return self.answer(fault.details["status"], [("Content-Type", "application/json")],
                                       json.dumps(fault.details.get("body", {"detail": "injected"})).encode())
                if fault and fault.action == "delay":
                    time.sleep(fault.details["seconds"])
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                status, answer_headers, answer = proxy.forward(self.command, self.path, headers, body)
                if fault and fault.action == "lose":
                    self.close_connection = True
                    return
                if fault and fault.action == "rewrite":
                    answer = fault.details["rewrite"](answer)
                self.answer(status, answer_headers, answer)

            def answer(self, status, headers, body):
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = handle_any

        return Handler


# -- the demo's services in the background --------------------------------------------------------------------------

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
    parser.add_argument("action", choices=("start", "stop", "relay"))
    parser.add_argument("services", nargs="*", metavar="store|mail", help="what to start (default: both)")
    parser.add_argument("--dir", default=os.path.join(REPO, "var", "demo"))
    parser.add_argument("--store-port", type=int, default=8000)
    parser.add_argument("--smtp-port", type=int, default=8025)
    relay = parser.add_argument_group("relay", "the mail server alone, in the foreground until SIGTERM or SIGINT")
    relay.add_argument("--host", default="127.0.0.1", help="the address it listens on")
    relay.add_argument("--maildir", help="where it keeps the messages (default: DIR/mail)")
    relay.add_argument("--user", help="accept a login as this user (not required; offered without TLS)")
    relay.add_argument("--password-env", help="the environment variable holding the login's password")
    relay.add_argument("--tls-cert", help="offer STARTTLS (not required) with this certificate (PEM)")
    relay.add_argument("--tls-key", help="the certificate's key (PEM)")
    args = parser.parse_args()
    if args.action == "relay":
        if args.services or bool(args.user) != bool(args.password_env) or bool(args.tls_cert) != bool(args.tls_key):
            parser.error("relay takes no services; --user goes with --password-env, --tls-cert with --tls-key")
        serve_relay(args.host, args.smtp_port, args.maildir or os.path.join(args.dir, "mail"),
                    login=(args.user, os.environ[args.password_env]) if args.user else None,
                    tls_files=(args.tls_cert, args.tls_key) if args.tls_cert else None)
        return
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
