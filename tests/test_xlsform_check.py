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


def warned(result):
    return [(m.sheet, m.row, m.column) for m in result.warnings]


def test_missing_survey_sheet():
    result = check_xlsform(xlsx([HEADER], survey_title="questions", choices=CHOICES))
    assert [str(m) for m in result.mistakes] == ["survey: the workbook has no sheet named 'survey'"]
    result = check_xlsform(xlsx([HEADER], survey_title="Survey", choices=CHOICES))
    assert "'Survey' must be spelled exactly 'survey'" in result.report()
    assert warned(result) == [("Survey", None, None)]


def test_a_lone_sheet_is_the_survey_whatever_its_name():
    """The converter reads a workbook of one sheet as its survey."""
    result = check_xlsform(xlsx([HEADER, ["text", "q", "Q"]], survey_title="Form 1"))
    assert result.ok, result.report()
    assert result.questions == {"q": "text"}
    assert [str(m) for m in result.warnings] == ["Form 1: the only sheet is read as the survey"]


def test_missing_type_column_refuses_missing_name_column_warns():
    result = check_xlsform(xlsx([["name", "label"], ["q", "Q"]]))
    assert where(result) == [("survey", 1, "type")]
    assert "no 'type' column" in result.report()
    result = check_xlsform(xlsx([["type", "label"], ["text", "Q"], ["note", "N"]]))
    assert result.ok, result.report()
    assert warned(result) == [("survey", 1, "name")]


def test_not_a_workbook():
    result = check_xlsform(b"this is not a spreadsheet at all")
    assert [(m.sheet, m.row) for m in result.mistakes] == [("file", None)]
    assert "not an Excel workbook" in result.report()
    assert not check_xlsform(b"PK\x03\x04broken zip").ok


def test_each_mistake_and_warning_with_sheet_row_and_column():
    data = xlsx(
        [
            HEADER,
            ["text", "name", "Name"],  # row 2
            ["badtype", "q1", "Bad"],  # row 3: unknown type (warning)
            ["select_one colours", "q2", "Colour"],  # row 4: list nowhere
            ["integer", "1st", "Invalid"],  # row 5: invalid name
            ["integer", "Name", "Only the case differs"],  # row 6: warning
            ["note", None, "No name: KoBo names it"],  # row 7: fine
            ["begin_group", "g", "G"],  # row 8
            ["text", "name", "Same name inside a group"],  # row 9: KPI refuses it
            ["end_repeat", None, None],  # row 10: closes a group with end_repeat
            ["end_group", None, None],  # row 11: closes nothing
            ["begin_repeat", "r", "R"],  # row 12: never closed
            ["Integer", "n", "N"],  # row 13: another letter case (warning)
        ],
        CHOICES,
    )
    result = check_xlsform(data, use_pyxform=False)
    assert where(result) == [
        ("survey", 4, "type"),
        ("survey", 5, "name"),
        ("survey", 9, "name"),
        ("survey", 10, "type"),
        ("survey", 11, "type"),
        ("survey", 12, "type"),
    ]
    assert warned(result) == [("survey", 3, "type"), ("survey", 6, "name"), ("survey", 13, "type")]
    report = result.report()
    assert "the list 'colours' is not in the choices sheet" in report
    assert "invalid name '1st'" in report
    assert "the name 'name' is already used on row 2" in report
    assert "'end_repeat' closes the group 'g' (row 8): use end_group" in report
    assert "the repeat 'r' is never closed" in report
    warnings = result.warnings_report()
    assert "survey, row 3, column type: unknown question type 'badtype'" in warnings
    assert "KoBo's import refuses the type 'Integer' in this spelling: write 'integer'" in warnings


def test_duplicate_name_in_one_group_level():
    data = xlsx(
        [HEADER, ["begin group", "g", "G"], ["text", "a", "A"], ["text", "a", "B"], ["end group"]]
    )
    result = check_xlsform(data, use_pyxform=False)
    assert [str(m) for m in result.mistakes] == [
        "survey, row 4, column name: the name 'a' is used twice in the group 'g'"
    ]


def test_select_without_choices_sheet_and_choices_warnings():
    result = check_xlsform(xlsx([HEADER, ["select_one yn", "q", "Q"]]), use_pyxform=False)
    assert where(result) == [("survey", 2, "type")]
    assert "no 'choices' sheet" in result.report()
    choices = [*CHOICES, ["yn", "yes", "Again"], ["yn", None, "Nameless"]]
    result = check_xlsform(xlsx([HEADER, ["select_one yn", "q", "Q"]], choices), False)
    assert result.ok
    assert warned(result) == [("choices", 5, "name"), ("choices", 4, "name")]
    assert "allow_choice_duplicates" in result.warnings_report()


def test_external_lists_are_not_mistakes():
    data = xlsx(
        [
            [*HEADER, "calculation"],
            ["select_one_from_file schools.csv", "school", "School", None],
            ["select_multiple_from_file farms.xml", "farms", "Farms", None],
            ["select_one regions.geojson", "region", "Region", None],
            ["calculate", "pop", None, "pulldata('census', 'pop', 'id', ${school})"],
        ]
    )
    result = check_xlsform(data, use_pyxform=False)
    assert result.ok and not result.warnings, result.warnings_report()


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [
        ("phone number", "phonenumber"),
        ("string", "text"),
        ("gps", "geopoint"),
        ("dateTime", "datetime"),
        ("select one from yn", "select_one"),
        ("select all that apply from yn", "select_multiple"),
        ("select1 yn", "select_one"),
        ("select_multiple yn or_other", "select_multiple"),
        ("select_one yn or other", "select_one"),
        ("rank yn", "rank"),
        ("select_one_external yn", "select_one_external"),
        ("select one external yn", "select_one_external"),
        ("select_one_from_file a.csv", "select_one_from_file"),
        ("select one from file a.csv", "select_one_from_file"),
    ],
)
def test_the_converters_spellings_are_known(spelling, kind):
    result = check_xlsform(xlsx([HEADER, [spelling, "q", "Q"]], CHOICES), use_pyxform=False)
    assert result.ok and not result.warnings, result.warnings_report()
    assert result.questions == {"q": kind}


@pytest.mark.parametrize(
    "spelling", ["Text", "SELECT_ONE_EXTERNAL yn", "Select_One yn", "Phone Number", "BEGIN GROUP"]
)
def test_other_letter_case_is_a_warning_not_a_mistake(spelling):
    rows = [HEADER, [spelling, "q", "Q"]]
    if spelling.startswith("BEGIN"):
        rows.append(["end group"])
    result = check_xlsform(xlsx(rows, CHOICES), use_pyxform=False)
    assert result.ok, result.report()
    assert warned(result) == [("survey", 2, "type")]
    assert "KoBo's import refuses the type" in result.warnings_report()


def test_begin_loop_over_a_list():
    """The converter reads loops; the real KPI's import refuses them: a
    warning, and the loop still opens a level that end loop closes."""
    rows = [HEADER, ["begin loop over yn", "l", "L"], ["integer", "n", "N"], ["end loop"]]
    result = check_xlsform(xlsx(rows, CHOICES), use_pyxform=False)
    assert result.ok, result.report()
    assert result.questions == {"l": "begin_loop", "l/n": "integer"}
    assert "KoBo's import refuses loops" in result.warnings_report()
    rows[1][0] = "begin loop over YN"  # list names keep their letter case
    choices = [CHOICES[0], ["YN", "yes", "Yes"]]
    assert check_xlsform(xlsx(rows, choices), use_pyxform=False).ok
    result = check_xlsform(xlsx(rows, [CHOICES[0]]), use_pyxform=False)
    assert where(result) == [("survey", 2, "type")]


def test_xls_workbook_is_read(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("survey")
    rows = [HEADER, ["text", "q", "Q"], ["nonsense", "z", "Z"], ["begin_group", "g", "G"]]
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            sheet.write(r, c, value)
    path = tmp_path / "form.xls"
    book.save(str(path))
    result = check_xlsform(path.read_bytes(), use_pyxform=False)
    assert warned(result) == [("survey", 3, "type")]
    assert where(result) == [("survey", 4, "type")]


def test_pyxform_verdict_refuses_when_importable(monkeypatch):
    """pyxform is optional: absent, the own check decides; present, its
    conversion decides: its error is the mistake (the local findings stay as
    pointers), and without one the local mistakes are only warnings."""
    import sys
    import types

    good = xlsx([HEADER, ["text", "q", "Q"]])
    unclosed = xlsx([HEADER, ["begin_group", "g", "G"]])
    monkeypatch.setitem(sys.modules, "pyxform", None)  # "not installed"
    assert check_xlsform(good).ok
    assert not check_xlsform(unclosed).ok
    calls, verdict = [], {}

    def definition_to_dict(data):
        assert data.read()[:4] == b"PK\x03\x04"
        return {"survey": [{"type": "select many yn", "name": "q"}, {"type": "text"}]}

    def convert(xlsform, **kw):
        calls.append(xlsform)
        if verdict.get("error"):
            raise ValueError(verdict["error"])

    package = types.ModuleType("pyxform")
    modules = {"xls2xform": convert, "xls2json_backends": definition_to_dict}
    for module_name, function in modules.items():
        module = types.ModuleType(f"pyxform.{module_name}")
        setattr(module, function.__name__, function)
        setattr(package, module_name, module)
        monkeypatch.setitem(sys.modules, f"pyxform.{module_name}", module)
    monkeypatch.setitem(sys.modules, "pyxform", package)
    verdict["error"] = "Unmatched begin statement: group (g)"
    result = check_xlsform(unclosed)
    # the types as KoBo's import rewrites them (pyxform alone lacks "select many")
    assert calls == [{"survey": [{"type": "select_multiple yn", "name": "q"}, {"type": "text"}]}]
    assert [str(m) for m in result.mistakes] == [
        "pyxform: Unmatched begin statement: group (g)",
        "survey, row 2, column type: the group 'g' is never closed (end missing)",
    ]
    verdict["error"] = None
    result = check_xlsform(unclosed)
    assert result.ok
    assert warned(result) == [("survey", 2, "type")]
    assert not check_xlsform(b"not a workbook").ok
    assert len(calls) == 2  # nothing to convert when the file is not a workbook
    assert not check_xlsform(unclosed, use_pyxform=False).ok
