"""Form media built from Odoo records (no Odoo here): the CSV file a form's
``select_one_from_file <name>.csv`` or ``pulldata('<name>', …)`` reads.

KoBoCollect and Enketo read the first row as column names and need a
``name`` column (the value stored in the submission) and a ``label`` column
(or ``label::<Language (code)>`` per form language). Values are written as
UTF-8 text, quoted only where CSV needs it (commas, quotes, line breaks).
"""

import csv
import hashlib
import io
import re

__all__ = ["MediaError", "build_csv", "content_hash", "csv_file_name", "preview_rows"]

FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.csv$")
LABEL_COLUMN = re.compile(r"^label(::.+)?$")


class MediaError(ValueError):
    """The columns or rows cannot make a valid choice file."""


def csv_file_name(name):
    """The file name as the XLSForm names it (``products.csv``): a plain
    name (letters, digits, ``_.-``) ending in ``.csv``."""
    name = (name or "").strip()
    if not FILE_NAME.match(name):
        raise MediaError(
            f"{name!r} is not a usable media file name: use letters, digits, '_', '-' or '.' "
            "and end it with .csv, as in the XLSForm (select_one_from_file products.csv)."
        )
    return name


def check_columns(columns):
    """``columns``: the CSV header, in order. One ``name`` column, at least
    one label column, no duplicate and no empty column name."""
    seen = set()
    for column in columns:
        if not column or column != column.strip() or "\n" in column or "," in column:
            raise MediaError(f"{column!r} is not a usable column name.")
        if column in seen:
            raise MediaError(f"The column {column!r} appears twice.")
        seen.add(column)
    if "name" not in seen:
        raise MediaError("A choice file needs a 'name' column: the code stored in submissions.")
    if not any(LABEL_COLUMN.match(c) for c in seen):
        raise MediaError("A choice file needs a 'label' column (or one 'label::Language (xx)').")


def cell(value):
    """A value as CSV text: empty for ``None``/``False``, numbers without a
    trailing ``.0`` when whole."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralised(text):
    """A cell that a spreadsheet would run as a formula (``= + - @``, tab,
    CR first) gets a leading apostrophe; plain numbers (-5, +3.2) stay."""
    if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def build_csv(columns, rows):
    """CSV bytes (UTF-8, ``\\r\\n`` line ends as RFC 4180) of ``rows`` (dicts
    keyed by column, or sequences in column order). A row without a code is
    left out (a choice needs a name); a code that appears twice is refused,
    since collectors could not tell the two apart."""
    columns = list(columns)
    check_columns(columns)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    codes = set()
    for row in rows:
        values = [row.get(c) for c in columns] if isinstance(row, dict) else list(row)
        values = [neutralised(cell(v)) for v in values]
        code = values[columns.index("name")].strip()
        if not code:
            continue
        if code in codes:
            raise MediaError(f"The code {code!r} appears on two rows of the list.")
        codes.add(code)
        values[columns.index("name")] = code
        writer.writerow(values)
    return out.getvalue().encode("utf-8")


def content_hash(data):
    """``md5:<hex>``: the hash KPI shows for a media file (and the manifest)."""
    return "md5:" + hashlib.md5(data).hexdigest()


def preview_rows(data, limit=10):
    """``(header, first rows, row count)`` of CSV bytes built by :func:`build_csv`."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader, [])
    rows, count = [], 0
    for row in reader:
        if count < limit:
            rows.append(row)
        count += 1
    return header, rows, count
