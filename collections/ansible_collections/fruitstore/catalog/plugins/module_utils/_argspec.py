# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# A group of options together with the rules that tie them (required_together, mutually_exclusive ...), so that a
# rule is written once, beside its options, and every module that takes the options gets it.

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

RULES = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


class ArgumentSpec:
    """Options (argument_spec) and their rules, which merge() and module() carry along."""

    def __init__(self, argument_spec=None, **rules):
        unknown = set(rules) - set(RULES)
        if unknown:
            raise ValueError("not a rule of an argument spec: %s" % ", ".join(sorted(unknown)))
        self.argument_spec = dict(argument_spec or {})
        self.rules = {name: [] for name in RULES if name != "required_by"}
        self.rules["required_by"] = {}
        self._add_rules(rules)

    def _add_rules(self, rules):
        for name, value in rules.items():
            if name == "required_by":
                for option, needs in value.items():
                    needs = [needs] if isinstance(needs, str) else list(needs)
                    self.rules[name][option] = self.rules[name].get(option, []) + needs
            else:
                self.rules[name].extend(value)

    def merge(self, other):
        """Add the options of other (an ArgumentSpec, or a plain argument_spec dict) and its rules; returns self."""
        if isinstance(other, ArgumentSpec):
            self.argument_spec.update(other.argument_spec)
            self._add_rules(other.rules)
        else:
            self.argument_spec.update(other)
        return self

    def module(self, **kwargs):
        """The AnsibleModule for these options; rules given here are added to those of the spec."""
        rules = {name: kwargs.pop(name) for name in RULES if name in kwargs}
        spec = ArgumentSpec(self.argument_spec, **self.rules)
        spec._add_rules(rules)
        return AnsibleModule(argument_spec=spec.argument_spec, **dict(kwargs, **spec.rules))


def renamed_from(old_name, removed_in="2.0.0"):
    """The keywords of an option renamed in this release: its old name stays an alias, deprecated until removed_in
    (Ansible warns whoever still uses it), as the option's documentation says in its aliases."""
    return dict(aliases=[old_name], deprecated_aliases=[
        dict(name=old_name, version=removed_in, collection_name="fruitstore.catalog")])


def secret_values(argument_spec, params):
    """The values of params that the spec marks no_log, suboptions included, as strings: what a module adds to its
    no_log_values when it validates options of its own (an element of a list of dicts)."""
    secrets = set()
    for name, option in argument_spec.items():
        value = params.get(name)
        if value is None:
            continue
        if option.get("no_log"):
            secrets.add(str(value))
        elif option.get("options"):
            for element in value if isinstance(value, list) else [value]:
                if isinstance(element, dict):
                    secrets |= secret_values(option["options"], element)
    return secrets
