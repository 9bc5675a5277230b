"""A local check of an XLSForm before it is sent to KoBo (pure Python).

``check_xlsform(data)`` reads the workbook with openpyxl (``.xlsx``) or xlrd
(``.xls``) and returns an :class:`XlsFormCheck`: the mistakes found, each
with its sheet, row and column, and the form's questions (XPath → type), so
that a replacement can be compared with the current form before anything
reaches KoBo. It catches what makes KoBo's import or deployment fail most
often: no ``survey`` sheet, no ``type`` or ``name`` column, an unknown
question type, a select list missing from ``choices`` (``*_from_file``
lists are external files, not mistakes), a missing, invalid or duplicate
name, an unbalanced ``begin``/``end`` group or repeat.

When pyxform (the converter KoBo relies on) is importable, its own
conversion runs as well, after this check found nothing; it is optional and
never required (install it with ``pip install --no-deps pyxform``).
"""

import io
import re
from dataclasses import dataclass, field

from .content import METADATA_TYPES, _normalise_type

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
GROUP_OF = {"begin_group": "end_group", "begin_repeat": "end_repeat"}
SELECT_WITH_LIST = {"select_one", "select_multiple", "rank"}
FROM_FILE = {"select_one_from_file", "select_multiple_from_file"}
QUESTION_TYPES = (
    {
        "text",
        "integer",
        "decimal",
        "range",
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
        "barcode",
        "calculate",
        "acknowledge",
        "hidden",
        "xml-external",
        "csv-external",
        "background-geopoint",
        "kobomatrix",
        "begin_kobomatrix",
        "end_kobomatrix",
        "score",
        "begin_score",
        "end_score",
        "begin_rank",
        "end_rank",
    }
    | SELECT_WITH_LIST
    | FROM_FILE
    | set(GROUP_OF)
    | set(GROUP_OF.values())
    | METADATA_TYPES
)


@dataclass(frozen=True)
class Mistake:
    sheet: str
    row: int | None  # the spreadsheet's row number (1 = header)
    column: str | None  # the column's header (``type``, ``name``, …)
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
    mistakes: list = field(default_factory=list)
    questions: dict = field(default_factory=dict)  # xpath -> normalised type

    @property
    def ok(self):
        return not self.mistakes

    def report(self, limit=50):
        """The mistakes, one a line (at most ``limit``)."""
        lines = [str(m) for m in self.mistakes[:limit]]
        if len(self.mistakes) > limit:
            lines.append(f"… and {len(self.mistakes) - limit} more")
        return "\n".join(lines)


class _Sheet:
    """Rows of one sheet as ``(row number, {header: text})``."""

    def __init__(self, name, rows):
        self.name = name
        rows = list(rows)
        self.header = [_text(h).lower() for h in rows[0]] if rows else []
        self.rows = []
        for number, values in enumerate(rows[1:], start=2):
            row = {h: _text(v) for h, v in zip(self.header, values, strict=False) if h}
            if any(row.values()):
                self.rows.append((number, row))


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read(data):
    """``{sheet name (lower case): _Sheet}``; ``ValueError`` if unreadable."""
    if data[:4] == XLSX_MAGIC:
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a corrupt file
            raise ValueError("the file is not a readable .xlsx workbook") from exc
        try:
            return {
                ws.title.strip().lower(): _Sheet(ws.title, ws.iter_rows(values_only=True))
                for ws in book.worksheets
            }
        finally:
            book.close()
    if data[:8] == XLS_MAGIC:
        import xlrd

        try:
            book = xlrd.open_workbook(file_contents=bytes(data))
        except Exception as exc:  # xlrd raises many kinds on a corrupt file
            raise ValueError("the file is not a readable .xls workbook") from exc
        return {
            s.name.strip().lower(): _Sheet(s.name, (s.row_values(i) for i in range(s.nrows)))
            for s in book.sheets()
        }
    raise ValueError("the file is not an Excel workbook (.xlsx or .xls)")


def check_xlsform(data, use_pyxform=True):
    """Check an XLSForm (bytes); return an :class:`XlsFormCheck`."""
    result = XlsFormCheck()
    add = result.mistakes.append
    try:
        sheets = _read(bytes(data or b""))
    except ValueError as exc:
        add(Mistake("file", None, None, str(exc)))
        return result
    survey = sheets.get("survey")
    if survey is None:
        add(Mistake("survey", None, None, "the workbook has no sheet named 'survey'"))
        return result
    missing = [c for c in ("type", "name") if c not in survey.header]
    for column in missing:
        add(Mistake(survey.name, 1, column, f"the survey sheet has no '{column}' column"))
    if missing:
        return result
    lists = _choice_lists(sheets.get("choices"), add)
    _check_survey(survey, lists, result)
    if result.ok and use_pyxform:
        _pyxform_check(data, result)
    return result


def _choice_lists(choices, add):
    """List names of the choices sheet (``None``: no choices sheet)."""
    if choices is None:
        return None
    if "list_name" not in choices.header:
        column = "list_name" if "list name" not in choices.header else None
        if column:
            add(Mistake(choices.name, 1, column, "the choices sheet has no 'list_name' column"))
            return set()
    key = "list_name" if "list_name" in choices.header else "list name"
    lists, seen = set(), set()
    for number, row in choices.rows:
        list_name, name = row.get(key, ""), row.get("name", "")
        if not list_name:
            continue
        lists.add(list_name)
        if not name:
            add(
                Mistake(choices.name, number, "name", f"a choice of list '{list_name}' has no name")
            )
        elif (list_name, name) in seen:
            add(
                Mistake(
                    choices.name,
                    number,
                    "name",
                    f"the choice '{name}' appears twice in list '{list_name}'",
                )
            )
        seen.add((list_name, name))
    return lists


def _check_survey(survey, lists, result):
    add = result.mistakes.append
    # each open group/repeat: (type, name, row number, names of its children)
    stack = [("survey", "", None, set())]
    for number, row in survey.rows:
        raw = row.get("type", "")
        name = row.get("name", "")
        if not raw:
            if name:
                add(Mistake(survey.name, number, "type", f"'{name}' has no type"))
            continue
        qtype, list_name = _normalise_type(raw, row)
        base = qtype.split()[0] if qtype else ""
        if base in GROUP_OF.values():
            top = stack[-1]
            if top[0] == "survey":
                add(Mistake(survey.name, number, "type", f"'{raw}' closes nothing: no open group"))
            elif GROUP_OF[top[0]] != base:
                add(
                    Mistake(
                        survey.name,
                        number,
                        "type",
                        f"'{raw}' closes the {top[0].split('_')[1]} '{top[1]}' "
                        f"(row {top[2]}): use {GROUP_OF[top[0]]}",
                    )
                )
                stack.pop()
            else:
                stack.pop()
            continue
        if base not in QUESTION_TYPES:
            add(Mistake(survey.name, number, "type", f"unknown question type '{raw}'"))
        if not name:
            add(Mistake(survey.name, number, "name", f"the '{raw}' row has no name"))
        elif not NAME_RE.match(name):
            add(
                Mistake(
                    survey.name,
                    number,
                    "name",
                    f"invalid name '{name}': a name starts with a letter or _ and contains "
                    "only letters, digits, _, - and .",
                )
            )
        else:
            siblings = stack[-1][3]
            if name.lower() in siblings:
                where = (
                    f"the {stack[-1][0].split('_')[-1]} '{stack[-1][1]}'"
                    if stack[-1][1]
                    else "the survey"
                )
                add(
                    Mistake(
                        survey.name, number, "name", f"the name '{name}' is used twice in {where}"
                    )
                )
            siblings.add(name.lower())
        if base in SELECT_WITH_LIST:
            if not list_name:
                add(Mistake(survey.name, number, "type", f"'{raw}' names no list of choices"))
            elif list_name.startswith("${"):
                pass  # choices taken from a repeat's answers
            elif lists is None:
                add(
                    Mistake(
                        survey.name,
                        number,
                        "type",
                        f"the list '{list_name}' is used but the workbook has no 'choices' sheet",
                    )
                )
            elif list_name not in lists:
                add(
                    Mistake(
                        survey.name,
                        number,
                        "type",
                        f"the list '{list_name}' is not in the choices sheet",
                    )
                )
        path = "/".join([*(s[1] for s in stack[1:]), name])
        if name:
            result.questions[path] = base
        if base in GROUP_OF:
            stack.append((base, name, number, set()))
    for kind, name, number, _children in stack[1:]:
        add(
            Mistake(
                survey.name,
                number,
                "type",
                f"the {kind.split('_')[1]} '{name}' is never closed ({GROUP_OF[kind]} missing)",
            )
        )


def _pyxform_check(data, result):
    """pyxform's own conversion, only when it is installed."""
    try:
        from pyxform.xls2xform import convert
    except ImportError:
        return
    try:
        convert(xlsform=io.BytesIO(bytes(data)), validate=False, pretty_print=False)
    except Exception as exc:  # pyxform raises PyXFormError and plain errors alike
        result.mistakes.append(Mistake("pyxform", None, None, str(exc).strip()))
