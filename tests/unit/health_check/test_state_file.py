"""A damaged state file heals: it is named in a warning on stderr, set aside as state.json.damaged-<time> with its
bytes intact, and the run goes on from a fresh state, which it saves; never a traceback. A fresh state means what
it means on a new host: a check failing now alerts once more, then stays quiet as before. Temporary files that an
interrupted save left behind are removed."""

import errno
import json

import pytest

from health_check_support import FakeProbe, run_main

MEMORY_ALERT = "Error - Available memory is less than 500MB"
GOOD_CHECK = {"failures": 3, "alerted": True, "last_mail": 1_800_000_000.0, "problem": "Available memory is less than 500MB"}

DAMAGED = [
    (b"", "it is empty"),
    (b"\n  \n", "it is empty"),
    (b"{not json", "it is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2"),
    (json.dumps({"checks": {"memory": GOOD_CHECK}}).encode()[:40], "it is not valid JSON (Unterminated string"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "it is not UTF-8 text"),
    (b"\x00" * 64, "it is not valid JSON"),
    (b"null", "it holds null, not an object"),
    (b"[]", "it holds a list, not an object"),
    (b'[{"checks": {}}]', "it holds a list, not an object"),
    (b'"checks"', "it holds a string, not an object"),
    (b"42", "it holds a whole number, not an object"),
    (b"true", "it holds true or false, not an object"),
    (b'{"checks": []}', "checks is a list, not an object"),
    (b'{"checks": null}', "checks is null, not an object"),
    (b'{"spool": {}}', "spool is an object, not a list"),
    (b'{"last_run": "yesterday"}', "last_run is a string, not a number"),
    (b'{"last_status": 2}', "last_status is a whole number, not a string"),
    (b'{"checks": {"memory": null}}', 'checks["memory"] is null, not an object'),
    (b'{"checks": {"memory": [1]}}', 'checks["memory"] is a list, not an object'),
    (b'{"checks": {"memory": {"failures": "1"}}}', 'checks["memory"].failures is a string, not a whole number'),
    (b'{"checks": {"memory": {"failures": 1.5}}}', 'checks["memory"].failures is a number, not a whole number'),
    (b'{"checks": {"memory": {"failures": true}}}', 'checks["memory"].failures is true or false, not a whole number'),
    (b'{"checks": {"memory": {"failures": -4}}}', 'checks["memory"].failures is -4'),
    (b'{"checks": {"memory": {"alerted": "yes"}}}', 'checks["memory"].alerted is a string, not true or false'),
    (b'{"checks": {"memory": {"alerted": true}}}', 'checks["memory"] is alerted but has no last_mail or problem'),
    (b'{"checks": {"memory": {"alerted": true, "last_mail": NaN, "problem": "p"}}}', 'checks["memory"].last_mail is nan'),
    (b'{"checks": {"memory": {"alerted": true, "last_mail": Infinity, "problem": "p"}}}',
     'checks["memory"].last_mail is inf'),
    (b'{"checks": {"memory": {"alerted": true, "last_mail": 1, "problem": 7}}}',
     'checks["memory"].problem is a whole number, not a string'),
    (b'{"spool": [null]}', "spool[0] is null, not an object"),
    (b'{"spool": [{"subject": "s", "queued": 1}]}', "spool[0] has no message"),
    (b'{"spool": [{"subject": "s", "queued": 1, "message": ["m"]}]}', "spool[0].message is a list, not a string"),
    (b"[" * 100000 + b"]" * 100000, "it is nested too deeply"),
]


@pytest.fixture
def state_dir(tmp_path):
    directory = tmp_path / "state"
    directory.mkdir()
    return directory


def damaged_copies(state_dir):
    return sorted(state_dir.glob("state.json.damaged-*"))


@pytest.mark.parametrize("content, problem", DAMAGED, ids=range(len(DAMAGED)))
def test_a_damaged_state_file_is_set_aside_and_the_run_goes_on(run_once, state_dir, probe, mailer, capsys, content,
                                                              problem):
    (state_dir / "state.json").write_bytes(content)
    probe.memory_mb = 100
    assert run_once()["status"] == "CRITICAL"
    assert mailer.subjects == [MEMORY_ALERT], "the failing check alerts, as it would from a fresh state"
    warning = capsys.readouterr().err
    assert warning.startswith("health_check: the state file %s is damaged: %s" % (state_dir / "state.json", problem))
    [aside] = damaged_copies(state_dir)
    assert aside.read_bytes() == content, "kept as it was, for a person to read"
    assert ("set aside as %s, starting from a fresh state" % aside.name) in warning
    rebuilt = json.loads((state_dir / "state.json").read_text())
    assert rebuilt["checks"]["memory"]["alerted"] is True and rebuilt["spool"] == []
    run_once()
    assert mailer.subjects == [MEMORY_ALERT], "no second alert: the rebuilt state remembers the first"
    assert capsys.readouterr().err == "" and len(damaged_copies(state_dir)) == 1


def test_a_damaged_state_costs_at_most_the_one_alert_a_fresh_state_implies(run_once, state_dir, probe, mailer, clock):
    probe.memory_mb = 100
    run_once()
    clock.advance(1)
    (state_dir / "state.json").write_bytes(b'{"checks": {"memory": {"failures": "2"')
    for _ in range(5):
        run_once()
        clock.advance(1)
    assert mailer.subjects == [MEMORY_ALERT, MEMORY_ALERT]


def test_a_state_file_of_the_right_shape_is_kept(run_once, state_dir, probe, mailer, capsys):
    state = {"checks": {"memory": GOOD_CHECK, "removed check": {}}, "spool": [], "last_run": 1.0, "last_status": "OK",
             "a key of a later version": [1, 2]}
    (state_dir / "state.json").write_text(json.dumps(state))
    probe.memory_mb = 100
    run_once()
    assert mailer.subjects == [] and capsys.readouterr().err == "" and damaged_copies(state_dir) == []


def test_a_dry_run_reports_a_damaged_state_file_and_leaves_it(hc, run_once, state_dir, probe, capsys):
    (state_dir / "state.json").write_bytes(b"null")
    probe.memory_mb = 100
    assert run_once(dry_run=True)["would_send"] == [MEMORY_ALERT]
    assert "is damaged: it holds null, not an object; a real run sets it aside" in capsys.readouterr().err
    assert (state_dir / "state.json").read_bytes() == b"null" and damaged_copies(state_dir) == []


def test_the_command_line_heals_too(hc, config_file, state_dir, capsys):
    (state_dir / "state.json").write_bytes(b'{"checks": {"cpu": {"failures": "many"}}}')
    assert run_main(hc, ["--config", config_file(), "--dry-run"]) == 0
    assert run_main(hc, ["--config", config_file(), "--json", "--smtp-port", "9"], FakeProbe()) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err.count("is damaged") == 2
    assert len(damaged_copies(state_dir)) == 1


def test_two_damaged_files_in_one_second_are_both_kept(hc, run_once, state_dir, capsys):
    for content in (b"null", b"[]"):
        (state_dir / "state.json").write_bytes(content)
        run_once()
    assert sorted(path.read_bytes() for path in damaged_copies(state_dir)) == [b"[]", b"null"]


def test_leftover_temporary_files_are_removed(run_once, state_dir):
    for name in ("state.json.tmp", "state.json.tmp4242", "state.json.tmp17"):
        (state_dir / name).write_text('{"half": ')
    (state_dir / "notes.tmp1").write_text("not ours")
    run_once()
    assert sorted(path.name for path in state_dir.iterdir()) == ["lock", "notes.tmp1", "state.json"]


def test_a_full_disk_leaves_no_temporary_file_and_names_the_state_file(hc, run_once, state_dir, mailer, monkeypatch):
    def no_space(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(hc.os, "fsync", no_space)
    with pytest.raises(hc.HealthCheckError, match="cannot write the state file .*state.json: No space left on device"):
        run_once()
    assert sorted(path.name for path in state_dir.iterdir()) == ["lock"]
