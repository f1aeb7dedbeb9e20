"""Every setting is read and checked by its kind before anything runs: a value out of its range, of the wrong
type, or with a line break inside ends the run as UNKNOWN (exit 3) with a message that names the setting, where
it came from and what is allowed; nothing is measured, locked or mailed."""

import json

import pytest

from health_check_support import FakeProbe, run_main

NUMBERS = {
    "smtp_timeout": "a number from 1 to 45 (seconds)",
    "cpu_interval_seconds": "a number from 0.1 to 10 (seconds)",
    "cpu_percent_max": "a number from 1 to 100 (percent)",
    "disk_free_percent_min": "a number from 0 to 100 (percent)",
    "memory_available_mb_min": "a number from 0 to 16777216 (MB)",
    "reminder_minutes": "a number from 0 to 43200 (minutes; 0: never)",
    "smtp_port": "a whole number from 1 to 65535 (a TCP port)",
    "consecutive_failures": "a whole number from 1 to 1440 (runs)",
}
ONE_LINE = "without line breaks or other control characters"

# (setting, value, what the message says is allowed): the hostile values, each refused.
REFUSED = [(name, value, NUMBERS[name]) for name, values in [
    ("smtp_timeout", ["-1", "nan", "inf", "0", "0.5", "1e9", "46", "twenty", ""]),
    ("cpu_interval_seconds", ["1e9", "0", "-1", "nan", "0.01", "11"]),
    ("cpu_percent_max", ["nan", "0", "101", "-inf", "80%"]),
    ("disk_free_percent_min", ["-1", "100.5", "NaN"]),
    ("memory_available_mb_min", ["-500", "1e12", "nan", "500MB"]),
    ("reminder_minutes", ["-1", "inf", "1e9"]),
    ("smtp_port", ["0", "65536", "-25", "25.0", "smtp", "1e3"]),
    ("consecutive_failures", ["0", "2.5", "100000", "nan"]),
] for value in values] + [
    ("smtp_validate_certs", "maybe", "true or false (also yes/no, on/off, 1/0)"),
    ("smtp_security", "ssl", "one of plain, starttls, tls"),
    ("disk_mounts", ",", "one or more absolute paths separated by commas or spaces"),
    ("disk_mounts", "/, var", "one or more absolute paths separated by commas or spaces"),
    ("disk_mounts", "/\x07srv", "one or more absolute paths separated by commas or spaces, " + ONE_LINE),
    ("state_dir", "relative/state", "an absolute path"),
    ("lib_dir", "", "an absolute path"),
    ("smtp_host", "", "a host name or address"),
    ("smtp_host", "relay\nexample.com", "a host name or address, " + ONE_LINE + " (it holds U+000A at character 6)"),
    ("mail_from", "", "a mail address"),
    ("recipient", "ops@example.com\nBcc: spy@example.com",
     "a mail address, " + ONE_LINE + " (it holds U+000A at character 16)"),
    ("mail_from", "automation@example.com\nops@example.com",
     "a mail address, " + ONE_LINE + " (it holds U+000A at character 23)"),
    ("smtp_username", "monitor\x00", "one line of text, " + ONE_LINE + " (it holds U+0000 at character 8)"),
    ("smtp_ca_path", "relay-ca.pem", "an absolute path, or empty for the system's CA certificates"),
] + [(name, value, "a cron %s field: *, a number from %s, a range a-b, a step */n or a-b/n, or a list of these "
      "separated by commas" % (unit, numbers)) for name, unit, numbers, values in [
    ("cron_minute", "minute", "0 to 59", ["60", "-1", "*/0", "5/10", "10-5", "1-", "a", "", "1,,2", "* *", "*/61"]),
    ("cron_hour", "hour", "0 to 23", ["24", "*/2/2", "0-24", "two"]),
] for value in values]
FLAG_ONLY = [  # values an INI file cannot hold (configparser reads a carriage return as the end of a line)
    ("recipient", "ops@example.com\rBcc: spy@example.com", "a mail address, " + ONE_LINE + " (it holds U+000D"),
    ("mail_from", "automation@example.com\r\n\r\nInjected body", "a mail address, " + ONE_LINE + " (it holds U+000D"),
    ("recipient", "ops@example.com\u2028Bcc: spy@example.com", "a mail address, " + ONE_LINE + " (it holds U+2028"),
]


def flag(name):
    return "--" + name.replace("_", "-")


def refused(hc, argv, capsys, probe=None):
    """Run; check it is UNKNOWN before any work (no measure, no state directory); return the status line."""
    probe = probe or FakeProbe()
    assert run_main(hc, argv, probe) == 3
    line = capsys.readouterr().out
    assert line.startswith("HEALTH UNKNOWN - ") and line.count("\n") == 1
    assert probe.cpu_intervals == [], "nothing is measured with a bad setting"
    return line.rstrip("\n")


@pytest.mark.parametrize("name, value, allowed", REFUSED)
def test_a_bad_setting_in_the_config_file_is_refused_naming_it_and_its_range(hc, config_file, tmp_path, capsys,
                                                                           name, value, allowed):
    path = config_file(**{name: value})
    line = refused(hc, ["--config", path], capsys)
    assert line.startswith("HEALTH UNKNOWN - bad setting %s = %r in %s: must be %s" % (name, value, path, allowed))
    assert not (tmp_path / "state").exists(), "no lock taken, no state written"


@pytest.mark.parametrize("name, value, allowed", REFUSED + FLAG_ONLY)
def test_a_bad_setting_given_as_a_flag_is_refused_naming_it_and_its_range(hc, config_file, capsys, name, value,
                                                                        allowed):
    line = refused(hc, ["--config", config_file(), "%s=%s" % (flag(name), value)], capsys)
    assert line.startswith("HEALTH UNKNOWN - bad setting %s = %r from %s: must be %s" % (name, value, flag(name),
                                                                                       allowed))


def test_a_cpu_interval_of_a_billion_seconds_never_takes_the_lock(hc, config_file, tmp_path, capsys):
    line = refused(hc, ["--config", config_file(cpu_interval_seconds="1e9")], capsys)
    assert "bad setting cpu_interval_seconds = '1e9'" in line and not (tmp_path / "state").exists()


def test_every_bad_setting_is_named_at_once(hc, config_file, capsys):
    line = refused(hc, ["--config", config_file(smtp_timeout="nan", cpu_percent_max="nan"), "--smtp-port", "0"],
                   capsys)
    assert line.count("bad setting") == 3
    assert "smtp_timeout = 'nan'" in line and "cpu_percent_max = 'nan'" in line and "smtp_port = '0'" in line


def test_a_bad_password_is_named_but_never_shown(hc, config_file, capsys):
    line = refused(hc, ["--config", config_file(smtp_username="monitor"), "--smtp-password", "hunter2\nx"], capsys)
    assert "bad setting smtp_password = (not shown) from --smtp-password: must be one line of text" in line
    assert "hunter2" not in line


def test_a_config_file_in_latin_1_is_refused_with_the_line(hc, tmp_path, capsys):
    path = tmp_path / "latin1.ini"
    path.write_bytes("[health_check]\nrecipient = ops@example.com\n# Gérée par Ansible\n".encode("latin-1"))
    line = refused(hc, ["--config", str(path)], capsys)
    assert line == ("HEALTH UNKNOWN - config file %s is not UTF-8 text: byte 0xe9 on line 3 cannot be read; save it "
                    "as UTF-8" % path)


@pytest.mark.parametrize("text, message", [
    ("[health_check]\nsmtp_port = 25\nsmtp_port = 26\n", "option 'smtp_port' in section 'health_check' already exists"),
    ("recipient = ops@example.com\n", "File contains no section headers"),
    ("[health_check]\ncolour = red\nsize = 3\n", "unknown settings 'colour', 'size' in "),
])
def test_a_config_file_that_is_not_a_settings_file_is_refused(hc, tmp_path, capsys, text, message):
    path = tmp_path / "bad.ini"
    path.write_text(text)
    assert message in refused(hc, ["--config", str(path)], capsys)


def test_an_address_that_is_one_line_but_not_an_address_is_refused_naming_the_setting(hc, config_file, capsys):
    line = refused(hc, ["--config", config_file(recipient="ops at example dot com")], capsys)
    assert line == "HEALTH UNKNOWN - bad setting recipient: 'ops at example dot com' is not a valid mail address"


@pytest.mark.parametrize("name, lowest, highest", [
    ("smtp_timeout", "1", "45"), ("cpu_interval_seconds", "0.1", "10"), ("cpu_percent_max", "1", "100"),
    ("disk_free_percent_min", "0", "100"), ("memory_available_mb_min", "0", "16777216"),
    ("reminder_minutes", "0", "43200"), ("smtp_port", "1", "65535"), ("consecutive_failures", "1", "1440"),
])
def test_the_ends_of_each_range_are_allowed(hc, config_file, capsys, name, lowest, highest):
    for value in (lowest, highest):
        assert run_main(hc, ["--config", config_file(), "--dry-run", flag(name), value]) in (0, 2), value
        assert not capsys.readouterr().out.startswith("HEALTH UNKNOWN")


def test_every_default_is_within_its_own_range(hc):
    for name, (kind, default, _help) in hc.SETTINGS.items():
        text = ", ".join(default) if isinstance(default, list) else str(default)
        if name != "recipient":  # empty by default: the one setting a deployment must give
            assert kind(text) == default, name


def test_the_help_names_each_range(hc, capsys):
    with pytest.raises(SystemExit):
        hc.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for allowed in NUMBERS.values():
        assert allowed in text


def test_addresses_ending_in_a_newline_are_cleaned_and_the_mail_is_whole(hc, config_file, relay, capsys):
    path = config_file(smtp_host="127.0.0.1", smtp_port=relay.port)
    argv = ["--config", path, "--recipient", "ops@example.com\n", "--mail-from", " automation@example.com \n"]
    assert run_main(hc, argv, FakeProbe(memory_mb=1)) == 2
    [alert] = relay.messages
    assert (alert["From"], alert["To"]) == ("automation@example.com", "ops@example.com")
    assert alert["Subject"] == "Error - Available memory is less than 500MB" and alert["X-Health-Check-Host"]
    assert alert.get_content().strip() == "Please check your system and resolve the issue as soon as possible."
    assert "mails sent: 1, waiting: 0" in capsys.readouterr().out


def test_check_config_says_whether_the_settings_are_usable(hc, config_file, capsys):
    assert run_main(hc, ["--config", config_file(), "--check-config"]) == 0
    assert capsys.readouterr().out == "health_check: the settings are usable\n"
    refused(hc, ["--config", config_file(smtp_timeout="nan"), "--check-config"], capsys)


def test_an_unexpected_error_is_unknown_with_its_traceback_on_stderr(hc, config_file, capsys, monkeypatch):
    def broken(settings):
        raise TypeError("a bug")

    monkeypatch.setattr(hc, "planned_checks", broken)
    assert run_main(hc, ["--config", config_file(), "--json"]) == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"] == "unexpected error: TypeError: a bug"
    assert "Traceback" in captured.err
