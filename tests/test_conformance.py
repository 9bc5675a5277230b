"""Conformance: the same KpiClient scenarios against the fake KPI (always)
and against a real KPI server when ``KOBO_URL`` and ``KOBO_TOKEN`` are set
(``KOBO_SHARE_USER``: a second user to share with; ``KOBO_PASSWORD``, with
``KOBO_USER`` if given, enables the token exchange). A difference between
the fake and the real server fails the scenario on one side.

    KOBO_URL=https://kf.example.org KOBO_TOKEN=… KOBO_SHARE_USER=alice \\
        python3 -m pytest -p no:odoo tests/test_conformance.py -q -rs

Every scenario deletes the assets it creates, also when it fails.
"""

import os
import re
import xml.etree.ElementTree as ET

import pytest
from conformance_support import (
    BROKEN_XLSFORM,
    NOT_EXCEL,
    UNKNOWN_ASSET,
    XLSFORM_V2,
    HookListener,
    KoboTarget,
    codename,
    wait_for,
)
from kobo_kpi import errors
from kobo_kpi.approvals import change_key, changes_query
from kobo_kpi.client import KpiClient
from kobo_kpi.fake import build_xlsform
from kobo_kpi.xlsform_check import check_xlsform
from test_xlsform_corpus import BROKEN, GOOD, REFUSED
from test_xlsform_corpus import data as corpus

LIVE_SKIP = "KOBO_URL/KOBO_TOKEN not set: live KoBo conformance skipped"
HOOK_WAIT = 20  # seconds: a real KPI delivers REST services through celery
SYSTEM_FIELDS = {"_id", "_uuid", "meta/rootUuid", "_validation_status"}
H, X = "{http://www.w3.org/1999/xhtml}", "{http://www.w3.org/2002/xforms}"


@pytest.fixture(scope="module", params=["fake", "live"])
def kobo(request):
    """The server under test: ``.client``, ``.url``, ``.share_user``, ``.submit()``."""
    if request.param == "fake":
        from kobo_kpi.fake import FakeKobo

        with FakeKobo(admin_password="kobo") as fake:
            fake.add_user("alice", password="alice-pw")
            target = KoboTarget(
                "fake", fake.url, fake.token, share_user="alice", password="kobo", fake=fake
            )
            yield target
            target.client.close()
        return
    url, token = os.environ.get("KOBO_URL"), os.environ.get("KOBO_TOKEN")
    if not url or not token:
        pytest.skip(LIVE_SKIP)
    target = KoboTarget(
        "live",
        url,
        token,
        share_user=os.environ.get("KOBO_SHARE_USER") or os.environ.get("KOBO_OTHER_USER") or None,
        password=os.environ.get("KOBO_PASSWORD") or None,
    )
    try:
        target.username  # noqa: B018 - /me/ checks the address and the token
    except errors.KoboError as exc:
        pytest.fail(f"The KoBo server at {url} refused /me/ with KOBO_TOKEN: {exc}")
    if os.environ.get("KOBO_USER") not in (None, "", target.username):
        target.password = None  # the password is another user's
    yield target
    target.client.close()


def fake_differs(request, reason):
    """Mark a scenario where the fake (not the real KPI) is known to be wrong:
    a strict xfail, so that fixing the fake makes it fail until removed."""
    request.applymarker(pytest.mark.xfail(strict=True, reason=f"fake differs from KPI: {reason}"))


@pytest.fixture(autouse=True)
def _cleanup(kobo):
    yield
    kobo.cleanup()


def deployed_form(kobo, name, n=0):
    """A deployed form with ``n`` submissions; ``(uid, asset, instance ids)``."""
    uid = kobo.new_form(name, deploy=True)
    ids = [
        kobo.submit(
            uid,
            {
                "full_name": f"Person {i}",
                "age": str(20 + i),
                "consent": "yes" if i % 2 == 0 else "no",
                "hh/size": str(i + 1),
            },
        )
        for i in range(n)
    ]
    return uid, kobo.client.get_asset(uid, exclude=("content", "analysis_form_json")), ids


# ------------------------------------------------------------------ account


def test_me_and_token_exchange(kobo):
    me = kobo.client.me()
    assert me["username"] == kobo.username
    assert {"username", "email", "is_superuser", "date_joined"} <= set(me)
    assert kobo.client.has_api_v2() is True
    if me["is_superuser"]:  # the build, to superusers only
        assert set(me["git_rev"]) == {"short", "long", "branch", "tag"}
    else:
        assert me["git_rev"] is False
    with pytest.raises(errors.KoboAuthError):
        KpiClient(kobo.url, "0" * 40).me()
    if not kobo.password:
        pytest.skip("KOBO_PASSWORD not set: token exchange not checked")
    assert KpiClient.fetch_token(kobo.url, kobo.username, kobo.password) == kobo.token
    with pytest.raises(errors.KoboAuthError, match="Invalid username/password"):
        KpiClient.fetch_token(kobo.url, kobo.username, kobo.password + "-wrong")


# ------------------------------------------------------------------ imports


def test_import_xlsform_content(kobo):
    uid = kobo.new_form("Conformance v1.5")
    asset = kobo.client.get_asset(uid)
    assert asset["uid"] == uid and asset["asset_type"] == "survey"
    assert asset["name"] == "Conformance v1.5"  # the client protects the dot
    assert asset["has_deployment"] is False and asset["deployed_version_id"] is None
    assert asset["deployment_status"] == "draft"
    rows = {row.get("name") or row.get("$autoname"): row for row in asset["content"]["survey"]}
    assert rows["full_name"]["type"] == "text"
    assert rows["full_name"]["label"] == ["Full name"]
    assert rows["full_name"]["$xpath"] == "full_name"
    assert rows["full_name"]["required"] is True
    assert rows["consent"]["type"] == "select_one"
    assert rows["consent"]["select_from_list_name"] == "yesno"
    assert rows["hh"]["type"] == "begin_group" and rows["hh"]["label"] == ["Household"]
    assert rows["size"]["$xpath"] == "hh/size"
    assert [(c["list_name"], c["name"], c["label"]) for c in asset["content"]["choices"]] == [
        ("yesno", "yes", ["Yes"]),
        ("yesno", "no", ["No"]),
    ]
    assert uid in {s["uid"] for s in kobo.client.iter_surveys()}


def test_import_moves_metadata_first(kobo):
    """KPI moves metadata rows (start, end, deviceid…) to the top of the
    survey, out of their groups, in their order."""
    xlsform = build_xlsform(
        [
            {"type": "text", "name": "a", "label": "A"},
            {"type": "end", "name": "end"},
            {"type": "begin_group", "name": "g", "label": "G"},
            {"type": "deviceid", "name": "dev"},
            {"type": "text", "name": "b", "label": "B"},
            {"type": "end_group", "name": ""},
            {"type": "start", "name": "start"},
        ]
    )
    uid = kobo.import_xlsform(xlsform, name="Conformance metadata")
    survey = kobo.client.get_asset(uid)["content"]["survey"]
    assert [(r["type"], r.get("$xpath")) for r in survey] == [
        ("end", "end"),
        ("deviceid", "dev"),
        ("start", "start"),
        ("text", "a"),
        ("begin_group", "g"),
        ("text", "g/b"),
        ("end_group", None),
    ]


def test_import_broken_xlsform(kobo):
    with pytest.raises(errors.KoboImportError) as info:
        kobo.import_xlsform(BROKEN_XLSFORM, name="Broken")
    assert info.value.error_type == "ValueError"
    assert info.value.message == "unknown type ['badtype']"
    with pytest.raises(errors.KoboImportError) as info:
        kobo.import_xlsform(NOT_EXCEL, name="Not Excel")
    assert info.value.error_type == "XlsFormatException"
    assert info.value.message == "Unsupported format, or corrupt file"


@pytest.mark.parametrize("name", sorted(GOOD))
def test_import_corpus(kobo, name):
    """Each legitimate edge case of the project's corpus imports (and is
    deleted after); its questions are where the local check puts them."""
    data = corpus("good", name)
    uid = kobo.import_xlsform(data, name=f"Conformance corpus {name}")
    survey = kobo.client.get_asset(uid)["content"]["survey"]
    xpaths = {row["$xpath"] for row in survey if row.get("$xpath")}
    assert set(check_xlsform(data, use_pyxform=False).questions) <= xpaths


# What the real KPI's import answers to the broken corpus forms it refuses
# (the others it imports: most then fail to deploy)
KPI_REFUSES = {
    "begin_loop_over": ("ValueError", "unknown type ['begin loop over rooms']"),
    "duplicate_name_other_group": ("DuplicateNameException", "Duplicate node name: q"),
    "duplicate_name_same_level": ("DuplicateNameException", "Duplicate node name: q"),
    "end_without_begin": ("IndexError", "pop from empty list"),
    "invalid_names": ("ValueError", "Invalid node name: 1st"),
    "named_row_without_type": ("KeyError", "'type'"),
    "no_survey_sheet": ("SyntaxError", "xls upload must have one of these sheets: survey, library"),
    "no_type_column": ("KeyError", "'type'"),
    "survey_sheet_letter_case": (
        "SyntaxError",
        "xls upload must have one of these sheets: survey, library",
    ),
    "type_header_capitalised": ("KeyError", "'type'"),
    "type_letter_case": ("ValueError", "unknown type ['Text']"),
    "unknown_type": ("ValueError", "unknown type ['badtype']"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_import_broken_corpus(kobo, name):
    """KoBo's import answer to each broken form of the corpus, the fake's
    the same as the real KPI's."""
    data = corpus("broken", name)
    if name not in KPI_REFUSES:
        kobo.import_xlsform(data, name=f"Conformance broken {name}")
        return
    with pytest.raises(errors.KoboImportError) as info:
        kobo.import_xlsform(data, name=f"Conformance broken {name}")
    assert (info.value.error_type, info.value.message) == KPI_REFUSES[name]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_corpus_is_refused_by_kobo(kobo, name):
    """What the local check refuses, KoBo refuses too: at the import, or at
    the deployment (where KPI converts the form)."""
    if kobo.kind == "fake":
        pytest.skip("the fake KoBo does not convert a form when it deploys it")
    try:
        uid = kobo.import_xlsform(corpus("broken", name), name=f"Conformance refused {name}")
    except errors.KoboImportError:
        return
    with pytest.raises(errors.KoboError):
        kobo.client.deploy(uid)


def test_replace_content(kobo):
    uid = kobo.new_form("Conformance replace", deploy=True)
    before = kobo.client.get_asset(uid)
    assert before["version_id"] == before["deployed_version_id"]
    assert kobo.import_xlsform(XLSFORM_V2, destination_uid=uid) == uid
    after = kobo.client.get_asset(uid)
    assert after["version_id"] != before["version_id"]
    assert after["deployed_version_id"] == before["deployed_version_id"]
    assert any(row.get("name") == "city" for row in after["content"]["survey"])
    versions = kobo.client.list_versions(uid)
    assert versions[0]["uid"] == after["version_id"]  # newest first
    old = kobo.client.get_version(uid, before["version_id"])
    assert not any(row.get("name") == "city" for row in old["content"]["survey"])


# ------------------------------------------------------------------ deployment


def test_deployment_lifecycle(kobo):
    client = kobo.client
    uid = kobo.new_form("Conformance deploy")
    with pytest.raises(errors.KoboNotFound):
        client.get_deployment(uid)
    deployed = client.deploy(uid)
    assert deployed["active"] is True and deployed["backend"] == "openrosa"
    assert deployed["asset"]["has_deployment"] is True
    asset = client.get_asset(uid)
    assert asset["deployed_version_id"] == asset["version_id"] == deployed["version_id"]
    assert asset["deployment__active"] is True and asset["deployment_status"] == "deployed"
    with pytest.raises(errors.KoboMethodNotAllowed, match="Use PATCH"):
        client.deploy(uid)
    renamed = client.rename(uid, "Conformance deploy (renamed)")
    assert renamed["name"] == "Conformance deploy (renamed)"
    assert renamed["version_id"] != renamed["deployed_version_id"]  # needs a redeploy
    assert renamed["deployed_version_id"] == asset["version_id"]
    redeployed = client.redeploy(uid)
    assert redeployed["active"] is True and redeployed["version_id"] == renamed["version_id"]
    asset = client.get_asset(uid)
    assert asset["deployed_version_id"] == asset["version_id"] == renamed["version_id"]
    archived = client.archive(uid)
    assert archived["active"] is False
    asset = client.get_asset(uid)
    assert asset["deployment__active"] is False and asset["deployment_status"] == "archived"
    assert client.unarchive(uid)["active"] is True
    assert client.get_deployment(uid)["active"] is True
    assert client.get_asset(uid)["deployment_status"] == "deployed"


def test_redeploy_keeps_archived_state(kobo):
    """KPI sets ``active`` from the redeploy body: ``KpiClient.redeploy``
    sends the current state, so an archived form gets its new version
    deployed and stays archived (an open one stays open)."""
    client = kobo.client
    uid = kobo.new_form("Conformance archived redeploy", deploy=True)
    client.archive(uid)
    renamed = client.rename(uid, "Conformance archived redeploy (renamed)")
    redeployed = client.redeploy(uid)
    assert redeployed["active"] is False and redeployed["version_id"] == renamed["version_id"]
    asset = client.get_asset(uid)
    assert asset["deployed_version_id"] == asset["version_id"] == renamed["version_id"]
    assert asset["deployment__active"] is False and asset["deployment_status"] == "archived"
    assert asset["deployment__links"] == {}
    # a body without ``active`` keeps the state too; ``active`` alone only toggles it
    renamed = client.rename(uid, "Conformance archived redeploy (again)")
    answer = client._request(
        "PATCH", f"api/v2/assets/{uid}/deployment/", json={"version_id": renamed["version_id"]}
    )
    assert answer["active"] is False and answer["version_id"] == renamed["version_id"]
    assert client.unarchive(uid)["version_id"] == renamed["version_id"]
    renamed = client.rename(uid, "Conformance archived redeploy (open)")
    assert client.redeploy(uid)["active"] is True
    assert client.get_asset(uid)["deployment_status"] == "deployed"


def test_clone(kobo):
    uid = kobo.new_form("Conformance original", deploy=True)
    clone = kobo.client.clone(uid, "Conformance copy")
    kobo.keep(clone["uid"])
    assert clone["uid"] != uid and clone["name"] == "Conformance copy"
    assert clone["asset_type"] == "survey" and clone["has_deployment"] is False
    xpaths = {r.get("$xpath") for r in kobo.client.get_asset(uid)["content"]["survey"]}
    assert {r.get("$xpath") for r in clone["content"]["survey"]} == xpaths
    kobo.client.delete_asset(clone["uid"])
    with pytest.raises(errors.KoboNotFound):
        kobo.client.get_asset(clone["uid"])


# ------------------------------------------------------------------ sharing


def test_share_view_submissions(kobo):
    user = kobo.share_user
    if not user:
        pytest.skip("KOBO_SHARE_USER not set: sharing not checked")
    client = kobo.client
    uid = kobo.new_form("Conformance share", deploy=True)
    labels = {codename(p["url"]): p["label"] for p in client.assignable_permissions(uid)}
    assert labels["view_submissions"] == "View submissions"
    assert {"view_asset", "change_asset", "manage_asset", "add_submissions"} <= set(labels)

    def of_user():
        return {
            codename(r["permission"]): r
            for r in client.permission_assignments(uid)
            if r["user"].rstrip("/").endswith(f"/users/{user}")
        }

    assert of_user() == {}
    row = client.assign_permission(uid, user, "view_submissions")
    assert codename(row["permission"]) == "view_submissions"
    assert row["user"].rstrip("/").endswith(f"/api/v2/users/{user}")
    assert row["label"] == "View submissions"
    rows = of_user()
    assert set(rows) == {"view_asset", "view_submissions"}  # the implied row too
    assert rows["view_submissions"]["url"] == row["url"]
    assert client.revoke_permission(row["url"]) is None
    assert set(of_user()) == {"view_asset"}
    client.revoke_permission(codename(of_user()["view_asset"]["url"]), uid)
    assert of_user() == {}
    with pytest.raises(errors.KoboNotFound):
        client.revoke_permission(row["url"])


# ------------------------------------------------------------------ submissions


def test_submissions_paging_query_fields_sort(kobo):
    client = kobo.client
    uid, asset, instance_ids = deployed_form(kobo, "Conformance data", n=3)
    subs = list(client.iter_submissions(uid))
    assert [s["meta/instanceID"] for s in subs] == instance_ids
    ids = [s["_id"] for s in subs]
    assert ids == sorted(ids) and len(set(ids)) == 3
    first = subs[0]
    assert first["full_name"] == "Person 0" and first["age"] == "20"  # strings
    assert first["hh/size"] == "1" and first["consent"] == "yes"
    assert first["_uuid"] == instance_ids[0].removeprefix("uuid:")
    assert first["meta/rootUuid"] == instance_ids[0]
    assert "meta/deprecatedID" not in first
    assert first["formhub/uuid"] == asset["deployment__uuid"]
    assert first["__version__"] == asset["deployed_version_id"]
    assert first["_submitted_by"] == kobo.username
    assert first["_validation_status"] == {}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", first["_submission_time"])

    pages = list(client.iter_submission_pages(uid, limit=2))
    assert [(len(results), count) for results, count, _next in pages] == [(2, 3), (1, 3)]
    assert "start=2" in pages[0][2] and "limit=2" in pages[0][2] and pages[1][2] is None
    assert [s["_id"] for results, _c, _n in pages for s in results] == ids

    later = list(client.iter_submissions(uid, query={"_id": {"$gt": ids[0]}}))
    assert [s["_id"] for s in later] == ids[1:]
    yes = list(client.iter_submissions(uid, query={"consent": "yes"}))
    assert [s["_id"] for s in yes] == [ids[0], ids[2]]

    trimmed = list(client.iter_submissions(uid, fields=["full_name"]))
    assert [s["full_name"] for s in trimmed] == ["Person 0", "Person 1", "Person 2"]
    assert all(SYSTEM_FIELDS <= set(s) and "age" not in s for s in trimmed)

    newest_first = list(client.iter_submissions(uid, sort={"_id": -1}))
    assert [s["_id"] for s in newest_first] == ids[::-1]
    assert client.get_submission(uid, ids[1])["full_name"] == "Person 1"
    with pytest.raises(errors.KoboBadRequest, match="query"):
        list(client.iter_submissions(uid, query="{not json"))


def test_pages_from_an_offset_overlap_the_page_before(kobo):
    """The import fetches pages side by side: page j of ``_id > cursor`` from
    its (j * limit - 1)-th result, whose first submission is the last of page
    j - 1 (kobo_form_sync._prefetch_new)."""
    client = kobo.client
    uid, _asset, _ids = deployed_form(kobo, "Conformance pages", n=5)
    ids = [s["_id"] for s in client.iter_submissions(uid, fields=["_id"])]

    def page(start, limit):
        pages = client.iter_submission_pages(
            uid,
            query={"_id": {"$gt": ids[0]}},
            fields=["_id"],
            sort={"_id": 1},
            limit=limit,
            start=start,
        )
        results, count, _next = next(pages)
        pages.close()
        return [r["_id"] for r in results], count

    assert page(0, 2) == (ids[1:3], 4)
    assert page(1, 3) == (ids[2:5], 4), "page 1 starts with the last of page 0"
    assert page(3, 3) == (ids[4:5], 4)


def test_edit_submission(kobo):
    client = kobo.client
    uid, _asset, instance_ids = deployed_form(kobo, "Conformance edit", n=2)
    sid = next(
        s["_id"] for s in client.iter_submissions(uid) if s["meta/instanceID"] == instance_ids[1]
    )
    before = client.get_submission(uid, sid)
    new_id = kobo.submit(
        uid,
        {"full_name": "Person 1 (edited)", "age": "42", "consent": "no", "hh/size": "5"},
        deprecated_id=instance_ids[1],
    )
    after = client.get_submission(uid, sid)
    assert after["_id"] == sid and after["full_name"] == "Person 1 (edited)"
    assert after["_uuid"] == new_id.removeprefix("uuid:") != before["_uuid"]
    assert after["meta/instanceID"] == new_id
    assert after["meta/rootUuid"] == before["meta/rootUuid"] == instance_ids[1]
    assert after["meta/deprecatedID"] == instance_ids[1]
    assert after["_submission_time"] == before["_submission_time"]
    edited = list(client.iter_submissions(uid, query={"meta/deprecatedID": {"$exists": True}}))
    assert [s["_id"] for s in edited] == [sid]
    assert len(list(client.iter_submissions(uid))) == 2


def test_submissions_by_ids_and_changes_listing(kobo):
    """The engine's queries: ``_id $in`` (by ids, short URLs), and the
    changes listing (edited, or submitted lately) keyset-paged on ``_id``."""
    client = kobo.client
    uid, _asset, instance_ids = deployed_form(kobo, "Conformance by ids", n=3)
    subs = list(client.iter_submissions(uid))
    ids = [s["_id"] for s in subs]
    found = list(client.iter_submissions_by_ids(uid, [ids[2], ids[0], 10**9], fields=["_id"]))
    assert [s["_id"] for s in found] == [ids[0], ids[2]]
    assert all(SYSTEM_FIELDS <= set(s) and "full_name" not in s for s in found)
    kobo.submit(
        uid,
        {"full_name": "Person 1 (edited)", "age": "42", "consent": "no", "hh/size": "5"},
        deprecated_id=instance_ids[1],
    )
    edited = {"meta/deprecatedID": {"$exists": True}}
    listing = {"_id": {"$gt": ids[0]}, **edited}
    assert [s["_id"] for s in client.iter_submissions(uid, query=listing)] == [ids[1]]
    since = min(s["_submission_time"] for s in subs)
    recent = {"_submission_time": {"$gte": since}}
    query = {"_id": {"$gt": ids[0]}, "$or": [edited, recent]}
    changes = list(
        client.iter_submissions(uid, query=query, fields=["_id", "_uuid"], sort={"_id": 1})
    )
    assert [s["_id"] for s in changes] == ids[1:]
    future = {"_submission_time": {"$gte": "2999-01-01T00:00:00"}}
    query = {"_id": {"$gt": 0}, "$or": [edited, future]}
    assert [s["_id"] for s in client.iter_submissions(uid, query=query)] == [ids[1]]


def test_validation_status(kobo):
    client = kobo.client
    uid, _asset, _ids = deployed_form(kobo, "Conformance validation", n=1)
    sid = next(client.iter_submissions(uid))["_id"]
    assert client.get_validation_status(uid, sid) == {}
    status = client.set_validation_status(uid, sid, "validation_status_approved")
    assert status["uid"] == "validation_status_approved" and status["label"] == "Approved"
    assert status["by_whom"] == kobo.username and isinstance(status["timestamp"], int)
    assert client.get_validation_status(uid, sid)["uid"] == "validation_status_approved"
    approved = list(
        client.iter_submissions(uid, query={"_validation_status.uid": "validation_status_approved"})
    )
    assert [s["_id"] for s in approved] == [sid]
    with pytest.raises(errors.KoboBadRequest, match="Invalid validation status"):
        client.set_validation_status(uid, sid, "validation_status_bogus")
    assert client.set_validation_status(uid, sid, None) == {}
    assert client.get_validation_status(uid, sid) == {}


# ------------------------------------------------------------------ hooks


def test_rest_service_delivery(kobo):
    client = kobo.client
    uid, _asset, _ids = deployed_form(kobo, "Conformance hooks")
    with HookListener() as listener:
        path = f"/hook/{uid}"
        hook = client.create_hook(
            uid,
            "Conformance",
            f"http://127.0.0.1:{listener.port}{path}",
            custom_headers={"X-Conformance": "yes"},
        )
        assert hook["uid"].startswith("h") and hook["active"] is True
        assert hook["export_type"] == "json" and hook["auth_level"] == "no_auth"
        assert [h["uid"] for h in client.list_hooks(uid)] == [hook["uid"]]
        instance_id = kobo.submit(uid, {"full_name": "Hooked", "age": "7", "consent": "yes"})
        posts = wait_for(lambda: listener.posts(path), HOOK_WAIT)
        assert len(posts) == 1, f"no REST service POST within {HOOK_WAIT} s"
        headers, body = posts[0]
        assert body["full_name"] == "Hooked" and body["meta/instanceID"] == instance_id
        assert isinstance(body["_id"], int) and body["_submitted_by"] == kobo.username
        assert headers.get("X-Conformance") == "yes"
        assert headers.get("Content-Type", "").startswith("application/json")
        assert re.fullmatch(
            rf"KoboToolbox external service (- \S+ )?#{hook['uid']}", headers.get("User-Agent")
        )
        logs = wait_for(
            lambda: [x for x in client.hook_logs(uid, hook["uid"]) if x["status"] == 2], HOOK_WAIT
        )
        assert len(logs) == 1 and logs[0]["submission_id"] == body["_id"]
        assert logs[0]["status_code"] == 200 and logs[0]["status_str"] == "success"
        assert client.list_hooks(uid)[0]["success_count"] == 1
        client.delete_hook(uid, hook["uid"])
        assert client.list_hooks(uid) == []


def test_logs_of_deleted_hook(kobo):
    """KPI filters logs by hook uid without looking the hook up: the logs of
    a deleted (or unknown) hook are an empty page, not a 404."""
    uid = kobo.new_form("Conformance hook logs", deploy=True)
    hook = kobo.client.create_hook(uid, "Deleted", "https://odoo.example.org/kobo/hook")
    kobo.client.delete_hook(uid, hook["uid"])
    with pytest.raises(errors.KoboNotFound):
        kobo.client.delete_hook(uid, hook["uid"])
    assert kobo.client.hook_logs(uid, hook["uid"]) == []
    assert kobo.client.hook_logs(uid, "h" + "0" * 21) == []


# ------------------------------------------------------------------ errors


def test_unknown_asset_404(kobo):
    with pytest.raises(errors.KoboNotFound) as info:
        kobo.client.get_asset(UNKNOWN_ASSET)
    assert info.value.status == 404 and info.value.message == "Not found."
    with pytest.raises(errors.KoboNotFound):
        list(kobo.client.iter_submissions(UNKNOWN_ASSET))


def test_api_v1_gone_410(kobo):
    for path in ("api/v1/", "api/v1/data/"):
        with pytest.raises(errors.KoboGone, match="The V1 API has been removed") as info:
            kobo.client._request("GET", path)
        assert info.value.status == 410
    assert kobo.client.has_api_v1() is False


def test_xform_and_id_string(kobo):
    """An import seeds ``content.settings.id_string`` from ``name``; the XForm
    (``/api/v2/assets/<uid>.xml``) names its primary instance after the asset
    uid with that id_string as ``id``; submissions carry it as
    ``_xform_id_string``."""
    uid = kobo.new_form("Conformance xform v1.5", deploy=True)
    id_string = kobo.client.get_asset(uid)["content"]["settings"].get("id_string")
    assert id_string == "Conformance_xform_v1_5"
    resp = kobo.get(f"api/v2/assets/{uid}.xml")
    assert resp.headers["Content-Type"].startswith("application/xml")
    assert resp.headers["Content-Disposition"] == f"attachment; filename={uid}.xml"
    root = ET.fromstring(resp.content)
    assert root.findtext(f"{H}head/{H}title") == "Conformance xform v1.5"
    main = root.find(f"{H}head/{X}model/{X}instance")[0]
    assert (main.tag, main.get("id"), main.get("version")) == (f"{X}{uid}", id_string, None)
    assert [child.tag.removeprefix(X) for child in main] == [
        "full_name",
        "age",
        "consent",
        "hh",
        "meta",
    ]
    assert main.find(f"{X}hh/{X}size") is not None
    assert main.find(f"{X}meta/{X}instanceID") is not None
    kobo.submit(uid, {"full_name": "Form id"})
    assert next(kobo.client.iter_submissions(uid))["_xform_id_string"] == id_string
    # names: ASCII letters, digits and _ only, no trailing _, no leading digit
    for name, expected in (("123 start", "_123_start"), ("Ünï - x/y (z)", "_n_x_y_z")):
        other = kobo.new_form(name)
        assert kobo.client.get_asset(other)["content"]["settings"] == {"id_string": expected}


def test_xform_of_draft_and_replaced_form(kobo):
    """The XForm is built from the current content, deployed or not; a
    replace keeps the asset name (a form_title aside) and drops id_string,
    whose XForm then takes the uid as ``id``."""
    uid = kobo.new_form("Conformance draft xform")
    assert kobo.xform(uid) == (uid, "Conformance_draft_xform", None)
    kobo.client.deploy(uid)
    kobo.import_xlsform(XLSFORM_V2, destination_uid=uid, name="Conformance other name")
    asset = kobo.client.get_asset(uid)
    assert asset["name"] == "Conformance draft xform"
    assert asset["content"]["settings"] == {}
    assert kobo.xform(uid) == (uid, uid, None)


def test_submission_form_lookup(kobo):
    """``/submission`` finds the form by formhub/uuid or by an ``id`` that
    is the asset uid (not the id_string); ``_xform_id_string`` is the
    instance's ``id`` as sent; the reply's ``id`` is the asset uid."""
    uid = kobo.new_form("Conformance lookup", deploy=True)
    asset = kobo.client.get_asset(uid, exclude=("content", "analysis_form_json"))
    version, formhub = asset["deployed_version_id"], asset["deployment__uuid"]
    reply = kobo.post_instance(uid, uid, version, None)
    assert reply.status_code == 201 and f'id="{uid}"' in reply.text
    reply = kobo.post_instance("elsewhere", uid, version, formhub)
    assert reply.status_code == 201 and f'id="{uid}"' in reply.text
    reply = kobo.post_instance("Conformance_lookup", uid, version, None)
    assert reply.status_code == 404
    found = [s["_xform_id_string"] for s in kobo.client.iter_submissions(uid)]
    assert found == [uid, "elsewhere"]


# ------------------------------------------------------------------ issue 12


def test_validation_statuses_in_bulk(kobo):
    """The after-import write-back: one call for several submissions; an id
    that is not the form's refuses the whole call."""
    client = kobo.client
    uid, _asset, _ids = deployed_form(kobo, "Conformance bulk validation", n=3)
    sids = sorted(s["_id"] for s in client.iter_submissions(uid))
    answer = client.set_validation_statuses(uid, sids[:2], "validation_status_approved")
    assert answer == {"detail": "2 submissions have been updated"}
    statuses = {s["_id"]: s["_validation_status"] for s in client.iter_submissions(uid)}
    assert [statuses[sid].get("uid") for sid in sids] == [
        "validation_status_approved",
        "validation_status_approved",
        None,
    ]
    assert statuses[sids[0]]["by_whom"] == kobo.username
    with pytest.raises(errors.KoboBadRequest):
        client.set_validation_statuses(uid, [sids[2], 10**9], "validation_status_on_hold")
    assert client.get_validation_status(uid, sids[2]) == {}
    client.set_validation_statuses(uid, sids[:1], "")  # clears
    assert client.get_validation_status(uid, sids[0]) == {}


def test_status_changes_paged_with_a_tie_break(kobo):
    """The approval gate's query: status changes keyset-paged on (timestamp,
    _id), a bulk change stamped with one second read whole; a cleared status
    matches nothing."""
    client = kobo.client
    uid, _asset, _ids = deployed_form(kobo, "Conformance approvals", n=5)
    sids = sorted(s["_id"] for s in client.iter_submissions(uid))
    client.set_validation_statuses(uid, sids[:4], "validation_status_approved")
    client.set_validation_statuses(uid, sids[4:], "validation_status_not_approved")
    stamps = {s["_id"]: s["_validation_status"] for s in client.iter_submissions(uid)}
    assert all(isinstance(stamps[sid]["timestamp"], int) for sid in sids)
    seen, cursor, requests = [], (0, 0), 0
    while True:
        page = next(client.iter_submission_pages(uid, **changes_query(*cursor, 2)))
        results, _count, _nxt = page
        requests += 1
        seen += [s["_id"] for s in results]
        if not results:
            break
        cursor = max(change_key(s) for s in results)
        if len(results) < 2:
            break
    expected = sorted(sids, key=lambda sid: (stamps[sid]["timestamp"], sid))
    assert seen == expected
    assert requests <= 4
    client.set_validation_statuses(uid, sids[:1], "")  # cleared: {}
    after = [s["_id"] for s in client.iter_submissions(uid, **changes_query(0, 0, 30))]
    assert sids[0] not in after and sorted(after) == sids[1:]


# ------------------------------------------------------------------ form life cycle


def test_user_lookup(kobo):
    """``users/<username>/`` answers any authenticated user; unknown → 404."""
    me = kobo.client.get_user(kobo.username)
    assert me["username"] == kobo.username
    assert me["url"].rstrip("/").endswith(f"/api/v2/users/{kobo.username}")
    assert set(me) >= {"url", "username", "date_joined"}
    with pytest.raises(errors.KoboNotFound):
        kobo.client.get_user("no-such-user-" + "x" * 12)


def test_partial_submissions_and_owner_refusals(kobo):
    user = kobo.share_user
    if not user:
        pytest.skip("KOBO_SHARE_USER not set: partial permissions not checked")
    client = kobo.client
    uid = kobo.new_form("Conformance partial", deploy=True)
    assignable = {codename(p["url"]) for p in client.assignable_permissions(uid)}
    assert "partial_submissions" in assignable and "discover_asset" not in assignable
    row = client.assign_partial_submissions(
        uid, user, ["view_submissions", "change_submissions"], [user, kobo.username]
    )
    assert codename(row["permission"]) == "partial_submissions"
    assert row["label"]["default"] == "Act on submissions only from specific users"
    partial = {codename(p["url"]): p["filters"] for p in row["partial_permissions"]}
    flt = [{"_submitted_by": {"$in": [user, kobo.username]}}]
    assert partial["view_submissions"] == flt and partial["change_submissions"] == flt
    listed = [
        r
        for r in client.permission_assignments(uid)
        if r["user"].rstrip("/").endswith(f"/users/{user}")
    ]
    assert "partial_submissions" in {codename(r["permission"]) for r in listed}
    with pytest.raises(errors.KoboBadRequest, match="cannot be assigned explicitly"):
        client.assign_permission(uid, user, "discover_asset")
    with pytest.raises(errors.KoboBadRequest, match="Owner's permissions cannot be assigned"):
        client.assign_permission(uid, kobo.username, "view_submissions")
    owner_row = next(
        r
        for r in client.permission_assignments(uid)
        if r["user"].rstrip("/").endswith(f"/users/{kobo.username}")
    )
    with pytest.raises(errors.KoboConflict, match="Owner's permissions cannot be deleted"):
        client.revoke_permission(owner_row["url"])
    with pytest.raises(errors.KoboBadRequest, match="Invalid hyperlink"):
        client.assign_permission(uid, "no-such-user-" + "x" * 12, "view_asset")


def test_hook_patch_xml_retry(kobo):
    client = kobo.client
    uid = kobo.new_form("Conformance hook retry", deploy=True)
    with HookListener() as listener:
        closed = listener.port  # closed again below: deliveries to it fail
    hook = client.create_hook(
        uid,
        "Retry",
        f"http://127.0.0.1:{closed}/down",
        export_type="xml",
        auth=("odoo", "pw-in-clear"),
        subset_fields=["full_name"],
    )
    assert hook["export_type"] == "xml" and hook["auth_level"] == "basic_auth"
    assert hook["settings"]["password"] == "pw-in-clear"  # KPI echoes it: keep no copy
    assert hook["subset_fields"] == ["full_name"]
    assert client.retry_hook(uid, hook["uid"]) == {
        "detail": "No data to retry",
        "pending_uids": [],
    }  # 304: nothing failed yet
    kobo.submit(uid, {"full_name": "Undelivered"})
    failed = wait_for(lambda: client.hook_logs(uid, hook["uid"], status=0), HOOK_WAIT)
    assert len(failed) == 1 and failed[0]["status_str"] == "failed"
    last = client.last_hook_failure(uid, hook["uid"])
    assert last["uid"] == failed[0]["uid"] and last["status"] == 0
    assert client.get_hook(uid, hook["uid"])["failed_count"] == 1
    off = client.set_hook_active(uid, hook["uid"], False)
    assert off["active"] is False and off["name"] == "Retry"
    with pytest.raises(errors.KoboBadRequest, match="Cannot retry on disabled hooks"):
        client.retry_hook(uid, hook["uid"])
    assert client.set_hook_active(uid, hook["uid"], True)["active"] is True
    answer = client.retry_hook(uid, hook["uid"])
    assert answer["detail"] == "Task successfully scheduled"
    assert answer["pending_uids"] == [failed[0]["uid"]]
    # the same log is delivered again (no new log), and ends failed again
    retried = wait_for(
        lambda: [x for x in client.hook_logs(uid, hook["uid"]) if x["status"] != 1], HOOK_WAIT
    )
    assert [x["uid"] for x in retried] == [failed[0]["uid"]]
    assert retried[0]["status"] == 0
    client.delete_hook(uid, hook["uid"])


def test_delete_moves_to_trash(kobo):
    uid = kobo.new_form("Conformance trash")
    assert kobo.client.delete_asset(uid) is None
    with pytest.raises(errors.KoboNotFound):
        kobo.client.get_asset(uid)
    assert uid not in {a["uid"] for a in kobo.client.iter_surveys()}
    if kobo.fake:
        assert uid in kobo.fake.store.trash


# ------------------------------------------------------------------ form media (issue 13)

MEDIA_XLSFORM = build_xlsform(
    [
        {"type": "select_one_from_file products.csv", "name": "product", "label": "Product"},
        {"type": "text", "name": "note", "label": "Note"},
    ]
)
MEDIA_WAIT = float(os.environ.get("KOBO_MEDIA_SYNC_WAIT", "60"))


def test_form_media_upload_replace_delete(kobo):
    """Asset files: upload (``description`` required), one live file per
    name, no update (replace = delete then upload), content served back."""
    client = kobo.client
    uid = kobo.new_form("Conformance media", xlsform=MEDIA_XLSFORM)
    assert client.list_media(uid) == []
    data = "name,label\r\nP1,Savon d'Alep é\r\n".encode()
    media = client.upload_media(uid, "products.csv", data, "From Odoo")
    assert media["file_type"] == "form_media" and media["description"] == "From Odoo"
    assert media["metadata"]["filename"] == "products.csv"
    assert media["metadata"]["hash"] == "md5:" + __import__("hashlib").md5(data).hexdigest()
    assert media["metadata"]["mimetype"] == "text/csv"
    assert media["user__username"] == kobo.username
    assert [m["uid"] for m in client.list_media(uid)] == [media["uid"]]
    files = client.get_asset(uid, exclude=("content",))["files"]
    assert [f["uid"] for f in files] == [media["uid"]]
    assert client.media_content(uid, media["uid"]) == data
    with pytest.raises(errors.KoboBadRequest, match="File already exists"):
        client.upload_media(uid, "products.csv", b"name,label\r\n", "again")
    with pytest.raises(errors.KoboBadRequest, match="description"):
        client._request(
            "POST",
            f"api/v2/assets/{uid}/files/",
            json={
                "file_type": "form_media",
                "base64Encoded": "data:text/csv;base64,bmFtZQ==",
                "metadata": {"filename": "x.csv"},
            },
        )
    client.delete_media(uid, media["uid"])
    assert client.list_media(uid) == []
    with pytest.raises(errors.KoboNotFound):
        client.delete_media(uid, media["uid"])
    again = client.upload_media(uid, "products.csv", b"name,label\r\nP2,Rice\r\n", "From Odoo")
    assert again["uid"] != media["uid"]
    assert client.media_content(uid, again["uid"]) == b"name,label\r\nP2,Rice\r\n"


def test_form_media_reaches_collectors_by_redeploy(kobo):
    """Collectors get media through a deploy: KPI accepts redeploying the
    same version, then syncs the files to the deployed form's manifest (on
    a real KPI by a celery task: polled)."""
    client = kobo.client
    uid = kobo.new_form("Conformance media redeploy", xlsform=MEDIA_XLSFORM, deploy=True)
    assert client.collector_media(uid) == []
    before = client.get_asset(uid, exclude=("content",))
    data = b"name,label\r\nP1,Soap\r\n"
    client.upload_media(uid, "products.csv", data, "From Odoo")
    assert client.collector_media(uid) == []  # not before a deploy
    redeployed = client.redeploy_media(uid)
    assert redeployed["version_id"] == before["version_id"] == before["deployed_version_id"]
    assert redeployed["active"] is True
    listed = wait_for(lambda: client.collector_media(uid), MEDIA_WAIT, interval=1)
    assert [m["filename"] for m in listed] == ["products.csv"], (
        f"the manifest did not list the file within {MEDIA_WAIT:.0f} s (KPI syncs form media "
        "with a celery task: is a worker running?)"
    )
    assert listed[0]["hash"] == "md5:" + __import__("hashlib").md5(data).hexdigest()
    download = kobo.get(listed[0]["downloadUrl"].split("/", 3)[3])
    assert download.status_code == 200 and download.content == data
    # a form with undeployed changes is not redeployed for its media
    client.rename(uid, "Conformance media redeploy (renamed)")
    with pytest.raises(errors.KoboConflict, match="not deployed"):
        client.redeploy_media(uid)
    client.archive(uid)
    assert client.collector_media(uid) is None
