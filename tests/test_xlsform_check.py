"""The local XLSForm check (kobo_kpi.xlsform_check): workbooks are built
here with openpyxl (one .xls with xlwt when installed); nothing reaches KoBo."""

import io

import pytest
from kobo_kpi.xlsform_check import check_xlsform
from openpyxl import Workbook


def xlsx(survey, choices=None, survey_title="survey"):
    """A workbook from lists of rows (the first row is the header)."""
    book = Workbook()
    sheet = book.active
    sheet.title = survey_title
    for row in survey:
        sheet.append(row)
    if choices is not None:
        other = book.create_sheet("choices")
        for row in choices:
            other.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER = ["type", "name", "label"]
CHOICES = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]


def where(result):
    return [(m.sheet, m.row, m.column) for m in result.mistakes]


def test_a_good_form_passes_and_lists_its_questions():
    data = xlsx(
        [
            HEADER,
            ["text", "full_name", "Name"],
            ["begin group", "hh", "Household"],
            ["select_one yn", "water", "Water?"],
            ["begin_repeat", "members", "Members"],
            ["select_multiple yn or_other", "ok", "OK?"],
            ["end_repeat", None, None],
            ["end group", None, None],
            ["select_one_from_file villages.csv", "village", "Village"],
            ["calculate", "pop", None],
            ["start", "start", None],
        ],
        CHOICES,
    )
    result = check_xlsform(data, use_pyxform=False)
    assert result.ok, result.report()
    assert result.questions == {
        "full_name": "text",
        "hh": "begin_group",
        "hh/water": "select_one",
        "hh/members": "begin_repeat",
        "hh/members/ok": "select_multiple",
        "village": "select_one_from_file",
        "pop": "calculate",
        "start": "start",
    }


def test_missing_survey_sheet():
    result = check_xlsform(xlsx([HEADER], survey_title="questions"))
    assert [str(m) for m in result.mistakes] == ["survey: the workbook has no sheet named 'survey'"]


@pytest.mark.parametrize("column", ["type", "name"])
def test_missing_type_or_name_column(column):
    header = [c for c in HEADER if c != column]
    result = check_xlsform(xlsx([header, ["text", "Q"]]))
    assert where(result) == [("survey", 1, column)]
    assert f"no '{column}' column" in result.report()


def test_not_a_workbook():
    result = check_xlsform(b"this is not a spreadsheet at all")
    assert [(m.sheet, m.row) for m in result.mistakes] == [("file", None)]
    assert "not an Excel workbook" in result.report()
    assert not check_xlsform(b"PK\x03\x04broken zip").ok


def test_each_mistake_with_sheet_row_and_column():
    data = xlsx(
        [
            HEADER,
            ["text", "name", "Name"],  # row 2
            ["badtype", "q1", "Bad"],  # row 3: unknown type
            ["select_one colours", "q2", "Colour"],  # row 4: list not in choices
            ["integer", "1st", "Invalid"],  # row 5: invalid name
            ["integer", "Name", "Dup"],  # row 6: duplicate (case-insensitive)
            ["text", None, "No name"],  # row 7: no name
            ["begin_group", "g", "G"],  # row 8
            ["text", "name", "Same name inside a group: fine"],  # row 9
            ["end_repeat", None, None],  # row 10: closes a group with end_repeat
            ["end_group", None, None],  # row 11: closes nothing
            ["begin_repeat", "r", "R"],  # row 12: never closed
        ],
        CHOICES,
    )
    result = check_xlsform(data, use_pyxform=False)
    assert where(result) == [
        ("survey", 3, "type"),
        ("survey", 4, "type"),
        ("survey", 5, "name"),
        ("survey", 6, "name"),
        ("survey", 7, "name"),
        ("survey", 10, "type"),
        ("survey", 11, "type"),
        ("survey", 12, "type"),
    ]
    report = result.report()
    assert "survey, row 3, column type: unknown question type 'badtype'" in report
    assert "the list 'colours' is not in the choices sheet" in report
    assert "invalid name '1st'" in report
    assert "the name 'Name' is used twice in the survey" in report
    assert "'end_repeat' closes the group 'g' (row 8): use end_group" in report
    assert "the repeat 'r' is never closed (end_repeat missing)" in report


def test_select_without_choices_sheet_and_duplicate_choice():
    result = check_xlsform(xlsx([HEADER, ["select_one yn", "q", "Q"]]), use_pyxform=False)
    assert where(result) == [("survey", 2, "type")]
    assert "no 'choices' sheet" in result.report()
    choices = [*CHOICES, ["yn", "yes", "Again"], ["yn", None, "Nameless"]]
    result = check_xlsform(xlsx([HEADER, ["select_one yn", "q", "Q"]], choices), False)
    assert where(result) == [("choices", 4, "name"), ("choices", 5, "name")]


def test_external_lists_are_not_mistakes():
    data = xlsx(
        [
            [*HEADER, "calculation"],
            ["select_one_from_file schools.csv", "school", "School", None],
            ["select_multiple_from_file farms.xml", "farms", "Farms", None],
            ["calculate", "pop", None, "pulldata('census', 'pop', 'id', ${school})"],
        ]
    )
    assert check_xlsform(data, use_pyxform=False).ok


def test_xls_workbook_is_read(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("survey")
    for r, values in enumerate([HEADER, ["text", "q", "Q"], ["nonsense", "z", "Z"]]):
        for c, value in enumerate(values):
            sheet.write(r, c, value)
    path = tmp_path / "form.xls"
    book.save(str(path))
    result = check_xlsform(path.read_bytes(), use_pyxform=False)
    assert where(result) == [("survey", 3, "type")]


def test_pyxform_adds_its_check_only_when_importable(monkeypatch):
    """pyxform is optional: absent, the own check decides; present, its
    conversion runs after a clean own check and its error becomes a mistake."""
    import sys
    import types

    good = xlsx([HEADER, ["text", "q", "Q"]])
    monkeypatch.setitem(sys.modules, "pyxform", None)  # "not installed"
    assert check_xlsform(good).ok
    calls = []

    def convert(xlsform, **kw):
        calls.append(xlsform.read()[:4])
        raise ValueError("The survey element named 'q' has no label or hint.")

    package, module = types.ModuleType("pyxform"), types.ModuleType("pyxform.xls2xform")
    module.convert = convert
    package.xls2xform = module
    monkeypatch.setitem(sys.modules, "pyxform", package)
    monkeypatch.setitem(sys.modules, "pyxform.xls2xform", module)
    result = check_xlsform(good)
    assert calls == [b"PK\x03\x04"]
    assert [str(m) for m in result.mistakes] == [
        "pyxform: The survey element named 'q' has no label or hint."
    ]
    assert not check_xlsform(xlsx([HEADER, ["badtype", "q", "Q"]])).ok
    assert len(calls) == 1  # not run when the own check already found mistakes
    assert check_xlsform(good, use_pyxform=False).ok
