"""FakeKobo core: auth, routing conventions, assets, imports, deployment, paging."""

import json

import pytest
import requests
from kobo_kpi.fake import FakeKobo, build_xlsform, read_xlsform

SURVEY = [
    {"type": "text", "name": "full_name", "label": "Full name", "required": "yes"},
    {"type": "integer", "name": "age", "label": "Age"},
    {"type": "select_one yesno", "name": "consent", "label": "Consent?"},
]
CHOICES = [
    {"list_name": "yesno", "name": "yes", "label": "Yes"},
    {"list_name": "yesno", "name": "no", "label": "No"},
]


def url(fake, path):
    return fake.url + path


def deployed_form(fake, n=0):
    uid = fake.create_asset(xlsform=build_xlsform(SURVEY, CHOICES), name="People", deploy=True)
    if n:
        fake.add_submissions(uid, [{"full_name": f"P{i}", "age": str(i)} for i in range(n)])
    return uid


# ------------------------------------------------------------------ auth


def test_auth_cases(fake_kobo, api, session):
    fake = fake_kobo
    me = api.get(url(fake, "/me/")).json()
    assert me["username"] == "kobo_admin" and me["is_superuser"] is True
    assert me["git_rev"] == {"short": False, "long": False, "branch": False, "tag": False}
    anon = requests.get(url(fake, "/me/"))
    assert anon.status_code == 401
    assert anon.json() == {"detail": "Authentication credentials were not provided."}
    bad = requests.get(url(fake, "/api/v2/assets/"), headers={"Authorization": "Token nope"})
    assert (bad.status_code, bad.json()) == (401, {"detail": "Invalid token."})
    listing = requests.get(url(fake, "/api/v2/assets/"))
    assert listing.status_code == 200 and listing.json()["count"] == 0
    alice = fake.add_user("alice", password="pw")
    assert requests.get(url(fake, "/token/"), auth=("alice", "pw")).json() == {"token": alice}
    wrong = requests.get(url(fake, "/token/"), auth=("alice", "bad"))
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Invalid username/password."})
    assert session(alice).get(url(fake, "/api/v2/users/alice/")).json()["username"] == "alice"
    assert session(alice).get(url(fake, "/me/")).json()["git_rev"] is False


def test_routing_conventions(fake_kobo, api):
    fake = fake_kobo
    uid = deployed_form(fake, 2)
    redirect = api.get(url(fake, f"/api/v2/assets/{uid}"), allow_redirects=False)
    assert redirect.status_code == 301
    assert redirect.headers["Location"] == f"/api/v2/assets/{uid}/"
    assert api.get(url(fake, f"/api/v2/assets/{uid}.json")).json()["uid"] == uid
    assert api.get(url(fake, f"/api/v2/assets/{uid}/?format=json")).json()["uid"] == uid
    assert api.get(url(fake, f"/api/v2/assets/{uid}/data.json?limit=1")).json()["count"] == 2
    missing = api.get(url(fake, "/api/v2/nothing-here/"))
    assert missing.status_code == 404 and missing.text == "Resource not found (404)"
    for path in ("/api/v1/data/", "/assets/", "/imports/"):
        gone = api.get(url(fake, path))
        assert gone.status_code == 410 and "V1 API has been removed" in gone.json()["detail"]
    put = api.put(url(fake, f"/api/v2/assets/{uid}/data/"), json={})
    assert (put.status_code, put.json()) == (405, {"detail": 'Method "PUT" not allowed.'})


# ------------------------------------------------------------------ assets


def test_asset_list_detail_and_q(fake_kobo, api):
    fake = fake_kobo
    survey = deployed_form(fake)
    block = fake.create_asset(content={"survey": []}, name="Block", asset_type="block")
    listing = api.get(url(fake, "/api/v2/assets/")).json()
    assert listing["count"] == 2 and "content" not in listing["results"][0]
    surveys = api.get(url(fake, "/api/v2/assets/?q=asset_type:survey")).json()
    assert [a["uid"] for a in surveys["results"]] == [survey]
    ignored = api.get(url(fake, "/api/v2/assets/?asset_type=survey")).json()
    assert ignored["count"] == 2
    deployed = api.get(url(fake, "/api/v2/assets/?q=_deployment_status:deployed")).json()
    assert [a["uid"] for a in deployed["results"]] == [survey]
    paged = api.get(url(fake, "/api/v2/assets/?limit=1")).json()
    assert paged["next"].endswith("/api/v2/assets/?limit=1&start=1")
    detail = api.get(url(fake, f"/api/v2/assets/{survey}/")).json()
    assert detail["deployment_status"] == "deployed" and detail["has_deployment"] is True
    assert detail["deployment__links"]["url"].startswith(fake.url)
    assert detail["content"]["survey"][0]["label"] == ["Full name"]
    assert detail["owner__username"] == "kobo_admin"
    trimmed = api.get(url(fake, f"/api/v2/assets/{survey}/?exclude=content")).json()
    assert "content" not in trimmed
    assert api.get(url(fake, f"/api/v2/assets/{block}/")).json()["deployment_status"] == "-"
    assert api.get(url(fake, "/api/v2/assets/hash/")).json()["hash"]


def test_asset_create_patch_clone_delete(fake_kobo, api):
    fake = fake_kobo
    assets = url(fake, "/api/v2/assets/")
    missing = api.post(assets, json={"name": "x"})
    assert (missing.status_code, missing.json()) == (
        400,
        {"asset_type": ["This field is required."]},
    )
    bad = api.post(assets, json={"asset_type": "spaceship"})
    assert bad.json() == {"asset_type": ['"spaceship" is not a valid choice.']}
    content = {"survey": [{"type": "text", "name": "q1", "label": ["Question 1"]}]}
    created = api.post(assets, json={"asset_type": "survey", "name": "A", "content": content})
    assert created.status_code == 201
    asset = created.json()
    assert asset["deployment_status"] == "draft" and asset["deployed_version_id"] is None
    uid, v1 = asset["uid"], asset["version_id"]
    renamed = api.patch(url(fake, f"/api/v2/assets/{uid}/"), json={"name": "B"}).json()
    assert renamed["name"] == "B" and renamed["version_id"] != v1
    versions = api.get(url(fake, f"/api/v2/assets/{uid}/versions/")).json()
    assert versions["count"] == 2 and versions["results"][0]["uid"] == renamed["version_id"]
    assert versions["results"][0]["date_deployed"] is False
    vdetail = api.get(versions["results"][1]["url"]).json()
    assert vdetail["content"]["survey"][0]["name"] == "q1"
    clone = api.post(assets, json={"clone_from": uid, "name": "Copy"}).json()
    assert clone["name"] == "Copy" and clone["content"]["survey"][0]["name"] == "q1"
    assert api.delete(url(fake, f"/api/v2/assets/{uid}/")).status_code == 204
    gone = api.get(url(fake, f"/api/v2/assets/{uid}/"))
    assert (gone.status_code, gone.json()) == (404, {"detail": "Not found."})


def test_xls_download_roundtrip(fake_kobo, api):
    fake = fake_kobo
    uid = deployed_form(fake)
    data = api.get(url(fake, f"/api/v2/assets/{uid}.xls")).content
    assert read_xlsform(data)["survey"][2]["select_from_list_name"] == "yesno"
    other = fake.create_asset(content={"survey": [{"type": "text", "name": "q", "label": ["Q"]}]})
    rebuilt = read_xlsform(api.get(url(fake, f"/api/v2/assets/{other}.xls")).content)
    assert rebuilt["survey"][0]["label"] == ["Q"]


# ------------------------------------------------------------------ imports


def _import(api, fake, **kw):
    files = {"file": ("form.xlsx", kw.pop("file"))} if "file" in kw else None
    answer = api.post(url(fake, "/api/v2/imports/"), files=files, data=kw)
    assert answer.status_code == 201 and answer.json()["status"] == "processing"
    return api.get(answer.json()["url"]).json()


def test_import_success_name_and_library(fake_kobo, api):
    fake = fake_kobo
    xls = build_xlsform(SURVEY, CHOICES)
    done = _import(api, fake, file=xls, name="Survey v1.5", library="false")
    assert done["status"] == "complete"
    created = done["messages"]["created"][0]
    asset = api.get(url(fake, f"/api/v2/assets/{created['uid']}/")).json()
    assert (asset["name"], asset["asset_type"]) == ("Survey v1", "survey")
    assert asset["content"]["settings"] == {"id_string": "Survey_v1"}  # from the name
    titled = build_xlsform(SURVEY, CHOICES, {"form_title": "From title", "id_string": "t"})
    done = _import(api, fake, file=titled, name="ignored", library="false")
    asset = api.get(url(fake, f"/api/v2/assets/{done['messages']['created'][0]['uid']}/")).json()
    assert asset["name"] == "From title" and "form_title" not in asset["content"]["settings"]
    assert asset["content"]["settings"] == {"id_string": "t"}  # the XLSForm's own wins
    unnamed = _import(api, fake, file=xls, library="false")["messages"]["created"][0]["uid"]
    assert api.get(url(fake, f"/api/v2/assets/{unnamed}/")).json()["content"]["settings"] == {}
    block = _import(api, fake, file=xls, name="lib")
    uid = block["messages"]["created"][0]["uid"]
    assert api.get(url(fake, f"/api/v2/assets/{uid}/")).json()["asset_type"] == "block"


def test_import_replace_destination(fake_kobo, api):
    fake = fake_kobo
    uid = deployed_form(fake)
    before = api.get(url(fake, f"/api/v2/assets/{uid}/")).json()
    survey = [*SURVEY, {"type": "text", "name": "comment", "label": "Comment"}]
    dest = url(fake, f"/api/v2/assets/{uid}/")
    done = _import(api, fake, file=build_xlsform(survey, CHOICES), destination=dest, name="v2")
    assert done["messages"]["updated"][0]["uid"] == uid
    after = api.get(url(fake, f"/api/v2/assets/{uid}/")).json()
    assert after["version_id"] != before["version_id"]
    assert after["deployed_version_id"] == before["deployed_version_id"]
    assert after["name"] == "People"  # a replace never takes the import name
    assert after["content"]["settings"] == {}  # nor seeds id_string
    bare = _import(api, fake, file=build_xlsform(survey, CHOICES), destination=uid)
    assert (bare["status"], bare["messages"]["error_type"]) == ("error", "Resolver404")


@pytest.mark.parametrize(
    ("kwargs", "error_type", "message"),
    [
        ({"file": b"not an excel file at all"}, "XlsFormatException", "Unsupported format"),
        ({}, "Exception", "ImportTask data must contain `base64Encoded`, `url`"),
        (
            {"file": build_xlsform([{"type": "badtype", "name": "x"}])},
            "ValueError",
            "unknown type ['badtype']",
        ),
    ],
)
def test_import_errors(fake_kobo, api, kwargs, error_type, message):
    done = _import(api, fake_kobo, library="false", **kwargs)
    assert done["status"] == "error"
    assert done["messages"]["error_type"] == error_type
    assert message in done["messages"]["error"]


def test_import_no_survey_sheet_and_anonymous(fake_kobo, api):
    import io

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Survey"  # KPI reads sheets by their exact names...
    wb.create_sheet("choices")  # ...when there are several (a lone sheet is the survey)
    buf = io.BytesIO()
    wb.save(buf)
    done = _import(api, fake_kobo, file=buf.getvalue(), library="false")
    assert done["messages"] == {
        "error": "xls upload must have one of these sheets: survey, library",
        "error_type": "SyntaxError",
    }
    anon = requests.post(url(fake_kobo, "/api/v2/imports/"), data={"library": "false"})
    assert anon.status_code == 401
    missing = api.get(url(fake_kobo, "/api/v2/imports/iNotExisting000000000/"))
    assert missing.json() == {"detail": "No ImportTask matches the given query."}


def test_import_delay_reports_processing(fake_kobo, api):
    fake_kobo.import_delay = 60
    answer = api.post(
        url(fake_kobo, "/api/v2/imports/"),
        files={"file": ("f.xlsx", build_xlsform(SURVEY))},
        data={"library": "false"},
    )
    assert api.get(answer.json()["url"]).json()["status"] == "processing"


# ------------------------------------------------------------------ deployment


def test_deployment_verbs(fake_kobo, api):
    fake = fake_kobo
    uid = fake.create_asset(xlsform=build_xlsform(SURVEY, CHOICES), name="D")
    dep = url(fake, f"/api/v2/assets/{uid}/deployment/")
    assert api.get(dep).status_code == 404
    not_yet = api.patch(dep, json={"active": True})
    assert not_yet.json() == {"detail": "Use POST to create a new deployment"}
    created = api.post(dep, json={"active": True})
    assert created.status_code == 200
    body = created.json()
    assert (body["backend"], body["active"]) == ("openrosa", True)
    assert body["version_id"] == body["asset"]["deployed_version_id"]
    again = api.post(dep, json={"active": True})
    assert (again.status_code, again.json()) == (
        405,
        {"detail": "Use PATCH to update an existing deployment"},
    )
    archived = api.patch(dep, json={"active": False}).json()
    assert archived["active"] is False
    assert archived["asset"]["deployment_status"] == "archived"
    assert archived["asset"]["deployment__links"] == {}
    api.patch(url(fake, f"/api/v2/assets/{uid}/"), json={"name": "D2"})
    stale = api.patch(dep, json={"version_id": body["version_id"], "active": True})
    assert (stale.status_code, stale.json()) == (500, {"error": "Server Error (500)"})
    latest = api.get(url(fake, f"/api/v2/assets/{uid}/")).json()["version_id"]
    redeployed = api.patch(dep, json={"version_id": latest, "active": False}).json()
    assert redeployed["version_id"] == latest and redeployed["active"] is False  # stays archived
    api.patch(url(fake, f"/api/v2/assets/{uid}/"), json={"name": "D3"})
    latest = api.get(url(fake, f"/api/v2/assets/{uid}/")).json()["version_id"]
    redeployed = api.patch(dep, json={"version_id": latest}).json()  # no active: kept
    assert redeployed["version_id"] == latest and redeployed["active"] is False
    api.patch(url(fake, f"/api/v2/assets/{uid}/"), json={"name": "D4"})
    latest = api.get(url(fake, f"/api/v2/assets/{uid}/")).json()["version_id"]
    redeployed = api.patch(dep, json={"version_id": latest, "active": True}).json()
    assert redeployed["version_id"] == latest and redeployed["active"] is True


def test_deploy_without_active_is_archived_and_block_is_500(fake_kobo, api):
    fake = fake_kobo
    uid = fake.create_asset(xlsform=build_xlsform(SURVEY, CHOICES))
    body = api.post(url(fake, f"/api/v2/assets/{uid}/deployment/"), json={}).json()
    assert body["active"] is False and body["asset"]["deployment_status"] == "archived"
    block = fake.create_asset(content={"survey": []}, asset_type="block")
    answer = api.post(url(fake, f"/api/v2/assets/{block}/deployment/"), json={"active": True})
    assert answer.status_code == 500


# ------------------------------------------------------------------ data paging


def test_data_paging_2500(fake_kobo, api):
    fake = fake_kobo
    uid = deployed_form(fake, 2500)
    data = url(fake, f"/api/v2/assets/{uid}/data/")
    default = api.get(data).json()
    assert default["count"] == 2500 and len(default["results"]) == 100
    assert default["next"] == f"{data}?limit=100&start=100"
    capped = api.get(data, params={"limit": 100000, "fields": '["_id"]'}).json()
    assert len(capped["results"]) == 1000
    pages, next_url, ids = 0, f"{data}?limit=1000", []
    while next_url:
        page = api.get(next_url).json()
        ids += [s["_id"] for s in page["results"]]
        next_url, pages = page["next"], pages + 1
    assert pages == 3 and len(set(ids)) == 2500
    ignored = api.get(data, params={"limit": 10, "offset": 50}).json()
    assert ignored["results"][0]["_id"] == default["results"][0]["_id"]
    started = api.get(data, params={"limit": 10, "start": 50}).json()
    assert started["results"][0]["_id"] == default["results"][50]["_id"]
    for bad in ("0", "abc", "-5"):
        answer = api.get(data, params={"limit": bad})
        assert answer.status_code == 400
        assert answer.json() == {"limit": "A positive integer is required"}


def test_data_not_deployed_and_page_size_settings(fake_kobo, api):
    fake = fake_kobo
    draft = fake.create_asset(xlsform=build_xlsform(SURVEY, CHOICES))
    answer = api.get(url(fake, f"/api/v2/assets/{draft}/data/"))
    assert answer.json() == {"detail": "The specified asset has not been deployed"}
    uid = deployed_form(fake, 30)
    fake.page_size_default, fake.page_size_max = 7, 10
    page = api.get(url(fake, f"/api/v2/assets/{uid}/data/")).json()
    assert len(page["results"]) == 7
    page = api.get(url(fake, f"/api/v2/assets/{uid}/data/?limit=50")).json()
    assert len(page["results"]) == 10


def test_bulk_insert_is_fast():
    with FakeKobo() as fake:
        uid = deployed_form(fake)
        subs = fake.add_submissions(uid, [{"full_name": str(i)} for i in range(20000)])
        assert subs[-1]["_id"] - subs[0]["_id"] == 19999
        assert json.loads(json.dumps(subs[0]))["_submission_time"]


# ------------------------------------------------------------------ XForm


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Conformance xform v1.5", "Conformance_xform_v1_5"),
        ("Ünïcode name - x/y (z)", "_n_code_name_x_y_z"),
        ("123 start", "_123_start"),
        ("a  b..c.d", "a_b_c_d"),
        ("___a", "_a"),
        ("x_", "x"),
        (" lead", "lead"),
        ("-abc", "_abc"),
        ("ééé", "_"),
        ("a-b+c", "a_b_c"),
    ],
)
def test_id_string_from_name(name, expected):
    """Seen on a real KPI (import ``name`` → ``content.settings.id_string``)."""
    from kobo_kpi.fake.xform import id_string_from_name

    assert id_string_from_name(name) == expected


NESTED = [
    {"type": "start", "name": "start"},
    {"type": "text", "name": "a", "label": "A", "relevant": "${start} != ''"},
    {"type": "begin_repeat", "name": "kids", "label": "Kids"},
    {"type": "text", "name": "kname", "label": "Kid name"},
    {"type": "begin_group", "name": "det", "label": "Details"},
    {"type": "integer", "name": "kage", "label": "Age", "required": "yes"},
    {"type": "end_group"},
    {"type": "begin_repeat", "name": "toys", "label": "Toys"},
    {"type": "select_multiple yesno", "name": "toy", "label": "Toy"},
    {"type": "end_repeat"},
    {"type": "end_repeat"},
    {"type": "image", "name": "photo", "label": "Photo"},
    {"type": "calculate", "name": "calc", "calculation": "1+1"},
]


def test_xform_download(fake_kobo, api):
    """``.xml`` / ``?format=xml``: the XForm of the current content, the main
    instance ``<uid id="<id_string>">`` with groups nested, each repeat as
    a ``jr:template`` copy then a plain one, and ``meta/instanceID``."""
    import xml.etree.ElementTree as ET

    fake = fake_kobo
    uid = fake.create_asset(xlsform=build_xlsform(NESTED, CHOICES), name="Nested & co")
    answer = api.get(url(fake, f"/api/v2/assets/{uid}.xml"))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert answer.headers["Content-Disposition"] == f"attachment; filename={uid}.xml"
    assert api.get(url(fake, f"/api/v2/assets/{uid}/?format=xml")).content == answer.content
    h, x, jr = (
        "{http://www.w3.org/1999/xhtml}",
        "{http://www.w3.org/2002/xforms}",
        "{http://openrosa.org/javarosa}",
    )
    root = ET.fromstring(answer.content)
    assert root.findtext(f"{h}head/{h}title") == "Nested & co"
    model = root.find(f"{h}head/{x}model")
    main, choices = model.findall(f"{x}instance")
    form = main[0]
    assert (form.tag, form.get("id")) == (f"{x}{uid}", "Nested_co")

    def shape(node):
        return [
            (c.tag.removeprefix(x), c.get(f"{jr}template"), shape(c)) if len(c) else c.tag
            for c in node
        ]

    kid = [f"{x}kname", ("det", None, [f"{x}kage"])]
    assert shape(form) == [
        f"{x}start",
        f"{x}a",
        ("kids", "", [*kid, ("toys", "", [f"{x}toy"])]),
        ("kids", None, [*kid, ("toys", None, [f"{x}toy"])]),
        f"{x}photo",
        f"{x}calc",
        ("meta", None, [f"{x}instanceID"]),
    ]
    assert choices.get("id") == "yesno"
    assert [i.findtext(f"{x}name") for i in choices.iter(f"{x}item")] == ["yes", "no"]
    binds = {b.get("nodeset"): b.attrib for b in model.iter(f"{x}bind")}
    assert binds[f"/{uid}/kids/det/kage"]["required"] == "true()"
    assert binds[f"/{uid}/kids/det/kage"]["type"] == "int"
    assert binds[f"/{uid}/a"]["relevant"] == "${start} != ''"
    assert binds[f"/{uid}/calc"]["calculate"] == "1+1"
    assert binds[f"/{uid}/meta/instanceID"][f"{jr}preload"] == "uid"
    body = root.find(f"{h}body")
    repeat = body.find(f"{x}group/{x}repeat")
    assert repeat.get("nodeset") == f"/{uid}/kids"
    assert repeat.find(f"{x}group/{x}repeat/{x}select").get("ref") == f"/{uid}/kids/toys/toy"
    assert body.find(f"{x}upload").get("mediatype") == "image/*"
    unnamed = fake.create_asset(xlsform=build_xlsform(SURVEY, CHOICES))
    xform = ET.fromstring(api.get(url(fake, f"/api/v2/assets/{unnamed}.xml")).content)
    assert xform.find(f"{h}head/{x}model/{x}instance")[0].get("id") == unnamed
    assert api.get(url(fake, "/api/v2/assets/aDoesNotExist000000000.xml")).status_code == 404


def test_submission_id_string(fake_kobo, api):
    """``_xform_id_string``: the instance's ``id`` as sent (Python API: the
    deployed id_string); ``/submission`` finds the form by formhub/uuid or
    the uid, never by id_string; the reply's ``id`` is the uid."""
    from kobo_kpi.fake.openrosa import build_instance

    fake = fake_kobo
    uid = fake.create_asset(xlsform=build_xlsform(SURVEY, CHOICES), name="Ids", deploy=True)
    assert fake.add_submission(uid, {"full_name": "A"})["_xform_id_string"] == "Ids"

    def post(form_id, formhub):
        xml = build_instance(form_id, {"full_name": "B"}, root=uid, formhub_uuid=formhub)
        return api.post(url(fake, "/submission"), files={"xml_submission_file": ("s.xml", xml)})

    formhub = fake.assets[uid].deployment_uuid
    assert post("Ids", None).status_code == 404
    reply = post("Ids", formhub)
    assert reply.status_code == 201 and f'id="{uid}"' in reply.text
    assert post(uid, None).status_code == 201
    assert post("bogus", formhub).status_code == 201
    ids = [s["_xform_id_string"] for s in fake.submissions(uid)]
    assert ids == ["Ids", "Ids", uid, "bogus"]
