# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# The Python libraries a module needs on the host it runs on, declared once each: the module_utils that imports a
# library remembers whether it could (never failing at import time: ansible-test's import sanity test loads every
# module without them), and a module's main() asks for the libraries it uses with require().

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib


def missing(library, import_error):
    """None when the library imported (import_error None), else (message, traceback) in missing_required_lib's
    words."""
    return None if import_error is None else (missing_required_lib(library), import_error)


def first_problem(*problems):
    """The first of problems (each None, or a (message, traceback) of a library's *_problem()) that is not None."""
    return next((problem for problem in problems if problem), None)


def require(module, *problems):
    """Fail the module, at its start, with the first library problem, naming the library and how to install it."""
    problem = first_problem(*problems)
    if problem:
        module.fail_json(msg=problem[0], exception=problem[1])
