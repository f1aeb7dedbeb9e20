# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  mail:
    description:
      - The SMTP settings of the mail. Where O(mail) is optional, no mail is sent without them.
      - The suboptions are those of M(fruitstore.catalog.report_mail), with the same meanings.
    type: dict
    version_added: 1.2.0
    suboptions:
      to:
        description: Recipients.
        type: list
        elements: str
        required: true
      sender:
        description: The C(From) address.
        type: str
        default: automation@example.com
      host:
        description: The SMTP relay.
        type: str
        default: localhost
      port:
        description: Port of the relay.
        type: int
        default: 25
      security:
        description: V(plain), V(starttls) (required, never downgraded) or V(tls) (implicit TLS).
        type: str
        choices: [plain, starttls, tls]
        default: plain
      username:
        description: User to log in to the relay with; needs O(mail.password).
        type: str
      password:
        description: Password of O(mail.username).
        type: str
      validate_certs:
        description: Verify the relay's TLS certificate and host name.
        type: bool
        default: true
      ca_path:
        description: PEM file of the certificate authority that signed the relay's certificate.
        type: path
      timeout:
        description: Seconds the whole exchange with the relay may take.
        type: float
        default: 20
"""
