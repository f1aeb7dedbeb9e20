"""Real SMTP servers (aiosmtpd) that behave like the relays that go wrong, and a self-signed certificate."""

import datetime
import email
import email.policy
import ipaddress
import socket

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tools.services import free_port


def self_signed_certificate(directory):
    """(certfile, keyfile) for 127.0.0.1 and localhost, signed by itself: untrusted unless given as the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fruitstore test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256()))
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return str(certfile), str(keyfile)


class Recorder:
    """Keeps every message; refuses the recipients it is told to."""

    def __init__(self, refuse=()):
        self.messages = []
        self.refuse = set(refuse)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class Relay:
    """Relay(refuse=..., login=(user, password), tls_context=...) as a context manager; .host, .port, .messages."""

    def __init__(self, refuse=(), login=None, starttls_context=None):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.recorder = Recorder(refuse)
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
