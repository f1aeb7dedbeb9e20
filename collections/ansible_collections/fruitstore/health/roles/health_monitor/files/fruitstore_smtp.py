# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# Building and sending mail over SMTP, with the Python standard library only: the report_mail
# module uses it on the control node, and the health_monitor role deploys this same file next to
# the health_check script on every web server. The role ships a copy of its own
# (the fruitstore.health collection's roles/health_monitor/files/fruitstore_smtp.py, so that it works without the
# fruitstore.catalog), written by `make role-files` and kept identical by the unit tests: change this file.
#
# The timeout is a deadline for the whole exchange with the relay: name lookup, connection, TLS
# handshake, banner, EHLO, STARTTLS, AUTH and the message itself. smtplib's own timeout is a socket
# timeout, which a relay that answers one byte a second never triggers; here every wait gets only
# the time left before the deadline, so a send gives up at most `timeout` seconds after it began.

from __future__ import annotations

import email.policy
import math
import mimetypes
import smtplib
import socket
import ssl
import threading
import time
import unicodedata
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid

SECURITY_MODES = ("plain", "starttls", "tls")
PORT_RANGE = (1, 65535)
MAX_TIMEOUT = 3600.0
# Headers are folded only past SMTP's line limit (RFC 5322: 998 characters). At the default 78, Python folds a value
# that fits on a line of its own but not after its name with an empty first line ("Subject:" and the subject on the
# next line), which some mail readers show as an empty subject.
POLICY = email.policy.default.clone(max_line_length=998)


class MailError(Exception):
    """A message could not be built or delivered; the text says which server or address and why."""


# ---------------------------------------------------------------------------------------------- header values

def header_value(value, what):
    """value without surrounding white space (a YAML folded scalar ends in a newline).

    Raises MailError naming `what` (for example "option 'subject'") when a line break or another control
    character is left inside: in a header it would end the header, or the whole header block, early."""
    text = str(value).strip()
    for position, char in enumerate(text):
        if char != "\t" and unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise MailError("%s must be a single line of text, but %r holds the control character U+%04X (%s) "
                            "at character %d" % (what, text, ord(char), _char_name(char), position + 1))
    return text


def address(value, what):
    """A mail address as header_value cleans it; MailError naming `what` unless it is one valid address."""
    text = header_value(value, what)
    if not _is_address(text):
        raise MailError("%s: '%s' is not a valid mail address" % (what, text))
    return text


def _char_name(char):
    return {"\n": "line feed", "\r": "carriage return"}.get(char) or unicodedata.name(char, "control").lower()


def _is_address(text):
    parsed = getaddresses([text])
    return len(parsed) == 1 and "@" in parsed[0][1] and not any(char.isspace() for char in parsed[0][1])


def build_message(sender, recipients, subject, body, attachments=(), message_id_domain=None):
    """Return an EmailMessage with Date and Message-ID; attachments are (file name, bytes) pairs.

    Callers that know what the user called each value check it first with address() and header_value(),
    so that the error names the option or setting; the checks here only guard the headers."""
    sender = address(sender, "the sender")
    recipients = [address(recipient, "the recipient") for recipient in recipients]
    if not recipients:
        raise MailError("no recipient given")
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = header_value(subject, "the subject")
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=message_id_domain or getaddresses([sender])[0][1].rpartition("@")[2])
    message.set_content(body)
    for filename, data in attachments:
        mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        maintype, subtype = mime_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


# ---------------------------------------------------------------------------------------------- settings

def tls_context(validate_certs=True, ca_file=None):
    context = ssl.create_default_context(cafile=ca_file)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SMTPSettings:
    """Where and how to reach the relay. The password never appears in repr() or in error texts."""

    def __init__(self, host="localhost", port=25, security="plain", username=None, password=None,
                 timeout=20.0, validate_certs=True, ca_file=None):
        if security not in SECURITY_MODES:
            raise MailError("security must be one of %s, not '%s'" % (", ".join(SECURITY_MODES), security))
        if bool(username) != bool(password):
            raise MailError("the SMTP username and password must be given together")
        self.host = header_value(host, "host")
        if not self.host:
            raise MailError("host must name the relay")
        self.port = _checked(port, int, lambda port: PORT_RANGE[0] <= port <= PORT_RANGE[1],
                             "port", "a whole number from %d to %d" % PORT_RANGE)
        self.security = security
        self.username = username
        self.password = password
        self.timeout = _checked(timeout, float, lambda seconds: 0 < seconds <= MAX_TIMEOUT, "timeout",
                                "a number of seconds over 0 and at most %g (it bounds the whole exchange)" % MAX_TIMEOUT)
        self.validate_certs = validate_certs
        self.ca_file = ca_file

    @property
    def where(self):
        return "%s:%s (%s)" % (self.host, self.port, self.security)

    def __repr__(self):
        return "SMTPSettings(%s, user=%r)" % (self.where, self.username)


def _checked(value, kind, accept, name, allowed):
    """value as kind (int or float) when it is finite and accept() takes it; else MailError naming it."""
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is None or isinstance(value, bool) or not math.isfinite(number) or not accept(number):
        raise MailError("%s must be %s, not %r" % (name, allowed, value))
    return number


# ---------------------------------------------------------------------------------------------- the deadline

class Deadline:
    """The moment a wait ends. Every step of an SMTP exchange gets only the time left before it."""

    def __init__(self, seconds):
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self):
        """Seconds left; socket.timeout once there are none."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise socket.timeout("the deadline has passed")
        return left

    @property
    def passed(self):
        return time.monotonic() >= self._end


def _before(deadline, function, *args):
    """function(*args) in a helper thread, waited for until the deadline: name lookups have no timeout of their own."""
    outcome = {}

    def call():
        try:
            outcome["value"] = function(*args)
        except Exception as e:  # handed to the caller below
            outcome["error"] = e

    worker = threading.Thread(target=call, name="fruitstore-smtp-lookup", daemon=True)
    worker.start()
    worker.join(deadline.left())
    if worker.is_alive():
        raise socket.timeout("the name lookup did not finish in time")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _local_hostname(deadline):
    """The name EHLO gives for this host, found as smtplib finds it (the FQDN, else an address literal)."""
    fqdn = _before(deadline, socket.getfqdn)
    if "." in fqdn:
        return fqdn
    try:
        return "[%s]" % _before(deadline, socket.gethostbyname, socket.gethostname())
    except socket.gaierror:
        return "[127.0.0.1]"


def _open_socket(host, port, deadline):
    """A TCP connection to the first address of host that answers, all tries within the deadline."""
    error = OSError("%s has no address" % host)
    addresses = _before(deadline, socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    for family, kind, protocol, _name, where in addresses:
        sock = socket.socket(family, kind, protocol)
        try:
            sock.settimeout(deadline.left())
            sock.connect(where)
            return sock
        except OSError as e:
            sock.close()
            if isinstance(e, socket.timeout):
                raise
            error = e
    raise error


class _ArmedContext:
    """The client's SSLContext, whose handshakes get the time left before the deadline (smtplib only calls
    wrap_socket)."""

    def __init__(self, context, client):
        self._context = context
        self._client = client

    def wrap_socket(self, sock, **options):
        self._client.waiting_for = "the TLS handshake"
        sock.settimeout(self._client.deadline.left())
        return self._context.wrap_socket(sock, **options)


class _Reader:
    """smtplib reads replies with readline(); this one waits for every chunk only until the deadline."""

    def __init__(self, sock, deadline):
        self._sock = sock
        self._deadline = deadline
        self._buffer = b""

    def readline(self, limit=-1):
        while b"\n" not in self._buffer and (limit < 0 or len(self._buffer) < limit):
            self._sock.settimeout(self._deadline.left())
            chunk = self._sock.recv(4096)
            if not chunk:
                break
            self._buffer += chunk
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if limit >= 0:
            end = min(end, limit)
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        return line

    def close(self):
        self._buffer = b""


class _Client(smtplib.SMTP):
    """smtplib.SMTP (plain, STARTTLS or implicit TLS) that never waits past the deadline; .waiting_for says what
    it was waiting for last, for the message when the relay is too slow."""

    def __init__(self, settings, deadline, context):
        self.deadline = deadline
        self.tls = _ArmedContext(context, self)
        self._implicit_tls = settings.security == "tls"
        self.waiting_for = "a name lookup"
        super().__init__(timeout=settings.timeout, local_hostname=_local_hostname(deadline))
        self._host = settings.host  # the name STARTTLS verifies the certificate against

    def _get_socket(self, host, port, timeout):
        self.waiting_for = "the connection"
        sock = _open_socket(host, port, self.deadline)
        if self._implicit_tls:
            sock = self.tls.wrap_socket(sock, server_hostname=host)
        self.waiting_for = "the banner"
        return sock

    def putcmd(self, cmd, args=""):
        self.waiting_for = "the answer to %s" % cmd.upper()
        super().putcmd(cmd, args)

    def send(self, s):
        if self.sock:
            self.sock.settimeout(self.deadline.left())
        super().send(s)

    def getreply(self):
        if self.file is None and self.sock:
            self.file = _Reader(self.sock, self.deadline)
        return super().getreply()


# ---------------------------------------------------------------------------------------------- sending

def _start(smtp, settings):
    """Connect, EHLO, STARTTLS and log in, as settings say."""
    code, banner = smtp.connect(settings.host, settings.port)
    if code != 220:
        raise smtplib.SMTPConnectError(code, banner)
    smtp.ehlo()
    if settings.security == "starttls":
        if not smtp.has_extn("starttls"):
            raise MailError("the relay %s does not offer STARTTLS; refusing to send in plain text" % settings.where)
        smtp.starttls(context=smtp.tls)
        smtp.ehlo()
    if settings.username:
        if not smtp.has_extn("auth"):
            raise MailError("the relay %s does not offer AUTH; cannot log in as %s" % (settings.where, settings.username))
        smtp.login(settings.username, settings.password)


def send(settings, message, deadline=None):
    """Deliver message to all its To recipients; raise MailError unless every recipient was accepted.

    The whole exchange ends by `deadline` (a Deadline; settings.timeout seconds from now by default): a caller
    that sends several messages passes one deadline to bound them all."""
    deadline = deadline or Deadline(settings.timeout)
    recipients = [recipient for _name, recipient in getaddresses(message.get_all("To", []))]
    smtp = None
    try:
        # A TLS context loads the system's CA certificates (about 20 ms): a plain relay has no use for one.
        context = None if settings.security == "plain" else tls_context(settings.validate_certs, settings.ca_file)
        smtp = _Client(settings, deadline, context)
        try:
            _start(smtp, settings)
            refused = smtp.send_message(message, to_addrs=recipients)
        except BaseException:
            smtp.close()  # no QUIT: .waiting_for keeps naming the step that failed
            raise
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    except MailError:
        raise
    except (smtplib.SMTPException, OSError) as e:
        if isinstance(e, socket.timeout) or deadline.passed:
            raise MailError("the relay %s did not finish the SMTP exchange within the timeout of %g s (gave up "
                            "waiting for %s)" % (settings.where, deadline.seconds,
                                                 smtp.waiting_for if smtp else "a name lookup"))
        raise MailError(_failure(settings, e))
    if refused:
        raise MailError("the relay %s refused %s (the others were accepted)" % (settings.where, _refusals(refused)))
    return recipients


def _failure(settings, e):
    if isinstance(e, smtplib.SMTPAuthenticationError):
        return "the relay %s refused the login of %s: %s %s" % (
            settings.where, settings.username, e.smtp_code, _text(e.smtp_error))
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return "the relay %s refused every recipient: %s" % (settings.where, _refusals(e.recipients))
    if isinstance(e, smtplib.SMTPResponseException):
        return "the relay %s answered %s %s" % (settings.where, e.smtp_code, _text(e.smtp_error))
    if isinstance(e, ssl.SSLError):
        return "TLS with the relay %s failed: %s" % (settings.where, e)
    return "cannot send mail through %s: %s" % (settings.where, e or e.__class__.__name__)


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refusals(refused):
    return ", ".join("%s (%s %s)" % (recipient, code, _text(reason)) for recipient, (code, reason) in sorted(refused.items()))
