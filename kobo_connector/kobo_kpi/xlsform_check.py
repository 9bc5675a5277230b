"""A local check of an XLSForm before it is sent to KoBo (pure Python).

``check_xlsform(data)`` reads the workbook with openpyxl (``.xlsx``) or xlrd
(``.xls``) and returns an :class:`XlsFormCheck`. Its purpose is to save a
round trip with a precise message, never to block a form that KoBo accepts:

- ``mistakes`` are what KoBo certainly refuses: no sheet named exactly
  ``survey`` (a workbook of one sheet is its survey, whatever its name), no
  ``type`` column, an unbalanced ``begin``/``end`` group or repeat, a select
  list that is nowhere, a name KPI's import refuses (the same name twice in
  the survey, a name that is not an XML name), a named row without a type;
- ``warnings`` are everything else it does not recognise (an unknown type or
  a known one in another spelling, a sheet KoBo ignores, duplicate choices…):
  the file can still go to KoBo, whose own answer is final.

Each carries its sheet, row and column. ``questions`` maps the form's XPaths
to their types, so that a replacement can be compared with the current form.

The vocabulary follows the converter KPI relies on (pyxform 3.0, formpack's
aliases): question types and their aliases, ``select_one_external``,
``*_from_file``, ``rank``, ``or_other``, ``begin loop``, ``list name``.
When pyxform is importable its verdict is the one that refuses (its error is
the mistake, the local findings only point at rows); it is optional
(``pip install --no-deps pyxform``).
"""

import io
import re
from dataclasses import dataclass, field

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# The converter's plain question types, each with the other spellings it reads
# (pyxform's question type table and formpack's aliases). Spellings are
# case-sensitive there: another letter case is only a warning here.
TYPE_SPELLINGS = {
    "text": ("string", "q string", "add text prompt"),
    "integer": ("int", "q int", "add integer prompt"),
    "decimal": ("q decimal", "add decimal prompt"),
    "range": (),
    "note": ("q note", "add note prompt"),
    "acknowledge": ("trigger", "q acknowledge", "add acknowledge prompt"),
    "calculate": ("q calculate", "add calculate prompt"),
    "hidden": (),
    "date": ("q date", "add date prompt"),
    "time": (),
    "datetime": (
        "dateTime",
        "date time",
        "q date time",
        "q dateTime",
        "add date time prompt",
        "add dateTime prompt",
    ),
    "geopoint": ("gps", "location", "q geopoint", "q location", "add location prompt"),
    "geotrace": ("q geotrace",),
    "geoshape": ("q geoshape",),
    "image": ("photo", "q picture", "q image", "add image prompt"),
    "audio": ("q audio", "add audio prompt"),
    "video": ("q video", "add video prompt"),
    "file": ("add file prompt",),
    "barcode": ("q barcode", "add barcode prompt"),
    "percentage": (),
    "number of days in last month": (),
    "number of days in last six months": (),
    "number of days in last year": (),
    "xml-external": (),
    "csv-external": (),
    "osm": (),
    "background-audio": (),
    "background-geopoint": (),
    # metadata
    "start": ("start time", "get start time"),
    "end": ("end time", "get end time"),
    "today": ("get today",),
    "deviceid": ("imei", "device id", "get device id", "uri:deviceid"),
    "subscriberid": ("subscriber id", "get subscriber id", "uri:subscriberid"),
    "simserial": ("sim id", "get sim id", "uri:simserial"),
    "phonenumber": ("phone number", "get phone number", "uri:phonenumber"),
    "username": ("uri:username",),
    "email": ("uri:email",),
    "audit": (),
    "start-geopoint": (),
    # selects of the old question-type sheet, their list given elsewhere
    "q select1": (),
    "q select": (),
    # KoBo's own rows (score, rank and matrix blocks of its form builder)
    "score__row": (),
    "rank__level": (),
}
# Types followed by a list name (or a file name), with their other spellings.
SELECT_SPELLINGS = {
    "select_one": ("select one", "select one from", "select1", "add select one prompt using"),
    "select_multiple": (
        "select all that apply",
        "select all that apply from",
        "select multiple",
        "select many",
        "select_many",
        "add select multiple prompt using",
    ),
    "select_one_external": ("select one external",),
    "select_one_from_file": ("select one from file",),
    "select_multiple_from_file": ("select multiple from file",),
    "rank": (),
}
OR_OTHER = ("or_other", "or other", "or specify other")
FILE_EXTENSIONS = (".csv", ".xml", ".geojson")
# begin/end blocks: the word after begin/end (space or _) -> the block
BLOCKS = {
    "group": "group",
    "repeat": "repeat",
    "lgroup": "repeat",
    "looped group": "repeat",
    "loop": "loop",
    "kobomatrix": "kobomatrix",
    "score": "score",
    "rank": "rank",
}
SHEETS = ("survey", "choices", "settings", "external_choices", "osm", "entities")
TRUE = {"yes", "true", "true()", "1"}


def _fold(text):
    """Letter case and runs of spaces aside."""
    return " ".join(text.split()).lower()


def _spellings(table):
    """``{spelling: canonical}`` and ``{folded spelling: spelling}``."""
    exact = {s: canonical for canonical, others in table.items() for s in (canonical, *others)}
    return exact, {_fold(s): s for s in exact}


TYPES, FOLDED_TYPES = _spellings(TYPE_SPELLINGS)
SELECTS, FOLDED_SELECTS = _spellings(SELECT_SPELLINGS)
# longest first: "select one from file" before "select one from" before "select one"
_SELECT_FIRST = sorted(FOLDED_SELECTS, key=len, reverse=True)
SELECTS_LONGEST_FIRST = sorted(SELECTS, key=len, reverse=True)
_BLOCK_RE = re.compile(
    r"^(begin|end)[ _](" + "|".join(sorted(BLOCKS, key=len, reverse=True)) + r")(?: (.*))?$"
)
# An XML name without a colon (KPI's import parses "<name />"): letters in the
# broad sense, digits, "_", "-", ".", not starting with a digit, "-" or ".".
_NAME_START = (
    "A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
XML_NAME_RE = re.compile(
    f"^[{_NAME_START}][{_NAME_START}\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040]*$"
)
REFERENCE_RE = re.compile(r"^\$\{[^}]+\}$")


@dataclass(frozen=True)
class Mistake:
    sheet: str
    row: int | None  # the spreadsheet's row number (1 = header)
    column: str | None  # the column's header as written (``type``, ``name``, …)
    message: str

    def __str__(self):
        where = [self.sheet]
        if self.row:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


@dataclass
class XlsFormCheck:
    mistakes: list = field(default_factory=list)  # KoBo refuses the file
    warnings: list = field(default_factory=list)  # not recognised: KoBo decides
    questions: dict = field(default_factory=dict)  # xpath -> normalised type

    @property
    def ok(self):
        return not self.mistakes

    def report(self, limit=50):
        """The mistakes, one a line (at most ``limit``)."""
        return _lines(self.mistakes, limit)

    def warnings_report(self, limit=50):
        """The warnings, one a line (at most ``limit``)."""
        return _lines(self.warnings, limit)


def _lines(found, limit):
    lines = [str(m) for m in found[:limit]]
    if len(found) > limit:
        lines.append(f"… and {len(found) - limit} more")
    return "\n".join(lines)


class _Sheet:
    """Rows of one sheet as ``(row number, {column key: text})``. A column's
    key is its header folded (case, spaces); ``headers`` keeps it as written."""

    def __init__(self, name, rows):
        self.name = name
        rows = list(rows)
        written = [" ".join(_text(h).split()) for h in rows[0]] if rows else []
        keys = [_fold(h) for h in written]
        self.headers = {k: w for k, w in zip(keys, written, strict=True) if k}
        self.rows = []
        for number, values in enumerate(rows[1:], start=2):
            row = {k: _text(v) for k, v in zip(keys, values, strict=False) if k}
            if any(row.values()):
                self.rows.append((number, row))

    def key(self, *names):
        """The first of ``names`` (folded) that is a column, or ``None``."""
        return next((n for n in names if n in self.headers), None)


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read(data):
    """``{sheet name as written: _Sheet}``; ``ValueError`` if unreadable."""
    if data[:4] == XLSX_MAGIC:
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a corrupt file
            raise ValueError("the file is not a readable .xlsx workbook") from exc
        try:
            return {ws.title: _Sheet(ws.title, ws.iter_rows(values_only=True)) for ws in book}
        finally:
            book.close()
    if data[:8] == XLS_MAGIC:
        import xlrd

        try:
            book = xlrd.open_workbook(file_contents=bytes(data))
        except Exception as exc:  # xlrd raises many kinds on a corrupt file
            raise ValueError("the file is not a readable .xls workbook") from exc
        return {
            s.name: _Sheet(s.name, (s.row_values(i) for i in range(s.nrows))) for s in book.sheets()
        }
    raise ValueError("the file is not an Excel workbook (.xlsx or .xls)")


def check_xlsform(data, use_pyxform=True):
    """Check an XLSForm (bytes); return an :class:`XlsFormCheck`."""
    result = XlsFormCheck()
    try:
        sheets = _read(bytes(data or b""))
    except ValueError as exc:
        result.mistakes.append(Mistake("file", None, None, str(exc)))
        return result
    survey = _sheets(sheets, result)
    if survey is not None:
        if "type" not in survey.headers:
            result.mistakes.append(
                Mistake(survey.name, 1, "type", "the survey sheet has no 'type' column")
            )
        else:
            _Survey(survey, sheets, result).check()
    if use_pyxform:
        _pyxform_check(data, result)
    return result


def _sheets(sheets, result):
    """The survey sheet (``None`` with a mistake when there is none); a
    warning for each sheet KoBo ignores because of its spelling."""
    warn = result.warnings.append
    if len(sheets) == 1:  # the converter reads a lone sheet as the survey
        survey = next(iter(sheets.values()))
        if survey.name != "survey":
            warn(Mistake(survey.name, None, None, "the only sheet is read as the survey"))
        return survey
    for name in sheets:
        folded = _fold(name)
        if folded in SHEETS and name != folded:
            warn(
                Mistake(
                    name,
                    None,
                    None,
                    f"KoBo reads this sheet only when it is named exactly '{folded}'",
                )
            )
    if "survey" in sheets:
        return sheets["survey"]
    similar = [n for n in sheets if _fold(n) == "survey"]
    hint = f" ('{similar[0]}' must be spelled exactly 'survey')" if similar else ""
    result.mistakes.append(
        Mistake("survey", None, None, f"the workbook has no sheet named 'survey'{hint}")
    )
    return None


class _Survey:
    """One pass over the survey sheet."""

    def __init__(self, survey, sheets, result):
        self.survey, self.result = survey, result
        self.refuse, self.warn = result.mistakes.append, result.warnings.append
        settings = sheets.get("settings")
        first = settings.rows[0][1] if settings and settings.rows else {}
        self.allow_duplicates = first.get("allow_choice_duplicates", "").lower() in TRUE
        self.filtered = set()  # lists a choice_filter narrows
        self.choices, self.duplicates = self._lists(
            sheets.get("choices") if len(sheets) > 1 else None
        )
        self.external, _duplicates = self._lists(sheets.get("external_choices"))
        self.names = {}  # name -> row number, over the whole survey (KPI's import)
        self.misspelled = {_fold(n): n for n in sheets if _fold(n) != n}

    def _lists(self, sheet):
        """``({list name: first row}, {(list, choice): rows})`` of a choices
        sheet (``None`` for no sheet)."""
        if sheet is None:
            return None, {}
        key = sheet.key("list_name", "list name")
        if key is None:
            self.warn(Mistake(sheet.name, 1, "list_name", "the sheet has no 'list_name' column"))
            return {}, {}
        if sheet.headers[key] not in ("list_name", "list name"):
            self.warn(
                Mistake(sheet.name, 1, sheet.headers[key], "write 'list_name' (or 'list name')")
            )
        name_key = sheet.key("name", "value")
        lists, seen = {}, {}
        for number, row in sheet.rows:
            list_name, name = row.get(key, ""), row.get(name_key, "") if name_key else ""
            if not list_name:
                continue
            lists.setdefault(list_name, number)
            if not name:
                self.warn(
                    Mistake(
                        sheet.name, number, "name", f"a choice of list '{list_name}' has no name"
                    )
                )
            else:
                seen.setdefault((list_name, name), []).append(number)
        return lists, {k: v for k, v in seen.items() if len(v) > 1}

    def check(self):
        survey = self.survey
        type_key = "type"
        name_key = survey.key("name")
        if name_key is None:
            self.warn(
                Mistake(survey.name, 1, "name", "no 'name' column: KoBo names the rows itself")
            )
        elif survey.headers[name_key] not in ("name", "Name"):
            self.warn(Mistake(survey.name, 1, survey.headers[name_key], "write 'name'"))
        written = survey.headers[type_key]
        if written not in ("type", "Type") or (
            written != "type" and name_key and survey.headers[name_key] == "name"
        ):
            self.warn(
                Mistake(
                    survey.name, 1, written, "KoBo's import refuses this spelling: write 'type'"
                )
            )
        used = set()
        # open blocks: (block, name, row number, names of its children)
        stack = [("survey", "", None, set())]
        for number, row in survey.rows:
            raw, name = row.get(type_key, ""), row.get(name_key, "") if name_key else ""
            if not raw:
                if name:
                    self.refuse(Mistake(survey.name, number, "type", f"'{name}' has no type"))
                elif row.get("label"):
                    self.warn(
                        Mistake(survey.name, number, "type", "a row with a label and no type")
                    )
                continue
            kind, list_name = self._type(number, raw, row)
            block = _BLOCK_RE.match(_fold(raw))
            if block and block.group(1) == "end":
                self._close(number, raw, BLOCKS[block.group(2)], stack)
                continue
            if name:
                self._name(number, name, stack)
            if list_name is not None:
                used.add(list_name)
                self._list(number, raw, kind, list_name)
                if row.get("choice_filter"):
                    self.filtered.add(list_name)
            path = "/".join([*(s[1] for s in stack[1:]), name])
            if name:
                self.result.questions[path] = kind
            if block:
                stack.append((BLOCKS[block.group(2)], name, number, set()))
        for kind, name, number, _children in stack[1:]:
            self.refuse(
                Mistake(
                    survey.name,
                    number,
                    "type",
                    f"the {kind} '{name}' is never closed (end missing)",
                )
            )
        self._choice_duplicates(used)

    def _type(self, number, raw, row):
        """``(kind, list name or None)``; a warning for what it does not know."""
        spelled, folded = " ".join(raw.split()), _fold(raw)
        block = _BLOCK_RE.match(folded)
        if block:
            kind = f"{block.group(1)}_{BLOCKS[block.group(2)]}"
            # the list name as written (folding only lowered the letters)
            rest = spelled[block.start(3) :].split() if block.group(3) else []
            if block.group(2) == "loop" and rest and len(rest) <= 2:
                list_name = rest[-1]
                self.warn(
                    Mistake(
                        self.survey.name,
                        number,
                        "type",
                        f"the converter reads '{raw}', but KoBo's import refuses loops: "
                        "use begin_repeat",
                    )
                )
            elif rest:
                self.warn(
                    Mistake(self.survey.name, number, "type", f"unknown question type '{raw}'")
                )
                return kind, None
            else:
                list_name = None
                self._spelling(number, spelled, spelled.lower())
            return kind, list_name
        if spelled in TYPES:
            return TYPES[spelled], None
        if folded in FOLDED_TYPES:
            self._spelling(number, raw, FOLDED_TYPES[folded])
            return TYPES[FOLDED_TYPES[folded]], None
        for prefix in _SELECT_FIRST:
            if folded != prefix and not folded.startswith(prefix + " "):
                continue
            written = FOLDED_SELECTS[prefix]
            words = spelled[len(prefix) :].split()
            if not spelled.startswith(written):
                self._spelling(number, raw, written + spelled[len(prefix) :])
            if len(words) > 1 and _fold(" ".join(words[1:])) in OR_OTHER:
                words = words[:1]
            kind = SELECTS[written]
            if len(words) != 1:
                list_name = row.get("select_from_list_name") if not words else None
                if not list_name:
                    self.warn(
                        Mistake(self.survey.name, number, "type", f"unknown question type '{raw}'")
                    )
                return kind, list_name or None
            return kind, words[0]
        self.warn(Mistake(self.survey.name, number, "type", f"unknown question type '{raw}'"))
        return folded, None

    def _spelling(self, number, raw, known):
        if raw != known:
            self.warn(
                Mistake(
                    self.survey.name,
                    number,
                    "type",
                    f"KoBo's import refuses the type '{raw}' in this spelling: write '{known}'",
                )
            )

    def _close(self, number, raw, block, stack):
        top = stack[-1]
        if top[0] == "survey":
            self.refuse(
                Mistake(self.survey.name, number, "type", f"'{raw}' closes nothing: no open group")
            )
            return
        if top[0] != block:
            self.refuse(
                Mistake(
                    self.survey.name,
                    number,
                    "type",
                    f"'{raw}' closes the {top[0]} '{top[1]}' (row {top[2]}): use end_{top[0]}",
                )
            )
        stack.pop()

    def _name(self, number, name, stack):
        sheet = self.survey.name
        if not XML_NAME_RE.match(name):
            message = (
                f"invalid name '{name}': a name starts with a letter or _ and contains "
                "only letters, digits, _, - and ."
            )
            # KPI's import refuses what is not an XML name; beyond ASCII the
            # local pattern may be stricter than KPI's XML parser
            (self.refuse if name.isascii() else self.warn)(Mistake(sheet, number, "name", message))
            return
        siblings = stack[-1][3]
        if name in siblings:
            where = f"the {stack[-1][0]} '{stack[-1][1]}'" if stack[-1][1] else "the survey"
            self.refuse(
                Mistake(sheet, number, "name", f"the name '{name}' is used twice in {where}")
            )
        elif name in self.names:
            self.refuse(
                Mistake(
                    sheet,
                    number,
                    "name",
                    f"the name '{name}' is already used on row {self.names[name]}: KoBo refuses "
                    "a name used twice in one form, even in different groups",
                )
            )
        elif name.lower() in {s.lower() for s in siblings}:
            self.warn(
                Mistake(
                    sheet,
                    number,
                    "name",
                    f"'{name}' differs from another name only by case: KoBo imports it "
                    "but cannot deploy it",
                )
            )
        siblings.add(name)
        self.names.setdefault(name, number)

    def _list(self, number, raw, kind, list_name):
        """A select's list must be somewhere: choices, external choices, a file."""
        if REFERENCE_RE.match(list_name) or list_name.lower().endswith(FILE_EXTENSIONS):
            return
        if kind.endswith("_from_file"):
            self.warn(
                Mistake(
                    self.survey.name,
                    number,
                    "type",
                    f"the file '{list_name}' is not a .csv, .xml or .geojson file",
                )
            )
            return
        places = [self.choices]
        if kind == "select_one_external":
            places = [self.external, self.choices]
        if any(p and list_name in p for p in places):
            return
        if all(p is None for p in places):
            sheet = "external_choices" if kind == "select_one_external" else "choices"
            message = f"the list '{list_name}' is used but the workbook has no '{sheet}' sheet"
            if sheet in self.misspelled:
                message += f" ('{self.misspelled[sheet]}' must be spelled exactly '{sheet}')"
        else:
            known = {n.lower(): n for p in places if p for n in p}
            sheet = "external_choices or choices" if len(places) > 1 else "choices"
            message = f"the list '{list_name}' is not in the {sheet} sheet"
            if list_name.lower() in known:
                message += f" (list names are case-sensitive: '{known[list_name.lower()]}')"
        self.refuse(Mistake(self.survey.name, number, "type", message))

    def _choice_duplicates(self, used):
        if self.allow_duplicates or not self.choices:
            return
        for (list_name, name), rows in self.duplicates.items():
            if list_name not in used:
                continue
            why = (
                "fine with its choice_filter, and"
                if list_name in self.filtered
                else "KoBo imports it, but"
            )
            for number in rows[1:]:
                self.warn(
                    Mistake(
                        "choices",
                        number,
                        "name",
                        f"the choice '{name}' appears twice in list '{list_name}': {why} "
                        "deploying needs the setting allow_choice_duplicates = yes",
                    )
                )


def _pyxform_check(data, result):
    """pyxform's own conversion, only when it is installed: its error is the
    mistake that refuses; without one, the local mistakes become warnings.
    It converts the types as KoBo's import rewrites them first (formpack's
    select spellings, which pyxform alone does not all know)."""
    try:
        from pyxform.xls2json_backends import definition_to_dict
        from pyxform.xls2xform import convert
    except ImportError:
        return
    if result.mistakes and result.mistakes[0].sheet == "file":
        return  # not a workbook: nothing to convert
    try:
        book = definition_to_dict(io.BytesIO(bytes(data)))
        for row in book.get("survey") or ():
            if isinstance(row.get("type"), str):
                row["type"] = kobo_select_spelling(row["type"])
        convert(xlsform=book, validate=False, pretty_print=False)
    except Exception as exc:  # pyxform raises PyXFormError and plain errors alike
        result.mistakes.insert(0, Mistake("pyxform", None, None, str(exc).strip()))
        return
    result.warnings[:0] = result.mistakes
    result.mistakes.clear()


def kobo_select_spelling(text):
    """A select type as KoBo's import writes it (``select many yn`` ->
    ``select_multiple yn``); other types unchanged. Case-sensitive, as KoBo."""
    for prefix in SELECTS_LONGEST_FIRST:
        if text.startswith(prefix + " "):
            return SELECTS[prefix] + text[len(prefix) :]
    return text
