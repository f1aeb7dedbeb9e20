# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Real SMTP servers on loopback for the unit tests: aiosmtpd for the relays that work (fixture relay), and a
scripted raw socket server for the relays that answer too slowly, a byte at a time or never (fixture scripted).

The repository's tests have the same servers in its tools/services.py (Relay, DrippingServer); ansible-test runs
this collection alone, without the repository, so these stay here, alike: the same answers (550 to a refused
recipient, 535 to a wrong login), a login given as (user, password), a drip well within the deadline a test sets."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp

ENDLESS = b"." * 10000  # a line that takes a scripted relay's drip for ever to finish


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps each message as an EmailMessage, and as the bytes it received (raw); answers 550 to
    the recipients in refuse."""

    def __init__(self, refuse=()):
        self.messages, self.raw, self.refuse = [], [], set(refuse)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address not in self.refuse:
            envelope.rcpt_tos.append(address)
            return "250 OK"
        return "550 5.1.1 <%s>: no such user here" % address

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.content)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def relay():
    """start(refuse=(), login=None, **settings) -> (SMTPSettings for it, its Mailbox): a real aiosmtpd relay on
    loopback. login=(user, password): the one login it accepts, and requires (another is answered 535)."""
    controllers = []

    def start(refuse=(), login=None, **settings):
        mailbox = Mailbox(refuse)
        options = {}
        if login:
            expected = tuple(part.encode() if isinstance(part, str) else part for part in login)

            def authenticate(server, session, envelope, mechanism, auth_data):
                accepted = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == expected
                return AuthResult(success=accepted, handled=False)  # handled=False: the server answers 535 itself
            options.update(auth_required=True, auth_require_tls=False, authenticator=authenticate)
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return smtp.SMTPSettings("127.0.0.1", controller.port, timeout=5, **settings), mailbox

    yield start
    for controller in controllers:
        controller.stop()


class ScriptedRelay:
    """A raw TCP server playing one SMTP conversation from a script of (command it waits for, answer) steps.

    A step whose command is None does not wait (the first: the banner). Answers go out at once, but for the last
    one, which goes out a byte every `drip` seconds (keep it well within the deadline under test, so that only a
    deadline for the whole exchange, not a timeout per read, ends the wait); after it the relay keeps the connection
    open and says nothing. .hung_up says when the client closed it (monotonic time)."""

    def __init__(self, script, drip=0.05):
        self.script = script
        self.drip = drip
        self.hung_up = None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._done = threading.Event()
        threading.Thread(target=self._play, daemon=True).start()

    def settings(self, timeout, **options):
        return smtp.SMTPSettings("127.0.0.1", self.port, timeout=timeout, **options)

    def close(self):
        self._done.set()
        self._listener.close()

    def _play(self):
        connection, _peer = self._listener.accept()
        connection.settimeout(self.drip)
        with connection:
            for step, (command, answer) in enumerate(self.script, 1):
                if command and not self._heard(connection, command):
                    return
                for part in [answer[i:i + 1] for i in range(len(answer))] if step == len(self.script) else [answer]:
                    connection.sendall(part)
                    if step == len(self.script) and not self._heard(connection, None):
                        return
            while self._heard(connection, None):
                pass

    def _heard(self, connection, command):
        """Listen one drip (or until command arrives); False once the client has hung up or the test is over."""
        while not self._done.is_set():
            try:
                data = connection.recv(4096)
            except socket.timeout:
                if command is None:
                    return True
                continue
            except OSError:
                data = b""
            if not data:
                self.hung_up = time.monotonic()
                return False
            if command is None or command in data.upper():
                return True
        return False


@pytest.fixture
def scripted():
    relays = []

    def start(script, drip=0.05):
        relays.append(ScriptedRelay(script, drip))
        return relays[-1]

    yield start
    for started in relays:
        started.close()
