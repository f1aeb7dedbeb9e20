"""smtp_ca_path: the relay's certificate is verified against the CA file given, over a real STARTTLS relay whose
certificate no system CA signed; a CA file that cannot be used is a bad setting before anything runs."""

import ssl

import pytest

from health_check_support import FakeProbe, run_main
from tools.services import Relay, self_signed_certificate

ALERT = "Error - Available memory is less than 500MB"


@pytest.fixture
def tls_relay(tmp_path):
    """A STARTTLS relay on 127.0.0.1 with a self-signed certificate; yields (relay, the certificate's file)."""
    certfile, keyfile = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    with Relay(starttls_context=context) as relay:
        yield relay, certfile


def test_the_relay_is_trusted_through_the_ca_file(hc, config_file, tls_relay, capsys):
    relay, certfile = tls_relay
    path = config_file(smtp_host="127.0.0.1", smtp_port=relay.port, smtp_security="starttls", smtp_ca_path=certfile)
    assert run_main(hc, ["--config", path, "--check-config"]) == 0
    assert run_main(hc, ["--config", path], FakeProbe(memory_mb=1)) == 2
    assert [message["Subject"] for message in relay.messages] == [ALERT]
    assert "mails sent: 1, waiting: 0" in capsys.readouterr().out


def test_without_the_ca_file_the_relay_is_not_trusted_and_the_mail_waits(hc, config_file, tls_relay, capsys):
    relay, _certfile = tls_relay
    path = config_file(smtp_host="127.0.0.1", smtp_port=relay.port, smtp_security="starttls")
    assert run_main(hc, ["--config", path], FakeProbe(memory_mb=1)) == 2
    captured = capsys.readouterr()
    assert relay.messages == [] and "mails sent: 0, waiting: 1" in captured.out
    assert "certificate verify failed" in captured.err


@pytest.mark.parametrize("content, reason", [
    (None, "No such file or directory"),
    ("not a certificate\n", "no certificate or crl found"),
])
def test_a_ca_file_that_cannot_be_used_is_refused_before_the_run(hc, config_file, tmp_path, capsys, content,
                                                                 reason):
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_text(content)
    path = config_file(smtp_security="starttls", smtp_ca_path=str(ca))
    assert run_main(hc, ["--config", path, "--check-config"]) == 3
    line = capsys.readouterr().out
    assert line.startswith("HEALTH UNKNOWN - bad setting smtp_ca_path = %r: cannot load CA certificates from it: "
                           % str(ca)) and reason in line, line
    assert not (tmp_path / "state").exists()
