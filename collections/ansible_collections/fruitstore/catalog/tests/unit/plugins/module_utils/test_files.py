# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible_collections.fruitstore.catalog.plugins.module_utils import _catalog_sync as sync
from ansible_collections.fruitstore.catalog.plugins.module_utils import _conversion as conversion
from ansible_collections.fruitstore.catalog.plugins.module_utils import _files as files
from ansible_collections.fruitstore.catalog.plugins.module_utils._sent_log import SentLog

DAMAGED = {
    "null": b"null",
    "a list": b"[1, 2]",
    "cut short": b'{"a": "b", "c',
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe",
    "empty": b"",
    "wrong types inside": b'{"key": 7}',
}


@pytest.mark.parametrize("content", list(DAMAGED.values()), ids=list(DAMAGED))
def test_a_damaged_sent_mail_record_is_named_set_aside_and_rebuilt(tmp_path, content):
    path = tmp_path / "sent-mail.json"
    path.write_bytes(content)
    warnings = []
    log = SentLog(str(path), warnings.append)
    assert log.keys == {} and "key" not in log
    assert len(warnings) == 1 and str(path) in warnings[0] and "damaged" in warnings[0]
    (aside,) = [name for name in os.listdir(tmp_path) if ".damaged-" in name]
    assert (tmp_path / aside).read_bytes() == content  # kept for a person to read
    log.add("key", "<id@example.com>")
    assert SentLog(str(path), warnings.append).keys == {"key": "<id@example.com>"} and len(warnings) == 1


@pytest.mark.parametrize("content", [b"null", b"[]", b"\xff\xfe\x00", b'{"images": [1]}', b'{"images": {"a": 1}}'])
def test_a_damaged_manifest_is_set_aside_and_everything_converted_again(tmp_path, content):
    path = tmp_path / "images.json"
    path.write_bytes(content)
    warnings = []
    assert conversion.Manifest(str(path), {}, warnings.append).entries == {}
    assert "manifest" in warnings[0] and not path.exists()


@pytest.mark.parametrize("content", [b"not json\n{}\n", b"[1]\n", b'{"store": 1}\n', b"\xff\xfe\n"])
def test_a_damaged_journal_is_set_aside(tmp_path, content):
    path = tmp_path / "uploads.jsonl"
    path.write_bytes(content)
    warnings = []
    journal = sync.UploadJournal(str(path), "http://a/", warnings.append)
    assert not journal.pending and "upload journal" in warnings[0] and not path.exists()


def test_state_files_that_are_links_are_never_read_or_written_through(tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text('{"key": "<id@example.com>"}')
    link = tmp_path / "sent-mail.json"
    link.symlink_to(outside)
    warnings = []
    assert SentLog(str(link), warnings.append).keys == {} and "symbolic link" in warnings[0]
    journal_link = tmp_path / "uploads.jsonl"
    journal_link.symlink_to(outside)
    with pytest.raises(OSError, match="symbolic link"):
        files.open_append(str(journal_link))
    assert outside.read_text() == '{"key": "<id@example.com>"}'


def test_only_a_link_that_leads_out_of_the_directory_is_refused(tmp_path):
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    (delivery / "001.txt").write_text("Apple")
    (delivery / "002.txt").symlink_to(delivery / "001.txt")
    (tmp_path / "outside.txt").write_text("Secret")
    (delivery / "003.txt").symlink_to(tmp_path / "outside.txt")
    (tmp_path / "through").symlink_to(delivery)  # the directory named through a link: its files are still inside
    for directory in (delivery, tmp_path / "through"):
        refused = {entry.name: files.escaping_link(entry, str(directory), os.path.realpath(directory))
                   for entry in os.scandir(directory)}
        assert refused["001.txt"] is None and refused["002.txt"] is None
        assert refused["003.txt"] == {"source": str(directory / "003.txt"),
                                      "error": "a symbolic link to a file outside %s; refused" % directory}


def test_an_atomic_write_leaves_no_temporary_file_and_clears_old_ones(tmp_path, monkeypatch):
    target = tmp_path / "images.json"
    (tmp_path / ".images.json.abc123.fruitstore-tmp").write_text("left by a full disk")
    files.write_atomically(str(target), b"{}")
    assert sorted(os.listdir(tmp_path)) == ["images.json"]

    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError):
        files.write_atomically(str(target), b"{}")
    assert sorted(os.listdir(tmp_path)) == ["images.json"]


def test_a_state_directory_another_run_made_a_moment_ago_is_taken_as_it_is(tmp_path, monkeypatch):
    (tmp_path / "state").mkdir()  # made by the other run after this one looked
    isdir, looks = os.path.isdir, []
    monkeypatch.setattr(os.path, "isdir", lambda path: bool(looks.append(path)) if not looks else isdir(path))
    files.ensure_parent(str(tmp_path / "state" / "import-alerts.json"))
    assert (tmp_path / "state").is_dir()
