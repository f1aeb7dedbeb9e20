#!/usr/bin/env python3
"""The lab's mail relay: aiosmtpd keeping every message in a Maildir, optionally accepting one login and offering
STARTTLS.

Runs in the lab's controller namespace, bound to the bridge address, until it is killed. AUTH is offered
without TLS (lab only) so the role's SMTP login path is exercised; senders that do not log in are accepted too.
With --tls-cert and --tls-key it offers STARTTLS (not required) with that certificate.
"""

import argparse
import os
import signal
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


def login_checker(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(), password.encode())
        return AuthResult(success=ok, handled=False)
    return check


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--user", help="accept a login as this user")
    parser.add_argument("--password-env", help="environment variable holding the login's password")
    parser.add_argument("--tls-cert", help="offer STARTTLS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="the certificate's key (PEM)")
    args = parser.parse_args()
    options = {}
    if args.user:
        options = {"authenticator": login_checker(args.user, os.environ[args.password_env]),
                   "auth_require_tls": False}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        options["tls_context"] = context
    controller = Controller(Mailbox(args.maildir), hostname=args.host, port=args.port, **options)
    controller.start()
    print("smtp: listening on %s:%s, maildir %s" % (args.host, args.port, args.maildir), flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    controller.stop()


if __name__ == "__main__":
    main()
