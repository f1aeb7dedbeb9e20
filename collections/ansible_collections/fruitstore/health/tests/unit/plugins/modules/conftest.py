# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class AnsibleExitJson(Exception):
    pass


class AnsibleFailJson(Exception):
    pass


@pytest.fixture
def run_module(monkeypatch):
    """run_module(module, args, check_mode=False) -> the result dict; raises AnsibleFailJson on failure."""
    def exit_json(self, **result):
        raise AnsibleExitJson(result)

    def fail_json(self, **result):
        raise AnsibleFailJson(result)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(module, args, check_mode=False):
        with patch_module_args(dict(args, _ansible_check_mode=check_mode)):
            try:
                module.main()
            except AnsibleExitJson as done:
                return done.args[0]
        raise AssertionError("the module neither exited nor failed")

    return run
