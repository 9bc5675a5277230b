"""The question catalogue built from KPI ``content`` (contents built here)."""

from kobo_kpi.content import DEFAULT_LANGUAGE, parse_content

EN, FR = "English (en)", "Français (fr)"


def row(type_, name, xpath=None, label=None, **extra):
    out = {"type": type_, "name": name, "$kuid": f"k_{name}", "$autoname": name, **extra}
    if xpath:
        out["$xpath"] = xpath
    if label is not None:
        out["label"] = label
    return out


def end(type_):
    return {"type": type_, "$kuid": "e"}


HOUSEHOLD = {
    "schema": "1",
    "survey": [
        row("start", "start", "start"),
        row("today", "today", "today"),
        row("begin_group", "hh", "hh", ["Household", "Ménage"]),
        row("text", "name", "hh/name", ["Name", "Nom"], required=True, hint=["Full name", None]),
        row("integer", "age", "hh/age", ["Age", None]),
        row(
            "select_multiple", "fruits", "hh/fruits", ["Fruits"] * 2, select_from_list_name="fruits"
        ),
        row("begin_repeat", "members", "hh/members", ["Members", "Membres"]),
        row("text", "m_name", "hh/members/m_name", ["Member name", "Nom du membre"]),
        row("begin_group", "health", "hh/members/health", ["Health", "Santé"]),
        row(
            "select_one",
            "sick",
            "hh/members/health/sick",
            ["Sick?", "Malade ?"],
            select_from_list_name="yesno",
            required="true",
        ),
        end("end_group"),
        row("begin_repeat", "visits", "hh/members/visits", ["Visits", "Visites"]),
        row("date", "v_date", "hh/members/visits/v_date", ["Date", "Date"]),
        end("end_repeat"),
        end("end_repeat"),
        end("end_group"),
        row("geopoint", "gps", "gps", ["Location", "Position"]),
        row("note", "thanks", "thanks", ["Thanks", "Merci"]),
        row("calculate", "score", "score", calculation="1+1"),
    ],
    "choices": [
        {"list_name": "fruits", "name": "apple", "label": ["Apple", "Pomme"]},
        {"list_name": "fruits", "name": "banana", "label": ["Banana", None]},
        {"list_name": "yesno", "name": "yes", "label": ["Yes", "Oui"]},
        {"list_name": "yesno", "name": "no", "label": ["No", "Non"]},
    ],
    "settings": {"id_string": "household", "default_language": EN},
    "translations": [EN, FR],
    "translated": ["label", "hint"],
}


def test_nodes_order_paths_and_nesting():
    cat = parse_content(HOUSEHOLD)
    assert [n.xpath for n in cat.nodes] == [
        "start", "today", "hh", "hh/name", "hh/age", "hh/fruits", "hh/members",
        "hh/members/m_name", "hh/members/health", "hh/members/health/sick",
        "hh/members/visits", "hh/members/visits/v_date", "gps", "thanks", "score",
    ]  # fmt: skip
    assert [n.sequence for n in cat.nodes] == list(range(15))
    by = cat.by_xpath
    assert by["hh"].is_group and not by["hh"].is_repeat and by["hh"].group_xpath == ""
    assert (by["hh/name"].group_xpath, by["hh/name"].repeat_xpath) == ("hh", "")
    members = by["hh/members"]
    assert members.is_repeat and not members.is_group
    assert (members.group_xpath, members.repeat_xpath) == ("hh", "")
    sick = by["hh/members/health/sick"]  # group inside a repeat
    assert (sick.group_xpath, sick.repeat_xpath) == ("hh/members/health", "hh/members")
    v_date = by["hh/members/visits/v_date"]  # nested repeat
    assert (v_date.group_xpath, v_date.repeat_xpath) == ("hh/members/visits",) * 2
    assert by["hh/members/visits"].repeat_xpath == "hh/members"
    assert (by["gps"].group_xpath, by["gps"].repeat_xpath) == ("", "")
    assert by["start"].is_metadata and by["today"].is_metadata
    assert not by["thanks"].is_metadata and by["thanks"].type == "note"
    assert by["score"].type == "calculate" and by["score"].label() == "score"
    assert [q.xpath for q in cat.questions()][:3] == ["start", "today", "hh/name"]
    assert by["start"].kuid == "k_start"


def test_languages_labels_hints_required():
    cat = parse_content(HOUSEHOLD)
    assert cat.languages == [EN, FR] and cat.default_language == EN
    name = cat.by_xpath["hh/name"]
    assert name.labels == {EN: "Name", FR: "Nom"}
    assert name.label() == "Name" and name.label(FR) == "Nom" and name.label("de") == "Name"
    assert name.hints == {EN: "Full name"} and name.hint(FR) == "Full name"
    assert name.required and cat.by_xpath["hh/members/health/sick"].required
    assert not cat.by_xpath["hh/age"].required
    assert cat.by_xpath["hh/age"].label(FR) == "Age"  # untranslated: falls back
    assert cat.label("hh/members", FR) == "Membres" and cat.label("nope") == "nope"


def test_choices():
    cat = parse_content(HOUSEHOLD)
    fruits = cat.by_xpath["hh/fruits"]
    assert fruits.type == "select_multiple" and fruits.list_name == "fruits"
    assert [c.name for c in fruits.choices] == ["apple", "banana"]
    assert fruits.choices[0].labels == {EN: "Apple", FR: "Pomme"}
    assert fruits.choices[1].label(FR) == "Banana"
    assert fruits.choice_label("apple", FR) == "Pomme" and fruits.choice_label("kiwi") == "kiwi"
    sick = cat.by_xpath["hh/members/health/sick"]
    assert [c.label(FR) for c in sick.choices] == ["Oui", "Non"]
    assert set(cat.choice_lists) == {"fruits", "yesno"}
    assert cat.by_xpath["hh/name"].choices == [] and cat.by_xpath["hh/name"].list_name == ""


def test_null_default_translation_like_real_kpi():
    content = {
        "survey": [
            row("text", "full_name", "full_name", ["Full name"], required=True),
            row("select_one", "consent", "consent", ["Consent?"], select_from_list_name="yesno"),
        ],
        "choices": [{"name": "yes", "label": ["Yes"], "list_name": "yesno"}],
        "settings": {"version": "v1", "id_string": "household_survey"},
        "translated": ["label"],
        "translations": [None],
    }
    cat = parse_content(content)
    assert cat.languages == [DEFAULT_LANGUAGE] == ["default"]
    assert cat.by_xpath["full_name"].labels == {"default": "Full name"}
    assert cat.by_xpath["consent"].choices[0].label() == "Yes"
    assert cat.settings["id_string"] == "household_survey"


def test_null_default_plus_translation():
    content = {
        "survey": [row("text", "q", "q", ["Question", "Question FR"]), row("text", "r", "r")],
        "translations": [None, FR],
    }
    cat = parse_content(content)
    assert cat.languages == ["default", FR]
    assert cat.by_xpath["q"].label() == "Question" and cat.by_xpath["q"].label(FR) == "Question FR"
    assert cat.by_xpath["r"].labels == {} and cat.by_xpath["r"].label(FR) == "r"


def test_draft_content_without_xpath_and_old_spellings():
    content = {
        "survey": [
            {"type": "begin group", "name": "g", "label": "Group"},
            {"type": "select_one yesno", "name": "ok", "label": "OK?"},
            {"type": "begin_repeat", "name": "r"},
            {"type": "select_multiple fruits or_other", "name": "f"},
            {"type": "begin_group", "name": "inner"},
            {"type": "select_one_from_file items.csv", "name": "item"},
            {"type": "end_group"},
            {"type": "end repeat"},
            {"type": "end_group"},
            {"type": "text", "$autoname": "auto"},
            {"type": "end_group"},  # unbalanced: ignored
            {"type": "text", "label": "no name"},  # unusable row: skipped
            {"type": "email", "name": "mail"},
        ],
        "choices": [
            {"list_name": "yesno", "name": "yes", "label": "Yes"},
            {"list_name": "fruits", "$autovalue": "kiwi"},
        ],
    }
    cat = parse_content(content)
    assert cat.languages == ["default"]
    assert [(n.xpath, n.type, n.list_name) for n in cat.nodes] == [
        ("g", "begin_group", ""),
        ("g/ok", "select_one", "yesno"),
        ("g/r", "begin_repeat", ""),
        ("g/r/f", "select_multiple", "fruits"),
        ("g/r/inner", "begin_group", ""),
        ("g/r/inner/item", "select_one_from_file", "items.csv"),
        ("auto", "text", ""),
        ("mail", "email", ""),
    ]
    by = cat.by_xpath
    assert by["g"].label() == "Group" and by["g/ok"].choices[0].name == "yes"
    assert by["g/r/f"].choices[0].label() == "kiwi"  # no label: the name
    item = by["g/r/inner/item"]
    assert (item.group_xpath, item.repeat_xpath, item.choices) == ("g/r/inner", "g/r", [])
    assert by["mail"].is_metadata


def test_xpath_trusted_when_present():
    content = {
        "survey": [
            row("begin_group", "grp", "grp"),
            row("text", "q", "other/path/q"),  # KPI knows better than our nesting
        ]
    }
    cat = parse_content(content)
    assert cat.by_xpath["other/path/q"].group_xpath == "grp"


def test_empty_or_missing_content():
    cat = parse_content({})
    assert (cat.languages, cat.nodes, cat.by_xpath) == (["default"], [], {})
    assert parse_content(None).nodes == []


def test_appearance_and_constraint_kept():
    """What a question's appearance and constraint say it holds (Suggest
    reads an email address from a regex constraint)."""
    cat = parse_content(
        {
            "survey": [
                row("text", "mail", "mail", ["Write to"], constraint="regex(., '^[^@]+@[^@]+$')"),
                row("text", "tel", "tel", ["Call"], appearance="numbers"),
                row("integer", "age", "age", ["Age"]),
            ],
            "translations": [None],
        }
    )
    mail, tel, age = (cat.by_xpath[x] for x in ("mail", "tel", "age"))
    assert mail.constraint == "regex(., '^[^@]+@[^@]+$')" and mail.appearance == ""
    assert tel.appearance == "numbers" and tel.constraint == ""
    assert (age.appearance, age.constraint) == ("", "")
