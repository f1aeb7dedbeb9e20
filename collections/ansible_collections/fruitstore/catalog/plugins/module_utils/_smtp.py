# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# Building and sending mail over SMTP, with the Python standard library only: the report_mail
# module uses it on the control node, and the health_monitor role deploys this same file next to
# the health_check script on every web server.

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid

SECURITY_MODES = ("plain", "starttls", "tls")


class MailError(Exception):
    """A message could not be built or delivered; the text says which server or address and why."""


def build_message(sender, recipients, subject, body, attachments=(), message_id_domain=None):
    """Return an EmailMessage with Date and Message-ID; attachments are (file name, bytes) pairs."""
    for address in [sender] + list(recipients):
        if not _is_address(address):
            raise MailError("'%s' is not a valid mail address" % address)
    if not recipients:
        raise MailError("no recipient given")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=message_id_domain or sender.rpartition("@")[2])
    message.set_content(body)
    for filename, data in attachments:
        mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        maintype, subtype = mime_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def _is_address(address):
    parsed = getaddresses([address])
    return len(parsed) == 1 and "@" in parsed[0][1] and " " not in parsed[0][1]


def tls_context(validate_certs=True, ca_file=None):
    context = ssl.create_default_context(cafile=ca_file)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SMTPSettings:
    """Where and how to reach the relay. The password never appears in repr() or in error texts."""

    def __init__(self, host="localhost", port=25, security="plain", username=None, password=None,
                 timeout=20.0, validate_certs=True, ca_file=None):
        if security not in SECURITY_MODES:
            raise MailError("security must be one of %s, not '%s'" % (", ".join(SECURITY_MODES), security))
        if bool(username) != bool(password):
            raise MailError("the SMTP username and password must be given together")
        self.host = host
        self.port = int(port)
        self.security = security
        self.username = username
        self.password = password
        self.timeout = float(timeout)
        self.validate_certs = validate_certs
        self.ca_file = ca_file

    @property
    def where(self):
        return "%s:%s (%s)" % (self.host, self.port, self.security)

    def __repr__(self):
        return "SMTPSettings(%s, user=%r)" % (self.where, self.username)


def _connect(settings):
    context = tls_context(settings.validate_certs, settings.ca_file)
    if settings.security == "tls":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise MailError("the relay %s does not offer STARTTLS; refusing to send in plain text" % settings.where)
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            if not smtp.has_extn("auth"):
                raise MailError("the relay %s does not offer AUTH; cannot log in as %s" % (settings.where, settings.username))
            smtp.login(settings.username, settings.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def send(settings, message):
    """Deliver message to all its To recipients; raise MailError unless every recipient was accepted."""
    recipients = [address for _name, address in getaddresses(message.get_all("To", []))]
    try:
        smtp = _connect(settings)
        try:
            refused = smtp.send_message(message, to_addrs=recipients)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    except smtplib.SMTPAuthenticationError as e:
        raise MailError("the relay %s refused the login of %s: %s %s" % (settings.where, settings.username, e.smtp_code, _text(e.smtp_error)))
    except smtplib.SMTPRecipientsRefused as e:
        raise MailError("the relay %s refused every recipient: %s" % (settings.where, _refusals(e.recipients)))
    except smtplib.SMTPResponseException as e:
        raise MailError("the relay %s answered %s %s" % (settings.where, e.smtp_code, _text(e.smtp_error)))
    except ssl.SSLError as e:
        raise MailError("TLS with the relay %s failed: %s" % (settings.where, e))
    except (smtplib.SMTPException, OSError) as e:
        raise MailError("cannot send mail through %s: %s" % (settings.where, e or e.__class__.__name__))
    if refused:
        raise MailError("the relay %s refused %s (the others were accepted)" % (settings.where, _refusals(refused)))
    return recipients


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refusals(refused):
    return ", ".join("%s (%s %s)" % (address, code, _text(reason)) for address, (code, reason) in sorted(refused.items()))
