# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# The mail settings of the modules that send mail: the option O(mail) (doc fragment fruitstore.catalog._mail), which
# report_mail takes as options of its own, and what _smtp sends with. The standard library and _smtp only: import_alert,
# which only mails, imports this and none of the import's libraries (Pillow, ReportLab, urllib3).

from __future__ import annotations

from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp


def mail_options():
    """The mail's settings (suboptions of O(mail)), named as report_mail names its options."""
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
    return dict(mail=dict(type="dict", options=mail_options(), required_together=[("username", "password")]))


def checked_addresses(settings, prefix=""):
    """The settings with their addresses cleaned (a YAML folded scalar's newline) and checked; raises smtp.MailError
    naming the option, prefix and its name (prefix "mail." for the suboptions of O(mail))."""
    return dict(settings, to=[smtp.address(value, "option '%sto'" % prefix) for value in settings["to"]],
                sender=smtp.address(settings["sender"], "option '%ssender'" % prefix))


def smtp_settings(settings):
    """The relay the settings name, and how to reach it; raises smtp.MailError when one of them is wrong."""
    return smtp.SMTPSettings(settings["host"], settings["port"], settings["security"], settings["username"],
                             settings["password"], settings["timeout"], settings["validate_certs"],
                             settings["ca_path"])
