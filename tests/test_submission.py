"""Reading submissions and converting answers (submissions built here, mirroring
the shapes a real KPI server returns)."""

from datetime import date, datetime, timedelta, timezone

import pytest
from kobo_kpi.submission import (
    ConversionError,
    FieldSpec,
    FileRef,
    GeoPoint,
    Lines,
    Lookup,
    SubmissionRef,
    _fix_iso,
    bare_uuid,
    convert,
    geo_part_of,
    get_value,
    iter_repeat,
    make_converter,
    parse_datetime,
)

ATTACHMENT = {
    "download_url": "http://kobo.test/api/v2/assets/aX/data/20/attachments/attm7kwb/",
    "download_small_url": "http://kobo.test/api/v2/assets/aX/data/20/attachments/attm7kwb/small/",
    "mimetype": "image/jpeg",
    "filename": "odoo/attachments/437cef9a/e2c323ed/red.jpg",
    "media_file_basename": "red.jpg",
    "uid": "attm7kwb",
    "is_deleted": False,
    "question_xpath": "photo",
}
SUBMISSION = {
    "_id": 20,
    "formhub/uuid": "437cef9a5c534b2daf73bdf073c6f26d",
    "start": "2026-11-27T00:30:00.000+01:00",
    "end": "2026-11-27T00:35:00.000+01:00",
    "site": "Village A",
    "photo": "red.jpg",
    "hh/age": "34",
    "hh/fruits": "apple mango",
    "location": "48.8566 2.3522 35 5",
    "members": [
        {
            "members/member_name": "Ana",
            "members/member_age": "30",
            "members/visits": [
                {"members/visits/v_date": "2026-11-01"},
                {"members/visits/v_date": "2026-11-02"},
            ],
        },
        {"members/member_name": "Ben", "members/health/sick": "yes"},
    ],
    "__version__": "vC9R3qop4dmhFRcJ9yoq9K",
    "meta/instanceID": "uuid:4add8140-6c05-433b-a1e0-e616714bacdb",
    "meta/deprecatedID": "uuid:11aca076-04d2-44d6-b3fa-cf27603bdb9f",
    "meta/rootUuid": "uuid:11aca076-04d2-44d6-b3fa-cf27603bdb9f",
    "_xform_id_string": "a9VgeWe5tTMrwirRnf78bH",
    "_uuid": "4add8140-6c05-433b-a1e0-e616714bacdb",
    "_attachments": [ATTACHMENT, {**ATTACHMENT, "uid": "attOld", "is_deleted": True}],
    "_status": "submitted_via_web",
    "_geolocation": [48.8566, 2.3522],
    "_submission_time": "2026-11-27T17:43:39",
    "_validation_status": {
        "timestamp": 1795801284,
        "uid": "validation_status_not_approved",
        "by_whom": "odoo",
        "label": "Not Approved",
    },
    "_submitted_by": "odoo",
}


def spec(type_, string="Field", **kw):
    return FieldSpec(name=kw.pop("name", "x_field"), type=type_, string=string, **kw)


# -- identity -------------------------------------------------------------------------------


def test_submission_ref_edited():
    ref = SubmissionRef.from_json(SUBMISSION)
    assert ref.kobo_id == 20 and ref.uuid == "4add8140-6c05-433b-a1e0-e616714bacdb"
    assert ref.root_uuid == "uuid:11aca076-04d2-44d6-b3fa-cf27603bdb9f"  # verbatim
    assert ref.instance_id == "uuid:4add8140-6c05-433b-a1e0-e616714bacdb"
    assert ref.deprecated_id == "uuid:11aca076-04d2-44d6-b3fa-cf27603bdb9f" and ref.is_edited
    assert ref.submission_time == datetime(2026, 11, 27, 17, 43, 39)
    assert ref.submitted_by == "odoo" and ref.version == "vC9R3qop4dmhFRcJ9yoq9K"
    assert ref.validation_status == "validation_status_not_approved"
    assert [a.uid for a in ref.attachments] == ["attm7kwb", "attOld"]
    att = ref.attachments[0]
    assert (att.basename, att.question_xpath, att.mimetype) == ("red.jpg", "photo", "image/jpeg")
    assert att.download_url.endswith("/attachments/attm7kwb/")
    assert ref.find_attachment("red.jpg", "photo") is att
    assert ref.find_attachment("red.jpg", "members/photo") is att  # by name when xpath differs
    assert ref.find_attachment("blue.jpg") is None


def test_submission_ref_old_server_minimal():
    sub = {
        "_id": "7",
        "_uuid": "abc",
        "_attachments": [
            {"id": 12, "filename": "bob/attachments/x/abc/a.png", "mimetype": "image/png"}
        ],
        "_submission_time": "2024-01-02T03:04:05",
        "_submitted_by": None,
        "_validation_status": None,
    }
    ref = SubmissionRef.from_json(sub)
    assert (ref.kobo_id, ref.root_uuid, ref.instance_id) == (7, "uuid:abc", "uuid:abc")
    assert (ref.deprecated_id, ref.submitted_by, ref.validation_status, ref.version) == ("",) * 4
    assert not ref.is_edited
    assert (ref.attachments[0].uid, ref.attachments[0].basename) == ("12", "a.png")
    no_root = {"_id": 1, "meta/instanceID": "uuid:zz", "_uuid": "zz", "_validation_status": {}}
    ref = SubmissionRef.from_json(no_root)
    assert (ref.root_uuid, ref.submission_time, ref.attachments) == ("uuid:zz", None, [])
    with pytest.raises(ValueError):
        SubmissionRef.from_json({"_uuid": "zz"})
    assert bare_uuid("uuid:zz") == "zz" == bare_uuid("zz") and bare_uuid(None) == ""


# -- reading answers -------------------------------------------------------------------------


def test_get_value_and_repeats():
    assert get_value(SUBMISSION, "hh/age") == "34" and get_value(SUBMISSION, "hh/none") is None
    members = iter_repeat(SUBMISSION, "members")
    assert [get_value(m, "members/member_name") for m in members] == ["Ana", "Ben"]
    assert get_value(members[1], "members/health/sick") == "yes"  # group inside repeat
    assert get_value(members[1], "members/member_age") is None
    visits = iter_repeat(members[0], "members/visits")
    assert [v["members/visits/v_date"] for v in visits] == ["2026-11-01", "2026-11-02"]
    assert iter_repeat(members[1], "members/visits") == []
    assert iter_repeat(SUBMISSION, "members/visits") == visits  # all members' visits
    assert iter_repeat(SUBMISSION, "nope/deeper") == [] and iter_repeat({}, "members") == []
    assert iter_repeat({"r": {"r/a": "1"}}, "r") == [{"r/a": "1"}]
    assert iter_repeat({"r": ["junk", {"r/a": "1"}]}, "r") == [{"r/a": "1"}]


# -- conversions -----------------------------------------------------------------------------


def test_char_text_html():
    assert convert("  Alice  ", spec("char")) == "Alice"
    assert convert(" line1\nline2 ", spec("text")) == " line1\nline2 "
    assert convert("a < b\nc", spec("html")) == "<p>a &lt; b<br>c</p>"
    assert convert("apple mango", spec("char"), question_type="select_multiple") == "apple mango"
    assert convert(20, spec("char")) == "20"  # non-string system fields
    assert convert("48.8566 2.3522 35 5", spec("char"), question_type="geopoint") == (
        "48.8566, 2.3522"
    )
    assert convert("not a point", spec("char"), question_type="geopoint") == "not a point"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("34", 34), (" 12 ", 12), ("12.0", 12), ("-3", -3), ("1e3", 1000), ("2147483647", 2**31 - 1)],
)
def test_integer(value, expected):
    assert convert(value, spec("integer")) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [("abc", "not_integer"), ("12.5", "not_integer"), ("inf", "not_integer"),
     ("nan", "not_integer"), ("2147483648", "integer_range")],
)  # fmt: skip
def test_integer_errors(value, code):
    with pytest.raises(ConversionError) as exc:
        convert(value, spec("integer", "Age"), question_path="hh/age")
    assert exc.value.code == code and exc.value.value == value


def test_error_message_and_parts():
    with pytest.raises(ConversionError) as exc:
        convert("abc", spec("integer", "Age"), question_path="hh/age")
    err = exc.value
    assert str(err) == (
        'Question "hh/age": value "abc" cannot be stored in field "Age" (integer): '
        "not a whole number."
    )
    assert isinstance(err, ValueError)
    assert (err.question_path, err.value, err.field_name, err.field_type) == (
        "hh/age", "abc", "Age", "integer",
    )  # fmt: skip
    assert (err.reason, err.code, err.params) == ("not a whole number", "not_integer", {})
    err.question_path = ""  # a caller may fill it in later; without it the message still reads
    assert str(err) == 'value "abc" cannot be stored in field "Age" (integer): not a whole number.'
    err = convert_error(["a"], spec("integer", "N"), "r")
    assert str(err) == (
        'Question "r": value "[\'a\']" cannot be stored in field "N" (integer): '
        "a repeat group cannot be stored in this field."
    )
    err = convert_error("y" * 200, spec("integer", "N"), "q")
    assert '"' + "y" * 77 + '..."' in str(err)


def convert_error(value, field_spec, path, **kw):
    try:
        convert(value, field_spec, question_path=path, **kw)
    except ConversionError as err:
        return err
    return None


def test_empty_and_required():
    for type_ in ("char", "integer", "float", "boolean", "date", "datetime", "many2one"):
        for empty in (None, "", "   "):
            assert convert(empty, spec(type_)) is False
        err = convert_error(None, spec(type_, "Name", required=True), "hh/name")
        assert err.code == "required" and err.value is None
        assert str(err) == f'Question "hh/name": field "Name" ({type_}): a value is required.'
    assert convert_error("  ", spec("char", required=True), "q").code == "required"
    assert convert([], spec("one2many", relation="x.line")) is False
    assert convert_error([], spec("one2many", required=True), "r").code == "required"


def test_float_monetary_and_time():
    assert convert(" 3.25 ", spec("float")) == 3.25
    assert convert("7", spec("monetary")) == 7.0
    assert convert("1.23456", spec("float", digits=(16, 2))) == 1.23
    assert convert("13:30:00.000+02:00", spec("float"), question_type="time") == 13.5
    assert convert("08:15", spec("float")) == 8.25
    for bad in ("abc", "nan", "inf", "25:00", "1,5"):
        assert convert_error(bad, spec("float", "Amount"), "q").code == "not_number"


@pytest.mark.parametrize(
    "word", ["yes", "Yes", "TRUE", "1", "oui", "OK", "ok", " y ", "true", "Vrai", "si"]
)
def test_boolean_true(word):
    assert convert(word, spec("boolean")) is True


@pytest.mark.parametrize("word", ["no", "No", "false", "0", "non", "N", "off"])
def test_boolean_false(word):
    assert convert(word, spec("boolean")) is False


def test_boolean_error():
    err = convert_error("maybe", spec("boolean", "Consent"), "consent")
    assert str(err) == (
        'Question "consent": value "maybe" cannot be stored in field "Consent" (boolean): '
        "not a yes/no value."
    )


def test_date():
    d = spec("date")
    assert convert("2026-08-20", d) == date(2026, 8, 20)
    # a value with an offset: the date as written (local to whoever filled the form)
    assert convert("2026-08-20T00:30:00.000+02:00", d) == date(2026, 8, 20)
    assert convert("2026-08-20T00:30:00.000+02:00", d, tz="America/New_York") == date(2026, 8, 20)
    assert convert("2026-08-20T23:30:00Z", d) == date(2026, 8, 20)
    # a naive value (``_submission_time``) is UTC: its date in tz
    assert convert("2026-08-20T23:30:00", d) == date(2026, 8, 20)
    assert convert("2026-08-20T23:30:00", d, tz="Europe/Paris") == date(2026, 8, 21)
    assert convert("2026-08-20T02:30:00", d, tz="America/New_York") == date(2026, 8, 19)
    for bad in ("20/08/2026", "2026-13-01", "yesterday"):
        assert convert_error(bad, spec("date"), "q").code == "not_date"


def test_datetime():
    dt = spec("datetime")
    assert convert("2026-08-20T13:51:00.000+02:00", dt) == datetime(2026, 8, 20, 11, 51)
    assert convert("2026-08-20T13:51:31.421+02:00", dt) == datetime(2026, 8, 20, 11, 51, 31)
    assert convert("2026-08-20T13:51:00Z", dt) == datetime(2026, 8, 20, 13, 51)
    assert convert("2026-08-20T13:51:00.000-05:00", dt) == datetime(2026, 8, 20, 18, 51)
    assert convert("2026-11-27T17:43:39", dt) == datetime(2026, 11, 27, 17, 43, 39)  # UTC
    assert convert("2026-11-27T17:43:39", dt, tz="Asia/Tokyo") == datetime(2026, 11, 27, 17, 43, 39)
    # a bare date: midnight in tz
    assert convert("2026-08-20", dt) == datetime(2026, 8, 20)
    assert convert("2026-08-20", dt, tz="Europe/Paris") == datetime(2026, 8, 19, 22)
    assert convert("2026-08-20", dt, tz=timezone(timedelta(hours=-3))) == datetime(2026, 8, 20, 3)
    for bad in ("13:51:00.000+02:00", "soon", "2026-08-20T25:00"):
        assert convert_error(bad, dt, "q").code == "not_datetime"


def test_parse_datetime_python310_forms():
    expected = datetime(2026, 8, 20, 13, 51, 0, 120000, tzinfo=timezone(timedelta(hours=2)))
    assert parse_datetime("2026-08-20T13:51:00.12+02:00") == expected
    assert datetime.fromisoformat(_fix_iso("2026-08-20T13:51:00.12+0200")) == expected
    assert datetime.fromisoformat(_fix_iso("2026-08-20T13:51:00.1234567Z")) == datetime(
        2026, 8, 20, 13, 51, 0, 123456, tzinfo=timezone.utc
    )
    assert _fix_iso("2026-08-20T13:51:00.000-05:00") == "2026-08-20T13:51:00.000000-05:00"
    assert _fix_iso("2026-08-20") == "2026-08-20"


SEL = [("person", "Individual"), ("company", "Company"), ("other", "Other Thing")]


def test_selection():
    s = spec("selection", "Type", selection=SEL)
    assert convert("person", s) == "person"
    assert convert(" Company ", s) == "company"  # code, case-insensitive
    assert convert("individual", s) == "person"  # label, case-insensitive
    assert convert("OTHER THING", s) == "other"
    err = convert_error("robot", s, "kind")
    assert err.code == "not_selection" and err.params == {"allowed": "person, company, other"}
    assert str(err) == (
        'Question "kind": value "robot" cannot be stored in field "Type" (selection): '
        "not one of the allowed values: person, company, other."
    )
    many = spec("selection", selection=[(str(i), f"L{i}") for i in range(30)])
    assert convert_error("x", many, "q").params["allowed"].endswith("19, ...")


def test_relations():
    m2o = spec("many2one", relation="res.country")
    assert convert(" FR ", m2o, question_type="select_one") == Lookup("res.country", ["FR"])
    assert convert("apple", m2o, question_type="select_multiple").names == ["apple"]
    err = convert_error("apple mango", m2o, "hh/fruits", question_type="select_multiple")
    assert err.code == "several"
    m2m = spec("many2many", relation="product.tag")
    looked = convert("apple mango apple", m2m, question_type="select_multiple")
    assert looked == Lookup("product.tag", ["apple", "mango"], many=True)
    assert convert("Jean Dupont", m2m, question_type="text").names == ["Jean Dupont"]
    o2m = spec("one2many", relation="stock.move")
    lines = convert(SUBMISSION["members"], o2m)
    assert lines == Lines("stock.move", SUBMISSION["members"])
    assert convert({"r/a": "1"}, o2m).items == [{"r/a": "1"}]
    assert convert_error("text", o2m, "q").code == "not_repeat"


def test_geopoint():
    point = GeoPoint.parse("48.8566 2.3522 35 5")
    assert point == GeoPoint(48.8566, 2.3522, 35.0, 5.0)
    assert point.as_text() == "48.8566, 2.3522" and point.part("longitude") == 2.3522
    assert GeoPoint.parse("-1.2627557 36.7926442") == GeoPoint(-1.2627557, 36.7926442)
    for bad in ("abc", "1", "91 0 0 0", "0 181", "1 2 3 4 5", "nan 0"):
        with pytest.raises(ValueError):
            GeoPoint.parse(bad)
    value = "-1.2626156 36.7923571 0.0 30.0"
    lat = spec("float", name="partner_latitude")
    assert convert(value, lat, question_type="geopoint") == -1.2626156
    assert convert(value, spec("float", name="x_lng"), question_type="geopoint") == 36.7923571
    acc = spec("float", name="x_precision")
    assert convert(value, acc, question_type="geopoint", geo_part="accuracy") == 30.0
    assert convert("1 2", spec("float", name="x_alt"), question_type="geopoint") is False
    with pytest.raises(ConversionError) as exc:  # which part? refused when building
        make_converter(spec("float", "Where", name="x_where"), "geopoint", question_path="gps")
    assert exc.value.code == "geo_part" and exc.value.value is None
    assert str(exc.value).startswith('Question "gps": field "Where" (float): choose which part')
    assert convert_error("here", lat, "gps", question_type="geopoint").code == "not_geopoint"


def test_geo_part_of_a_field_name():
    """What Suggest asks before it draws a geopoint into a float field."""
    assert geo_part_of("partner_latitude") == "lat"
    assert geo_part_of("partner_longitude") == "lon"
    assert geo_part_of("x_gps_lng") == "lon"
    assert geo_part_of("x_Altitude") == "alt"
    assert geo_part_of("x_where") is None
    assert geo_part_of("") is None and geo_part_of(None) is None


def test_files_and_unsupported():
    conv = make_converter(spec("binary"), "image", question_path="photo")
    assert conv("red.jpg") == FileRef("red.jpg", "photo")
    assert convert("a.png", spec("image")) == FileRef("a.png")
    with pytest.raises(ConversionError) as exc:
        make_converter(spec("reference", "Ref"), question_path="q")
    assert exc.value.code == "unsupported"


def test_field_spec_from_fields_get():
    fs = FieldSpec.from_fields_get(
        "type",
        {"type": "selection", "string": "Type", "selection": [["a", "A"]], "required": True},
    )
    assert (fs.selection, fs.required, fs.relation, fs.label) == ([("a", "A")], True, None, "Type")
    fs = FieldSpec.from_fields_get("amount", {"type": "float", "digits": [16, 2]})
    assert (fs.digits, fs.string) == ((16, 2), "amount")


def test_whole_submission_through_converters():
    """A realistic mapping, converters built once, values read by xpath."""
    mapping = {
        "site": make_converter(spec("char", name="name")),
        "hh/age": make_converter(spec("integer", name="age")),
        "hh/fruits": make_converter(spec("many2many", relation="tag"), "select_multiple"),
        "location": make_converter(spec("float", name="partner_latitude"), "geopoint"),
        "start": make_converter(spec("date", name="visit"), "start", tz="Europe/Paris"),
        "_submission_time": make_converter(spec("datetime", name="when")),
        "photo": make_converter(spec("image", name="image_1920"), "image", question_path="photo"),
        "members": make_converter(spec("one2many", relation="x.member")),
    }
    vals = {xp: conv(get_value(SUBMISSION, xp)) for xp, conv in mapping.items()}
    assert vals["site"] == "Village A" and vals["hh/age"] == 34
    assert vals["hh/fruits"].names == ["apple", "mango"] and vals["location"] == 48.8566
    assert vals["start"] == date(2026, 11, 27)  # local date of "00:30+01:00", not UTC's 26th
    assert vals["_submission_time"] == datetime(2026, 11, 27, 17, 43, 39)
    ref = SubmissionRef.from_json(SUBMISSION)
    assert ref.find_attachment(vals["photo"].filename, vals["photo"].question_path).uid == (
        "attm7kwb"
    )
    line_conv = make_converter(spec("integer", name="age"), question_path="members/member_age")
    assert [line_conv(get_value(i, "members/member_age")) for i in vals["members"].items] == [
        30,
        False,
    ]
