#!/usr/bin/env python3
"""Print the messages of a Maildir as JSON: subject, from, to, host (X-Health-Check-Host) and body.

Used by the health_monitor Molecule verify on the lab's controller: list_mails.py MAILDIR [--host NAME]."""

import argparse
import email
import email.policy
import json
import mailbox


def summary(message):
    return {"subject": message["Subject"], "from": message["From"], "to": message["To"],
            "host": message["X-Health-Check-Host"], "message_id": message["Message-ID"],
            "body": message.get_content().strip()}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("maildir")
    parser.add_argument("--host", help="only the mail this host sent")
    args = parser.parse_args()
    maildir = mailbox.Maildir(args.maildir, create=False)
    mails = [summary(email.message_from_bytes(maildir.get_bytes(key), policy=email.policy.default))
             for key in sorted(maildir.keys())]
    print(json.dumps([mail for mail in mails if args.host in (None, mail["host"])], indent=1))


if __name__ == "__main__":
    main()
