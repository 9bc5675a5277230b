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

GROUP_TYPES = {"begin_group", "begin_repeat"}
END_TYPES = {"end_group", "end_repeat"}
META_TYPES = METADATA_TYPES  # XLSForm metadata questions: the catalogue knows them too
QUESTION_TYPES = {
    "text",
    "integer",
    "decimal",
    "range",
    "select_one",
    "select_multiple",
    "rank",
    "select_one_from_file",
    "select_multiple_from_file",
    "note",
    "geopoint",
    "geotrace",
    "geoshape",
    "date",
    "time",
    "datetime",
    "image",
    "audio",
    "video",
    "file",
    "background-audio",
    "barcode",
    "calculate",
    "acknowledge",
    "hidden",
    "xml-external",
    "kobomatrix",
    "score",
    "begin_score",
    "end_score",
    "begin_rank",
    "end_rank",
}
KNOWN_TYPES = QUESTION_TYPES | META_TYPES | GROUP_TYPES | END_TYPES
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
    kept here; the asset store moves it to the asset name."""
    sheets = _read_sheets(data)
    survey_sheet = sheets.get("survey", sheets.get("library"))
    if survey_sheet is None:
        raise SyntaxError("xls upload must have one of these sheets: survey, library")
    settings_rows = sheets.get("settings") or [{}]
    return sheets_to_content(survey_sheet, sheets.get("choices", []), settings_rows[0])


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
            ws.title.strip().lower(): _rows_to_dicts(list(ws.iter_rows(values_only=True)))
            for ws in wb.worksheets
        }
    finally:
        wb.close()


def _read_xls(data):
    import xlrd

    book = xlrd.open_workbook(file_contents=bytes(data))
    out = {}
    for sheet in book.sheets():
        rows = [sheet.row_values(i) for i in range(sheet.nrows)]
        out[sheet.name.strip().lower()] = _rows_to_dicts(rows)
    return out


def _rows_to_dicts(rows):
    if not rows:
        return []
    header = [_cell_text(h) for h in rows[0]]
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
    words = type_text.split()
    kind = words[0].lower()
    row = {}
    if len(words) >= 2 and words[0].lower() in ("begin", "end"):
        kind = f"{words[0].lower()}_{words[1].lower()}"
        words = [kind]
    if kind in ("select_one", "select_multiple", "rank") and len(words) >= 2:
        row["type"] = kind
        row["select_from_list_name"] = words[1]
        if len(words) > 2 and words[2] == "or_other":
            row["_or_other"] = True
    elif len(words) >= 2 and kind.endswith("_from_file"):
        row["type"] = kind
        row["file"] = words[1]
    elif len(words) == 1:
        row["type"] = kind
    else:
        raise ValueError(f"unknown type {[type_text]!r}")
    if row["type"] not in KNOWN_TYPES:
        raise ValueError(f"unknown type {[type_text]!r}")
    if row["type"] in END_TYPES:
        if stack:
            stack.pop()
        return {"type": row["type"], "$kuid": _kuid("e", index, row["type"])}
    row.update(_translate(raw, translations))
    if "required" in row:
        row["required"] = str(row["required"]).strip().lower() in ("yes", "true", "true()", "1")
    name = row.get("name")
    if name is None and row["type"] in META_TYPES:
        name = row["name"] = row["type"]
    if name is not None:
        if not re.match(r"^[A-Za-z_][\w.\-]*$", str(name)):
            raise ValueError(f"Invalid node name: {name}")
        row["$kuid"] = _kuid("q", index, name)
        row["$autoname"] = name
        row["$xpath"] = name if row["type"] in META_TYPES else "/".join([*stack, name])
    else:
        row["$kuid"] = _kuid("q", index, row["type"])
    if row["type"] in GROUP_TYPES:
        stack.append(name or f"group_{row['$kuid']}")
    return row


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
