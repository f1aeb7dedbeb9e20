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
extends_documentation_fragment:
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
  to:
    description:
      - Recipients. White space around an address (the newline a YAML folded scalar ends with) is removed; an address
        with a line break or another control character inside is refused.
    type: list
    elements: str
    required: true
    aliases: [recipients]
  sender:
    description: The C(From) address, cleaned and checked as O(to) is.
    type: str
    default: automation@example.com
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
  host:
    description: The SMTP relay.
    type: str
    default: localhost
  port:
    description: Port of the relay (25 for plain or STARTTLS, 587 for submission with STARTTLS, 465 for implicit TLS).
    type: int
    default: 25
  security:
    description:
      - V(plain) sends without encryption, V(starttls) requires the relay to offer STARTTLS and fails otherwise,
        V(tls) connects with TLS from the start.
    type: str
    choices: [plain, starttls, tls]
    default: plain
  username:
    description: User name to log in to the relay with. Requires O(password).
    type: str
  password:
    description: Password to log in to the relay with. Never logged.
    type: str
  validate_certs:
    description: Verify the relay's certificate and host name. Only set to V(false) for a relay you trust.
    type: bool
    default: true
  ca_path:
    description: PEM file of the certificate authority that signed the relay's certificate.
    type: path
  timeout:
    description:
      - Seconds the whole exchange with the relay may take, over 0 and at most 3600. It is a deadline, not a wait per
        read - name lookup, connection, TLS handshake, banner, EHLO, STARTTLS, login and the message all share it -
        so however slowly the relay answers (a byte a second, or a banner that never ends), the module gives up at most
        O(timeout) seconds after it began to connect and fails saying which step it was waiting for.
    type: float
    default: 20
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
    to: [supplier@example.com]
    attachments: [/tmp/processed.pdf]
    total_weight: "{{ upload.total_weight }}"
  delegate_to: localhost

- name: Mail through a real relay with STARTTLS and a login
  fruitstore.catalog.report_mail:
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fruitstore.catalog.plugins.module_utils import _mail as mail
from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import exclusive
from ansible_collections.fruitstore.catalog.plugins.module_utils._sent_log import SentLog

DEFAULT_BODY = "All fruits are uploaded to our website successfully. A detailed list is attached to this email."


def _body(params):
    body = params["body"]
    if params["total_weight"] is not None:
        body = body.rstrip("\n") + "\n\nTotal weight uploaded: {:,} lbs.\n".format(params["total_weight"])
    return body


def _read_attachments(module):
    attachments = []
    names = module.params["attachment_names"]
    if len(names) > len(module.params["attachments"]):
        module.fail_json(msg="attachment_names has %d names for %d attachments" % (
            len(names), len(module.params["attachments"])))
    for number, path in enumerate(module.params["attachments"]):
        if module.check_mode and not os.path.exists(path):
            # An earlier task in the same check run would have written it.
            module.warn("%s does not exist yet; it is left out of the message built in check mode" % path)
            continue
        try:
            with open(path, "rb") as handle:
                attachments.append((names[number] if number < len(names) else os.path.basename(path), handle.read()))
        except OSError as e:
            module.fail_json(msg="Cannot attach %s: %s" % (path, e))
    return attachments


def _content_key(recipients, subject, body, attachments):
    digest = hashlib.sha256(json.dumps([sorted(recipients), subject, body]).encode())
    for name, data in attachments:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def main():
    argument_spec = mail.mail_options()  # the suboptions of the other modules' option mail, as options of its own
    argument_spec["to"]["aliases"] = ["recipients"]
    argument_spec.update(
        subject=dict(type="str", default="Upload Completed - Online Fruit Store"),
        body=dict(type="str", default=DEFAULT_BODY),
        total_weight=dict(type="int"),
        attachments=dict(type="list", elements="path", default=[]),
        attachment_names=dict(type="list", elements="str", default=[]),
        once_key=dict(type="str", no_log=False),
        sent_log=dict(type="path", default="~/.local/state/fruitstore/sent-mail.json"),
        force=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_together=[("username", "password")])
    params = module.params
    body = _body(params)
    attachments = _read_attachments(module)
    try:
        # Header values cleaned (surrounding white space) and checked (no line breaks) here, so the error names the option.
        params = dict(mail.checked_addresses(params), subject=smtp.header_value(params["subject"], "option 'subject'"))
        message = smtp.build_message(params["sender"], params["to"], params["subject"], body, attachments)
        settings = mail.smtp_settings(params)
    except smtp.MailError as e:
        module.fail_json(msg="Cannot build the report mail: %s" % e)
    key = params["once_key"] or _content_key(params["to"], params["subject"], body, attachments)
    # Two runs of the same import must not both find the key missing and both send.
    with exclusive(params["sent_log"], check_mode=module.check_mode):
        _send_once(module, message, settings, key)


def _send_once(module, message, settings, key):
    params = module.params
    sent_log = SentLog(params["sent_log"], module.warn)
    result = dict(changed=False, sent=False, recipients=params["to"], message_id=message["Message-ID"], key=key)
    if key in sent_log and not params["force"]:
        result["message_id"] = sent_log.keys[key]
        module.exit_json(**result)
    result.update(changed=True, sent=True)
    if module.check_mode:
        module.exit_json(**result)
    try:
        result["recipients"] = smtp.send(settings, message)
    except smtp.MailError as e:
        module.fail_json(msg="The report mail to %s was not sent: %s" % (", ".join(params["to"]), e))
    try:
        sent_log.add(key, message["Message-ID"])
    except OSError as e:
        module.fail_json(msg="The report mail was sent, but recording it in %s failed: %s" % (params["sent_log"], e),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
