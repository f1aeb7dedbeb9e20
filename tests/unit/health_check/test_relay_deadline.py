"""smtp_timeout is a deadline for all the mail of a run: a relay that answers a byte at a time (or never finishes
its banner) is given up on in time, the mail waits for the next run, and the lock is free for it. Real relays over
TCP: the repository's dripping server and aiosmtpd relay (tools/services.py)."""

import time

import pytest

from health_check_support import FakeProbe, run_main
from tools.services import DrippingServer, Relay

MARGIN = 1.0  # seconds a run may take beyond its limit on a busy machine
DEADLINE = 1  # smtp_timeout's minimum (the script refuses less)
DRIP = 0.2  # seconds between the dripping relay's bytes: well within the deadline, so that no single wait times out


def timed_run(hc, argv, probe):
    started = time.monotonic()
    code = run_main(hc, argv, probe)
    return code, time.monotonic() - started


@pytest.mark.parametrize("drip, step", [("banner", "the banner"), ("ehlo", "the answer to EHLO")])
def test_a_dripping_relay_is_given_up_on_in_time_and_the_next_run_sends(hc, config_file, relay, capsys, drip, step):
    with DrippingServer.smtp(drip, interval=DRIP) as dripping:
        path = config_file(smtp_host=dripping.host, smtp_port=dripping.port, smtp_timeout=str(DEADLINE))
        code, elapsed = timed_run(hc, ["--config", path], FakeProbe(memory_mb=1))
    assert code == 2 and elapsed <= DEADLINE + MARGIN, "gave up after %.1f s" % elapsed
    captured = capsys.readouterr()
    assert captured.out.rstrip().endswith("| mails sent: 0, waiting: 1")
    assert captured.err == ("health_check: the relay 127.0.0.1:%d (plain) did not finish the SMTP exchange within the "
                            "timeout of %d s (gave up waiting for %s); 1 mail(s) kept for the next run\n"
                            % (dripping.port, DEADLINE, step))
    code, _elapsed = timed_run(hc, ["--config", path, "--smtp-port", str(relay.port)], FakeProbe(memory_mb=1))
    assert code == 2 and "mails sent: 1, waiting: 0" in capsys.readouterr().out, "the lock was free for this run"
    assert len(relay.messages) == 1


def test_one_deadline_bounds_all_the_mail_of_a_run(hc, config_file, capsys):
    with Relay(delay=0.7) as slow:
        path = config_file(smtp_host=slow.host, smtp_port=slow.port, smtp_timeout=str(DEADLINE))
        code, elapsed = timed_run(hc, ["--config", path], FakeProbe(cpu=99, memory_mb=1))
        assert code == 2 and elapsed <= DEADLINE + MARGIN
        assert "mails sent: 1, waiting: 1" in capsys.readouterr().out
        assert len(slow.messages) == 1
        code, _elapsed = timed_run(hc, ["--config", path], FakeProbe(cpu=99, memory_mb=1))
        assert "mails sent: 1, waiting: 0" in capsys.readouterr().out and len(slow.messages) == 2
