# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.fruitstore.catalog.plugins.module_utils import _argspec
from ansible_collections.fruitstore.catalog.plugins.module_utils._argspec import ArgumentSpec


def test_merged_specs_keep_every_rule_and_leave_the_parts_alone():
    login = ArgumentSpec(dict(user=dict(), password=dict(no_log=True)), required_together=[("user", "password")],
                         required_by={"password": "user"})
    mail = ArgumentSpec(dict(to=dict(), report=dict()), required_by={"to": ["report"], "password": "report"})
    merged = ArgumentSpec().merge(login).merge(mail).merge(dict(extra=dict(type="int")))
    assert sorted(merged.argument_spec) == ["extra", "password", "report", "to", "user"]
    assert merged.rules["required_together"] == [("user", "password")]
    assert merged.rules["required_by"] == {"password": ["user", "report"], "to": ["report"]}
    assert login.rules["required_by"] == {"password": ["user"]} and sorted(login.argument_spec) == ["password", "user"]


def test_a_rule_given_to_the_module_is_added_to_the_spec_s_own(monkeypatch):
    made = {}
    monkeypatch.setattr(_argspec, "AnsibleModule", lambda **kwargs: made.update(kwargs))
    spec = ArgumentSpec(dict(a=dict(), b=dict(), c=dict()), mutually_exclusive=[("a", "b")])
    spec.module(supports_check_mode=True, mutually_exclusive=[("a", "c")], required_one_of=[("a", "b", "c")])
    assert made["mutually_exclusive"] == [("a", "b"), ("a", "c")] and made["required_one_of"] == [("a", "b", "c")]
    assert made["supports_check_mode"] is True and spec.rules["mutually_exclusive"] == [("a", "b")]


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="required_wrongly"):
        ArgumentSpec({}, required_wrongly=[("a", "b")])
