"""Value maps and lookup fields: wrappers of make_converter (pure)."""

import pytest
from kobo_kpi.submission import (
    ConversionError,
    FieldSpec,
    Lookup,
    make_converter,
    suggest_value_map,
    with_lookup,
    with_value_map,
)

LEVEL = FieldSpec("level", "selection", "Level", selection=[("low", "Low"), ("high", "High")])
COUNTRY = FieldSpec("country_id", "many2one", "Country", relation="res.country")
TAGS = FieldSpec("category_id", "many2many", "Tags", relation="res.partner.category")
NOTE = FieldSpec("comment", "text", "Notes")
EN, FR = "English (en)", "Français (fr)"
CHOICES = [
    ("tap", {EN: "Tap", FR: "Robinet"}),
    ("well", {EN: "Well", FR: "Puits"}),
    ("river", {EN: "River", FR: "Rivière"}),
]


def test_value_map_into_selection():
    conv = with_value_map(make_converter(LEVEL, "select_one"), LEVEL, {"a": "low", "b": "high"})
    assert conv("a") == "low"
    assert conv(" b ") == "high"
    assert conv("High") == "high", "an unmapped choice goes through the converter"
    with pytest.raises(ConversionError) as err:
        conv("c")
    assert err.value.code == "not_selection"


def test_value_map_refuses_a_value_the_selection_lacks():
    with pytest.raises(ConversionError) as err:
        with_value_map(make_converter(LEVEL), LEVEL, {"a": "medium"}, question_path="lvl")
    assert err.value.code == "not_mapped"
    assert "medium" in str(err.value) and "low, high" in str(err.value)


def test_value_map_into_text_and_empty_answers():
    conv = with_value_map(make_converter(NOTE, "select_one"), NOTE, {"tap": "Tap water"})
    assert conv("tap") == "Tap water"
    assert conv("well") == "well"
    assert conv("") is False and conv(None) is False


def test_value_map_into_relations():
    m2o = with_value_map(make_converter(COUNTRY, "select_one"), COUNTRY, {"ke": 110})
    assert m2o("ke") == 110
    assert m2o("ug") == Lookup("res.country", ["ug"])
    table = {"farmer": 7, "trader": 9}
    m2m = with_value_map(
        make_converter(TAGS, "select_multiple"), TAGS, table, question_type="select_multiple"
    )
    assert m2m("farmer trader") == [(6, 0, [7, 9])]
    mixed = m2m("farmer fisher")
    assert isinstance(mixed, Lookup) and mixed.names == ["fisher"] and mixed.ids == [7]
    one = with_value_map(
        make_converter(COUNTRY, "select_multiple"),
        COUNTRY,
        {"ke": 1, "ug": 2},
        question_type="select_multiple",
    )
    assert one("ke") == 1
    with pytest.raises(ConversionError) as err:
        one("ke ug")
    assert err.value.code == "several"


def test_lookup_field_and_create_missing():
    conv = with_lookup(make_converter(COUNTRY, "select_one"), COUNTRY, by="code", fields={"code"})
    assert conv("KE") == Lookup("res.country", ["KE"], by="code")
    conv = with_lookup(make_converter(TAGS, "select_multiple"), TAGS, create=True)
    assert conv("a b a") == Lookup("res.partner.category", ["a", "b"], many=True, create=True)
    xmlid = with_lookup(make_converter(COUNTRY), COUNTRY, by="xmlid", fields={"code"})
    assert xmlid("base.ke").by == "xmlid"
    plain = make_converter(COUNTRY)
    assert with_lookup(plain, COUNTRY) is plain
    assert with_lookup(plain, COUNTRY)("") is False
    with pytest.raises(ConversionError) as err:
        with_lookup(plain, COUNTRY, by="barcode", fields={"code", "name"})
    assert err.value.code == "lookup_field" and "barcode" in str(err.value)


def test_suggest_value_map_by_code_and_label_in_two_languages():
    targets = [("tap", "Piped water"), ("puits", "Puits"), ("WELL_X", "Borehole")]
    assert suggest_value_map(CHOICES, targets, FR) == {"tap": "tap", "well": "puits"}
    assert suggest_value_map(CHOICES, targets, EN) == {"tap": "tap"}
    assert suggest_value_map(CHOICES, targets) == {"tap": "tap", "well": "puits"}
    records = [(3, "Rivière"), (4, "Lake")]
    assert suggest_value_map(CHOICES, records, FR) == {"river": 3}
    assert suggest_value_map(CHOICES, records, EN) == {}
    assert suggest_value_map([], records) == {}
