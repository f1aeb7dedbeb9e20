"""Real SMTP servers (aiosmtpd) that behave like the relays that go wrong, a relay that answers one byte a second
(a raw socket server), and a self-signed certificate."""

import asyncio
import datetime
import email
import email.policy
import ipaddress
import itertools
import select
import socket
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tools.services import free_port


def self_signed_certificate(directory, address="127.0.0.1"):
    """(certfile, keyfile) for the address (127.0.0.1) and localhost, signed by itself: untrusted unless given as
    the CA."""
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
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return str(certfile), str(keyfile)


class Recorder:
    """Keeps every message; refuses the recipients it is told to; answers DATA after `delay` seconds."""

    def __init__(self, refuse=(), delay=0):
        self.messages = []
        self.refuse = set(refuse)
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class Relay:
    """Relay(refuse=..., login=(user, password), tls_context=..., delay=seconds) as a context manager; .host, .port,
    .messages."""

    def __init__(self, refuse=(), login=None, starttls_context=None, delay=0):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.recorder = Recorder(refuse, delay)
        options = {}
        if login:
            def authenticate(server, session, envelope, mechanism, auth_data):
                accepted = (auth_data.login, auth_data.password) == tuple(x.encode() for x in login)
                return AuthResult(success=accepted, handled=False)  # handled=False: the server answers 535 itself
            options.update(auth_required=True, auth_require_tls=False, authenticator=authenticate)
        if starttls_context:
            options.update(tls_context=starttls_context)
        self.controller = Controller(self.recorder, hostname=self.host, port=self.port, **options)

    @property
    def messages(self):
        return self.recorder.messages

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def closed_port():
    """A port nothing listens on."""
    port = free_port()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


class DrippingRelay:
    """A relay that answers one byte every `interval` seconds, on a raw socket server; a context manager.

    drip="banner": its banner never ends (a line that grows by a byte a second). drip="ehlo": the banner comes at
    once, the answer to EHLO a byte a second (it would take minutes). A client whose timeout covers only each read
    waits for ever; .held lists how many seconds each client stayed connected before it gave up."""

    EHLO_ANSWER = b"".join(b"250-drip.example offers feature %02d\r\n" % n for n in range(8)) + b"250 HELP\r\n"

    def __init__(self, drip="ehlo", interval=1.0):
        assert drip in ("banner", "ehlo")
        self.drip = drip
        self.interval = interval
        self.host = "127.0.0.1"
        self.held = []
        self._server = socket.create_server((self.host, 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    def __enter__(self):
        self._threads[0].start()
        return self

    def __exit__(self, *exc):
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
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection):
        opened = time.monotonic()
        with connection:
            if self.drip == "banner":
                answer = itertools.chain(b"220 drip.example ESMTP ", itertools.repeat(ord(".")))
            else:
                connection.sendall(b"220 drip.example ESMTP\r\n")
                answer = iter(self.EHLO_ANSWER) if self._wait(connection, 30, until=b"\n") else iter(())
            for byte in answer:
                if not self._wait(connection, self.interval):
                    break
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    break
        self.held.append(time.monotonic() - opened)

    def _wait(self, connection, seconds, until=None):
        """Read what the client sends for `seconds` (or until a line ends); False once it has hung up."""
        end = time.monotonic() + seconds
        while not self._stopping.is_set() and time.monotonic() < end:
            if select.select([connection], [], [], min(0.1, max(0.0, end - time.monotonic())))[0]:
                try:
                    data = connection.recv(4096)
                except OSError:
                    return False
                if not data:
                    return False
                if until and until in data:
                    return True
        return not self._stopping.is_set()
