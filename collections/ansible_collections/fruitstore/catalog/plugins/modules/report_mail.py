#!/usr/bin/python
# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: report_mail
short_description: Mail the supplier's report once, over SMTP with verified TLS
version_added: 1.0.0
description:
  - Builds a MIME message with C(Date) and C(Message-ID), the body, and the attachments (a PDF as C(application/pdf)),
    and sends it over SMTP in plain text, with STARTTLS, or with implicit TLS. TLS certificates are verified.
  - Fails when the relay cannot be reached, refuses the login, or refuses any recipient. Never falls back to plain text
    when TLS was asked for.
  - Sends the same report only once. Every sent message is recorded in O(sent_log) under a key, O(once_key) or else a hash
    of the recipients, subject, body and attachments. A run that finds its key there sends nothing and reports C(ok).
    Two runs with the same O(sent_log) take turns (a lock beside it), so the same message is never sent twice even when
    they start at the same moment.
  - The recipients and the relay are O(mail). Until 2.0.0 they may also be given as options of their own, as before
    1.3.0 (O(to), O(host) and the others, deprecated); those cannot be mixed with O(mail).
extends_documentation_fragment:
  - fruitstore.catalog._mail
  - fruitstore.catalog._attributes
attributes:
  check_mode:
    support: full
    details:
      - Builds and validates the message and tells whether it would be sent; sends nothing.
      - An attachment that does not exist yet (a report that an earlier task would write) is left out with a warning.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Idempotent through O(sent_log); with O(force=true) every run sends.
options:
  subject:
    description:
      - Subject of the message, one line. White space around it is removed; a line break or another control
        character inside is refused (it would end the message's headers early).
    type: str
    default: Upload Completed - Online Fruit Store
  body:
    description: Text of the message.
    type: str
    default: All fruits are uploaded to our website successfully. A detailed list is attached to this email.
  total_weight:
    description: When given, the body gets a line stating the total weight uploaded, in lbs.
    type: int
  attachments:
    description: Files to attach. Their MIME type is guessed from the name (a C(.pdf) is C(application/pdf)).
    type: list
    elements: path
    default: []
  attachment_names:
    description:
      - The file names the attachments carry in the message, in the order of O(attachments); by default each file's
        own name. A report kept per delivery at any path still reaches the supplier as V(processed.pdf).
    type: list
    elements: str
    default: []
    version_added: 1.2.0
  once_key:
    description:
      - What makes this message the same as an earlier one, for example a hash of the imported products.
        Defaults to a hash of the recipients, subject, body and attachments.
    type: str
  sent_log:
    description: File that records the keys of sent messages. The directory is created when missing.
    type: path
    default: ~/.local/state/fruitstore/sent-mail.json
  force:
    description: Send even when O(sent_log) says this message was sent.
    type: bool
    default: false
  to:
    description: Deprecated, use O(mail.to). The recipients.
    type: list
    elements: str
    aliases: [recipients]
  sender:
    description: Deprecated, use O(mail.sender).
    type: str
  host:
    description: Deprecated, use O(mail.host).
    type: str
  port:
    description: Deprecated, use O(mail.port).
    type: int
  security:
    description: Deprecated, use O(mail.security).
    type: str
    choices: [plain, starttls, tls]
  username:
    description: Deprecated, use O(mail.username).
    type: str
  password:
    description: Deprecated, use O(mail.password). Never logged.
    type: str
  validate_certs:
    description: Deprecated, use O(mail.validate_certs).
    type: bool
  ca_path:
    description: Deprecated, use O(mail.ca_path).
    type: path
  timeout:
    description: Deprecated, use O(mail.timeout).
    type: float
requirements: []
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - module: fruitstore.catalog.report_pdf
  - name: community.general.mail
    description: The general-purpose mail module of the community.general collection, which this collection does not need.
    link: https://docs.ansible.com/ansible/latest/collections/community/general/mail_module.html
"""

EXAMPLES = r"""
- name: Mail the report to the supplier through the local relay
  fruitstore.catalog.report_mail:
    mail:
      to: [supplier@example.com]
    attachments: [/tmp/processed.pdf]
    total_weight: "{{ upload.total_weight }}"
  delegate_to: localhost

- name: Mail through a real relay with STARTTLS and a login
  fruitstore.catalog.report_mail:
    mail:
      to: [orders@acme.example]
      host: smtp.example.com
      port: 587
      security: starttls
      username: automation@example.com
      password: "{{ vault_smtp_password }}"
    attachments: [/tmp/processed.pdf]
  delegate_to: localhost
"""

RETURN = r"""
sent:
  description: Whether a message was sent by this run (in check mode, would be sent).
  returned: always
  type: bool
  sample: true
recipients:
  description: Recipients the relay accepted (in check mode, that would be used).
  returned: always
  type: list
  elements: str
  sample: [supplier@example.com]
message_id:
  description: C(Message-ID) of the message.
  returned: always
  type: str
  sample: <176382735061.4242.123@example.com>
key:
  description: The key the message is recorded under in O(sent_log).
  returned: always
  type: str
  sample: 3f0c9d...
"""

import hashlib
import json
import os

from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.module_utils._mail import MailSettings, mail_argument_spec, mail_options
from ansible_collections.fruitstore.catalog.plugins.module_utils._sent_log import NotRecorded, SentLog
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed, Run, SettingsError

DEFAULT_BODY = "All fruits are uploaded to our website successfully. A detailed list is attached to this email."


def _flat_options():
    """The mail's settings as options of their own, as before O(mail): deprecated, without defaults (those of O(mail)
    apply), so that Ansible warns whoever still gives one."""
    options = {}
    for name, option in mail_options().items():
        option = {key: value for key, value in option.items() if key not in ("default", "required")}
        options[name] = dict(option, removed_in_version="2.0.0", removed_from_collection="fruitstore.catalog")
    options["to"]["aliases"] = ["recipients"]
    return options


def _mail_settings(params, flat):
    """MailSettings of O(mail), else of the deprecated options of their own (O(to) and the others)."""
    if params["mail"]:
        return MailSettings.from_options(params["mail"], "report mail")
    defaults = {name: option.get("default") for name, option in mail_options().items()}
    given = {name: params[name] if params[name] is not None else defaults[name] for name in flat}
    return MailSettings.from_options(given, "report mail", prefix="")


def _body(params):
    body = params["body"]
    if params["total_weight"] is not None:
        body = body.rstrip("\n") + "\n\nTotal weight uploaded: {:,} lbs.\n".format(params["total_weight"])
    return body


def _read_attachments(run, paths, names):
    """(name, bytes) of each file to attach; raises Failed naming the one that cannot be read."""
    if len(names) > len(paths):
        raise SettingsError("attachment_names has %d names for %d attachments" % (len(names), len(paths)))
    attachments = []
    for number, path in enumerate(paths):
        if run.check_mode and not os.path.exists(path):
            # An earlier task in the same check run would have written it.
            run.warn("%s does not exist yet; it is left out of the message built in check mode" % path)
            continue
        try:
            with open(path, "rb") as handle:
                attachments.append((names[number] if number < len(names) else os.path.basename(path), handle.read()))
        except OSError as e:
            raise Failed("Cannot attach %s: %s" % (path, e))
    return attachments


def _content_key(recipients, subject, body, attachments):
    digest = hashlib.sha256(json.dumps([sorted(recipients), subject, body]).encode())
    for name, data in attachments:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def main():
    flat = _flat_options()
    module = mail_argument_spec().merge(dict(
        subject=dict(type="str", default="Upload Completed - Online Fruit Store"),
        body=dict(type="str", default=DEFAULT_BODY),
        total_weight=dict(type="int"),
        attachments=dict(type="list", elements="path", default=[]),
        attachment_names=dict(type="list", elements="str", default=[]),
        once_key=dict(type="str", no_log=False),
        sent_log=dict(type="path", default="~/.local/state/fruitstore/sent-mail.json"),
        force=dict(type="bool", default=False),
        **flat
    )).module(supports_check_mode=True, required_one_of=[("mail", "to")],
              required_together=[("username", "password")], mutually_exclusive=[("mail", name) for name in flat])
    params, run = module.params, Run.of(module)
    try:
        mail = _mail_settings(params, flat)
        body = _body(params)
        attachments = _read_attachments(run, params["attachments"], params["attachment_names"])
        try:
            # Cleaned (surrounding white space) and checked (no line breaks) here, so that the error names the option.
            subject = smtp.header_value(params["subject"], "option 'subject'")
            message = smtp.build_message(mail.sender, mail.to, subject, body, attachments)
        except smtp.MailError as e:
            raise SettingsError("Cannot build the report mail: %s" % e)
        key = params["once_key"] or _content_key(mail.to, subject, body, attachments)
        sent = SentLog.send_once(run, params["sent_log"], key, mail.relay, message, "report mail",
                                 force=params["force"])
    except NotRecorded as e:
        module.fail_json(msg=str(e), changed=True, sent=True, recipients=list(mail.to),
                         message_id=message["Message-ID"], key=key)
    except Failed as e:
        module.fail_json(msg=str(e), **e.result)
    except OSError as e:  # the record's lock
        module.fail_json(msg="Cannot lock the sent-mail record %s: %s" % (params["sent_log"], e))
    module.exit_json(changed=sent["sent"], sent=sent["sent"], recipients=sent["recipients"] or list(mail.to),
                     message_id=sent["message_id"], key=key)


if __name__ == "__main__":
    main()
