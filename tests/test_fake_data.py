"""FakeKobo submissions: query/fields/sort, edits, validation, attachments,
permissions and OpenRosa submission."""

import json

import pytest
import requests
from kobo_kpi.fake import build_xlsform
from kobo_kpi.fake.seed import FORMS, xlsform

PHOTO_FORM = [
    {"type": "text", "name": "site", "label": "Site name"},
    {"type": "image", "name": "photo", "label": "Photo"},
    {"type": "begin_repeat", "name": "members", "label": "Members"},
    {"type": "text", "name": "member_name", "label": "Member name"},
    {"type": "integer", "name": "member_age", "label": "Member age"},
    {"type": "end_repeat"},
    {"type": "geopoint", "name": "gps", "label": "GPS"},
]


@pytest.fixture
def people(fake_kobo):
    uid = fake_kobo.create_asset(xlsform=xlsform("contact"), deploy=True)
    for i, (name, city) in enumerate([("Ann", "Dakar"), ("Bob", "Paris"), ("Cy", "Dakar")]):
        fake_kobo.add_submission(
            uid,
            {"name": name, "city": city},
            submitted_by="kobo_admin",
            submission_time=f"2026-03-0{i + 1}T10:00:00",
        )
    return uid


def data_url(fake, uid, suffix=""):
    return f"{fake.url}/api/v2/assets/{uid}/data/{suffix}"


def get(api, fake, uid, **params):
    params = {k: json.dumps(v) if not isinstance(v, (str, int)) else v for k, v in params.items()}
    return api.get(data_url(fake, uid), params=params)


def test_submission_shape(fake_kobo, api):
    fake = fake_kobo
    uid = fake.create_asset(xlsform=build_xlsform(PHOTO_FORM), name="Photo", deploy=True)
    sub = fake.add_submission(
        uid,
        {
            "site": "Village A",
            "members": [
                {"members/member_name": "Ana", "members/member_age": "30"},
                {"members/member_name": "Ben"},
            ],
            "gps": "48.85 2.35 35 5",
            "empty": "",
        },
        submitted_by="kobo_admin",
        attachments={"photo": ("red.jpg", b"\xff\xd8jpeg", "image/jpeg")},
    )
    got = api.get(data_url(fake, uid)).json()["results"][0]
    assert got == sub
    asset = api.get(f"{fake.url}/api/v2/assets/{uid}/").json()
    assert got["formhub/uuid"] == asset["deployment__uuid"]
    assert got["__version__"] == asset["deployed_version_id"]
    assert got["_xform_id_string"] == "Photo" and "empty" not in got  # id_string from the name
    assert got["meta/rootUuid"] == got["meta/instanceID"] == f"uuid:{got['_uuid']}"
    assert got["_geolocation"] == [48.85, 2.35] and got["_validation_status"] == {}
    assert len(got["_submission_time"]) == 19 and got["_status"] == "submitted_via_web"
    assert got["photo"] == "red.jpg"
    att = got["_attachments"][0]
    assert att["uid"].startswith("att") and att["question_xpath"] == "photo"
    assert att["download_url"].startswith(fake.url) and "download_small_url" in att
    assert att["filename"].endswith(f"/{got['_uuid']}/red.jpg")
    keys = list(got)
    assert keys[:2] == ["_id", "formhub/uuid"] and keys[-1] == "_submitted_by"
    assert api.get(data_url(fake, uid, f"{got['_id']}/")).json() == got
    assert api.get(data_url(fake, uid, f"{got['_uuid']}/")).json()["_id"] == got["_id"]


def test_attachment_download_and_redirect(fake_kobo, api):
    fake = fake_kobo
    uid = fake.create_asset(xlsform=build_xlsform(PHOTO_FORM), deploy=True)
    sub = fake.add_submission(
        uid, {"site": "A"}, attachments={"photo": ("red.jpg", b"JPEGDATA", "image/jpeg")}
    )
    att = sub["_attachments"][0]
    answer = api.get(att["download_url"])
    assert answer.content == b"JPEGDATA" and answer.headers["Content-Type"] == "image/jpeg"
    assert "red.jpg" in answer.headers["Content-Disposition"]
    hop = api.get(att["download_large_url"], allow_redirects=False)
    assert hop.status_code == 302 and hop.headers["Location"] == att["download_url"]
    assert api.get(att["download_large_url"]).content == b"JPEGDATA"
    assert api.get(att["download_url"] + "?redirect=1", allow_redirects=False).status_code == 302
    assert requests.get(att["download_url"]).status_code == 404
    by_xpath = api.get(data_url(fake, uid, f"{sub['_id']}/attachments/?xpath=photo"))
    assert by_xpath.content == b"JPEGDATA"


def test_query_operators(fake_kobo, api, people):
    fake, uid = fake_kobo, people
    ids = [s["_id"] for s in fake.submissions(uid)]

    def names(query):
        answer = get(api, fake, uid, query=query)
        assert answer.status_code == 200, answer.text
        return [s["name"] for s in answer.json()["results"]]

    assert names({"city": "Dakar"}) == ["Ann", "Cy"]
    assert names({"_id": {"$gt": ids[0]}}) == ["Bob", "Cy"]
    assert names({"_id": {"$gt": str(ids[0])}}) == []  # int field vs string
    assert names({"_submission_time": {"$gte": "2026-03-02T00:00:00"}}) == ["Bob", "Cy"]
    assert names({"city": {"$in": ["Paris"]}}) == ["Bob"]
    assert names({"city": {"$nin": ["Paris"]}}) == ["Ann", "Cy"]
    assert names({"city": {"$ne": "Paris"}}) == ["Ann", "Cy"]
    assert names({"$or": [{"name": "Ann"}, {"name": "Bob"}]}) == ["Ann", "Bob"]
    assert names({"$and": [{"city": "Dakar"}, {"name": {"$regex": "^c", "$options": "i"}}]}) == [
        "Cy"
    ]
    assert names({"meta/deprecatedID": {"$exists": True}}) == []
    assert names({"city": {"$eq": "Paris"}}) == []  # $eq is escaped by KPI
    assert names({"name": {"$lt": "B"}}) == ["Ann"]
    bad = get(api, fake, uid, query="notjson")
    assert (bad.status_code, bad.json()) == (400, {"query": "Value must be valid JSON."})
    unsupported = get(api, fake, uid, query={"city": {"$in": "Paris"}})
    assert (unsupported.status_code, unsupported.json()) == (400, ["Unsupported query"])


def test_fields_sort_and_next_keeps_params(fake_kobo, api, people):
    fake, uid = fake_kobo, people
    page = get(api, fake, uid, fields=["name"], sort={"_id": -1}, limit=2).json()
    first = page["results"][0]
    assert first["name"] == "Cy"
    assert set(first) == {"name", "_id", "_uuid", "meta/rootUuid", "_validation_status"}
    assert page["count"] == 3
    assert "fields=" in page["next"] and "sort=" in page["next"] and "start=2" in page["next"]
    assert api.get(page["next"]).json()["results"][0]["name"] == "Ann"
    by_city = get(api, fake, uid, sort={"city": 1, "name": -1}).json()["results"]
    assert [s["name"] for s in by_city] == ["Cy", "Ann", "Bob"]


def test_edit_submission_python_and_bulk(fake_kobo, api, people):
    fake, uid = fake_kobo, people
    before = fake.submissions(uid)[1]
    edited = fake.edit_submission(uid, before["_id"], {"city": "Lyon"})
    assert edited["_id"] == before["_id"] and edited["city"] == "Lyon"
    assert edited["meta/rootUuid"] == before["meta/rootUuid"]
    assert edited["_uuid"] != before["_uuid"]
    assert edited["meta/deprecatedID"] == before["meta/instanceID"]
    assert edited["_submission_time"] == before["_submission_time"]
    found = get(api, fake, uid, query={"meta/deprecatedID": {"$exists": True}}).json()
    assert [s["_id"] for s in found["results"]] == [before["_id"]]
    answer = api.patch(
        data_url(fake, uid, "bulk/"),
        json={"payload": {"submission_ids": [before["_id"]], "data": {"city": "Nice"}}},
    ).json()
    assert answer["successes"] == 1
    again = fake.submissions(uid)[1]
    assert again["city"] == "Nice" and again["meta/deprecatedID"] == edited["meta/instanceID"]
    fake.delete_submission(uid, before["_id"])
    assert api.get(data_url(fake, uid, f"{before['_id']}/")).status_code == 404


def test_delete_and_validation_status(fake_kobo, api, people):
    fake, uid = fake_kobo, people
    sid = fake.submissions(uid)[0]["_id"]
    status_url = data_url(fake, uid, f"{sid}/validation_status/")
    assert api.get(status_url).json() == {}
    patched = api.patch(status_url, json={"validation_status.uid": "validation_status_approved"})
    assert patched.json()["label"] == "Approved" and isinstance(patched.json()["timestamp"], int)
    assert api.get(data_url(fake, uid, f"{sid}/")).json()["_validation_status"]["by_whom"] == (
        "kobo_admin"
    )
    bad = api.patch(status_url, json={"validation_status.uid": "x"})
    assert bad.json() == {"detail": "Invalid validation status: `x`"}
    assert api.delete(status_url).status_code == 204
    bulk = api.patch(
        data_url(fake, uid, "validation_statuses/"),
        json={"payload": {"confirm": True, "validation_status.uid": "validation_status_on_hold"}},
    )
    assert bulk.json() == {"detail": "3 submissions have been updated"}
    query = {"_validation_status.uid": "validation_status_on_hold"}
    assert get(api, fake, uid, query=query).json()["count"] == 3
    assert api.delete(data_url(fake, uid, f"{sid}/")).status_code == 204
    gone = api.delete(data_url(fake, uid, f"{sid}/"))
    assert (gone.status_code, gone.json()) == (404, {"detail": "Not found."})


# ------------------------------------------------------------------ permissions


def test_permissions_flow(fake_kobo, api, people, session):
    fake, uid = fake_kobo, people
    alice = session(fake.add_user("alice", "pw"))
    asset_url = f"{fake.url}/api/v2/assets/{uid}/"
    assert alice.get(asset_url).status_code == 404
    assert alice.get(data_url(fake, uid)).status_code == 404
    assert alice.get(f"{fake.url}/api/v2/assets/").json()["count"] == 0
    assign = f"{asset_url}permission-assignments/"
    rows = api.get(assign).json()
    assert isinstance(rows, list) and len(rows) == 8
    assert {r["user"].rsplit("/", 2)[-2] for r in rows} == {"kobo_admin"}
    perm = "https://elsewhere.example/api/v2/permissions/{}/"
    user = "/api/v2/users/alice/"
    created = api.post(assign, json={"user": user, "permission": perm.format("view_asset")})
    assert created.status_code == 201 and created.json()["label"] == "View form"
    assert alice.get(asset_url).json()["deployment__submission_count"] is None
    assert alice.get(data_url(fake, uid)).status_code == 403
    assert alice.patch(asset_url, json={"name": "x"}).status_code == 403
    assert alice.delete(asset_url).status_code == 403
    assert alice.post(assign, json={"user": user, "permission": perm}).status_code == 403
    api.post(assign, json={"user": user, "permission": perm.format("view_submissions")})
    assert alice.get(data_url(fake, uid)).json()["count"] == 3
    assert alice.get(f"{fake.url}/api/v2/assets/").json()["count"] == 1
    rows = api.get(assign).json()
    alice_rows = [r for r in rows if r["user"].endswith("/alice/")]
    assert sorted(r["permission"].rsplit("/", 2)[-2] for r in alice_rows) == [
        "view_asset",
        "view_submissions",
    ]
    owner_row = next(r for r in rows if r["user"].endswith("/kobo_admin/"))
    conflict = api.delete(owner_row["url"])
    assert conflict.status_code == 409
    assert conflict.json() == {"detail": "Owner's permissions cannot be deleted"}
    view_row = next(r for r in alice_rows if r["permission"].endswith("/view_asset/"))
    assert api.delete(view_row["url"]).status_code == 204  # revokes what implies it too
    assert alice.get(asset_url).status_code == 404
    again = api.delete(view_row["url"])
    assert again.json() == {"detail": "No ObjectPermission matches the given query."}


def test_permission_errors_bulk_and_partial(fake_kobo, api, people, session):
    fake, uid = fake_kobo, people
    fake.add_user("alice", "pw")
    bob = session(fake.add_user("bob", "pw"))
    assign = f"{fake.url}/api/v2/assets/{uid}/permission-assignments/"
    perm = "/api/v2/permissions/{}/"
    missing = api.post(assign, json={})
    assert missing.json() == {
        "user": ["This field is required."],
        "permission": ["This field is required."],
    }
    unknown = api.post(assign, json={"user": "/api/v2/users/zed/", "permission": perm.format("x")})
    assert unknown.json() == {
        "user": ["Invalid hyperlink - Object does not exist."],
        "permission": ["Invalid hyperlink - Object does not exist."],
    }
    owner = api.post(
        assign, json={"user": "/api/v2/users/kobo_admin/", "permission": perm.format("view_asset")}
    )
    assert owner.json() == {"user": "Owner's permissions cannot be assigned explicitly"}
    bulk = api.post(
        f"{assign}bulk/",
        json=[{"user": "/api/v2/users/alice/", "permission": perm.format("change_submissions")}],
    )
    codes = {r["permission"].rsplit("/", 2)[-2] for r in bulk.json() if "/alice/" in r["user"]}
    assert codes == {"change_submissions", "add_submissions", "view_submissions", "view_asset"}
    replaced = api.post(
        f"{assign}bulk/",
        json=[{"user": "/api/v2/users/bob/", "permission": perm.format("view_asset")}],
    ).json()
    assert not [r for r in replaced if "/alice/" in r["user"]]
    partial = api.post(
        assign,
        json={
            "user": "/api/v2/users/bob/",
            "permission": perm.format("partial_submissions"),
            "partial_permissions": [
                {"url": perm.format("view_submissions"), "filters": [{"city": "Paris"}]}
            ],
        },
    )
    assert partial.status_code == 201 and partial.json()["partial_permissions"]
    assert [s["name"] for s in bob.get(data_url(fake, uid)).json()["results"]] == ["Bob"]
    no_name = api.delete(f"{assign}bulk/", json={})
    assert no_name.json() == {"username": "This field is required"}
    assert api.delete(f"{assign}bulk/", json={"username": "kobo_admin"}).status_code == 409
    assert api.delete(f"{assign}bulk/", json={"username": "bob"}).status_code == 204
    assert bob.get(data_url(fake, uid)).status_code == 404


def test_users_and_permissions_catalog(fake_kobo, api, session):
    fake = fake_kobo
    alice = session(fake.add_user("alice", "pw"))
    assert alice.get(f"{fake.url}/api/v2/users/").status_code == 403
    assert api.get(f"{fake.url}/api/v2/users/").json()["count"] == 2
    catalog = api.get(f"{fake.url}/api/v2/permissions/").json()
    assert catalog["count"] == 10
    change = next(p for p in catalog["results"] if p["codename"] == "change_submissions")
    assert {u.rsplit("/", 2)[-2] for u in change["implied"]} == {
        "add_submissions",
        "view_asset",
        "view_submissions",
    }


# ------------------------------------------------------------------ OpenRosa


def test_openrosa_submit_edit_duplicate(fake_kobo, api):
    fake = fake_kobo
    uid = fake.create_asset(xlsform=xlsform("household"), deploy=True)
    answers = {
        "hh/head_name": "Awa",
        "hh/size": "2",
        "location": "14.7 -17.4 0 5",
        "members": [{"members/member_name": "Awa"}, {"members/member_name": "Ali"}],
    }
    xml = fake.instance_xml(uid, answers, instance_id="uuid:11111111-0000-4000-8000-000000000001")
    files = {"xml_submission_file": ("submission.xml", xml, "text/xml")}
    answer = api.post(f"{fake.url}/submission", files=files)
    assert answer.status_code == 201, answer.text
    assert answer.headers["X-OpenRosa-Version"] == "1.0"
    assert "<message>Successful submission.</message>" in answer.text
    assert f'id="{uid}"' in answer.text
    stored = fake.submissions(uid)[0]
    assert stored["members"] == answers["members"] and stored["hh/head_name"] == "Awa"
    assert stored["_submitted_by"] == "kobo_admin" and stored["_geolocation"] == [14.7, -17.4]
    dup = api.post(f"{fake.url}/kobo_admin/submission", files=files)
    assert dup.status_code == 202 and "Duplicate Instance" in dup.text
    edit = fake.instance_xml(
        uid,
        {**answers, "hh/size": "3"},
        instance_id="uuid:11111111-0000-4000-8000-000000000002",
        deprecated_id="uuid:11111111-0000-4000-8000-000000000001",
    )
    answer = api.post(
        f"{fake.url}/submission",
        files={
            "xml_submission_file": ("s.xml", edit, "text/xml"),
            "photo.jpg": ("photo.jpg", b"IMG", "image/jpeg"),
        },
    )
    assert answer.status_code == 201
    subs = fake.submissions(uid)
    assert len(subs) == 1 and subs[0]["hh/size"] == "3"
    assert subs[0]["meta/deprecatedID"] == "uuid:11111111-0000-4000-8000-000000000001"
    assert subs[0]["meta/rootUuid"] == "uuid:11111111-0000-4000-8000-000000000001"
    assert subs[0]["_attachments"][0]["media_file_basename"] == "photo.jpg"


def test_openrosa_refusals(fake_kobo, api, session):
    fake = fake_kobo
    uid = fake.create_asset(xlsform=xlsform("contact"), deploy=True)
    xml = fake.instance_xml(uid, {"name": "Z"})
    files = {"xml_submission_file": ("s.xml", xml, "text/xml")}
    anon = requests.post(f"{fake.url}/submission", files=files)
    assert anon.status_code == 401 and "Authentication credentials" in anon.text
    basic = requests.post(f"{fake.url}/submission", files=files, auth=("kobo_admin", "kobo"))
    assert basic.status_code == 201
    alice = session(fake.add_user("alice", "pw"))
    xml2 = fake.instance_xml(uid, {"name": "Y"})
    denied = alice.post(f"{fake.url}/submission", files={"xml_submission_file": ("s", xml2)})
    assert denied.status_code == 403 and "Access denied" in denied.text
    bad = api.post(f"{fake.url}/submission", files={"xml_submission_file": ("s", b"<a><b>")})
    assert bad.status_code == 400 and "Improperly formatted XML." in bad.text
    unknown = api.post(
        f"{fake.url}/submission",
        files={"xml_submission_file": ("s", b"<x id='nope'><q>1</q></x>")},
    )
    assert unknown.status_code == 404 and "<detail>Not found.</detail>" in unknown.text
    assert api.post(f"{fake.url}/submission", data={"a": "b"}).status_code == 500
    api.patch(f"{fake.url}/api/v2/assets/{uid}/deployment/", json={"active": False})
    archived = api.post(f"{fake.url}/submission", files={"xml_submission_file": ("s", xml2)})
    assert archived.status_code == 405 and "Form is not active" in archived.text


def test_seed_forms_shapes():
    from kobo_kpi.fake.xlsform import read_xlsform

    content = read_xlsform(xlsform("household"))
    assert content["translations"] == ["English (en)", "Français (fr)"]
    assert content["settings"]["default_language"] == "English (en)"
    rows = {r.get("$xpath"): r for r in content["survey"]}
    assert rows["hh/water"]["type"] == "select_one"
    assert rows["hh/water"]["select_from_list_name"] == "water"
    assert rows["hh/head_name"]["required"] is True
    assert rows["members/member_name"]["label"] == ["Name", "Nom"]
    assert rows["members"]["type"] == "begin_repeat"
    assert {"type": "end_repeat"}.items() <= content["survey"][-1].items()
    assert set(FORMS) == {"household", "stock", "contact", "registration", "distribution"}
