"""The project's XLSForm corpus (kobo_connector/tests/xlsform_corpus): the
legitimate edge cases pass the local check with no mistake and are read by
the fake KoBo; the broken ones get their refusals and warnings at the right
sheet, row and column. (tests/test_conformance.py imports the legitimate ones
into a real KPI.)"""

import sys

import pytest
from conftest import ADDON_DIR
from kobo_kpi.fake.xlsform import read_xlsform
from kobo_kpi.xlsform_check import check_xlsform
from openpyxl import load_workbook

CORPUS = ADDON_DIR / "tests" / "xlsform_corpus"
sys.path.insert(0, str(CORPUS))
from make_corpus import BROKEN, GOOD  # noqa: E402

# form -> (mistakes, warnings), each a list of (sheet, row, column)
EXPECTED = {
    "no_survey_sheet": ([("survey", None, None)], []),
    "survey_sheet_letter_case": ([("survey", None, None)], [("Survey", None, None)]),
    "no_type_column": ([("survey", 1, "type")], []),
    "group_never_closed": ([("survey", 2, "type")], []),
    "end_without_begin": ([("survey", 3, "type")], []),
    "end_repeat_closes_group": ([("survey", 4, "type")], []),
    "list_nowhere": ([("survey", 2, "type")], []),
    "list_other_case": ([("survey", 2, "type")], []),
    "no_choices_sheet": ([("survey", 2, "type")], []),
    "external_list_nowhere": ([("survey", 2, "type")], []),
    "duplicate_name_same_level": ([("survey", 3, "name")], []),
    "duplicate_name_other_group": ([("survey", 4, "name")], []),
    "invalid_names": ([("survey", 2, "name"), ("survey", 3, "name")], []),
    "named_row_without_type": ([("survey", 3, "type")], []),
    "unknown_type": ([], [("survey", 2, "type")]),
    "type_letter_case": ([], [("survey", 2, "type"), ("survey", 3, "type")]),
    "choice_without_name": ([], [("choices", 4, "name")]),
    "duplicate_choices_unfiltered": ([], [("choices", 4, "name")]),
    "choices_sheet_letter_case": ([], [("Choices", None, None)]),
    "begin_loop_over": ([], [("survey", 2, "type")]),
    "type_header_capitalised": ([], [("survey", 1, "Type")]),
}
REFUSED = sorted(name for name, (mistakes, _w) in EXPECTED.items() if mistakes)


def data(folder, name):
    return (CORPUS / folder / f"{name}.xlsx").read_bytes()


def positions(found):
    return [(m.sheet, m.row, m.column) for m in found]


@pytest.mark.parametrize(("folder", "forms"), [("good", GOOD), ("broken", BROKEN)])
def test_files_match_the_generator(folder, forms):
    """The committed .xlsx files are what make_corpus.py writes."""
    assert sorted(p.stem for p in (CORPUS / folder).glob("*.xlsx")) == sorted(forms)
    for name, sheets in forms.items():
        book = load_workbook(CORPUS / folder / f"{name}.xlsx", read_only=True)
        try:
            read = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}
        finally:
            book.close()
        assert list(read) == list(sheets), name
        for title, rows in sheets.items():
            width = max(len(r) for r in rows)
            padded = [[*r, *[None] * (width - len(r))] for r in rows]
            assert [r[:width] for r in read[title]] == padded, (name, title)


def test_the_corpus_covers_the_issue():
    assert len(GOOD) >= 25
    rows = [row for sheets in GOOD.values() for row in next(iter(sheets.values()))[1:] if row]
    types = {str(row[0]).split(" ", 1)[0] for row in rows if row[0]}
    spellings = {row[0] for row in rows}
    assert {"phone number", "string", "gps", "select one from yn"} <= spellings
    assert {"select all that apply from yn", "rank colours"} <= spellings
    # the converter reads loops, the real KPI refuses them: a warning only
    assert BROKEN["begin_loop_over"]["survey"][1][0] == "begin loop over rooms"
    assert {"select_one yn or_other", "select_one_from_file villages.csv"} <= spellings
    assert {"select_one_external", "select"} <= types


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_forms_pass_the_check(name):
    result = check_xlsform(data("good", name), use_pyxform=False)
    assert result.ok, result.report()
    assert result.questions


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_forms_are_read_by_the_fake(name):
    content = read_xlsform(data("good", name))
    assert content["survey"]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_forms_get_precise_findings(name):
    result = check_xlsform(data("broken", name), use_pyxform=False)
    mistakes, warnings = EXPECTED[name]
    assert positions(result.mistakes) == mistakes, result.report()
    assert positions(result.warnings) == warnings, result.warnings_report()
    for found in (*result.mistakes, *result.warnings):
        assert found.message
