# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import time

import pytest

from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.modules import report_mail

from ..conftest import ENDLESS
from .conftest import AnsibleFailJson


@pytest.fixture
def sent(monkeypatch):
    messages = []

    def send(settings, message):
        messages.append(message)
        return [message["To"]]

    monkeypatch.setattr(smtp, "send", send)
    return messages


def test_sent_once_then_remembered(run_module, sent, tmp_path):
    (tmp_path / "processed.pdf").write_bytes(b"%PDF-1.4 report")
    args = {"mail": {"to": ["supplier@example.com"]}, "attachments": [str(tmp_path / "processed.pdf")], "total_weight": 2790,
            "sent_log": str(tmp_path / "state" / "sent.json")}
    assert run_module(report_mail, args, check_mode=True)["changed"] and sent == []
    first = run_module(report_mail, args)
    assert first["changed"] and first["sent"] and len(sent) == 1
    body = sent[0].get_body(("plain",)).get_content()
    assert "Total weight uploaded: 2,790 lbs." in body
    assert sent[0]["Subject"] == "Upload Completed - Online Fruit Store"
    again = run_module(report_mail, args)
    assert not again["changed"] and again["message_id"] == first["message_id"] and len(sent) == 1
    assert run_module(report_mail, dict(args, force=True))["changed"] and len(sent) == 2


def test_a_failed_send_is_not_recorded(run_module, monkeypatch, tmp_path):
    def refuse(settings, message):
        raise smtp.MailError("cannot send mail through localhost:25 (plain): Connection refused")

    monkeypatch.setattr(smtp, "send", refuse)
    args = {"mail": {"to": ["supplier@example.com"]}, "sent_log": str(tmp_path / "sent.json")}
    with pytest.raises(AnsibleFailJson, match="was not sent: cannot send mail through localhost:25"):
        run_module(report_mail, args)
    assert not (tmp_path / "sent.json").exists()


def test_username_needs_password(run_module, tmp_path):
    with pytest.raises(AnsibleFailJson, match="username.*password|password.*username"):
        run_module(report_mail, {"mail": {"to": ["a@example.com"], "username": "u"}, "sent_log": str(tmp_path / "s.json")})


MAIL_OPTIONS = ("to", "sender", "host", "port", "security", "username", "password", "validate_certs", "ca_path",
                "timeout")


def relay_args(settings, tmp_path, **args):
    """The module's options for the relay of settings: the mail's in O(mail), the others beside it."""
    mail = {"to": ["supplier@example.com"], "host": settings.host, "port": settings.port}
    mail.update({name: value for name, value in args.items() if name in MAIL_OPTIONS})
    return dict({name: value for name, value in args.items() if name not in MAIL_OPTIONS}, mail=mail,
                sent_log=str(tmp_path / "sent.json"))


@pytest.mark.parametrize("option, value", [
    ("to", ["supplier@example.com\nBcc: spy@example.com"]),
    ("to", ["supplier@example.com", "ops@example.com\r\n\r\nInjected body"]),
    ("sender", "automation@example.com\rBcc: spy@example.com"),
    ("subject", "Upload Completed\r\nBcc: spy@example.com"),
    ("subject", "Upload Completed\n\nInjected body"),
    ("subject", "Upload\u2028Completed"),
])
def test_a_line_break_inside_a_header_option_fails_naming_the_option(run_module, relay, tmp_path, option, value):
    settings, mailbox = relay()
    with pytest.raises(AnsibleFailJson) as raised:
        run_module(report_mail, relay_args(settings, tmp_path, **{option: value}))
    name = "mail." + option if option in MAIL_OPTIONS else option
    assert raised.value.args[0]["msg"].startswith("Cannot build the report mail: option '%s' must be a single line of "
                                                  "text, but " % name)
    assert mailbox.messages == [] and not (tmp_path / "sent.json").exists()


def test_header_options_ending_in_a_newline_are_cleaned_and_the_mail_is_whole(run_module, relay, tmp_path):
    settings, mailbox = relay()
    result = run_module(report_mail, relay_args(settings, tmp_path, to=["supplier@example.com\n"],
                                                sender=" automation@example.com\n", subject="Upload Completed\n",
                                                total_weight=2790))
    assert result["sent"] and result["recipients"] == ["supplier@example.com"]
    (received,) = mailbox.messages
    assert (received["From"], received["To"], received["Subject"]) == (
        "automation@example.com", "supplier@example.com", "Upload Completed")
    assert "Total weight uploaded: 2,790 lbs." in received.get_content()


@pytest.mark.parametrize("option, value, text", [
    ("timeout", float("nan"), "timeout must be a number of seconds over 0 and at most 3600"),
    ("timeout", -1, "timeout must be a number of seconds over 0 and at most 3600"),
    ("port", 70000, "port must be a whole number from 1 to 65535, not 70000"),
])
def test_an_unusable_timeout_or_port_fails_naming_the_option(run_module, tmp_path, option, value, text):
    with pytest.raises(AnsibleFailJson, match=text):
        run_module(report_mail, {"mail": {"to": ["a@example.com"], option: value}, "sent_log": str(tmp_path / "sent.json")})


@pytest.mark.parametrize("script, step", [
    ([(None, b"220 " + ENDLESS)], "the banner"),
    ([(None, b"220 relay.example ESMTP\r\n"), (b"EHLO", b"250-relay.example\r\n" * 1000)], "the answer to EHLO"),
])
def test_a_relay_that_drips_fails_the_task_within_its_timeout(run_module, scripted, tmp_path, script, step):
    relay = scripted(script, drip=0.05)
    started = time.monotonic()
    with pytest.raises(AnsibleFailJson) as raised:
        run_module(report_mail, relay_args(relay.settings(0.3), tmp_path, timeout=0.3))
    assert time.monotonic() - started <= 0.3 + 1.0
    assert raised.value.args[0]["msg"] == (
        "The report mail to supplier@example.com was not sent: the relay 127.0.0.1:%d (plain) did not finish the SMTP "
        "exchange within the timeout of 0.3 s (gave up waiting for %s). Nothing was recorded; the next run tries "
        "again." % (relay.port, step))
    assert not (tmp_path / "sent.json").exists()


def test_the_mail_settings_as_options_of_their_own_still_work_and_are_deprecated(run_module, relay, deprecations,
                                                                                 tmp_path):
    settings, mailbox = relay()
    flat = {"to": ["supplier@example.com"], "host": settings.host, "port": settings.port, "timeout": 5}
    result = run_module(report_mail, dict(flat, sent_log=str(tmp_path / "sent.json")))
    assert result["sent"] and [m["To"] for m in mailbox.messages] == ["supplier@example.com"]
    assert deprecations() == [("Param '%s' is deprecated" % name, "2.0.0", "fruitstore.catalog")
                              for name in sorted(flat)]
    with pytest.raises(AnsibleFailJson, match="mutually exclusive: mail|to"):
        run_module(report_mail, dict(flat, mail={"to": ["ops@example.com"]}, sent_log=str(tmp_path / "sent.json")))
