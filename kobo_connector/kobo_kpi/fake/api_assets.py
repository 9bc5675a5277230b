"""Route handlers: token, users, permissions, assets, versions, deployment,
permission assignments, imports. Each handler is ``(fake, req, **groups)``
and runs under the store lock."""

import base64
import hashlib
import json
import re
from urllib.parse import urlsplit

from . import permissions as perms
from .store import ASSET_TYPES, iso, iso_seconds, seed_id_string, utcnow
from .wire import (
    FORBIDDEN,
    NO_CREDENTIALS,
    NOT_FOUND,
    Response,
    error,
    json_response,
    paginate,
    route,
)
from .xform import build_xform
from .xlsform import content_to_xlsform, read_xlsform, summarize

UID = r"(?P<uid>a[A-Za-z0-9]{21})"
REQUIRED = ["This field is required."]
BAD_LINK = ["Invalid hyperlink - Object does not exist."]


def require_user(req):
    if req.user is None:
        raise error(401, NO_CREDENTIALS)
    return req.user


def get_asset(fake, req, uid, need="view_asset"):
    """KPI hides assets the caller can't view (404); other rights → 403."""
    store = fake.store
    asset = store.assets.get(uid)
    if asset is None or not store.has_perm(asset, req.username, "view_asset"):
        raise error(404, NOT_FOUND)
    for code in [need] if isinstance(need, str) else need:
        if not store.has_perm(asset, req.username, code):
            raise error(403, FORBIDDEN)
    return asset


def as_bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def json_field(value):
    """JSON-typed fields accept an object or a JSON-encoded string."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# ------------------------------------------------------------------ users


@route(r"/token/", "GET", "POST")
def token(fake, req):
    return json_response(200, {"token": require_user(req).token})


@route(r"/me/", "GET")
def me(fake, req):
    user = require_user(req)
    org = "org" + hashlib.md5(user.username.encode()).hexdigest()[:21]
    return json_response(
        200,
        {
            "username": user.username,
            "first_name": "",
            "last_name": "",
            "email": user.email,
            "is_superuser": user.superuser,
            "server_time": iso_seconds(utcnow()),
            "date_joined": iso_seconds(user.date_joined),
            "projects_url": f"{req.base}/{user.username}",
            "gravatar": "https://www.gravatar.com/avatar/"
            + hashlib.md5(user.email.encode()).hexdigest()
            + "?s=40",
            "last_login": None,
            "extra_details": {"name": "", "organization": "", "require_auth": True},
            # superusers see the build (all False on a plain install)
            "git_rev": dict.fromkeys(("short", "long", "branch", "tag"), False)
            if user.superuser
            else False,
            "social_accounts": [],
            "validated_password": True,
            "accepted_tos": False,
            "organization": {
                "url": req.link(f"/api/v2/organizations/{org}/"),
                "name": f"{user.username}'s organization",
                "uid": org,
            },
            "extra_details__uid": "u" + hashlib.md5(user.token.encode()).hexdigest()[:21],
        },
    )


@route(r"/api/v2/", "GET")
def api_root(fake, req):
    names = ["assets", "imports", "permissions", "users"]
    return json_response(200, {n: req.link(f"/api/v2/{n}/") for n in names})


@route(r"/api/v2/users/", "GET")
def users_list(fake, req):
    if not require_user(req).superuser:
        raise error(403, FORBIDDEN)
    rows = [
        {
            "id": i,
            "username": u.username,
            "is_superuser": u.superuser,
            "date_joined": iso_seconds(u.date_joined),
            "last_login": None,
            "is_active": True,
            "email": u.email,
            "asset_count": sum(a.owner == u.username for a in fake.store.assets.values()),
            "metadata": {"name": "", "organization": ""},
        }
        for i, u in enumerate(fake.store.users.values(), 1)
    ]
    return json_response(200, paginate(req, rows, fake.page_size_default, fake.page_size_max))


@route(r"/api/v2/users/(?P<username>[^/]+)/", "GET")
def user_detail(fake, req, username):
    require_user(req)
    user = fake.store.users.get(username)
    if user is None:
        raise error(404, NOT_FOUND)
    return json_response(
        200,
        {
            "url": req.link(f"/api/v2/users/{username}/"),
            "username": username,
            "date_joined": iso_seconds(user.date_joined),
            "public_collection_subscribers_count": 0,
            "public_collections_count": 0,
        },
    )


# ------------------------------------------------------------------ permissions


def permission_json(req, codename):
    name, implied, contradictory = perms.PERMISSIONS[codename]
    return {
        "url": req.link(f"/api/v2/permissions/{codename}/"),
        "codename": codename,
        "implied": [req.link(f"/api/v2/permissions/{c}/") for c in implied],
        "contradictory": [req.link(f"/api/v2/permissions/{c}/") for c in contradictory],
        "name": name,
    }


@route(r"/api/v2/permissions/", "GET")
def permissions_list(fake, req):
    rows = [permission_json(req, c) for c in perms.PERMISSIONS]
    return json_response(200, paginate(req, rows, fake.page_size_default, fake.page_size_max))


@route(r"/api/v2/permissions/(?P<codename>\w+)/", "GET")
def permission_detail(fake, req, codename):
    if codename not in perms.PERMISSIONS:
        raise error(404, NOT_FOUND)
    return json_response(200, permission_json(req, codename))


def assignment_json(req, asset, row):
    out = {
        "url": req.link(f"/api/v2/assets/{asset.uid}/permission-assignments/{row['uid']}/"),
        "user": req.link(f"/api/v2/users/{row['user']}/"),
        "permission": req.link(f"/api/v2/permissions/{row['codename']}/"),
    }
    if row["partial"]:
        out["partial_permissions"] = [
            {"url": req.base + urlsplit(p["url"]).path, "filters": p["filters"]}
            for p in row["partial"]
        ]
    out["label"] = perms.LABELS.get(row["codename"], row["codename"])
    return out


def visible_assignments(fake, req, asset):
    rows = fake.store.all_assignments(asset)
    if not fake.store.has_perm(asset, req.username, "manage_asset"):
        rows = [r for r in rows if r["user"] in (req.username, asset.owner)]
    return [assignment_json(req, asset, r) for r in rows]


def parse_assignment(fake, asset, body):
    """Validate one ``{user, permission[, partial_permissions]}``; return
    ``(username, codename, partial)`` or raise KPI's 400 bodies."""
    if not isinstance(body, dict):
        raise error(400, {"non_field_errors": ["Invalid data. Expected a dictionary."]})
    errors = {k: REQUIRED for k in ("user", "permission") if not body.get(k)}
    if errors:
        raise error(400, errors)
    user = re.search(r"/api/v2/users/([^/]+)/?$", urlsplit(str(body["user"])).path)
    if not user or user.group(1) not in fake.store.users:
        errors["user"] = BAD_LINK
    code = re.search(r"/api/v2/permissions/(\w+)/?$", urlsplit(str(body["permission"])).path)
    if not code or code.group(1) not in perms.PERMISSIONS:
        errors["permission"] = BAD_LINK
    if errors:
        raise error(400, errors)
    username, codename = user.group(1), code.group(1)
    if codename not in perms.assignable(asset.asset_type):
        raise error(
            400,
            {
                "permission": [
                    f"{codename} cannot be assigned explicitly to Asset objects of this type."
                ]
            },
        )
    if username == asset.owner:
        raise error(400, {"user": "Owner's permissions cannot be assigned explicitly"})
    partial = None
    if codename == "partial_submissions":
        partial = [
            {"url": urlsplit(str(p.get("url", ""))).path, "filters": p.get("filters", [])}
            for p in json_field(body.get("partial_permissions")) or []
        ]
    return username, codename, partial


@route(rf"/api/v2/assets/{UID}/permission-assignments/", "GET", "POST")
def assignments(fake, req, uid):
    if req.method == "GET":
        asset = get_asset(fake, req, uid)
        return json_response(200, visible_assignments(fake, req, asset))
    asset = get_asset(fake, req, uid, "manage_asset")
    username, codename, partial = parse_assignment(fake, asset, req.data())
    row = fake.store.grant(asset, username, codename, partial)
    return json_response(201, assignment_json(req, asset, row))


@route(rf"/api/v2/assets/{UID}/permission-assignments/bulk/", "POST", "DELETE")
def assignments_bulk(fake, req, uid):
    store = fake.store
    if req.method == "DELETE":
        asset = get_asset(fake, req, uid)
        username = (req.data() or {}).get("username") if isinstance(req.data(), dict) else None
        if not username:
            raise error(400, {"username": "This field is required"})
        if username == asset.owner:
            raise error(409, {"detail": "Owner's permissions cannot be deleted"})
        if username != req.username and not store.has_perm(asset, req.username, "manage_asset"):
            raise error(403, FORBIDDEN)
        store.revoke(asset, username, "view_asset")
        return Response(204, content_type=None)
    asset = get_asset(fake, req, uid, "manage_asset")
    body = json_field(req.data())
    if not isinstance(body, list):
        raise error(400, {"non_field_errors": ['Expected a list of items but got type "dict".']})
    wanted = [parse_assignment(fake, asset, item) for item in body]
    keep = set()
    for username, codename, _partial in wanted:
        keep |= {(username, c) for c in perms.with_implied(codename)}
    asset.assignments[:] = [a for a in asset.assignments if (a["user"], a["codename"]) in keep]
    for username, codename, partial in wanted:
        store.grant(asset, username, codename, partial)
    return json_response(200, visible_assignments(fake, req, asset))


@route(rf"/api/v2/assets/{UID}/permission-assignments/(?P<puid>p\w+)/", "GET", "DELETE")
def assignment_detail(fake, req, uid, puid):
    asset = get_asset(fake, req, uid)
    rows = fake.store.all_assignments(asset)
    row = next((r for r in rows if r["uid"] == puid), None)
    if row is None:
        raise error(404, {"detail": "No ObjectPermission matches the given query."})
    if req.method == "GET":
        return json_response(200, assignment_json(req, asset, row))
    if row["user"] == asset.owner:
        raise error(409, {"detail": "Owner's permissions cannot be deleted"})
    if row["user"] != req.username and not fake.store.has_perm(asset, req.username, "manage_asset"):
        raise error(403, FORBIDDEN)
    fake.store.revoke(asset, row["user"], row["codename"])
    return Response(204, content_type=None)


# ------------------------------------------------------------------ assets


def version_numbers(asset):
    numbers, major, minor = {}, 0, 0
    for version in asset.versions:
        if version.deployed:
            major, minor = major + 1, 0
            numbers[version.uid] = str(major)
        else:
            minor += 1
            numbers[version.uid] = f"{major}.{minor}"
    return numbers


def version_json(req, asset, version, numbers, content=False):
    out = {
        "uid": version.uid,
        "url": req.link(f"/api/v2/assets/{asset.uid}/versions/{version.uid}/"),
        "content_hash": version.content_hash,
        "date_deployed": iso(version.date) if version.deployed else False,
        "date_modified": iso(version.date),
        "version_number": numbers[version.uid],
    }
    if content:
        out["content"] = version.content
    return out


def deployment_links(req, asset):
    if not (asset.has_deployment and asset.active):
        return {}
    enketo = f"{req.base}/enketo"
    kinds = (
        "url",
        "single_url",
        "single_once_url",
        "offline_url",
        "preview_url",
        "iframe_url",
        "single_iframe_url",
        "single_once_iframe_url",
    )
    return {k: f"{enketo}/{k.removesuffix('_url') or 'x'}/{asset.uid}" for k in kinds}


def media_files(req, asset):
    from .api_media import files_json

    return files_json(req, asset)


def asset_json(fake, req, asset, full=True):
    store, uid, base = fake.store, asset.uid, f"/api/v2/assets/{asset.uid}"
    user_perms = store.user_perms(asset, req.username)
    count = len(asset.submissions) if asset.has_deployment else 0
    if "view_submissions" not in user_perms:
        count = None
    numbers = version_numbers(asset)
    deployed = [v for v in reversed(asset.versions) if v.deployed]
    rows = store.all_assignments(asset)
    if "manage_asset" not in user_perms:
        rows = [r for r in rows if r["user"] in (req.username, asset.owner)]
    status = "shared" if asset.assignments else "private"
    out = {
        "url": req.link(f"{base}/"),
        "owner": req.link(f"/api/v2/users/{asset.owner}/"),
        "owner__username": asset.owner,
        "parent": None,
        "settings": asset.settings,
        "asset_type": asset.asset_type,
        "files": media_files(req, asset),
        "summary": summarize(asset.content),
        "date_created": iso(asset.date_created),
        "date_modified": iso(asset.date_modified),
        "date_deployed": iso(asset.date_deployed) if asset.date_deployed else None,
        "version_id": asset.version_id,
        "version__content_hash": asset.versions[-1].content_hash,
        "version_count": len(asset.versions),
        "has_deployment": asset.has_deployment,
        "deployed_version_id": asset.deployed_version_id,
        "deployed_versions": {
            "count": len(deployed),
            "next": None,
            "previous": None,
            "results": [version_json(req, asset, v, numbers) for v in deployed[:100]],
        },
        "deployment__links": deployment_links(req, asset),
        "deployment__active": asset.has_deployment and asset.active,
        "deployment__data_download_links": {
            "xls_legacy": f"{req.base}/{asset.owner}/exports/{uid}/xls/",
            "csv_legacy": f"{req.base}/{asset.owner}/exports/{uid}/csv/",
            "zip_legacy": f"{req.base}/{asset.owner}/exports/{uid}/zip/",
            "xls": f"{req.base}/{asset.owner}/reports/{uid}/export.xlsx",
            "csv": f"{req.base}/{asset.owner}/reports/{uid}/export.csv",
        }
        if asset.has_deployment
        else {},
        "deployment__submission_count": count,
        "deployment__last_submission_time": iso(asset.last_submission)
        if asset.last_submission
        else None,
        "deployment__encrypted": False,
        "deployment__uuid": asset.deployment_uuid,
        "deployment_status": asset.deployment_status,
        "report_styles": {"default": {}, "specified": {}, "kuid_names": {}},
        "report_custom": {},
        "advanced_features": {},
        "map_styles": {},
        "map_custom": {},
        "content": asset.content,
        "downloads": [
            {"format": "xls", "url": f"{req.base}{base}.xls"},
            {"format": "xml", "url": f"{req.base}{base}.xml"},
        ],
        "embeds": [
            {"format": "xls", "url": req.link(f"{base}/xls/")},
            {"format": "xform", "url": req.link(f"{base}/xform/")},
        ],
        "analysis_form_json": {"additional_fields": []},
        "xform_link": req.link(f"{base}/xform/"),
        "hooks_link": req.link(f"{base}/hooks/"),
        "tag_string": "",
        "uid": uid,
        "kind": "asset",
        "xls_link": req.link(f"{base}/xls/"),
        "name": asset.name,
        "assignable_permissions": [
            {"url": req.link(f"/api/v2/permissions/{c}/"), "label": perms.LABELS[c]}
            for c in perms.assignable(asset.asset_type)
        ],
        "permissions": [assignment_json(req, asset, r) for r in rows],
        "effective_permissions": [{"codename": c} for c in sorted(user_perms)],
        "exports": req.link(f"{base}/exports/"),
        "export_settings": [],
        "data": req.link(f"{base}/data/"),
        "children": {"count": 0},
        "subscribers_count": 0,
        "status": status,
        "access_types": None,
        "data_sharing": {},
        "paired_data": req.link(f"{base}/paired-data/"),
        "project_ownership": None,
        "owner_label": asset.owner,
        "last_modified_by": asset.owner,
        "created_by": asset.owner,
    }
    if not full:
        keep = (
            "url",
            "date_created",
            "date_modified",
            "date_deployed",
            "owner",
            "summary",
            "owner__username",
            "parent",
            "uid",
            "tag_string",
            "settings",
            "kind",
            "name",
            "asset_type",
            "version_id",
            "has_deployment",
            "deployed_version_id",
            "deployment__active",
            "deployment__submission_count",
            "deployment__last_submission_time",
            "deployment__encrypted",
            "deployment__uuid",
            "deployment_status",
            "permissions",
            "export_settings",
            "downloads",
            "data",
            "subscribers_count",
            "status",
            "access_types",
            "children",
            "data_sharing",
            "owner_label",
            "last_modified_by",
            "created_by",
        )
        return {k: out[k] for k in keep}
    for key in filter(None, req.query.get("exclude", "").split(",")):
        out.pop(key.strip(), None)
    return out


def _q_term(asset, term):
    field, colon, value = term.partition(":")
    if not colon:
        if len(term) < 3:
            raise error(400, {"detail": "Your query is too short"})
        return term.lower() in (asset.name + " " + asset.uid + " " + asset.owner).lower()
    values = {
        "asset_type": asset.asset_type,
        "_deployment_status": asset.deployment_status,
        "name": asset.name,
        "uid": asset.uid,
        "owner__username": asset.owner,
        "status": "shared" if asset.assignments else "private",
    }
    if field.endswith("__icontains"):
        return value.lower() in str(values.get(field.removesuffix("__icontains"), "")).lower()
    return field in values and values[field] == value


def q_matches(asset, q):
    """KPI's search language, flat: ``a:b AND c:d OR e:f`` (AND binds tighter)."""
    q = q.replace("(", " ").replace(")", " ")
    return any(
        all(_q_term(asset, t.strip()) for t in part.split(" AND ") if t.strip())
        for part in q.split(" OR ")
    )


def visible_assets(fake, req):
    store, me = fake.store, req.username
    if me is None:
        return []
    out = [
        a
        for a in store.assets.values()
        if a.owner == me or any(r["user"] == me for r in a.assignments)
    ]
    return sorted(out, key=lambda a: a.date_modified, reverse=True)


@route(r"/api/v2/assets/", "GET", "POST")
def assets(fake, req):
    if req.method == "POST":
        return asset_create(fake, req)
    items = visible_assets(fake, req)
    if req.query.get("q"):
        items = [a for a in items if q_matches(a, req.query["q"])]
    page = paginate(
        req,
        items,
        fake.page_size_default,
        fake.page_size_max,
        lambda a: asset_json(fake, req, a, full=False),
    )
    return json_response(200, page)


def asset_create(fake, req):
    user = require_user(req)
    body = req.data() if isinstance(req.data(), dict) else {}
    store = fake.store
    if body.get("clone_from"):
        source = get_asset(fake, req, body["clone_from"])
        asset_type = body.get("asset_type") or source.asset_type
        if asset_type not in ("survey", "template", "block", "question"):
            raise error(500, {"error": "Server Error (500)"})
        asset = store.create_asset(
            user.username, source.content, body.get("name", source.name), asset_type
        )
        return json_response(201, asset_json(fake, req, asset))
    asset_type = body.get("asset_type")
    if not asset_type:
        raise error(400, {"asset_type": REQUIRED})
    if asset_type not in ASSET_TYPES:
        raise error(400, {"asset_type": [f'"{asset_type}" is not a valid choice.']})
    content = json_field(body.get("content")) or {}
    if not isinstance(content, dict):
        raise error(400, {"content": ["Value must be valid JSON."]})
    settings = json_field(body.get("settings")) or None
    asset = store.create_asset(
        user.username, content, body.get("name", ""), asset_type, settings=settings
    )
    return json_response(201, asset_json(fake, req, asset))


@route(r"/api/v2/assets/hash/", "GET")
def assets_hash(fake, req):
    ids = sorted(a.version_id for a in visible_assets(fake, req) if a.asset_type == "survey")
    return json_response(200, {"hash": hashlib.md5("".join(ids).encode()).hexdigest()})


@route(rf"/api/v2/assets/{UID}/", "GET", "PATCH", "PUT", "DELETE")
def asset_detail(fake, req, uid):
    store = fake.store
    if req.suffix == ".xls":
        asset = get_asset(fake, req, uid)
        data = asset.xls or content_to_xlsform(asset.content, asset.name)
        ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(
            200, data, ctype, {"Content-Disposition": f'attachment; filename="{uid}.xls"'}
        )
    if req.method == "GET" and (req.suffix == ".xml" or req.query.get("format") == "xml"):
        asset = get_asset(fake, req, uid)  # the current content, deployed or not
        return Response(
            200,
            build_xform(uid, asset.name, asset.content),
            "application/xml; charset=utf-8",
            {"Content-Disposition": f"attachment; filename={uid}.xml"},
        )
    if req.method == "GET":
        return json_response(200, asset_json(fake, req, get_asset(fake, req, uid)))
    if req.method == "DELETE":
        asset = get_asset(fake, req, uid, "manage_asset")
        store.delete_asset(asset)
        return Response(204, content_type=None)
    asset = get_asset(fake, req, uid, "change_asset")
    body = req.data() if isinstance(req.data(), dict) else {}
    content = json_field(body.get("content"))
    if body.get("clone_from"):
        content = get_asset(fake, req, body["clone_from"]).content
    settings = json_field(body.get("settings")) if "settings" in body else None
    store.update_asset(asset, name=body.get("name"), content=content, settings=settings)
    return json_response(200, asset_json(fake, req, asset))


@route(rf"/api/v2/assets/{UID}/versions/", "GET")
def versions(fake, req, uid):
    asset = get_asset(fake, req, uid)
    numbers = version_numbers(asset)
    items = list(reversed(asset.versions))
    if req.query.get("deployed") in ("true", "false"):
        items = [v for v in items if v.deployed == (req.query["deployed"] == "true")]
    page = paginate(
        req,
        items,
        fake.page_size_default,
        fake.page_size_max,
        lambda v: version_json(req, asset, v, numbers),
    )
    return json_response(200, page)


@route(rf"/api/v2/assets/{UID}/versions/(?P<vuid>v\w+)/", "GET")
def version_detail(fake, req, uid, vuid):
    asset = get_asset(fake, req, uid)
    version = next((v for v in asset.versions if v.uid == vuid), None)
    if version is None:
        raise error(404, NOT_FOUND)
    return json_response(200, version_json(req, asset, version, version_numbers(asset), True))


# ------------------------------------------------------------------ deployment


def deployment_json(fake, req, asset):
    return {
        "backend": "openrosa",
        "active": asset.active,
        "version_id": asset.deployed_version_id,
        "asset": asset_json(fake, req, asset),
    }


@route(rf"/api/v2/assets/{UID}/deployment/", "GET", "POST", "PATCH")
def deployment(fake, req, uid):
    if req.method == "GET":
        asset = get_asset(fake, req, uid)
        if not asset.has_deployment:
            raise error(404, NOT_FOUND)
        return json_response(200, deployment_json(fake, req, asset))
    asset = get_asset(fake, req, uid, "change_asset")
    body = req.data() if isinstance(req.data(), dict) else {}
    if body.get("version_id") and body["version_id"] != asset.version_id:
        raise error(500, {"error": "Server Error (500)"})
    if req.method == "POST":
        if asset.has_deployment:
            raise error(405, {"detail": "Use PATCH to update an existing deployment"})
        fake.store.deploy(asset, active=as_bool(body.get("active", False)))
        return json_response(200, deployment_json(fake, req, asset))
    if not asset.has_deployment:
        raise error(405, {"detail": "Use POST to create a new deployment"})
    if "backend" in body and body["backend"] != "openrosa":
        raise error(400, {"backend": "This field cannot be modified after the initial deployment."})
    if set(body) == {"active"}:
        asset.active = as_bool(body["active"])
        asset.date_modified = utcnow()
    else:
        fake.store.deploy(asset, active=as_bool(body.get("active", asset.active)))
    return json_response(200, deployment_json(fake, req, asset))


# ------------------------------------------------------------------ imports

NO_FILE = "ImportTask data must contain `base64Encoded`, `url`, or `single_xls_url`"


def import_json(task, req=None):
    out = {
        "status": task.status,
        "uid": task.uid,
        "messages": task.messages,
        "date_created": iso(task.date_created),
    }
    if req is not None:
        out["url"] = req.link(f"/api/v2/imports/{task.uid}/")
    return out


@route(r"/api/v2/imports/", "GET", "POST")
def imports(fake, req):
    user = require_user(req)
    store = fake.store
    if req.method == "GET":
        items = [t for t in store.imports.values() if t.owner == user.username]
        for task in items:
            fake.process_import(task)
        page = paginate(
            req, items, fake.page_size_default, fake.page_size_max, lambda t: import_json(t, req)
        )
        return json_response(200, page)
    body = req.data() if isinstance(req.data(), dict) else {}
    data = {k: body[k] for k in ("name", "library", "destination", "desired_type") if k in body}
    upload = req.file("file")
    if upload:
        data["file"] = upload[1]
    elif body.get("base64Encoded"):
        encoded = body["base64Encoded"]
        marker = encoded.find("base64")
        try:
            data["file"] = base64.b64decode(encoded[marker + 7 :] if marker >= 0 else encoded)
        except ValueError:
            data["file"] = b""
    elif body.get("url"):
        data["url"] = body["url"]
    task = fake.new_import(user.username, data)
    return json_response(
        201,
        {"uid": task.uid, "url": req.link(f"/api/v2/imports/{task.uid}/"), "status": "processing"},
    )


@route(r"/api/v2/imports/(?P<iuid>i\w+)/", "GET")
def import_detail(fake, req, iuid):
    user = require_user(req)
    task = fake.store.imports.get(iuid)
    if task is None or task.owner != user.username:
        raise error(404, {"detail": "No ImportTask matches the given query."})
    fake.process_import(task)
    return json_response(200, import_json(task))


def run_import(store, task):
    """Process an import task in place (KPI's Celery job, synchronously)."""
    data = task.data
    try:
        if "file" not in data:
            raise Exception(NO_FILE)
        content = read_xlsform(data["file"])
        name = data.get("name") or ""
        if "." in name:
            name = name.rsplit(".", 1)[0]
        title = content["settings"].get("form_title")
        destination = data.get("destination")
        if destination:
            match = re.search(r"/api/v2/assets/(a\w{21})/?$", urlsplit(destination).path)
            if not match:
                raise _named("Resolver404", str({"path": destination.lstrip("/")}))
            asset = store.assets.get(match.group(1))
            if asset is None or not store.has_perm(asset, task.owner, "change_asset"):
                raise _named("PermissionDenied", "")
            if asset.asset_type == "empty":
                asset.asset_type = "survey"
            old_name = asset.name
            # a replace takes a form_title but never the import name, and
            # seeds no id_string: the new content has none unless its own
            store.update_asset(asset, name=title or asset.name, content=content, xls=data["file"])
            audit = {
                "asset_uid": asset.uid,
                "old_name": old_name,
                "new_name": asset.name,
                "project_owner": asset.owner,
                "latest_version_uid": asset.version_id,
            }
            task.messages = {"updated": [_import_message(asset)], "audit_logs": [audit]}
        else:
            if str(data.get("library", "")).lower() == "false":
                asset_type = data.get("desired_type") or "survey"
            else:
                rows = [r for r in content["survey"] if not r["type"].startswith("end_")]
                asset_type = "block" if len(rows) > 1 else "question"
            content = seed_id_string(content, name)
            asset = store.create_asset(
                task.owner, content, title or name, asset_type, xls=data["file"]
            )
            task.messages = {"created": [_import_message(asset)]}
        task.status = "complete"
    except Exception as exc:
        task.status = "error"
        task.messages = {"error": str(exc), "error_type": type(exc).__name__}


def _named(class_name, message):
    return type(class_name, (Exception,), {})(message)


def _import_message(asset):
    return {
        "uid": asset.uid,
        "kind": "asset",
        "summary": summarize(asset.content),
        "owner__username": asset.owner,
    }
