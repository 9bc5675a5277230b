"""The project's corpus of XLSForms for the local check (``kobo_kpi.xlsform_check``)
and the conformance suite: ``GOOD`` forms are legitimate edge cases that KoBo
(KPI) imports, ``BROKEN`` forms are refused or warned about by the check.

Each form is ``{sheet title: rows}``, the first row the header, written as is
(titles, header spellings and letter case are part of the case). Run

    python3 kobo_connector/tests/xlsform_corpus/make_corpus.py

to (re)write ``good/*.xlsx`` and ``broken/*.xlsx`` next to this file;
tests/test_xlsform_corpus.py checks that the files match these definitions.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
H = ["type", "name", "label"]
YN = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]
COUNTY_SURVEY = (
    ["select_one state", "state", "State", None],
    ["select_one county", "county", "County", "state=${state}"],
)
COUNTIES = [
    ["list_name", "name", "label", "state"],
    ["state", "texas", "Texas", None],
    ["state", "washington", "Washington", None],
    ["county", "king", "King", "texas"],
    ["county", "king", "King", "washington"],
    ["county", "cameron", "Cameron", "texas"],
]


def form(*survey_rows, choices=None, header=H, **other_sheets):
    sheets = {"survey": [header, *survey_rows]}
    if choices is not None:
        sheets["choices"] = choices
    sheets.update(other_sheets)
    return sheets


GOOD = {
    "alias_phone_number": form(["phone number", "phone", None], ["text", "who", "Who are you?"]),
    "alias_string": form(["string", "nickname", "Nickname"], ["text", "town", "Town"]),
    "alias_gps": form(["gps", "where", "Where are you?"], ["location", "home", "Home"]),
    "alias_select_one_from": form(["select one from yn", "ok", "OK?"], choices=YN),
    "alias_select_all_that_apply_from": form(
        ["select all that apply from yn", "many", "Which?"], choices=YN
    ),
    "alias_select_spellings": form(
        ["select one yn", "a", "A"],
        ["select1 yn", "b", "B"],
        ["select all that apply yn", "c", "C"],
        ["select multiple yn", "d", "D"],
        ["select_one   yn", "e", "E (extra spaces)"],
        choices=YN,
    ),
    "alias_legacy_question_types": form(
        ["int", "age", "Age"],
        ["photo", "pic", "Picture"],
        ["trigger", "ack", "Acknowledge"],
        ["dateTime", "when", "When"],
        ["imei", "dev", None],
        ["q string", "old", "Old style"],
        ["add text prompt", "older", "Older style"],
    ),
    "select_one_external": form(
        ["select_one states", "state", "State"],
        ["select_one_external cities", "city", "City", "state=${state}"],
        header=[*H, "choice_filter"],
        choices=[
            ["list_name", "name", "label"],
            ["states", "ca", "California"],
            ["states", "ny", "New York"],
        ],
        external_choices=[
            ["list_name", "name", "label", "state"],
            ["cities", "la", "Los Angeles", "ca"],
            ["cities", "nyc", "New York City", "ny"],
        ],
    ),
    "select_one_external_spaced": form(
        ["select_one states", "state", "State"],
        ["select one external cities", "city", "City", "state=${state}"],
        header=[*H, "choice_filter"],
        choices=[["list_name", "name", "label"], ["states", "ca", "California"]],
        external_choices=[["list_name", "name", "label", "state"], ["cities", "la", "LA", "ca"]],
    ),
    # two counties named alike in different states
    "duplicate_choices_with_choice_filter": form(
        *COUNTY_SURVEY,
        header=[*H, "choice_filter"],
        choices=COUNTIES,
        settings=[["form_title", "allow_choice_duplicates"], ["Counties", "yes"]],
    ),
    "duplicate_choices_filter_no_setting": form(
        *COUNTY_SURVEY, header=[*H, "choice_filter"], choices=COUNTIES
    ),
    "note_without_name": form(
        ["note", None, "Welcome: this note has no name"],
        ["text", "q", "Question"],
        ["note", None, "Thank you"],
    ),
    "extra_sheets": form(
        ["select_one yn", "ok", "OK?"],
        choices=YN,
        settings=[["form_title", "version"], ["Extra sheets", "2024-01"]],
        instructions=[["What"], ["Read me first"]],
        Sheet3=[["anything"], [1], [2]],
    ),
    "header_letter_case": form(
        ["text", "q", "Question", "A hint"],
        ["integer", "n", "Number", None],
        header=["type", "name", "Label", "Hint"],
    ),
    "header_spaces": form(
        ["integer", "age", "Age", ". > 0", "Must be positive", "yes", "Required!"],
        ["select_one yn", "ok", "OK?", None, None, None, None],
        header=[
            "type",
            "name",
            "label",
            "constraint",
            "constraint message",
            "required",
            "required message",
        ],
        choices=[["list name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]],
    ),
    "header_padded": form(
        ["text", "q", "Question"],
        header=[" type", "name ", "  label  "],
    ),
    "type_spaced_groups": form(
        ["begin group", "g", "Group"],
        ["text", "a", "A"],
        ["end group", None, None],
        ["begin repeat", "r", "Repeat"],
        ["text", "b", "B"],
        ["end repeat", None, None],
        ["begin  group", "g2", "Double space"],
        ["text", "c", "C"],
        ["end  group", None, None],
    ),
    "label_language_codes": form(
        ["text", "q", "Name?", "Nom ?", "Your name", "Votre nom"],
        ["select_one yn", "ok", "OK?", "D'accord ?", None, None],
        header=[
            "type",
            "name",
            "label::English (en)",
            "label::Français (fr)",
            "hint::English (en)",
            "hint::Français (fr)",
        ],
        choices=[
            ["list_name", "name", "label::English (en)", "label::Français (fr)"],
            ["yn", "yes", "Yes", "Oui"],
            ["yn", "no", "No", "Non"],
        ],
        settings=[["default_language"], ["English (en)"]],
    ),
    "media_columns": form(
        ["note", "pic", "Look", "look.png", "sound.mp3"],
        header=["type", "name", "label", "media::image", "audio::English (en)"],
    ),
    "rank": form(
        ["rank colours", "order", "Order the colours"],
        choices=[
            ["list_name", "name", "label"],
            ["colours", "red", "Red"],
            ["colours", "blue", "Blue"],
            ["colours", "green", "Green"],
        ],
    ),
    "or_other": form(
        ["select_one yn or_other", "one", "One"],
        ["select_multiple yn or_other", "many", "Many"],
        choices=YN,
    ),
    "select_from_file": form(
        ["select_one_from_file villages.csv", "village", "Village"],
        ["select_multiple_from_file farms.xml", "farms", "Farms"],
        ["select one from file schools.csv", "school", "School"],
    ),
    "select_from_repeat": form(
        ["begin_repeat", "members", "Members"],
        ["text", "member", "Name"],
        ["end_repeat", None, None],
        ["select_one ${member}", "head", "Head of household"],
    ),
    "metadata": form(
        ["start", "start", None],
        ["end", "end", None],
        ["today", "today", None],
        ["deviceid", "deviceid", None],
        ["username", "username", None],
        ["audit", "audit", None],
        ["text", "q", "Question"],
    ),
    "more_types": form(
        ["range", "scale", "Scale", "start=1 end=10 step=1"],
        ["geotrace", "path", "Path", None],
        ["geoshape", "area", "Area", None],
        ["barcode", "code", "Code", None],
        ["acknowledge", "agree", "Agree", None],
        ["hidden", "secret", None, None],
        ["calculate", "twice", None, None, "2 * 2"],
        ["xml-external", "lookup", None, None],
        ["csv-external", "table", None, None],
        ["background-audio", "bg", None, None],
        ["file", "doc", "Document", None],
        header=[*H, "parameters", "calculation"],
    ),
    "choices_value_header": form(
        ["select_one yn", "ok", "OK?"],
        choices=[["list_name", "value", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]],
    ),
    "empty_and_comment_rows": form(
        ["text", "a", "A", None],
        [None, None, None, None],
        [None, None, None, "a comment only"],
        ["text", "b", "B", None],
        header=[*H, "comments"],
    ),
    "nested_groups_repeats": form(
        ["begin_group", "outer", "Outer"],
        ["begin_repeat", "people", "People"],
        ["text", "person", "Person"],
        ["begin_group", "contact", "Contact"],
        ["text", "phone_no", "Phone"],
        ["end_group", None, None],
        ["end_repeat", None, None],
        ["end_group", None, None],
    ),
    "header_type_name_capitalised": form(
        ["text", "q", "Question"], header=["Type", "Name", "Label"]
    ),
    "lone_sheet_any_name": {"Form 1": [H, ["text", "q", "Q"], ["integer", "n", "N"]]},
    "select_many_alias": form(["select many yn", "many", "Which?"], choices=YN),
    "unicode_names": form(
        ["text", "prénom", "Prénom"],
        ["text", "名前", "Name"],
    ),
}

BROKEN = {
    "no_survey_sheet": {"questions": [H, ["text", "q", "Q"]], "choices": YN},
    "survey_sheet_letter_case": {"Survey": [H, ["text", "q", "Q"]], "choices": YN},
    "no_type_column": form(["text", "q", "Q"], header=["kind", "name", "label"]),
    "group_never_closed": form(["begin_group", "g", "G"], ["text", "q", "Q"]),
    "end_without_begin": form(["text", "q", "Q"], ["end_group", None, None]),
    "end_repeat_closes_group": form(
        ["begin_group", "g", "G"], ["text", "q", "Q"], ["end_repeat", None, None]
    ),
    "list_nowhere": form(["select_one colours", "c", "Colour"], choices=YN),
    "list_other_case": form(["select_one YN", "c", "OK?"], choices=YN),
    "no_choices_sheet": form(
        ["select_one yn", "c", "OK?"], settings=[["form_title"], ["No choices"]]
    ),
    "external_list_nowhere": form(["select_one_external cities", "city", "City"], choices=YN),
    "duplicate_name_same_level": form(["text", "q", "Q"], ["integer", "q", "Q again"]),
    "duplicate_name_other_group": form(
        ["text", "q", "Q"],
        ["begin_group", "g", "G"],
        ["text", "q", "Q in g"],
        ["end_group", None, None],
    ),
    "invalid_names": form(["text", "1st", "First"], ["text", "my name", "Mine"]),
    "named_row_without_type": form(["text", "a", "A"], [None, "b", "B"]),
    # warnings only: the check lets them go to KoBo, which decides
    "begin_loop_over": form(
        ["begin loop over rooms", "room", "Room"],
        ["integer", "windows", "Windows"],
        ["end loop", None, None],
        choices=[
            ["list_name", "name", "label"],
            ["rooms", "kitchen", "Kitchen"],
            ["rooms", "bed", "Bedroom"],
        ],
    ),
    "type_header_capitalised": form(["text", "q", "Q"], header=["Type", "name", "label"]),
    "unknown_type": form(["badtype", "q", "Q"]),
    "type_letter_case": form(["Text", "q", "Q"], ["Select_One yn", "ok", "OK?"], choices=YN),
    "choice_without_name": form(
        ["select_one yn", "ok", "OK?"], choices=[*YN, ["yn", None, "Maybe"]]
    ),
    "duplicate_choices_unfiltered": form(
        ["select_one yn", "ok", "OK?"], choices=[*YN, ["yn", "yes", "Yes again"]]
    ),
    "choices_sheet_letter_case": {"survey": [H, ["text", "q", "Q"]], "Choices": YN},
}


def write(name, sheets, folder):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    folder.mkdir(exist_ok=True)
    book.save(folder / f"{name}.xlsx")


def main():
    for folder, forms in (("good", GOOD), ("broken", BROKEN)):
        for old in (HERE / folder).glob("*.xlsx"):
            old.unlink()
        for name, sheets in forms.items():
            write(name, sheets, HERE / folder)
    print(f"{len(GOOD)} good and {len(BROKEN)} broken XLSForms written in {HERE}")


if __name__ == "__main__":
    main()
