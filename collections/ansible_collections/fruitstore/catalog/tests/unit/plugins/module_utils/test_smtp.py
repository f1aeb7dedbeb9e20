# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_smtp against real SMTP servers over TCP (the relay and scripted fixtures of tests/unit/plugins/conftest.py)."""

from __future__ import annotations

import email
import email.policy
import socket
import time

import pytest

from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp

from ..conftest import ENDLESS

DEADLINE = 0.3  # seconds: the timeout of the tests that wait for a relay that never finishes
DRIP = 0.05  # seconds between a dripping relay's bytes: several within the deadline, so that no single read times out
MARGIN = 0.5  # seconds a give-up may come after the deadline, on a busy machine


def message(to=("a@example.com", "b@example.com")):
    return smtp.build_message("automation@example.com", list(to), "S", "Body", [("processed.pdf", b"%PDF-1.4")])


TLS_RECORD = b"\x16\x03\x03" + ENDLESS  # the start of a TLS handshake record that never ends
EHLO_ANSWER = b"250-relay.example\r\n250-SIZE 10000000\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 HELP\r\n"


def gives_up(settings, within):
    """Send through settings; return the MailError after checking it came within `within` s (plus the margin)."""
    started = time.monotonic()
    with pytest.raises(smtp.MailError) as raised:
        smtp.send(settings, message())
    elapsed = time.monotonic() - started
    assert elapsed <= within + MARGIN, "gave up after %.2f s, the deadline was %s s" % (elapsed, within)
    return str(raised.value)


# -- messages and header values ------------------------------------------------------------------------------

def test_message_has_date_id_and_a_pdf_attachment():
    built = message()
    assert built["Date"] and built["Message-ID"].endswith("@example.com>")
    (attachment,) = list(built.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "processed.pdf"


def test_a_sender_with_a_display_name_gives_a_well_formed_message_id():
    built = smtp.build_message("Fruit Store <automation@example.com>", ["a@example.com"], "S", "B")
    assert built["Message-ID"].endswith("@example.com>") and ">>" not in built["Message-ID"]


@pytest.mark.parametrize("text", ["not an address", "a@example.com, b@example.com", "a b@example.com", ""])
def test_bad_addresses_are_refused_naming_the_setting(text):
    with pytest.raises(smtp.MailError, match="option 'to': .* is not a valid mail address"):
        smtp.address(text, "option 'to'")


@pytest.mark.parametrize("text", ["ops@example.com\n", "  ops@example.com \r\n", "\tops@example.com"])
def test_white_space_around_an_address_is_removed(text):
    assert smtp.address(text, "option 'to'") == "ops@example.com"


@pytest.mark.parametrize("text, code", [
    ("ops@example.com\nBcc: spy@example.com", "U+000A (line feed) at character 16"),
    ("ops@example.com\rBcc: spy@example.com", "U+000D (carriage return) at character 16"),
    ("Upload\r\n\r\nInjected body", "U+000D (carriage return) at character 7"),
    ("Upload\x00Done", "U+0000"),
    ("Upload\x0bDone", "U+000B"),
    ("Upload\x85Done", "U+0085"),
    ("Upload\u2028Done", "U+2028 (line separator)"),
])
def test_a_line_break_inside_a_header_value_is_refused_naming_the_setting(text, code):
    with pytest.raises(smtp.MailError) as raised:
        smtp.header_value(text, "option 'subject'")
    assert str(raised.value).startswith("option 'subject' must be a single line of text, but ")
    assert code in str(raised.value)


@pytest.mark.parametrize("subject", [
    "Supplier import: recovered acme/week-48/002.txt; nothing needs a person",  # fits alone, not after "Subject: "
    "Recovered - Available disk space is less than 20% on /srv/store/media/of/the/online/fruit/store"])
def test_a_long_subject_reaches_the_relay_on_the_subject_line(relay, subject):
    settings, mailbox = relay()
    smtp.send(settings, smtp.build_message("a@example.com", ["b@example.com"], subject, "Body"))
    assert ("\r\nSubject: %s\r\n" % subject).encode() in mailbox.raw[0], mailbox.raw[0]


def test_a_tab_and_non_ascii_text_are_fine_in_a_subject():
    assert smtp.header_value(" Upload\tCompleted – Café \n", "option 'subject'") == "Upload\tCompleted – Café"


@pytest.mark.parametrize("field", ["sender", "recipient", "subject"])
def test_the_message_builder_refuses_a_header_value_that_would_end_the_headers(field):
    values = {"sender": "automation@example.com", "recipient": "a@example.com", "subject": "Report"}
    values[field] += "\n\nX"
    with pytest.raises(smtp.MailError, match="must be a single line"):
        smtp.build_message(values["sender"], [values["recipient"]], values["subject"], "Body")


def test_values_ending_in_a_newline_give_a_message_whose_headers_end_where_they_should():
    built = smtp.build_message("automation@example.com\n", ["a@example.com\n"], "Report\n", "Body text")
    parsed = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)
    assert (parsed["From"], parsed["To"], parsed["Subject"]) == ("automation@example.com", "a@example.com", "Report")
    assert parsed.get_content().strip() == "Body text" and parsed["Message-ID"]


# -- settings ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, text", [
    ({"port": 0}, "port must be a whole number from 1 to 65535, not 0"),
    ({"port": 70000}, "port must be a whole number from 1 to 65535, not 70000"),
    ({"port": "smtp"}, "port must be a whole number from 1 to 65535, not 'smtp'"),
    ({"timeout": -1}, "timeout must be a number of seconds over 0 and at most 3600"),
    ({"timeout": 0}, "not 0"),
    ({"timeout": float("nan")}, "not nan"),
    ({"timeout": float("inf")}, "not inf"),
    ({"timeout": 1e9}, "not 1000000000.0"),
    ({"host": ""}, "host must name the relay"),
    ({"host": "relay\nexample"}, "host must be a single line"),
    ({"security": "ssl"}, "security must be one of plain, starttls, tls"),
    ({"username": "u"}, "username and password must be given together"),
])
def test_unusable_settings_are_refused_naming_the_setting(options, text):
    with pytest.raises(smtp.MailError) as raised:
        smtp.SMTPSettings(**options)
    assert text in str(raised.value)


# -- real relays ---------------------------------------------------------------------------------------------

def test_a_message_reaches_a_real_relay_with_its_headers(relay):
    settings, mailbox = relay()
    assert smtp.send(settings, message()) == ["a@example.com", "b@example.com"]
    (received,) = mailbox.messages
    assert received["Subject"] == "S" and received["To"] == "a@example.com, b@example.com"


def test_a_login_is_made_when_asked_and_a_wrong_one_names_the_user_not_the_password(relay):
    settings, mailbox = relay(login=("user", "right"), username="user", password="right")
    smtp.send(settings, message())
    wrong, _mailbox = relay(login=("user", "right"), username="user", password="hunter2")
    with pytest.raises(smtp.MailError, match="refused the login of user: 535") as raised:
        smtp.send(wrong, message())
    assert "hunter2" not in str(raised.value) and "hunter2" not in repr(wrong)
    assert len(mailbox.messages) == 1


def test_starttls_not_offered_is_a_failure_not_a_downgrade(relay):
    settings, mailbox = relay(security="starttls")
    with pytest.raises(smtp.MailError, match="does not offer STARTTLS; refusing to send in plain text"):
        smtp.send(settings, message())
    assert mailbox.messages == []


def test_a_refused_recipient_fails(relay):
    settings, _mailbox = relay(refuse={"b@example.com"})
    with pytest.raises(smtp.MailError, match="refused b@example.com .550 5.1.1 <b@example.com>: no such user here"):
        smtp.send(settings, message())


def test_relay_down_is_a_clear_failure():
    with pytest.raises(smtp.MailError, match="cannot send mail through 127.0.0.1:%d .plain.: .*refused" % 9):
        smtp.send(smtp.SMTPSettings("127.0.0.1", 9, timeout=2), message())


# -- the timeout is a deadline for the whole exchange ---------------------------------------------------------

@pytest.mark.parametrize("script, security, step", [
    ([(None, b"220 " + ENDLESS)], "plain", "the banner"),
    ([], "plain", "the banner"),
    ([(None, b"220 relay.example ESMTP\r\n"), (b"EHLO", EHLO_ANSWER * 100)], "plain", "the answer to EHLO"),
    ([(None, b"220 relay.example ESMTP\r\n"), (b"EHLO", EHLO_ANSWER), (b"STARTTLS", b"220 Go ahead\r\n"), (None, TLS_RECORD)],
     "starttls", "the TLS handshake"),
    ([(None, TLS_RECORD)], "tls", "the TLS handshake"),
])
def test_a_relay_that_answers_a_byte_at_a_time_is_given_up_on_at_the_deadline(scripted, script, security, step):
    relay = scripted(script, drip=DRIP)
    text = gives_up(relay.settings(DEADLINE, security=security), DEADLINE)
    assert text == ("the relay 127.0.0.1:%d (%s) did not finish the SMTP exchange within the timeout of 0.3 s "
                    "(gave up waiting for %s)" % (relay.port, security, step))


def test_a_relay_that_drips_after_the_login_is_given_up_on_during_the_message(scripted):
    script = [(None, b"220 relay.example ESMTP\r\n"), (b"EHLO", b"250-relay.example\r\n250 AUTH PLAIN\r\n"),
              (b"AUTH", b"235 2.7.0 Authentication successful\r\n"), (b"MAIL", b"250 OK\r\n"), (b"RCPT", b"250 OK\r\n"),
              (b"RCPT", b"250 OK\r\n"), (b"DATA", b"354 End data with <CR><LF>.<CR><LF>\r\n"), (b"\r\n.\r\n", ENDLESS)]
    relay = scripted(script, drip=DRIP)
    text = gives_up(relay.settings(DEADLINE, username="u", password="p"), DEADLINE)
    assert text.endswith("within the timeout of 0.3 s (gave up waiting for the answer to DATA)")


def test_the_relay_sees_the_client_hang_up_at_the_deadline(scripted):
    relay = scripted([(None, b"220 " + ENDLESS)], drip=DRIP)
    started = time.monotonic()
    gives_up(relay.settings(DEADLINE), DEADLINE)
    while relay.hung_up is None and time.monotonic() - started < DEADLINE + MARGIN:
        time.sleep(DRIP)
    assert relay.hung_up is not None and relay.hung_up - started <= DEADLINE + MARGIN


def test_a_name_lookup_that_hangs_is_given_up_on_at_the_deadline(monkeypatch):
    lookup = socket.getaddrinfo

    def slow_lookup(*args, **kwargs):
        time.sleep(30)
        return lookup(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    text = gives_up(smtp.SMTPSettings("relay.example", 25, timeout=DEADLINE), DEADLINE)
    assert text.endswith("within the timeout of 0.3 s (gave up waiting for the connection)")


def test_one_deadline_bounds_several_messages(relay):
    settings, mailbox = relay()
    deadline = smtp.Deadline(0.5)
    smtp.send(settings, message(), deadline)
    time.sleep(0.6)
    with pytest.raises(smtp.MailError, match="within the timeout of 0.5 s"):
        smtp.send(settings, message(), deadline)
    assert len(mailbox.messages) == 1
