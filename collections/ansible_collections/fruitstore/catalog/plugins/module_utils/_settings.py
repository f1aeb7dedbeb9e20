# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# What a module's main() hands the shared code below it: how the module runs (Run), the files of a delivery
# (DeliveryPaths), and the exceptions the shared code raises for main() to turn into fail_json. The settings of each
# concern live beside it: ConversionSettings (_conversion), StoreSettings (_store_api), MailSettings (_mail). No
# helper reads module.params or calls fail_json. The standard library only.

from __future__ import annotations

import dataclasses
import os
import typing


class Failed(Exception):
    """A step cannot go on; the text names the file, product or setting and the cause. result: what the module
    returns with its failure (what was done before it)."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result or {}


class SettingsError(Failed):
    """An option's value cannot be used; the text names the option."""


def _no_warning(_text):
    pass


def _no_attributes(_path, changed):
    return changed


@dataclasses.dataclass(frozen=True)
class Run:
    """How the module runs: check mode (plan, write and send nothing), whether a diff is asked for, where warnings
    go, and how a file is put in place (the module's atomic move, then its common file arguments: mode, owner ...)."""

    check_mode: bool = False
    diff: bool = False
    warn: typing.Callable[[str], None] = _no_warning
    move: typing.Callable[[str, str], None] = os.replace
    file_attributes: typing.Callable[[str, bool], bool] = _no_attributes

    @classmethod
    def of(cls, module):
        def file_attributes(path, changed):
            return module.set_fs_attributes_if_different(module.load_file_common_arguments(module.params, path=path),
                                                         changed)

        return cls(module.check_mode, module._diff, module.warn, module.atomic_move, file_attributes)


@dataclasses.dataclass(frozen=True)
class DeliveryPaths:
    """Where one delivery's files are, and where what the import makes of them goes (None: that step is skipped).

    images_dir: the supplier's images; dest: where their JPEGs go (None: beside them); manifest: the conversion's
    record (None: in dest); progress_log: the conversion's progress (None: none); descriptions_dir: the supplier's
    descriptions; journal: what was posted to the store; delivery_id: the delivery's name in the store (None: from
    descriptions_dir); page_path, report_path: the delivery's page and PDF report, with page_title, report_date and
    report_heading; sent_log: the record of the report mails sent."""

    images_dir: str | None = None
    dest: str | None = None
    manifest: str | None = None
    progress_log: str | None = None
    descriptions_dir: str | None = None
    journal: str | None = None
    delivery_id: str | None = None
    page_path: str | None = None
    page_title: str = "Supplier delivery"
    report_path: str | None = None
    report_date: str | None = None
    report_heading: str | None = None
    sent_log: str | None = None

    @classmethod
    def from_options(cls, options):
        """The paths among a module's options (those it does not have stay None)."""
        fields = {field.name for field in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in options.items() if name in fields and value is not None})
