"""The operations team told once, through the import playbook (supplier_import's run summary and import_alert), with
the real store (gunicorn) and a real SMTP server (aiosmtpd): check mode foretells the mail and sends nothing, a relay
that is down fails the run and records nothing, the next run tells once, and a damaged state is set aside and
rebuilt, its open problem told once more."""

import os

from tests.integration.cron import OPS, mails_to, subject, supplier_with_a_refused_item
from tests.integration.deliveries import run
from tools.services import free_port

TOLD = "Supplier import: 1 problem needs a person"


def test_the_team_is_told_once_after_a_relay_that_was_down_and_again_once_after_a_damaged_state(
        store_factory, mail_server, tmp_path):
    _delivery, inventory = supplier_with_a_refused_item(tmp_path, store_factory(), mail_server)
    state = tmp_path / "state" / "alerts.json"

    preview = run(inventory, "--check")
    assert 'Alert mail to ops@example.com: would be sent, "%s"' % TOLD in preview.output, preview.output
    assert mails_to(mail_server, OPS) == [] and not state.exists()

    down = free_port()
    failed = run(inventory, "-e", "smtp_port=%d" % down)
    assert failed.returncode != 0
    assert ("Alert mail to ops@example.com: NOT SENT: The alert mail to ops@example.com was not sent: cannot send mail "
            "through 127.0.0.1:%d (plain)" % down) in failed.output, failed.output
    assert "Nothing was recorded; the next run tries again." in failed.output
    assert mails_to(mail_server, OPS) == [] and not state.exists()

    told = run(inventory)
    assert told.returncode != 0 and 'Alert mail to ops@example.com: sent, "%s"' % TOLD in told.output
    assert [subject(message) for message in mails_to(mail_server, OPS)] == [TOLD]
    assert "nothing new to tell" in run(inventory).output and len(mails_to(mail_server, OPS)) == 1

    state.write_bytes(b"\x00\xff not what import_alert writes")
    rebuilt = run(inventory)
    assert "The alert state %s was damaged (it is not UTF-8 text); it was set aside as" % state in \
        " ".join(rebuilt.output.split()), rebuilt.output
    assert [subject(message) for message in mails_to(mail_server, OPS)] == [TOLD, TOLD]  # told once more, as new
    (aside,) = [name for name in os.listdir(state.parent) if name.startswith("alerts.json.damaged-")]
    assert (state.parent / aside).read_bytes() == b"\x00\xff not what import_alert writes"
    assert "nothing new to tell" in run(inventory).output and len(mails_to(mail_server, OPS)) == 2
