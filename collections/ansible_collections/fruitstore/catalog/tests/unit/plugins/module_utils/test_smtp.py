# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import smtplib

import pytest

from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp


class FakeSMTP:
    """Stands in for smtplib.SMTP: records the conversation, offers the given extensions."""

    def __init__(self, extensions=("starttls", "auth"), refused=None, login_error=None):
        self.extensions = extensions
        self.refused = refused or {}
        self.login_error = login_error
        self.calls = []

    def __call__(self, host, port, timeout=None, context=None):
        self.calls.append(("connect", host, port))
        return self

    def ehlo(self):
        self.calls.append(("ehlo",))

    def has_extn(self, name):
        return name in self.extensions

    def starttls(self, context=None):
        self.calls.append(("starttls", context.verify_mode))

    def login(self, user, password):
        if self.login_error:
            raise self.login_error
        self.calls.append(("login", user))

    def send_message(self, message, to_addrs):
        self.calls.append(("send", tuple(to_addrs)))
        return self.refused

    def quit(self):
        self.calls.append(("quit",))

    def close(self):
        self.calls.append(("close",))


def message():
    return smtp.build_message("automation@example.com", ["a@example.com", "b@example.com"], "S", "Body",
                              [("processed.pdf", b"%PDF-1.4")])


def test_message_has_date_id_and_a_pdf_attachment():
    built = message()
    assert built["Date"] and built["Message-ID"].endswith("@example.com>")
    (attachment,) = list(built.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "processed.pdf"


def test_bad_addresses_are_refused_before_sending():
    with pytest.raises(smtp.MailError, match="not a valid mail address"):
        smtp.build_message("automation@example.com", ["not an address"], "S", "B")


def test_starttls_verifies_and_logs_in(monkeypatch):
    fake = FakeSMTP()
    monkeypatch.setattr(smtplib, "SMTP", fake)
    settings = smtp.SMTPSettings("relay", 587, "starttls", "user", "secret")
    assert smtp.send(settings, message()) == ["a@example.com", "b@example.com"]
    import ssl
    assert ("starttls", ssl.CERT_REQUIRED) in fake.calls
    assert ("login", "user") in fake.calls


def test_starttls_not_offered_is_a_failure_not_a_downgrade(monkeypatch):
    fake = FakeSMTP(extensions=("auth",))
    monkeypatch.setattr(smtplib, "SMTP", fake)
    with pytest.raises(smtp.MailError, match="does not offer STARTTLS"):
        smtp.send(smtp.SMTPSettings("relay", 25, "starttls"), message())
    assert not any(call[0] == "send" for call in fake.calls)


def test_a_refused_recipient_fails(monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP(refused={"b@example.com": (550, b"no such user")}))
    with pytest.raises(smtp.MailError, match="b@example.com .550 no such user"):
        smtp.send(smtp.SMTPSettings(), message())


def test_a_refused_login_names_the_user_and_never_the_password(monkeypatch):
    error = smtplib.SMTPAuthenticationError(535, b"bad credentials")
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP(login_error=error))
    with pytest.raises(smtp.MailError) as raised:
        smtp.send(smtp.SMTPSettings("relay", 25, "plain", "user", "hunter2"), message())
    assert "user" in str(raised.value) and "hunter2" not in str(raised.value)
    assert "hunter2" not in repr(smtp.SMTPSettings("relay", 25, "plain", "user", "hunter2"))


def test_relay_down_is_a_clear_failure():
    with pytest.raises(smtp.MailError, match="cannot send mail through 127.0.0.1:9"):
        smtp.send(smtp.SMTPSettings("127.0.0.1", 9, timeout=2), message())
