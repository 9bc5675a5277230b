"""Every KpiClient call against the fake KPI server (kobo_kpi.fake)."""

import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from kobo_kpi import errors
from kobo_kpi.client import KpiClient
from kobo_kpi.fake import FakeKobo, build_xlsform

SURVEY = [
    {"type": "text", "name": "full_name", "label": "Full name", "required": "yes"},
    {"type": "integer", "name": "age", "label": "Age"},
    {"type": "select_one yesno", "name": "consent", "label": "Consent?"},
    {"type": "image", "name": "photo", "label": "Photo"},
]
CHOICES = [
    {"list_name": "yesno", "name": "yes", "label": "Yes"},
    {"list_name": "yesno", "name": "no", "label": "No"},
]
XLSFORM = build_xlsform(SURVEY, CHOICES)
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 300


class Clock:
    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake(fake_kobo):
    return fake_kobo


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(fake, clock):
    return KpiClient(fake.url, fake.token, sleep=clock.sleep, clock=clock)


def form(fake, name="People", deploy=True, n=0):
    uid = fake.create_asset(xlsform=XLSFORM, name=name, deploy=deploy)
    if n:
        fake.add_submissions(
            uid,
            [
                {"full_name": f"P{i}", "age": str(i % 90), "consent": "yes" if i % 2 else "no"}
                for i in range(n)
            ],
        )
    return uid


def paths(fake):
    return [path for _method, path in fake.requests]


# ------------------------------------------------------------------ account


def test_me_and_token(fake, client):
    assert client.me()["username"] == "kobo_admin"
    assert client.has_api_v2() is True
    assert client.has_api_v1() is False  # the fake answers 410 Gone like KPI ≥ 2.026.23
    alice = fake.add_user("alice", password="s3cret")
    assert KpiClient.fetch_token(fake.url + "/api/v2/", "alice", "s3cret") == alice
    with pytest.raises(errors.KoboAuthError, match="Invalid username/password"):
        KpiClient.fetch_token(fake.url, "alice", "wrong")


def test_bad_and_missing_token(fake):
    with pytest.raises(errors.KoboAuthError, match="Invalid token"):
        KpiClient(fake.url, "0" * 40).me()
    anonymous = KpiClient(fake.url)
    with pytest.raises(errors.KoboAuthError, match="credentials were not provided"):
        anonymous.me()
    form(fake)
    assert list(anonymous.iter_surveys()) == []  # anonymous = empty, not an error


# ------------------------------------------------------------------ assets


def test_iter_surveys_over_several_pages(fake, client):
    fake.page_size_max = 3
    uids = {form(fake, name=f"Form {i}", deploy=i % 2 == 0) for i in range(7)}
    fake.create_asset(content={"survey": []}, name="A block", asset_type="block")
    surveys = list(client.iter_surveys())
    assert {s["uid"] for s in surveys} == uids
    assert client.request_count == 3
    first = parse_qs(urlsplit(fake.requests[0][1]).query)
    assert first == {"q": ["asset_type:survey"], "limit": ["1000"]}
    assert all("start=" in p for p in paths(fake)[1:])


def test_asset_detail_hash_versions(fake, client):
    uid = form(fake)
    asset = client.get_asset(uid)
    assert asset["uid"] == uid and asset["content"]["survey"]
    trimmed = client.get_asset(uid, exclude=("content",))
    assert "exclude=content" in paths(fake)[-1]
    assert trimmed["uid"] == uid
    assert client.asset_url(uid) == f"{fake.url}/api/v2/assets/{uid}/"
    before = client.asset_hash()
    client.rename(uid, "People v2")
    assert client.asset_hash() != before
    versions = client.list_versions(uid)
    assert len(versions) == 2
    version = client.get_version(uid, versions[-1]["uid"])
    assert version["uid"] == versions[-1]["uid"] and "content" in version


def test_rename_redeploy_archive_unarchive(fake, client):
    uid = form(fake)
    deployed_version = client.get_asset(uid)["deployed_version_id"]
    renamed = client.rename(uid, "People (renamed)")
    assert renamed["name"] == "People (renamed)"
    assert renamed["version_id"] != deployed_version
    assert renamed["deployed_version_id"] == deployed_version
    answer = client.redeploy(uid)
    assert answer["active"] is True and answer["version_id"] == renamed["version_id"]
    assert answer["asset"]["deployed_version_id"] == renamed["version_id"]
    assert client.archive(uid)["active"] is False
    assert client.get_asset(uid)["deployment__active"] is False
    assert client.unarchive(uid)["active"] is True
    assert client.get_deployment(uid)["active"] is True
    # an archived form stays archived when redeployed (KPI takes ``active`` from the body)
    client.archive(uid)
    renamed = client.rename(uid, "People (archived)")
    answer = client.redeploy(uid)
    assert answer["active"] is False and answer["version_id"] == renamed["version_id"]
    assert client.get_asset(uid)["deployment_status"] == "archived"
    method, path = fake.requests[-2]
    assert (method, path) == ("PATCH", f"/api/v2/assets/{uid}/deployment/")


def test_deploy_draft_and_errors(fake, client):
    uid = form(fake, deploy=False)
    with pytest.raises(errors.KoboNotFound):
        client.get_deployment(uid)
    with pytest.raises(errors.KoboMethodNotAllowed, match="Use POST"):
        client.archive(uid)
    deployed = client.deploy(uid)
    assert deployed["active"] is True and deployed["asset"]["has_deployment"] is True
    with pytest.raises(errors.KoboMethodNotAllowed, match="Use PATCH"):
        client.deploy(uid)
    assert client.request_count == 4  # a 405 on POST is not retried


def test_clone_and_delete(fake, client):
    uid = form(fake)
    clone = client.clone(uid, "People copy")
    assert clone["uid"] != uid and clone["name"] == "People copy"
    assert clone["asset_type"] == "survey" and clone["has_deployment"] is False
    client.delete_asset(clone["uid"])
    with pytest.raises(errors.KoboNotFound, match="Not found"):
        client.get_asset(clone["uid"])
    with pytest.raises(errors.KoboNotFound):
        client.clone("aDoesNotExist000000000", "x")


# ------------------------------------------------------------------ imports


def test_import_new_and_replace(fake, client, clock):
    uid = client.import_xlsform(XLSFORM, "people.xlsx", name="Survey v1.5")
    asset = client.get_asset(uid)
    assert asset["asset_type"] == "survey" and asset["name"] == "Survey v1.5"
    client.deploy(uid)
    v2 = build_xlsform([*SURVEY, {"type": "text", "name": "city", "label": "City"}], CHOICES)
    assert client.import_xlsform(v2, "people.xlsx", destination_uid=uid) == uid
    asset = client.get_asset(uid)
    assert asset["version_id"] != asset["deployed_version_id"]
    assert any(row.get("name") == "city" for row in asset["content"]["survey"])
    assert clock.sleeps == [1.0, 1.0]


def test_import_errors(fake, client):
    with pytest.raises(errors.KoboImportError) as info:
        client.import_xlsform(b"this is not a spreadsheet", "notes.xlsx", name="Bad")
    assert info.value.error_type == "XlsFormatException"
    assert info.value.message == "Unsupported format, or corrupt file"
    with pytest.raises(errors.KoboImportError, match=r"\(PermissionDenied\)") as info:
        client.import_xlsform(XLSFORM, "p.xlsx", destination_uid="aDoesNotExist000000000")
    assert info.value.error_type == "PermissionDenied"


def test_import_times_out(fake, client, clock):
    fake.import_delay = 3600
    with pytest.raises(errors.KoboTimeout, match="still processing"):
        client.import_xlsform(XLSFORM, "p.xlsx", name="Slow", timeout=10, poll_interval=1)
    assert sum(clock.sleeps) <= 10


def test_import_anonymous_is_401(fake):
    with pytest.raises(errors.KoboAuthError):
        KpiClient(fake.url).import_xlsform(XLSFORM, "p.xlsx")


# ------------------------------------------------------------------ sharing


def test_sharing_assign_list_revoke(fake, client):
    uid = form(fake)
    fake.add_user("alice")
    labels = {
        p["url"].rstrip("/").rsplit("/", 1)[-1]: p["label"]
        for p in client.assignable_permissions(uid)
    }
    assert labels["view_submissions"] == "View submissions"
    row = client.assign_permission(uid, "alice", "view_submissions")
    assert row["user"].endswith("/api/v2/users/alice/")
    assert row["permission"].endswith("/api/v2/permissions/view_submissions/")
    rows = client.permission_assignments(uid)
    assert isinstance(rows, list)
    alice = {
        r["permission"].rstrip("/").rsplit("/", 1)[-1]
        for r in rows
        if r["user"].endswith("/alice/")
    }
    assert alice == {"view_asset", "view_submissions"}
    assert client.revoke_permission(row["url"]) is None
    puid = next(
        r["url"] for r in client.permission_assignments(uid) if r["user"].endswith("/alice/")
    )
    client.revoke_permission(puid.rstrip("/").rsplit("/", 1)[-1], uid)
    assert not [r for r in client.permission_assignments(uid) if r["user"].endswith("/alice/")]
    with pytest.raises(errors.KoboNotFound):
        client.revoke_permission(row["url"])
    with pytest.raises(ValueError):
        client.revoke_permission("pNoAssetGiven")


def test_sharing_errors(fake, client):
    uid = form(fake)
    fake.add_user("alice")
    with pytest.raises(errors.KoboBadRequest, match="user: Invalid hyperlink"):
        client.assign_permission(uid, "nobody", "view_asset")
    with pytest.raises(errors.KoboBadRequest, match="permission: "):
        client.assign_permission(uid, "alice", "fly_to_the_moon")
    with pytest.raises(errors.KoboBadRequest, match="Owner's permissions cannot be assigned"):
        client.assign_permission(uid, "kobo_admin", "view_asset")
    owner_row = next(
        r for r in client.permission_assignments(uid) if r["user"].endswith("/kobo_admin/")
    )
    with pytest.raises(errors.KoboConflict, match="Owner's permissions cannot be deleted"):
        client.revoke_permission(owner_row["url"])
    bob = KpiClient(fake.url, fake.add_user("bob"))
    with pytest.raises(errors.KoboNotFound):  # no access = 404, not 403
        bob.permission_assignments(uid)
    fake.grant(uid, "bob", "view_asset")
    with pytest.raises(errors.KoboForbidden):
        bob.assign_permission(uid, "alice", "view_asset")


# ------------------------------------------------------------------ submissions


def test_submissions_2500_over_3_pages(fake, client):
    uid = form(fake, n=2500)
    pages = list(client.iter_submission_pages(uid))
    assert [(len(r), c) for r, c, _n in pages] == [(1000, 2500), (1000, 2500), (500, 2500)]
    assert pages[-1][2] is None and "start=1000" in pages[0][2]
    ids = [s["_id"] for r, _c, _n in pages for s in r]
    assert len(set(ids)) == 2500 and ids == sorted(ids)
    assert client.request_count == 3


def test_submissions_query_fields_sort(fake, client):
    uid = form(fake, n=2500)
    subs = list(
        client.iter_submissions(
            uid,
            query={"consent": "yes"},
            fields=["full_name", "age"],
            sort={"_id": -1},
        )
    )
    assert len(subs) == 1250
    assert [s["_id"] for s in subs] == sorted((s["_id"] for s in subs), reverse=True)
    assert {"full_name", "age", "_id", "_uuid"} <= set(subs[0]) and "consent" not in subs[0]
    first = parse_qs(urlsplit(fake.requests[0][1]).query)
    assert json.loads(first["query"][0]) == {"consent": "yes"}
    assert json.loads(first["sort"][0]) == {"_id": -1}
    assert client.request_count == 2
    with pytest.raises(errors.KoboBadRequest, match="query: Value must be valid JSON"):
        list(client.iter_submissions(uid, query="{not json"))


def test_submission_detail_edits_validation(fake, client):
    uid = form(fake, n=3)
    sid = fake.submissions(uid)[1]["_id"]
    sub = client.get_submission(uid, sid)
    assert sub["_id"] == sid and sub["_validation_status"] == {}
    fake.edit_submission(uid, sid, {"full_name": "Edited"})
    edited = client.get_submission(uid, sid)
    assert edited["full_name"] == "Edited" and edited["_uuid"] != sub["_uuid"]
    assert edited["meta/deprecatedID"] == sub["meta/instanceID"]
    assert edited["meta/rootUuid"] == sub["meta/rootUuid"]
    assert client.get_validation_status(uid, sid) == {}
    status = client.set_validation_status(uid, sid, "validation_status_approved")
    assert status["uid"] == "validation_status_approved" and status["label"] == "Approved"
    assert isinstance(status["timestamp"], int)
    assert client.get_validation_status(uid, sid)["uid"] == "validation_status_approved"
    with pytest.raises(errors.KoboBadRequest, match="Invalid validation status"):
        client.set_validation_status(uid, sid, "validation_status_bogus")
    assert client.set_validation_status(uid, sid, None) == {}
    assert client.get_validation_status(uid, sid) == {}
    with pytest.raises(errors.KoboNotFound):
        client.get_submission(uid, 999999)


def test_submissions_of_draft_form(fake, client):
    uid = form(fake, deploy=False)
    with pytest.raises(errors.KoboBadRequest, match="has not been deployed"):
        list(client.iter_submissions(uid))


# ------------------------------------------------------------------ attachments


def photo_submission(fake):
    uid = form(fake)
    sub = fake.add_submission(
        uid,
        {"full_name": "With photo", "photo": "IMG_2235.jpg"},
        attachments={"IMG_2235.jpg": ("IMG_2235.jpg", JPEG, "image/jpeg")},
    )
    return uid, sub["_attachments"][0]


def test_download_attachment(fake, client):
    uid, att = photo_submission(fake)
    sid = fake.submissions(uid)[-1]["_id"]
    out = io.BytesIO()
    # the path Odoo builds is the one the fake (like KPI) lists and serves
    assert att["download_url"].endswith(
        f"/api/v2/assets/{uid}/data/{sid}/attachments/{att['uid']}/"
    )
    assert client.download_attachment(uid, sid, att["uid"], out) == (
        "image/jpeg",
        "IMG_2235.jpg",
        len(JPEG),
    )
    assert out.getvalue() == JPEG


def test_download_attachment_errors(fake, client):
    uid, att = photo_submission(fake)
    sid = fake.submissions(uid)[-1]["_id"]
    with pytest.raises(errors.KoboError, match="larger than the limit"):
        client.download_attachment(uid, sid, att["uid"], io.BytesIO(), max_bytes=100)
    with pytest.raises(errors.KoboNotFound):
        client.download_attachment(uid, sid, "attNope", io.BytesIO())
    with pytest.raises(errors.KoboNotFound):  # the token is required
        KpiClient(fake.url).download_attachment(uid, sid, att["uid"], io.BytesIO())


# ------------------------------------------------------------------ hooks


def test_hooks(fake, client):
    uid = form(fake)
    hook = client.create_hook(
        uid,
        "Odoo",
        "https://odoo.example.org/kobo/hook",
        custom_headers={"X-Odoo-Token": "s3cr3t"},
        auth=("odoo", "pw"),
        subset_fields=["full_name", "_id"],
    )
    assert hook["uid"].startswith("h") and hook["auth_level"] == "basic_auth"
    assert hook["settings"] == {
        "custom_headers": {"X-Odoo-Token": "s3cr3t"},
        "username": "odoo",
        "password": "pw",
    }
    assert hook["subset_fields"] == ["full_name", "_id"] and hook["active"] is True
    assert [h["uid"] for h in client.list_hooks(uid)] == [hook["uid"]]
    assert client.hook_logs(uid, hook["uid"]) == []
    with pytest.raises(errors.KoboBadRequest, match="endpoint: "):
        client.create_hook(uid, "Bad", "ftp://nowhere")
    client.delete_hook(uid, hook["uid"])
    assert client.list_hooks(uid) == []
    with pytest.raises(errors.KoboNotFound):
        client.delete_hook(uid, hook["uid"])
    assert client.hook_logs(uid, hook["uid"]) == []  # KPI: an empty page, not a 404


def test_hook_delivery_logs(fake, client):
    received = []
    with FakeKobo() as receiver_host:  # any HTTP endpoint that answers will do
        uid = form(fake)
        hook = client.create_hook(uid, "Odoo", receiver_host.url + "/me/")
        fake.add_submission(uid, {"full_name": "Hooked"})
        assert fake.wait_hooks()
        received = client.hook_logs(uid, hook["uid"])
    assert len(received) == 1
    assert {"uid", "submission_id", "status", "status_code"} <= set(received[0])


# ------------------------------------------------------------------ faults


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, errors.KoboAuthError),
        (403, errors.KoboForbidden),
        (404, errors.KoboNotFound),
        (410, errors.KoboGone),
        (500, errors.KoboServerError),
    ],
)
def test_fault_statuses(fake, client, status, cls):
    fake.fail(r"^/me/", status=status)
    with pytest.raises(cls) as info:
        client.me()
    assert info.value.status == status
    assert client.request_count == 1
    assert client.me()["username"] == "kobo_admin"  # one fault only


def test_fault_429_retried(fake, client, clock):
    fake.fail(r"^/api/v2/assets/", status=429, times=2, headers={"Retry-After": "3"})
    assert list(client.iter_surveys()) == []
    assert clock.sleeps == [3, 3]
    assert client.request_count == 3


def test_fault_429_forever(fake, client, clock):
    fake.fail(r"^/me/", status=429, times=None)
    with pytest.raises(errors.KoboThrottled) as info:
        client.me()
    assert info.value.retry_after == 1
    assert client.request_count == client.max_retries + 1


def test_fault_503_on_second_page(fake, client, clock):
    uid = form(fake, n=2500)
    fake.fail(r"/data/\?.*start=1000", status=503, headers={"Retry-After": "2"})
    assert len(list(client.iter_submissions(uid))) == 2500
    assert clock.sleeps == [2] and client.request_count == 4


def test_fault_html_and_truncated(fake, client):
    fake.fail(r"^/me/", kind="html")
    with pytest.raises(errors.KoboNotJson, match="web page"):
        client.me()
    uid = form(fake, n=5)
    fake.fail(r"/data/", kind="truncated")
    with pytest.raises(errors.KoboNotJson, match=r"KoBo \(KPI\) server"):
        list(client.iter_submissions(uid))


def test_fault_reset_and_slow(fake, clock):
    fast = KpiClient(fake.url, fake.token, timeout=(2, 0.3), sleep=clock.sleep, clock=clock)
    fake.fail(r"^/me/", kind="reset")
    assert fast.me()["username"] == "kobo_admin"  # GET retried after the reset
    assert fast.request_count == 2
    fake.fail(r"^/me/", kind="slow", delay=1.0, times=None)
    with pytest.raises(errors.KoboConnectionError, match=r"Cannot reach 127\.0\.0\.1: no answer"):
        KpiClient(fake.url, fake.token, timeout=(2, 0.3), max_retries=0).me()
    fake.clear_faults()
    fake.fail(r"/deployment/", kind="reset", method="POST")
    uid = form(fake, deploy=False)
    with pytest.raises(errors.KoboConnectionError, match="closed unexpectedly"):
        fast.deploy(uid)  # a POST that may have reached KoBo is not retried


def test_fault_on_import_poll_is_retried(fake, client, clock):
    fake.fail(r"^/api/v2/imports/i", status=502, body="<html>Bad gateway</html>")
    assert client.import_xlsform(XLSFORM, "p.xlsx", name="P")
    assert clock.sleeps[0] == 1.0 and len(clock.sleeps) == 2


def test_post_throttled_import_is_retried(fake, client, clock):
    fake.fail(r"^/api/v2/imports/$", status=429, method="POST", headers={"Retry-After": "4"})
    assert client.import_xlsform(XLSFORM, "p.xlsx", name="P")
    assert clock.sleeps[0] == 4
    assert sum(1 for m, p in fake.requests if m == "POST") == 2
