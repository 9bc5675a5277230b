"""HTTP plumbing of the fake: the parsed request, responses, body parsing,
paging links, and the route table."""

import base64
import email.parser
import email.policy
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from .store import KoboStateError


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict = field(default_factory=dict)


def json_response(status, obj, headers=None):
    body = json.dumps(obj, ensure_ascii=False).encode()
    return Response(status, body, "application/json", dict(headers or {}))


def error(status, body):
    return KoboStateError(status, body)


NOT_FOUND = {"detail": "Not found."}
FORBIDDEN = {"detail": "You do not have permission to perform this action."}
NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}


class Request:
    def __init__(self, method, raw_path, headers, body, base):
        self.method = method
        self.raw_path = raw_path  # as received, with query
        self.headers = headers
        self.body = body
        self.base = base  # "http://host:port", from the Host header
        split = urlsplit(raw_path)
        self.url_path = split.path
        self.query_string = split.query
        self.query = dict(parse_qsl(split.query, keep_blank_values=True))
        self.path = split.path
        self.suffix = None
        self.user = None
        self._form = None

    @property
    def username(self):
        return self.user.username if self.user else None

    def link(self, path):
        """Absolute URL of ``path``; DRF copies ``?format=json`` into links."""
        url = self.base + path
        if self.query.get("format") == "json":
            url += "?format=json"
        return url

    def absolute(self):
        return self.base + self.raw_path

    # -------------------------------------------------------------- bodies

    def data(self):
        """Body fields: JSON object/array, urlencoded or multipart text fields."""
        if self._form is None:
            self._form, self.files = parse_body(self.headers.get("Content-Type", ""), self.body)
        return self._form

    def file(self, name):
        self.data()
        return self.files.get(name)


def parse_body(content_type, body):
    """Return ``(fields, files)``; files map field → ``(filename, bytes, mimetype)``."""
    if not body:
        return {}, {}
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return parse_multipart(content_type, body)
    if ctype == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)), {}
    try:
        return json.loads(body), {}
    except ValueError as exc:
        raise error(400, {"detail": f"JSON parse error - {exc}"}) from exc


def parse_multipart(content_type, body):
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields, files = {}, {}
    if not message.is_multipart():
        raise error(400, {"detail": "Multipart form parse error - Invalid boundary in multipart"})
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload, part.get_content_type())
            files.setdefault("__all__", []).append(
                (name, filename, payload, part.get_content_type())
            )
        elif name:
            fields[name] = payload.decode(part.get_content_charset() or "utf-8", "replace")
    return fields, files


def basic_credentials(header):
    try:
        raw = base64.b64decode(header.split(None, 1)[1]).decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError):
        return None, None
    user, _, password = raw.partition(":")
    return user, password


def replace_query(url, **params):
    """DRF's ``replace_query_param``: set/remove params, keys sorted."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    items = parse_qs(query, keep_blank_values=True)
    for key, value in params.items():
        if value is None:
            items.pop(key, None)
        else:
            items[key] = [str(value)]
    return urlunsplit(
        (scheme, netloc, path, urlencode(sorted(items.items()), doseq=True), fragment)
    )


def positive_int(value, default=None, strict=True):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    if number < 0 or (strict and number == 0):
        return default
    return number


def paginate(req, items, default, maximum, render=lambda x: x):
    """Generic KPI paginator: ``limit`` (invalid → default, capped), ``start``
    (``offset`` alias, or ``page``/``page_size``)."""
    limit = positive_int(req.query.get("limit"), default)
    start = positive_int(req.query.get("start", req.query.get("offset")), 0, strict=False)
    if "page" in req.query and "start" not in req.query:
        limit = positive_int(req.query.get("page_size"), limit)
        start = (positive_int(req.query["page"], 1) - 1) * limit
    limit = min(limit, maximum)
    return envelope(req, items, start, limit, render)


def envelope(req, items, start, limit, render=lambda x: x, count=None):
    """One page of ``items``; with ``count``, ``items`` is that page already
    (answered from an index) and ``count`` the number of them all."""
    if count is None:
        count, items = len(items), items[start : start + limit]
    url = req.absolute()
    nxt = replace_query(url, limit=limit, start=start + limit) if start + limit < count else None
    prev = None
    if start > 0:
        back = start - limit
        prev = replace_query(url, limit=limit, start=back if back > 0 else None, offset=None)
    return {
        "count": count,
        "next": nxt,
        "previous": prev,
        "results": [render(x) for x in items],
    }


# ------------------------------------------------------------------ routes

ROUTES = []  # (regex, methods, handler, xml_errors)


def route(pattern, *methods, xml=False):
    def register(handler):
        ROUTES.append((re.compile(f"^{pattern}$"), set(methods), handler, xml))
        return handler

    return register


def resolve(path, method):
    """``(match, handler, xml)`` for the method, and every method the path allows."""
    allowed, found = set(), None
    for regex, methods, handler, xml in ROUTES:
        match = regex.match(path)
        if match:
            allowed |= methods
            if found is None and (method in methods or (method == "HEAD" and "GET" in methods)):
                found = (match, handler, xml)
    return found, allowed
