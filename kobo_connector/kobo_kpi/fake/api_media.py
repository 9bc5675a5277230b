"""Form media (KPI asset files, ``file_type=form_media``) and what
collectors see of them: the OpenRosa form list and the deployed form's
manifest. As on KPI, a media file reaches collectors only through a
(re)deploy, which syncs the live files to the deployed XForm."""

import base64
import binascii
import hashlib
import mimetypes
from xml.sax.saxutils import escape

from .api_assets import UID, get_asset, json_field
from .api_data import xml_response
from .openrosa import detail_reply
from .store import iso, utcnow
from .wire import NOT_FOUND, Response, error, json_response, paginate, route

FILE = r"(?P<fuid>af\w+)"
ALLOWED = (
    "image",
    "audio",
    "video",
    "text/csv",
    "application/xml",
    "application/zip",
    "application/x-zip-compressed",
    "application/geo+json",
)
NO_FILE_MATCH = {"detail": "No AssetFile matches the given query."}


def file_json(req, asset, media):
    base = f"/api/v2/assets/{asset.uid}/files/{media['uid']}/"
    return {
        "uid": media["uid"],
        "url": req.link(base),
        "asset": req.link(f"/api/v2/assets/{asset.uid}/"),
        "user": req.link(f"/api/v2/users/{media['user']}/"),
        "user__username": media["user"],
        "file_type": "form_media",
        "description": media["description"],
        "date_created": iso(media["date_created"]),
        "content": req.link(base + "content/"),
        "metadata": {
            "filename": media["filename"],
            "hash": media["hash"],
            "mimetype": media["mimetype"],
        },
    }


def files_json(req, asset):
    """The asset detail's ``files``."""
    return [file_json(req, asset, m) for m in asset.media.values()]


def _new_file(fake, req, asset):
    body = req.data() if isinstance(req.data(), dict) else {}
    errors = {}
    for key in ("file_type", "description"):
        if not str(body.get(key) or "").strip():
            errors[key] = ["This field is required."]
    if body.get("file_type") and body["file_type"] not in (
        "map_layer",
        "form_media",
        "paired_data",
    ):
        errors["file_type"] = [f'"{body["file_type"]}" is not a valid choice.']
    if errors:
        raise error(400, errors)
    metadata = json_field(body.get("metadata"))
    upload = req.file("content")
    if "base64Encoded" in body:
        field = "base64Encoded"
        if not isinstance(metadata, dict):
            raise error(400, {"metadata": "This field is required"})
        if "filename" not in metadata:
            raise error(400, {"metadata": "`filename` is required"})
        encoded = body["base64Encoded"]
        if "base64" not in encoded:
            raise error(400, {"base64Encoded": "Invalid content"})
        try:
            data = base64.b64decode(encoded[encoded.index("base64") + 7 :])
        except (binascii.Error, ValueError) as exc:
            raise error(500, {"error": "Server Error (500)"}) from exc
        filename = metadata["filename"]
    elif upload is not None:
        field = "content"
        if not isinstance(metadata, dict):  # KPI writes the name into a missing metadata: 500
            raise error(500, {"error": "Server Error (500)"})
        filename, data = upload[0], upload[1]
    else:
        raise error(400, {"content": "No files have been submitted"})
    mime = mimetypes.guess_type(filename)[0]
    if body["file_type"] == "form_media":
        if not mime or not mime.startswith(ALLOWED):
            raise error(
                400, {field: ["Only `" + "`, `".join(ALLOWED) + "` MIME types are allowed"]}
            )
        if any(m["filename"] == filename for m in asset.media.values()):
            raise error(400, {field: ["File already exists"]})
    return {
        "uid": fake.store.uid("af", 23),
        "filename": filename,
        "data": data,
        "mimetype": mime or "application/octet-stream",
        "description": body["description"],
        "user": req.username,
        "date_created": utcnow(),
        "hash": "md5:" + hashlib.md5(data).hexdigest(),
    }


@route(rf"/api/v2/assets/{UID}/files/", "GET", "POST")
def files(fake, req, uid):
    if req.method == "GET":
        asset = get_asset(fake, req, uid)
        items = list(asset.media.values())
        if req.query.get("file_type") not in (None, "form_media"):
            items = []
        return json_response(
            200, paginate(req, items, 100, 1000, lambda m: file_json(req, asset, m))
        )
    asset = get_asset(fake, req, uid, "change_asset")
    media = _new_file(fake, req, asset)
    asset.media[media["uid"]] = media
    return json_response(201, file_json(req, asset, media))


def _file(fake, req, uid, fuid, need="view_asset"):
    asset = get_asset(fake, req, uid, need)
    media = asset.media.get(fuid)
    if media is None:
        raise error(404, NO_FILE_MATCH)
    return asset, media


@route(rf"/api/v2/assets/{UID}/files/{FILE}/", "GET", "DELETE")
def file_detail(fake, req, uid, fuid):
    if req.method == "GET":
        asset, media = _file(fake, req, uid, fuid)
        return json_response(200, file_json(req, asset, media))
    asset, media = _file(fake, req, uid, fuid, "change_asset")
    del asset.media[fuid]  # KPI marks it deleted; collectors keep it until a redeploy
    return Response(204, b"", None)


@route(rf"/api/v2/assets/{UID}/files/{FILE}/content/", "GET")
def file_content(fake, req, uid, fuid):
    _asset, media = _file(fake, req, uid, fuid)
    disposition = f'attachment; filename="{media["filename"]}"'
    return Response(200, media["data"], media["mimetype"], {"Content-Disposition": disposition})


# ------------------------------------------------------------------ OpenRosa


def _collector_forms(fake, req):
    if req.user is None:
        headers = {"WWW-Authenticate": 'Digest realm="DJANGO", qop="auth", algorithm="MD5"'}
        raise _Unauthorized(headers)
    return [
        a
        for a in fake.store.assets.values()
        if a.has_deployment and a.active and fake.store.has_perm(a, req.username, "add_submissions")
    ]


class _Unauthorized(Exception):
    def __init__(self, headers):
        super().__init__("unauthorized")
        self.headers = headers


def _unauthorized(exc):
    return xml_response(
        401, detail_reply("Authentication credentials were not provided."), exc.headers
    )


@route(r"/formList", "GET", xml=True)
def form_list(fake, req):
    try:
        forms = _collector_forms(fake, req)
    except _Unauthorized as exc:
        return _unauthorized(exc)
    items = []
    for asset in forms:
        digest = hashlib.md5(repr((asset.deployed_version_id, asset.uid)).encode()).hexdigest()
        items.append(
            "<xform>"
            f"<formID>{asset.uid}</formID>"  # KoBoCAT XForm id_string = asset uid
            f"<name>{escape(asset.name)}</name>"
            f"<hash>md5:{digest}</hash>"
            f"<descriptionText>{escape(asset.name)}</descriptionText>"
            f"<downloadUrl>{req.base}/forms/{asset.xform_pk}/form.xml</downloadUrl>"
            f"<manifestUrl>{req.base}/xformsManifest/{asset.xform_pk}</manifestUrl>"
            "</xform>"
        )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<xforms xmlns="http://openrosa.org/xforms/xformsList">' + "".join(items) + "</xforms>"
    )
    return xml_response(200, body.encode())


def _deployed(fake, req, pk):
    forms = _collector_forms(fake, req)
    for asset in forms:
        if str(asset.xform_pk) == pk:
            return asset
    raise error(404, NOT_FOUND)


@route(r"/xformsManifest/(?P<pk>\d+)", "GET", xml=True)
def manifest(fake, req, pk):
    try:
        asset = _deployed(fake, req, pk)
    except _Unauthorized as exc:
        return _unauthorized(exc)
    items = []
    for n, media in enumerate(asset.deployed_media, 1):
        ext = media["filename"].rsplit(".", 1)[-1].lower()
        url = f"{req.base}/{asset.owner}/xformsMedia/{asset.xform_pk}/{n}.{ext}"
        items.append(
            "<mediaFile>"
            f"<filename>{escape(media['filename'])}</filename>"
            f"<hash>{media['hash']}</hash>"
            f"<downloadUrl>{escape(url)}</downloadUrl>"
            "</mediaFile>"
        )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<manifest xmlns="http://openrosa.org/xforms/xformsManifest">'
        + "".join(items)
        + "</manifest>"
    )
    return xml_response(200, body.encode())


@route(r"/(?P<username>\w+)/xformsMedia/(?P<pk>\d+)/(?P<n>\d+)\.(?P<ext>\w+)", "GET", xml=True)
def media_download(fake, req, username, pk, n, ext):
    try:
        asset = _deployed(fake, req, pk)
    except _Unauthorized as exc:
        return _unauthorized(exc)
    index = int(n) - 1
    if asset.owner != username or not 0 <= index < len(asset.deployed_media):
        raise error(404, NOT_FOUND)
    media = asset.deployed_media[index]
    return Response(200, media["data"], media["mimetype"])
