# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.modules import report_mail

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
    args = {"to": ["supplier@example.com"], "attachments": [str(tmp_path / "processed.pdf")], "total_weight": 2790,
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
    args = {"to": ["supplier@example.com"], "sent_log": str(tmp_path / "sent.json")}
    with pytest.raises(AnsibleFailJson, match="was not sent: cannot send mail through localhost:25"):
        run_module(report_mail, args)
    assert not (tmp_path / "sent.json").exists()


def test_username_needs_password(run_module, tmp_path):
    with pytest.raises(AnsibleFailJson, match="username.*password|password.*username"):
        run_module(report_mail, {"to": ["a@example.com"], "username": "u", "sent_log": str(tmp_path / "s.json")})
