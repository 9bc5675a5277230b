"""Every term of every addon's translation template is translated into the
languages KoBo is used in most, with the same placeholders.

Odoo reads ``<addon>/i18n/<lang>.po`` (``pt.po`` also serves ``pt_BR``, ``ar.po``
serves ``ar_001``). A term without a translation shows in English; a
translation whose placeholders differ breaks the message when it is
formatted (``KeyError``, ``TypeError``) or loses a value."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("fr", "es", "pt", "ar")
# %(name)s, %s, %d, %%: what Python formats; {name}: what JavaScript's _t formats
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]|%%|\{\w+\}")
TEMPLATES = sorted(ROOT.glob("*/i18n/*.pot"))


def read_po(path):
    """{(msgctxt, msgid): (msgstr, fuzzy)} of a .po/.pot file (Odoo writes
    no plural forms)."""
    entries, entry, key, fuzzy = {}, {}, None, False

    def flush():
        nonlocal entry, fuzzy
        if entry.get("msgid"):
            entries[entry.get("msgctxt", ""), entry["msgid"]] = (
                entry.get("msgstr", ""),
                fuzzy,
            )
        entry, fuzzy = {}, False

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            flush()
        elif line.startswith("#,"):
            fuzzy = fuzzy or "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            if line.startswith("msgctxt") and "msgid" in entry:
                flush()
            key, _sep, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    flush()
    return entries


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


def test_every_addon_has_a_template():
    addons = sorted(p.parent.name for p in ROOT.glob("*/__manifest__.py"))
    assert sorted(p.parent.parent.name for p in TEMPLATES) == addons


def test_reader_reads_multiline_and_fuzzy(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        '#, python-format\nmsgid ""\n"%(n)s new, "\n"%(e)s errors"\nmsgstr "%(n)s nouveaux, %(e)s erreurs"\n\n'
        '#, fuzzy\nmsgid "Errors"\nmsgstr "Erreurs"\n',
        encoding="utf-8",
    )
    assert read_po(po) == {
        ("", "%(n)s new, %(e)s errors"): ("%(n)s nouveaux, %(e)s erreurs", False),
        ("", "Errors"): ("Erreurs", True),
    }
    assert placeholders("%(n)s of %s {count} 100%%") == ["%%", "%(n)s", "%s", "{count}"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.parent.parent.name)
def test_complete_translation(template, lang):
    po = template.parent / f"{lang}.po"
    assert po.exists(), f"{po.relative_to(ROOT)} is missing"
    terms = read_po(template)
    translated = read_po(po)
    missing, broken = [], []
    for key in terms:
        msgstr, fuzzy = translated.get(key, ("", False))
        if not msgstr.strip() or fuzzy:
            missing.append(key[1])
        elif placeholders(msgstr) != placeholders(key[1]):
            broken.append(f"{key[1]!r} -> {msgstr!r}")
    assert not missing, f"{po.relative_to(ROOT)}: {len(missing)} terms untranslated, e.g. " + (
        "; ".join(repr(m) for m in missing[:5])
    )
    assert not broken, f"{po.relative_to(ROOT)}: placeholders differ: " + "; ".join(broken[:5])
