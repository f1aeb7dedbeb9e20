# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# The mail settings of every module that mails: the option O(mail) (doc fragment fruitstore.catalog._mail), and
# MailSettings, what main() builds of it once. The standard library and _smtp only: import_alert, which only mails,
# imports this and none of the import's libraries (Pillow, ReportLab, urllib3).

from __future__ import annotations

import dataclasses

from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.module_utils._argspec import ArgumentSpec
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import SettingsError


def mail_options():
    """The mail's settings: the suboptions of O(mail)."""
    return dict(
        to=dict(type="list", elements="str", required=True),
        sender=dict(type="str", default="automation@example.com"),
        host=dict(type="str", default="localhost"),
        port=dict(type="int", default=25),
        security=dict(type="str", choices=list(smtp.SECURITY_MODES), default="plain"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="float", default=20),
    )


def mail_argument_spec():
    """The option O(mail) (doc fragment fruitstore.catalog._mail)."""
    return ArgumentSpec(dict(mail=dict(type="dict", options=mail_options(),
                                       required_together=[("username", "password")])))


@dataclasses.dataclass(frozen=True)
class MailSettings:
    """Who a mail goes to, who sends it, and the relay it goes through (an smtp.SMTPSettings, checked)."""

    to: tuple
    sender: str
    relay: smtp.SMTPSettings

    @classmethod
    def from_options(cls, options, what="mail", prefix="mail."):
        """The settings of O(mail) (options: its value), the addresses cleaned (a YAML folded scalar's newline) and
        checked; raises SettingsError naming the mail (what) and the option (prefix and its name)."""
        try:
            return cls(tuple(smtp.address(value, "option '%sto'" % prefix) for value in options["to"]),
                       smtp.address(options["sender"], "option '%ssender'" % prefix),
                       smtp.SMTPSettings(options["host"], options["port"], options["security"], options["username"],
                                         options["password"], options["timeout"], options["validate_certs"],
                                         options["ca_path"]))
        except smtp.MailError as e:
            raise SettingsError("Cannot build the %s: %s" % (what, e))
