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
      - The mail's recipients and the SMTP relay it goes through. Where O(mail) is optional, no mail is sent without it.
      - Every module of the collection that mails takes this same option.
    type: dict
    version_added: 1.2.0
    suboptions:
      to:
        description:
          - Recipients. White space around an address (the newline a YAML folded scalar ends with) is removed; an
            address with a line break or another control character inside is refused.
        type: list
        elements: str
        required: true
      sender:
        description: The C(From) address, cleaned and checked as O(mail.to) is.
        type: str
        default: automation@example.com
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
          - V(plain) sends without encryption, V(starttls) requires the relay to offer STARTTLS and fails otherwise
            (never downgraded), V(tls) connects with TLS from the start.
        type: str
        choices: [plain, starttls, tls]
        default: plain
      username:
        description: User name to log in to the relay with. Requires O(mail.password).
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
          - Seconds the whole exchange with the relay may take, over 0 and at most 3600. It is a deadline, not a wait
            per read - name lookup, connection, TLS handshake, banner, EHLO, STARTTLS, login and the message all share
            it - so however slowly the relay answers, the module gives up at most O(mail.timeout) seconds after it
            began to connect and says which step it was waiting for.
        type: float
        default: 20
"""
