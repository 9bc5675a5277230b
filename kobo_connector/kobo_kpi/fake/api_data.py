"""Route handlers: submissions (``/data/``), validation statuses, attachments,
REST services (hooks) and the OpenRosa ``/submission`` endpoint."""

import json

from . import plan
from .api_assets import UID, as_bool, get_asset, json_field
from .openrosa import (
    OPENROSA_HEADERS,
    detail_reply,
    flatten,
    message_reply,
    parse_instance,
    success_reply,
)
from .query import UnsupportedQuery, matches, sort_docs
from .store import VALIDATION_LABELS, iso, utcnow
from .wire import FORBIDDEN, NOT_FOUND, Response, envelope, error, json_response, paginate, route
from .xlsform import question_xpaths

ALWAYS = ("_id", "_uuid", "meta/rootUuid", "_validation_status")
SUB = r"(?P<sid>[\w:-]+)"


def render(req, sub, fields=None):
    """A stored submission as sent: absolute attachment URLs, ``fields`` kept."""
    if fields is not None:
        wanted = set(fields) | set(ALWAYS)
        sub = {k: v for k, v in sub.items() if k in wanted}
    if sub.get("_attachments"):
        sub = dict(sub)
        sub["_attachments"] = [
            {k: req.base + v if k.startswith("download_") else v for k, v in att.items()}
            for att in sub["_attachments"]
        ]
    return sub


def data_asset(fake, req, uid, need="view_submissions"):
    """Deployed asset + the caller's partial filters (None = everything)."""
    asset = get_asset(fake, req, uid)
    if not asset.has_deployment:
        raise error(400, {"detail": "The specified asset has not been deployed"})
    filters = fake.store.partial_filters(asset, req.username, need)
    if filters == []:
        raise error(403, FORBIDDEN)
    return asset, filters


def visible(asset, filters):
    if filters is None:
        return asset.submissions
    return [s for s in asset.submissions if any(matches(s, f) for f in filters)]


def json_param(req, name, kind):
    raw = req.query.get(name)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise error(400, {name: "Value must be valid JSON."}) from exc
    if not isinstance(value, kind):
        raise error(400, {name: "Value must be valid JSON."})
    return value


@route(rf"/api/v2/assets/{UID}/data/", "GET")
def data_list(fake, req, uid):
    asset, filters = data_asset(fake, req, uid)
    if "count" in req.query:
        raise error(400, {"count": "This parameter is not supported"})
    limit = req.query.get("limit")
    if limit is None:
        limit = fake.page_size_default
    else:
        try:
            limit = int(limit)
        except ValueError:
            limit = 0
        if limit <= 0:
            raise error(400, {"limit": "A positive integer is required"})
    limit = min(limit, fake.page_size_max)
    try:
        start = max(int(req.query.get("start", 0)), 0)
    except ValueError as exc:
        raise error(400, {"start": "A positive integer is required"}) from exc
    query = json_param(req, "query", dict)
    fields = json_param(req, "fields", list)
    sort = json_param(req, "sort", dict)
    count = None
    if filters is None:  # the connector's queries: from the indexes, in the time of a page
        planned = plan.answer(asset, query, sort, start, limit)
        if planned is not None:
            docs, count = planned
    try:
        if count is None:  # any other query: the scan
            docs = visible(asset, filters)
            if query:
                docs = [d for d in docs if matches(d, query)]
            if sort:
                docs = sort_docs(docs, sort)
    except UnsupportedQuery as exc:
        raise error(400, ["Unsupported query"]) from exc
    page = envelope(req, docs, start, limit, lambda s: render(req, s, fields), count)
    return json_response(200, page)


@route(rf"/api/v2/assets/{UID}/data/bulk/", "PATCH", "DELETE")
def data_bulk(fake, req, uid):
    need = "change_submissions" if req.method == "PATCH" else "delete_submissions"
    asset, filters = data_asset(fake, req, uid, need)
    payload = (
        json_field((req.data() or {}).get("payload")) if isinstance(req.data(), dict) else None
    )
    if not isinstance(payload, dict):
        raise error(400, {"payload": ["This field is required."]})
    subs = _bulk_targets(asset, filters, payload)
    if req.method == "DELETE":
        for sub in subs:
            fake.store.delete_submission(asset, sub["_id"])
        return json_response(200, {"detail": f"{len(subs)} submissions have been deleted"})
    if not subs:
        raise error(400, {"detail": "No submissions match the given `submission_ids`"})
    changes = {
        k: v
        for k, v in (payload.get("data") or {}).items()
        if not k.startswith(("__version__", "formhub/", "meta/"))
    }
    results = []
    for sub in subs:
        new = fake.store.edit_submission(asset, sub["_id"], changes)
        results.append(
            {
                "uuid": new["_uuid"],
                "root_uuid": new["meta/rootUuid"][5:],
                "status_code": 201,
                "message": "Successful submission",
            }
        )
    body = {"count": len(results), "successes": len(results), "failures": 0, "results": results}
    return json_response(200, body)


def _bulk_targets(asset, filters, payload):
    docs = visible(asset, filters)
    if "submission_ids" in payload:
        ids = payload["submission_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise error(400, {"payload": ["`submission_ids` must only contain integer values"]})
        by_id = {s["_id"]: s for s in docs}
        if any(i not in by_id for i in ids):
            raise error(400, {"detail": "One or more submission ids are invalid"})
        return [by_id[i] for i in ids]
    if "query" in payload:
        try:
            return [d for d in docs if matches(d, json_field(payload["query"]) or {})]
        except UnsupportedQuery as exc:
            raise error(400, ["Unsupported query"]) from exc
    if as_bool(payload.get("confirm", False)):
        return list(docs)
    raise error(400, {"payload": ["Confirmation is required"]})


@route(rf"/api/v2/assets/{UID}/data/validation_statuses/", "PATCH", "DELETE")
def validation_statuses(fake, req, uid):
    asset, filters = data_asset(fake, req, uid, "validate_submissions")
    payload = (
        json_field((req.data() or {}).get("payload")) if isinstance(req.data(), dict) else None
    )
    if not isinstance(payload, dict) or "validation_status.uid" not in payload:
        raise error(400, {"payload": ["No `validation_status.uid` provided"]})
    subs = _bulk_targets(asset, filters, payload)
    for sub in subs:
        fake.store.set_validation(sub, payload["validation_status.uid"], req.username)
    return json_response(200, {"detail": f"{len(subs)} submissions have been updated"})


def get_submission(fake, req, uid, sid, need="view_submissions"):
    asset, filters = data_asset(fake, req, uid, need)
    sub = fake.store.find_submission(asset, sid)
    if sub is None or (filters is not None and not any(matches(sub, f) for f in filters)):
        raise error(404, NOT_FOUND)
    return asset, sub


@route(rf"/api/v2/assets/{UID}/data/{SUB}/", "GET", "DELETE")
def data_detail(fake, req, uid, sid):
    if req.method == "DELETE":
        asset, sub = get_submission(fake, req, uid, sid, "delete_submissions")
        fake.store.delete_submission(asset, sub["_id"])
        return Response(204, content_type=None)
    _asset, sub = get_submission(fake, req, uid, sid)
    return json_response(200, render(req, sub))


@route(rf"/api/v2/assets/{UID}/data/{SUB}/validation_status/", "GET", "PATCH", "DELETE")
def validation_status(fake, req, uid, sid):
    if req.method == "GET":
        return json_response(200, get_submission(fake, req, uid, sid)[1]["_validation_status"])
    _asset, sub = get_submission(fake, req, uid, sid, "validate_submissions")
    if req.method == "DELETE":
        fake.store.set_validation(sub, None, req.username)
        return Response(204, content_type=None)
    body = req.data() if isinstance(req.data(), dict) else {}
    status = body.get("validation_status.uid")
    if status not in VALIDATION_LABELS:
        raise error(400, {"detail": f"Invalid validation status: `{status}`"})
    return json_response(200, fake.store.set_validation(sub, status, req.username))


@route(rf"/api/v2/assets/{UID}/data/{SUB}/attachments/", "GET")
def attachment_by_xpath(fake, req, uid, sid):
    asset, sub = get_submission(fake, req, uid, sid)
    xpath = req.query.get("xpath")
    if not xpath:
        raise error(400, {"detail": "`xpath` query parameter is required"})
    att = next((a for a in sub["_attachments"] if a["question_xpath"] == xpath), None)
    if att is None:
        raise error(404, NOT_FOUND)
    return _file(asset, att)


@route(
    rf"/api/v2/assets/{UID}/data/{SUB}/attachments/(?P<att>\w+)/"
    r"(?:(?P<size>small|medium|large|original)/)?",
    "GET",
)
def attachment(fake, req, uid, sid, att, size=None):
    asset, sub = get_submission(fake, req, uid, sid)
    item = next((a for a in sub["_attachments"] if a["uid"] == att), None)
    if item is None or att not in asset.files:
        raise error(404, NOT_FOUND)
    if size == "large" or req.query.get("redirect"):
        # Exercises redirect handling: same host, another path (the original).
        return Response(
            302, content_type=None, headers={"Location": req.base + item["download_url"]}
        )
    return _file(asset, item)


def _file(asset, item):
    name, data, mimetype = asset.files[item["uid"]]
    headers = {"Content-Disposition": f"attachment; filename={name}"}
    return Response(200, data, mimetype, headers)


# ------------------------------------------------------------------ hooks


def hook_json(req, asset, hook):
    base = f"/api/v2/assets/{asset.uid}/hooks/{hook['uid']}/"
    logs = hook["logs"]
    return {
        "url": req.link(base),
        "logs_url": req.link(base + "logs/"),
        "asset": hook["asset_pk"],
        "uid": hook["uid"],
        "name": hook["name"],
        "endpoint": hook["endpoint"],
        "active": hook["active"],
        "export_type": hook["export_type"],
        "auth_level": hook["auth_level"],
        "success_count": sum(log["status"] == 2 for log in logs),
        "failed_count": sum(log["status"] == 0 for log in logs),
        "pending_count": sum(log["status"] in (1, 3) for log in logs),
        "settings": hook["settings"],
        "date_modified": iso(hook["date_modified"]),
        "email_notification": hook["email_notification"],
        "subset_fields": hook["subset_fields"],
        "payload_template": hook["payload_template"],
    }


HOOK_FIELDS = {
    "name": None,
    "endpoint": None,
    "active": True,
    "export_type": "json",
    "auth_level": "no_auth",
    "settings": {},
    "subset_fields": [],
    "payload_template": None,
    "email_notification": True,
}


def _validate_hook(body, current=None):
    hook = dict(current or HOOK_FIELDS)
    errors = {}
    for key in HOOK_FIELDS:
        if key in body:
            hook[key] = json_field(body[key]) if key in ("settings", "subset_fields") else body[key]
    for key in ("active", "email_notification"):
        hook[key] = as_bool(hook[key])
    for key in ("name", "endpoint"):
        if not hook.get(key):
            errors[key] = ["This field is required."]
    if hook.get("endpoint") and not str(hook["endpoint"]).startswith(("http://", "https://")):
        errors["endpoint"] = ["Enter a valid URL."]
    if hook["export_type"] not in ("json", "xml"):
        errors["export_type"] = [f'"{hook["export_type"]}" is not a valid choice.']
    if hook["auth_level"] not in ("no_auth", "basic_auth"):
        errors["auth_level"] = [f'"{hook["auth_level"]}" is not a valid choice.']
    if hook.get("payload_template") and "%SUBMISSION%" not in str(hook["payload_template"]):
        errors["payload_template"] = ["Invalid JSON"]
    if errors:
        raise error(400, errors)
    return hook


def hook_asset(fake, req, uid):
    return get_asset(fake, req, uid, ("change_asset", "view_submissions"))


@route(rf"/api/v2/assets/{UID}/hooks/", "GET", "POST")
def hooks(fake, req, uid):
    asset = hook_asset(fake, req, uid)
    if req.method == "GET":
        items = list(asset.hooks.values())
        page = paginate(
            req,
            items,
            fake.page_size_default,
            fake.page_size_max,
            lambda h: hook_json(req, asset, h),
        )
        return json_response(200, page)
    hook = _validate_hook(req.data() if isinstance(req.data(), dict) else {})
    hook.update(
        uid=fake.store.uid("h"),
        logs=[],
        date_modified=utcnow(),
        asset_pk=list(fake.store.assets).index(asset.uid) + 1,
    )
    asset.hooks[hook["uid"]] = hook
    return json_response(201, hook_json(req, asset, hook))


@route(rf"/api/v2/assets/{UID}/hooks/(?P<huid>h\w+)/", "GET", "PATCH", "PUT", "DELETE")
def hook_detail(fake, req, uid, huid):
    asset = hook_asset(fake, req, uid)
    hook = asset.hooks.get(huid)
    if hook is None:
        raise error(404, NOT_FOUND)
    if req.method == "DELETE":
        del asset.hooks[huid]
        return Response(204, content_type=None)
    if req.method in ("PATCH", "PUT"):
        body = req.data() if isinstance(req.data(), dict) else {}
        hook.update(_validate_hook(body, {k: hook[k] for k in HOOK_FIELDS}))
        hook["date_modified"] = utcnow()
    return json_response(200, hook_json(req, asset, hook))


@route(rf"/api/v2/assets/{UID}/hooks/(?P<huid>h\w+)/retry/", "PATCH")
def hook_retry(fake, req, uid, huid):
    """KPI: every failed log goes back to pending and is delivered again;
    nothing failed → 304 (no body); a disabled hook → 400."""
    asset = hook_asset(fake, req, uid)
    hook = asset.hooks.get(huid)
    if hook is None:
        raise error(404, NOT_FOUND)
    if not hook["active"]:
        raise error(400, {"detail": "Cannot retry on disabled hooks"})
    failed = [log for log in hook["logs"] if log["status"] == 0]
    if not failed:
        return Response(304, content_type=None)
    fake.retry_hook_logs(asset, hook, failed)
    body = {"detail": "Task successfully scheduled", "pending_uids": [log["uid"] for log in failed]}
    return json_response(200, body)


@route(rf"/api/v2/assets/{UID}/hooks/(?P<huid>h\w+)/logs/(?P<luid>hl\w+)/retry/", "PATCH")
def hook_log_retry(fake, req, uid, huid, luid):
    asset = hook_asset(fake, req, uid)
    hook = asset.hooks.get(huid)
    log = next((x for x in (hook or {}).get("logs", []) if x["uid"] == luid), None)
    if log is None:
        raise error(404, NOT_FOUND)
    if not hook["active"]:
        raise error(400, {"detail": "Cannot retry on disabled hooks"})
    if log["status"] != 0:
        raise error(400, {"detail": "Can not retry a successful or pending delivery"})
    fake.retry_hook_logs(asset, hook, [log])
    return json_response(200, {"detail": "Task successfully scheduled"})


@route(rf"/api/v2/assets/{UID}/hooks/(?P<huid>h\w+)/logs/", "GET")
def hook_logs(fake, req, uid, huid):
    asset = hook_asset(fake, req, uid)
    hook = asset.hooks.get(huid)
    # KPI filters the logs by hook uid without looking the hook up: those of
    # a deleted or unknown hook are an empty page
    logs = hook["logs"] if hook is not None else []
    if req.query.get("status", "").isdigit():
        logs = [log for log in logs if log["status"] == int(req.query["status"])]
    base = f"/api/v2/assets/{uid}/hooks/{huid}/logs/"

    def log_json(log):
        out = {"url": req.link(f"{base}{log['uid']}/")}
        out.update({k: v for k, v in log.items() if k != "date_modified"})
        out["date_modified"] = iso(log["date_modified"])
        return out

    return json_response(
        200, paginate(req, logs, fake.page_size_default, fake.page_size_max, log_json)
    )


# ------------------------------------------------------------------ OpenRosa


def xml_response(status, body, extra=None):
    headers = dict(OPENROSA_HEADERS)
    headers.update(extra or {})
    return Response(status, body, "text/xml; charset=utf-8", headers)


@route(r"/submission", "POST", "HEAD", xml=True)
@route(r"/(?P<username>[\w.@+-]+)/submission", "POST", "HEAD", xml=True)
def submission(fake, req, username=None):
    if req.method == "HEAD":
        return xml_response(204, b"", {"Location": req.base + req.url_path})
    if req.user is None:
        headers = {"WWW-Authenticate": 'Digest realm="DJANGO", qop="auth", algorithm="MD5"'}
        return xml_response(
            401, detail_reply("Authentication credentials were not provided."), headers
        )
    upload = req.file("xml_submission_file")
    if upload is None:
        page = b"<!doctype html><html><body><h1>Server error (500)</h1></body></html>"
        return Response(500, page, "text/html; charset=utf-8")
    try:
        root = parse_instance(upload[1])
    except ValueError:
        return xml_response(400, message_reply("Improperly formatted XML."))
    store = fake.store
    # KPI finds the form by formhub/uuid or by an ``id`` that is the asset
    # uid (not the id_string), and keeps ``id`` verbatim as _xform_id_string
    form_id = root.get("id") or None
    asset = store.assets.get(form_id or "")
    if asset is None or not asset.has_deployment:
        formhub = (root.findtext("formhub/uuid") or "").strip()
        asset = next(
            (a for a in store.assets.values() if formhub and a.deployment_uuid == formhub), None
        )
    if asset is None or not asset.has_deployment:
        return xml_response(404, detail_reply("Not found."))
    if not asset.active:
        return xml_response(405, message_reply("Form is not active"))
    if not store.has_perm(asset, req.username, "add_submissions"):
        return xml_response(403, message_reply("Access denied"))
    answers = flatten(root, question_xpaths(asset.deployed_content())[1])
    instance_id = answers.get("meta/instanceID") or f"uuid:{store.uuid()}"
    deprecated = answers.get("meta/deprecatedID")
    media = {
        name: (name, data, ctype)
        for field, name, data, ctype in req.files.get("__all__", [])
        if field != "xml_submission_file"
    }
    current = {s["meta/instanceID"]: s for s in asset.submissions}
    if instance_id in current:
        return xml_response(202, message_reply("Duplicate Instance"))
    now = utcnow()
    if deprecated and deprecated in current:
        if not store.has_perm(asset, req.username, "change_submissions"):
            return xml_response(403, message_reply("Access denied"))
        store.edit_submission(
            asset,
            current[deprecated]["_id"],
            answers,
            instance_id=instance_id,
            replace=True,
            attachments=media,
            id_string=form_id,
        )
    else:
        answers.pop("meta/deprecatedID", None)
        store.add_submission(
            asset,
            answers,
            submitted_by=req.username,
            when=now,
            attachments=media,
            instance_id=instance_id,
            id_string=form_id,
        )
    body = success_reply(asset.uid, instance_id, now)
    return xml_response(201, body, {"Location": req.base + req.url_path})


@route(r"/enketo/(?P<rest>.*)", "GET")
def enketo(fake, req, rest):
    page = f"<!doctype html><html><body><h1>Enketo (fake)</h1><p>{rest}</p></body></html>"
    return Response(200, page.encode(), "text/html; charset=utf-8")
