"""XLSForm tools: build an .xlsx from rows, and read an .xls/.xlsx into KPI's
asset ``content`` JSON (the shape ``GET /api/v2/assets/<uid>/`` returns).

Errors are raised with the class names and messages KPI's import task reports
(``XlsFormatException``, ``SyntaxError``, ``ValueError``), so the fake import
endpoint can copy ``type(exc).__name__`` and ``str(exc)`` into ``messages``.
"""

import hashlib
import io
import re
import string

from ..content import METADATA_TYPES
from ..xlsform_check import SELECTS, SELECTS_LONGEST_FIRST, TYPES

GROUP_TYPES = {"begin_group", "begin_repeat"}
END_TYPES = {"end_group", "end_repeat"}
META_TYPES = METADATA_TYPES  # XLSForm metadata questions: the catalogue knows them too
# KPI's import (formpack's replace_aliases, KPI's allowed types) renames these
# types; the other spellings the converter knows (the local check's tables)
# are kept as written; anything else is an unknown type. Case-sensitive.
KPI_RENAMED = {
    "begin group": "begin_group",
    "begin  group": "begin_group",
    "end group": "end_group",
    "end  group": "end_group",
    "begin repeat": "begin_repeat",
    "begin lgroup": "begin_repeat",
    "begin looped group": "begin_repeat",
    "end repeat": "end_repeat",
    "end lgroup": "end_repeat",
    "end looped group": "end_repeat",
    "string": "text",
    "trigger": "acknowledge",
    "photo": "image",
    "dateTime": "datetime",
    "imei": "deviceid",
    "gps": "geopoint",
    "begin score": "begin_score",
    "end score": "end_score",
    "begin rank": "begin_rank",
    "end rank": "end_rank",
    "begin kobomatrix": "begin_kobomatrix",
    "end kobomatrix": "end_kobomatrix",
}
KNOWN_TYPES = set(TYPES) | set(KPI_RENAMED.values()) | set(SELECTS.values())
TRANSLATABLE = (
    "label",
    "hint",
    "guidance_hint",
    "constraint_message",
    "required_message",
    "image",
    "audio",
    "video",
    "media::image",
    "media::audio",
    "media::video",
)
_ALNUM = string.ascii_letters + string.digits


class XlsFormatException(Exception):
    """Not an Excel file (KPI's own class name)."""


class DuplicateNameException(Exception):
    """The same name twice in the survey (KPI's own class name)."""


# ---------------------------------------------------------------- building


def build_xlsform(survey, choices=(), settings=None):
    """Return the bytes of an .xlsx XLSForm. Columns are the union of the dict
    keys in first-seen order, e.g. ``{"type": "select_one colors", "name":
    "color", "label::English (en)": "Color", "required": "yes"}``."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    _write_sheet(wb, "survey", survey)
    if choices:
        _write_sheet(wb, "choices", choices)
    if settings:
        _write_sheet(wb, "settings", [settings])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _write_sheet(wb, title, rows):
    ws = wb.create_sheet(title)
    columns = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    ws.append(columns)
    for row in rows:
        ws.append([_cell_out(row.get(c)) for c in columns])


def _cell_out(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, dict)):
        return str(value)
    return value


def content_to_xlsform(content, name=None):
    """Rebuild an .xlsx from KPI ``content`` (for ``/api/v2/assets/<uid>.xls``)."""
    translations = content.get("translations") or [None]

    def unfold(row, drop=("$kuid", "$autoname", "$autovalue", "$xpath")):
        out = {}
        for key, value in row.items():
            if key in drop or key == "select_from_list_name":
                continue
            if key == "type" and row.get("select_from_list_name"):
                value = f"{value} {row['select_from_list_name']}"
            if isinstance(value, list) and key in TRANSLATABLE:
                for lang, text in zip(translations, value, strict=False):
                    if text is not None:
                        out[key if lang is None else f"{key}::{lang}"] = text
                continue
            out[key] = value
        return out

    settings = dict(content.get("settings") or {})
    if name:
        settings.setdefault("form_title", name)
    return build_xlsform(
        [unfold(r) for r in content.get("survey", [])],
        [unfold(r) for r in content.get("choices", [])],
        settings or None,
    )


# ---------------------------------------------------------------- reading


def read_xlsform(data):
    """Parse .xlsx/.xls bytes into KPI ``content``. ``settings.form_title`` is
    kept here; the asset store moves it to the asset name. Like KPI, sheets
    are read by their exact names (a lone sheet is the survey, whatever its
    name), and the names are checked before anything else."""
    sheets = _read_sheets(data)
    if len(sheets) == 1:
        sheets = {"survey": next(iter(sheets.values()))}
    survey_sheet = sheets.get("survey", sheets.get("library"))
    if survey_sheet is None:
        raise SyntaxError("xls upload must have one of these sheets: survey, library")
    _ensure_valid_node_names(survey_sheet)
    # then KPI renames the converter's capitalised headers
    renamed = {"Type": "type", "Name": "name", "Label": "label"}
    survey_sheet = [{renamed.get(k, k): v for k, v in row.items()} for row in survey_sheet]
    settings_rows = sheets.get("settings") or [{}]
    return sheets_to_content(survey_sheet, sheets.get("choices", []), settings_rows[0])


def _ensure_valid_node_names(rows):
    """KPI's first check of an import: names are XML names, each used once in
    the whole survey (group ends aside)."""
    names = set()
    for row in rows:
        name = row.get("name")
        if not name or str(row["type"]).startswith(("end ", "end_")):  # KeyError like KPI
            continue
        if not re.match(r"^[^\W\d][\w.\-]*$", name) or name.startswith("-"):
            raise ValueError(f"Invalid node name: {name}")
        if name in names:
            raise DuplicateNameException(f"Duplicate node name: {name}")
        names.add(name)


def sheets_to_content(survey_rows, choice_rows=(), settings=None):
    """Rows (dicts keyed by XLSForm column headers) → KPI content."""
    settings = {k: v for k, v in (settings or {}).items() if v not in (None, "")}
    survey_rows = [_clean_row(r) for r in survey_rows]
    choice_rows = [_clean_row(r) for r in choice_rows]
    survey_rows = [r for r in survey_rows if r]
    choice_rows = [r for r in choice_rows if r]
    translations, translated = _translations(survey_rows + choice_rows)
    default = settings.get("default_language")
    if default in translations:
        translations.remove(default)
        translations.insert(0, default)

    survey, stack = [], []
    for index, raw in enumerate(survey_rows):
        row = _survey_row(raw, translations, stack, index)
        if row is not None:
            survey.append(row)
    # KPI moves the metadata rows (start, end, deviceid…), wherever they
    # are, even in a group, to the top of the survey, in their order
    meta = [r for r in survey if r["type"] in META_TYPES]
    survey = meta + [r for r in survey if r["type"] not in META_TYPES]
    choices = []
    for index, raw in enumerate(choice_rows):
        if "value" in raw and "name" not in raw:
            raw["name"] = raw.pop("value")
        row = {"list_name": raw.pop("list_name", raw.pop("list name", ""))}
        row.update(_translate(raw, translations))
        row["$kuid"] = _kuid("c", index, row.get("list_name"), row.get("name"))
        if "name" in row:
            row["$autovalue"] = row["name"]
        choices.append(row)
    content = {"schema": "1", "survey": survey}
    if choices:
        content["choices"] = choices
    content["settings"] = settings
    content["translations"] = translations
    content["translated"] = translated
    return content


def _read_sheets(data):
    if not isinstance(data, (bytes, bytearray)) or len(data) < 8:
        raise XlsFormatException("Unsupported format, or corrupt file")
    try:
        if data[:4] == b"PK\x03\x04":
            return _read_xlsx(data)
        if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            return _read_xls(data)
    except XlsFormatException:
        raise
    except Exception as exc:  # corrupt workbook
        raise XlsFormatException("Unsupported format, or corrupt file") from exc
    raise XlsFormatException("Unsupported format, or corrupt file")


def _read_xlsx(data):
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return {
            ws.title: _rows_to_dicts(list(ws.iter_rows(values_only=True))) for ws in wb.worksheets
        }
    finally:
        wb.close()


def _read_xls(data):
    import xlrd

    book = xlrd.open_workbook(file_contents=bytes(data))
    out = {}
    for sheet in book.sheets():
        rows = [sheet.row_values(i) for i in range(sheet.nrows)]
        out[sheet.name] = _rows_to_dicts(rows)
    return out


def _rows_to_dicts(rows):
    if not rows:
        return []
    header = [" ".join(_cell_text(h).split()) for h in rows[0]]
    out = []
    for values in rows[1:]:
        row = {}
        for key, value in zip(header, values, strict=False):
            text = _cell_text(value)
            if key and text != "":
                row[key] = text
        if row:
            out.append(row)
    return out


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _clean_row(row):
    return {
        str(k).strip(): (v.strip() if isinstance(v, str) else v)
        for k, v in row.items()
        if k and v not in (None, "")
    }


def _translations(rows):
    langs, translated, plain = [], [], False
    for row in rows:
        for key in row:
            base, _, lang = key.partition("::")
            if base == "media":  # media::image::English
                base, _, lang = lang.partition("::")
            if base not in TRANSLATABLE:
                continue
            if base not in translated:
                translated.append(base)
            if lang:
                if lang not in langs:
                    langs.append(lang)
            else:
                plain = True
    translations = ([None] if plain or not langs else []) + langs
    order = {name: i for i, name in enumerate(TRANSLATABLE)}
    return translations, sorted(translated or ["label"], key=lambda n: order.get(n, 99))


def _translate(row, translations):
    """Fold ``label`` / ``label::Lang`` columns into lists aligned to translations."""
    out, folded = {}, {}
    for key, value in row.items():
        base, _, lang = key.partition("::")
        if base == "media":
            base, _, lang = lang.partition("::")
        if base in TRANSLATABLE:
            folded.setdefault(base, {})[lang or None] = value
        else:
            out[key] = value
    for base, by_lang in folded.items():
        out[base] = [by_lang.get(lang) for lang in translations]
    return out


def _survey_row(raw, translations, stack, index):
    raw = dict(raw)
    type_text = str(raw.pop("type", "")).strip()
    if not type_text:
        if raw.get("name") or raw.get("label"):
            raise ValueError(f"unknown type {['']!r}")
        return None
    row = _kpi_type(type_text)
    if row["type"] in END_TYPES:
        stack.pop()  # IndexError on an end without a begin, as KPI
        return {"type": row["type"], "$kuid": _kuid("e", index, row["type"])}
    row.update(_translate(raw, translations))
    if "required" in row:
        row["required"] = str(row["required"]).strip().lower() in ("yes", "true", "true()", "1")
    name = row.get("name")
    if name is None and row["type"] in META_TYPES:
        name = row["name"] = row["type"]
    if name is not None:
        row["$kuid"] = _kuid("q", index, name)
        row["$autoname"] = name
        row["$xpath"] = name if row["type"] in META_TYPES else "/".join([*stack, name])
    else:
        row["$kuid"] = _kuid("q", index, row["type"])
    if row["type"] in GROUP_TYPES:
        stack.append(name or f"group_{row['$kuid']}")
    return row


def _kpi_type(text):
    """KPI's reading of a type cell (formpack's expand_content, then its strict
    replace_aliases): the row's type fields, or KPI's ValueError."""
    out = {}
    other = re.search(r"\s+(or.other)$", text)
    if other:
        text, out["_or_other"] = text.replace(other.group(1), "").strip(), True
    if re.search("select_(one|multiple)_or_other", text):
        text, out["_or_other"] = text.replace("_or_other", ""), True
    for prefix in SELECTS_LONGEST_FIRST:
        match = re.match(rf"^({re.escape(prefix)})\s+(\S+)$", text)
        if match:
            kind = SELECTS[prefix]
            out["type"] = kind
            out["file" if kind.endswith("_from_file") else "select_from_list_name"] = match[2]
            return out
    if text in KPI_RENAMED:
        out["type"] = KPI_RENAMED[text]
    elif prefix := next((p for p in SELECTS_LONGEST_FIRST if text.startswith(p)), None):
        out["type"] = text.replace(prefix, SELECTS[prefix])
    elif text in KNOWN_TYPES:
        out["type"] = text
    else:
        raise ValueError(f"unknown type {[text]!r}")
    return out


def _kuid(*parts):
    digest = hashlib.sha1(repr(parts).encode()).digest()
    return "".join(_ALNUM[b % len(_ALNUM)] for b in digest[:9])


# ---------------------------------------------------------------- summary


def summarize(content):
    """KPI's ``summary`` of an asset's content."""
    survey = content.get("survey", [])
    translations = content.get("translations") or [None]
    rows = [r for r in survey if r.get("type") not in END_TYPES | META_TYPES]
    labels, columns = [], []
    for row in rows:
        label = row.get("label")
        if isinstance(label, list):
            label = next((x for x in label if x), None)
        if label and len(labels) < 5:
            labels.append(label)
        columns.extend(k for k in row if not k.startswith("$") and k not in columns)
    languages = [t for t in translations if t]
    return {
        "geo": any(r.get("type") in ("geopoint", "geotrace", "geoshape") for r in survey),
        "labels": labels,
        "columns": columns,
        "lock_all": False,
        "lock_any": False,
        "languages": languages,
        "row_count": len(rows),
        "name_quality": {"ok": 0, "bad": 0, "good": len(rows), "total": len(rows), "firsts": {}},
        "default_translation": languages[0] if languages else None,
    }


def question_xpaths(content):
    """``{xpath: type}`` of every named survey row, and the set of repeat xpaths."""
    types, repeats = {}, set()
    for row in content.get("survey", []):
        xpath = row.get("$xpath")
        if xpath:
            types[xpath] = row["type"]
            if row["type"] == "begin_repeat":
                repeats.add(xpath)
    return types, repeats
