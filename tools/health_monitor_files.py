#!/usr/bin/env python3
"""Write the health_monitor role's derived files from their one source (`make role-files`); --check only compares.

What is allowed for each setting lives in one place, the script's table SETTINGS (collections/ansible_collections/fruitstore/health/roles/health_monitor/files/
health_check.py), which the script checks every value against. From it, and from the collection's mail library:

  files/fruitstore_smtp.py       a copy of the collection's plugins/module_utils/_smtp.py: the role ships the file
                                 itself, so that it works installed on its own (no link out of its tree)
  meta/argument_specs.yml        the options health_monitor_<setting>, everything after the marker line: type,
                                 default, choices, and a description saying what the script allows
  defaults/main.yml              every option's default, in the order of meta/argument_specs.yml
  templates/health_check.ini.j2  one line per setting
  README.md                      the table of settings, their defaults and what is allowed, between its markers

The other options of meta/argument_specs.yml (state, cron user, paths of the script and config, apt) are written
by hand above the marker. `--check` writes nothing, prints what differs and exits 1: the unit tests run it.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
ROLE = REPO / "collections/ansible_collections/fruitstore/health/roles/health_monitor"
LIBRARY = REPO / "collections/ansible_collections/fruitstore/catalog/plugins/module_utils/_smtp.py"
PREFIX = "health_monitor_"
SPECS_MARKER = "      # Generated from the script's SETTINGS by `make role-files`: change the script, not the lines below.\n"
README_BEGIN = "<!-- settings: written by `make role-files` from the script's SETTINGS -->\n"
README_END = "<!-- end of the settings -->\n"


def load_script():
    spec = importlib.util.spec_from_file_location("health_check", ROLE / "files" / "health_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as the rest of the project's YAML."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def dump(data):
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=110, default_flow_style=False, allow_unicode=True)


def sentence(text):
    return text[0].upper() + text[1:] + "."


def option(hc, name, kind, default, text):
    """The argument_specs entry of one setting."""
    entry = {"description": [sentence(text), "Setting C(%s) of the script, which allows %s." % (name, kind.allowed)]}
    if isinstance(kind, hc.Number):
        entry["type"] = "int" if kind.whole else "float"
    elif isinstance(kind, hc.Boolean):
        entry["type"] = "bool"
    elif isinstance(kind, hc.Choice):
        entry.update(type="str", choices=list(kind.choices))
    elif isinstance(kind, hc.Mounts):
        entry.update(type="list", elements="str")
    else:
        entry["type"] = "path" if getattr(kind, "path", False) else "str"
    entry["default"] = int(default) if isinstance(default, float) and default.is_integer() else default
    if kind.secret:
        entry["no_log"] = True
    return entry


def argument_specs(hc, current):
    hand, marker, _generated = current.partition(SPECS_MARKER)
    if not marker:
        raise SystemExit("%s has no line %r" % (ROLE / "meta/argument_specs.yml", SPECS_MARKER.strip()))
    options = {PREFIX + name: option(hc, name, *setting) for name, setting in hc.SETTINGS.items()}
    generated = "".join("      " + line + "\n" for line in dump(options).splitlines())
    return hand + marker + generated


def defaults(specs_text):
    options = yaml.safe_load(specs_text)["argument_specs"]["main"]["options"]
    header = ("---\n# Written by `make role-files` from meta/argument_specs.yml, where every option is documented (those\n"
              "# of the script's settings come from its SETTINGS): change them there.\n")
    return header + dump({name: spec["default"] for name, spec in options.items()})


def template(hc):
    lines = ["{# Written by `make role-files` from the script's SETTINGS: one line per setting. #}",
             "# {{ ansible_managed }}",
             "# Settings of {{ health_monitor_script_path }}; every one can be overridden by a flag "
             "(health_check --help).",
             "[health_check]"]
    for name, (kind, _default, _text) in hc.SETTINGS.items():
        value = PREFIX + name
        if isinstance(kind, hc.Boolean):
            value += " | bool | lower"
        elif isinstance(kind, hc.Mounts):
            value += " | join(', ')"
        lines.append("%s = {{ %s }}" % (name, value))
    return "\n".join(lines) + "\n"


def readme(hc, current):
    before, begin, rest = current.partition(README_BEGIN)
    _table, end, after = rest.partition(README_END)
    if not (begin and end):
        raise SystemExit("%s lacks the markers of the settings table" % (ROLE / "README.md"))
    rows = ["| setting (role variable `health_monitor_<setting>`) | default | allowed |", "| --- | --- | --- |"]
    for name, (kind, default, _text) in hc.SETTINGS.items():
        shown = ", ".join(default) if isinstance(default, list) else hc.number(default) \
            if isinstance(default, float) else str(default).lower() if isinstance(default, bool) else default
        rows.append("| `%s` | %s | %s |" % (name, "`%s`" % shown if shown != "" else "(none)",
                                            kind.allowed.replace("*", "\\*")))
    return before + begin + "\n".join(rows) + "\n" + end + after


def wanted():
    """{path: the text it must have}."""
    hc = load_script()
    specs_path = ROLE / "meta/argument_specs.yml"
    specs = argument_specs(hc, specs_path.read_text())
    return {
        ROLE / "files/fruitstore_smtp.py": LIBRARY.read_text(),
        specs_path: specs,
        ROLE / "defaults/main.yml": defaults(specs),
        ROLE / "templates/health_check.ini.j2": template(hc),
        ROLE / "README.md": readme(hc, (ROLE / "README.md").read_text()),
    }


def stale():
    """[(path, unified diff)] of the derived files that differ from what their source gives."""
    found = []
    for path, text in wanted().items():
        current = path.read_text() if path.exists() and not path.is_symlink() else ""
        if current != text or path.is_symlink():
            diff = "".join(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                str(path.relative_to(REPO)), "derived"))
            found.append((path, diff or "%s is a symlink, not a file of the role\n" % path.relative_to(REPO)))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; list what differs and exit 1")
    args = parser.parse_args(argv)
    if args.check:
        found = stale()
        for path, diff in found:
            sys.stdout.write(diff)
        if found:
            print("out of date: %s; run `make role-files`" % ", ".join(str(p.relative_to(REPO)) for p, _d in found))
        return 1 if found else 0
    for path, text in wanted().items():
        if path.is_symlink() or not path.exists() or path.read_text() != text:
            if path.is_symlink():
                path.unlink()
            path.write_text(text)
            print("wrote %s" % path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
