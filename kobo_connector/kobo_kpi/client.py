"""The one client of the KoboToolbox KPI REST API v2 (``requests``, no Odoo).

Every HTTP request goes through :meth:`KpiClient._send`, which adds the
headers (``Accept``, ``User-Agent``, ``Authorization: Token …``), the
timeout, the retry policy and the mapping of answers to :mod:`.errors`.
Redirects are never followed for API calls (they drop request bodies and may
carry the token elsewhere); attachment downloads follow them by hand and send
the token only to the KoBo server itself. The token never appears in a
message or a log line.
"""

import ast
import base64
import email.utils
import io
import json
import logging
import random
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit
from xml.etree import ElementTree

import requests
import urllib3

from .errors import (
    KoboAuthError,
    KoboBadRequest,
    KoboConflict,
    KoboConnectionError,
    KoboError,
    KoboForbidden,
    KoboGone,
    KoboImportError,
    KoboMethodNotAllowed,
    KoboNotFound,
    KoboNotJson,
    KoboServerError,
    KoboThrottled,
    KoboTimeout,
)

__all__ = ["KpiClient", "chunk_ids", "normalize_server_url"]

_logger = logging.getLogger(__name__)


def _addon_version():
    try:
        manifest = Path(__file__).resolve().parent.parent / "__manifest__.py"
        return ast.literal_eval(manifest.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):  # pragma: no cover
        return "dev"


USER_AGENT = f"kobo_connector/{_addon_version()}"
RETIRED_HOSTS = {
    "kobo.humanitarianresponse.info",
    "kc.kobo.humanitarianresponse.info",
    "kf.kobo.humanitarianresponse.info",
}
RETIRED_REPLACEMENT = "https://eu.kobotoolbox.org"
IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE", "PATCH", "PUT"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_REDIRECTS = 5
# an API answer (a /data/ page of 1,000 submissions included) is read up to this size
MAX_ANSWER_BYTES = 100 * 1024 * 1024
ERROR_BODY_BYTES = 64 * 1024  # what an error answer is read of (its message is at the start)
# nginx in front of kf/eu refuses request lines over 8 kB: stay well under
MAX_URL = 6000
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_TEXT = {
    400: "KoBo refused the request",
    401: "KoBo refused the credentials: the API token is missing, wrong or expired",
    403: "KoBo does not allow this user to do that",
    404: "KoBo answered 'not found'",
    405: "KoBo does not allow this operation here",
    409: "KoBo refused the change because it conflicts with the current state",
    410: "This part of the KoBo API has been removed",
    429: "KoBo is receiving too many requests",
}
ERROR_CLASSES = {
    400: KoboBadRequest,
    401: KoboAuthError,
    403: KoboForbidden,
    404: KoboNotFound,
    405: KoboMethodNotAllowed,
    409: KoboConflict,
    410: KoboGone,
}


def normalize_server_url(url):
    """The canonical form of a KoBo server address as a user may paste it:
    ``https://host[:port][/prefix]`` without trailing slash, API path or
    front-end fragment. Raise ``ValueError`` (plain English) when unusable."""
    text = (url or "").strip() if isinstance(url, str) or url is None else None
    if not text:
        raise ValueError(
            "Enter the address of the KoBo server, for example https://kf.kobotoolbox.org."
        )
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", text):  # mailto:, ftp:, javascript:
            raise ValueError(
                f"{text!r} is not a web address: use an http:// or https:// address such as "
                "https://kf.kobotoolbox.org."
            )
        text = "https://" + text.lstrip("/")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(
            f"The KoBo server address must start with https:// (or http://), not {scheme}://."
        )
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = None
    if not host or " " in host:
        raise ValueError(
            f"{url.strip()!r} is not a valid server address; it should look like "
            "https://kf.kobotoolbox.org."
        )
    if host in RETIRED_HOSTS:
        return RETIRED_REPLACEMENT
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = re.split(r"/api/v2(?:/|$)", parts.path, maxsplit=1)[0].rstrip("/")
    return urlunsplit((scheme, netloc, path, "", ""))


def chunk_ids(ids, max_chars, max_items=1000):
    """Split ``ids`` into lists whose ``{"_id":{"$in":[...]}}`` query, once
    URL-encoded, takes at most ``max_chars`` characters (and at most
    ``max_items`` ids: one page)."""
    overhead = 60  # the encoded {"_id":{"$in":[ ]}} around the ids
    chunk, size = [], overhead
    for kobo_id in ids:
        cost = len(str(kobo_id)) + 3  # digits and an encoded comma (%2C)
        if chunk and (size + cost > max_chars or len(chunk) >= max_items):
            yield chunk
            chunk, size = [], overhead
        chunk.append(kobo_id)
        size += cost
    if chunk:
        yield chunk


def _origin(url):
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.netloc or "").lower()


def _retry_after(value):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return _seconds_until(value)


def _seconds_until(http_date):
    try:
        moment = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def _flatten(value):
    """KoBo's words from any error body shape, as one line."""
    if isinstance(value, dict):
        parts = []
        for key, val in value.items():
            text = _flatten(val)
            if key in ("detail", "error", "non_field_errors", "__all__", "message"):
                parts.append(text)
            elif text:
                parts.append(f"{key}: {text}")
        return "; ".join(p for p in parts if p)
    if isinstance(value, (list, tuple)):
        return "; ".join(t for t in (_flatten(v) for v in value) if t)
    return "" if value is None else str(value).strip()


def _json_body(resp):
    try:
        return resp.json()
    except ValueError:
        return None


def _kobo_message(resp):
    """KoBo's own message from an error answer, or ``None``."""
    body = _json_body(resp)
    if body is not None:
        return _flatten(body) or None
    ctype = resp.headers.get("Content-Type", "")
    text = (resp.text or "").strip()
    if text and "html" not in ctype and not text.startswith("<") and len(text) <= 200:
        return text  # Django's plain "Resource not found (404)"
    return None


def _causes(exc):
    """The exception and everything it wraps (requests → urllib3 → socket)."""
    seen, todo = [], [exc]
    while todo:
        cur = todo.pop()
        if cur is None or any(cur is s for s in seen) or len(seen) > 20:
            continue
        seen.append(cur)
        todo += [cur.__cause__, cur.__context__, getattr(cur, "reason", None)]
        todo += [a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)]
    return seen


def _never_reached(exc):
    """True when the request provably never reached the server."""
    for cur in _causes(exc):
        if isinstance(
            cur,
            requests.exceptions.ConnectTimeout
            | urllib3.exceptions.NewConnectionError
            | urllib3.exceptions.ConnectTimeoutError
            | ConnectionRefusedError,
        ):
            return True
    return False


def _blocked(exc):
    """Odoo's test classes refuse outgoing requests with ``BlockedRequest``
    (a ``requests`` ConnectionError): retrying it is pointless."""
    return any(type(cur).__name__ == "BlockedRequest" for cur in _causes(exc))


def _reason(exc, timeout):
    """A short plain-English reason for a transport failure."""
    causes = _causes(exc)
    text = " ".join(str(c) for c in causes)
    if _blocked(exc):
        return "outgoing requests are blocked here (%s)" % str(exc)[:150]
    if any(isinstance(c, requests.exceptions.SSLError) for c in causes):
        return "the secure (TLS/SSL) connection failed: %s" % (
            "the certificate is not trusted or does not match the address"
            if "certificate" in text.lower()
            else "the server does not speak https on this port"
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "the connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        read = timeout[1] if isinstance(timeout, tuple) else timeout
        return f"no answer within {read} seconds"
    if re.search(r"NameResolution|getaddrinfo|Name or service not known|nodename", text):
        return "the host name could not be found (check the address)"
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text:
        return "the connection was refused (nothing listens at this address and port)"
    if re.search(r"reset|aborted|RemoteDisconnected|closed", text, re.IGNORECASE):
        return "the connection was closed unexpectedly"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "the address is not valid"
    return type(exc).__name__


class KpiClient:
    """Client of one KPI server for one API token.

    ``sleep`` and ``clock`` are injectable so that retries, throttling and
    import polling run instantly in tests; ``request_count`` counts every
    HTTP request sent (retries and redirect hops included)."""

    def __init__(
        self,
        base_url,
        token=None,
        *,
        timeout=(10, 60),
        session=None,
        max_retries=4,
        max_retry_seconds=60,
        sleep=time.sleep,
        clock=time.monotonic,
    ):
        self.base_url = normalize_server_url(base_url)
        self.token = token or None
        self.timeout = timeout
        self._own_session = session is None
        self.session = requests.Session() if session is None else session
        self.max_retries = max_retries
        self.max_retry_seconds = max_retry_seconds
        self.sleep = sleep
        self.clock = clock
        self.request_count = 0
        self._random = random.Random()

    def __repr__(self):  # never shows the token
        return f"<KpiClient {self.base_url}>"

    def close(self):
        """Close the connection pool (only if this client created it)."""
        if self._own_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------
    # Plumbing
    # ------------------------------------------------------------------
    @property
    def host(self):
        return urlsplit(self.base_url).netloc

    @property
    def _api_prefix(self):
        return urlsplit(self.base_url).path + "/api/v2/"

    def _url(self, path_or_url):
        """Absolute URL on the configured server. Relative routes are joined
        to ``base_url``; absolute URLs given by KoBo (``next``, import ``url``)
        are kept verbatim but moved onto ``base_url``'s scheme and host, so
        that a proxy's ``http://`` or internal host name never receives the
        token."""
        parts = urlsplit(path_or_url)
        if not parts.scheme:
            return f"{self.base_url}/{path_or_url.lstrip('/')}"
        base = urlsplit(self.base_url)
        if (parts.scheme.lower(), parts.netloc.lower()) != (base.scheme, base.netloc):
            _logger.debug("KPI: moving a URL of host %s onto %s", parts.hostname, base.netloc)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def _backoff(self, attempt):
        return min(30.0, 2.0**attempt) * (0.5 + self._random.random() / 2)

    def _send(self, method, url, *, token=True, redirects_ok=False, **kw):
        """Send one logical request with retries; return a 2xx ``Response``
        (or a 3xx when ``redirects_ok``); raise a ``KoboError`` otherwise."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        headers.update(kw.pop("headers", None) or {})
        if token and self.token:
            headers["Authorization"] = f"Token {self.token}"
        timeout = kw.pop("timeout", None) or self.timeout
        path = urlsplit(url).path
        deadline = self.clock() + self.max_retry_seconds
        attempt = 0
        while True:
            self.request_count += 1
            try:
                resp = self.session.request(
                    method, url, headers=headers, timeout=timeout, allow_redirects=False, **kw
                )
            except requests.exceptions.RequestException as exc:
                error = KoboConnectionError(
                    f"Cannot reach {urlsplit(url).hostname}: {_reason(exc, timeout)}.", url=url
                )
                retryable = not _blocked(exc) and (method in IDEMPOTENT or _never_reached(exc))
                wait = None
                _logger.info("KPI %s %s failed: %s", method, path, type(exc).__name__)
            else:
                status = resp.status_code
                _logger.debug("KPI %s %s -> %s", method, path, status)
                if 200 <= status < 300 or (redirects_ok and 300 <= status < 400):
                    return resp
                error = self._error(resp, method, url)
                resp.close()
                retryable = status == 429 or (method in IDEMPOTENT and status in RETRY_STATUSES)
                wait = getattr(error, "retry_after", None)
            if not retryable or attempt >= self.max_retries:
                raise error
            wait = self._backoff(attempt) if wait is None else wait
            if self.clock() + wait > deadline:
                _logger.info("KPI %s %s: retry budget spent, giving up", method, path)
                raise error
            attempt += 1
            _logger.info(
                "KPI %s %s: retry %d of %d in %.1f s", method, path, attempt, self.max_retries, wait
            )
            self.sleep(wait)

    def _error(self, resp, method, url):
        """The ``KoboError`` for a non-2xx answer (its body read only so far:
        a hostile server's endless error page is not read into memory)."""
        if resp._content is False:  # streamed, not read yet
            resp._content = resp.raw.read(ERROR_BODY_BYTES, decode_content=True) or b""
        status = resp.status_code
        host = urlsplit(url).hostname
        kw = {"status": status, "url": url, "body": resp.text[:2000]}
        if 300 <= status < 400:
            target = urlsplit(urljoin(url, resp.headers.get("Location", "")))
            where = f"{target.scheme}://{target.netloc}" if target.netloc else "another address"
            return KoboError(
                f"{host} redirected {method} {urlsplit(url).path} to {where} (HTTP {status}). "
                "kobo_connector does not follow redirects of API calls, which would lose the "
                "request and could send the token elsewhere: use the final address of the KoBo "
                f"server (probably {where}) as its URL.",
                **kw,
            )
        kobo = _kobo_message(resp)
        retry_after = _retry_after(resp.headers.get("Retry-After"))
        if status == 429 or (status == 503 and retry_after is not None):
            text = kobo or STATUS_TEXT[429]
            if retry_after is not None:
                seconds = round(retry_after)
                text += f" (retry in {seconds} second{'' if seconds == 1 else 's'})"
            return KoboThrottled(text, retry_after=retry_after, **kw)
        if status >= 500:
            ours = f"The KoBo server (or a proxy in front of it) failed with HTTP {status}."
            return KoboServerError(kobo or ours, **kw)
        cls = ERROR_CLASSES.get(status, KoboError)
        default = STATUS_TEXT.get(status, f"KoBo refused the request (HTTP {status})")
        return cls(kobo or f"{default}.", **kw)

    def _not_json(self, resp, url):
        ctype = resp.headers.get("Content-Type", "").split(";")[0] or "no content type"
        what = "a web page" if "html" in ctype else f"something that is not JSON ({ctype})"
        if "json" in ctype:
            what = "incomplete or invalid JSON"
        return KoboNotJson(
            f"{urlsplit(url).hostname} answered {urlsplit(url).path} with {what} instead of "
            "KoBo's JSON API: the URL probably does not point at a KoBo (KPI) server, or a "
            "proxy in front of it is failing.",
            status=resp.status_code,
            url=url,
            body=resp.text[:2000],
        )

    def _request(self, method, path_or_url, **kw):
        """One API call: the decoded JSON answer (``None`` when empty), read
        while streaming up to ``MAX_ANSWER_BYTES``."""
        url = self._url(path_or_url)
        resp = self._send(method, url, stream=True, **kw)
        with resp:
            body = io.BytesIO()
            self._stream(resp, url, body, MAX_ANSWER_BYTES, what="answer")
        if resp.status_code == 204 or not body.getvalue().strip():
            return None
        try:
            return json.loads(body.getvalue())
        except ValueError:
            resp._content = body.getvalue()  # so that the error can quote the page
            raise self._not_json(resp, url) from None

    def _pages(self, path, params=None):
        """Follow a paginated list: yield ``(results, count, next)`` per page."""
        url, seen = self._url(path), set()
        while url:
            page = self._request("GET", url, params=params)
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise KoboNotJson(
                    f"{self.host} answered {urlsplit(url).path} without a list of results: "
                    "the URL probably does not point at a KoBo (KPI) server.",
                    url=url,
                )
            nxt = page.get("next")
            yield page["results"], page.get("count"), nxt
            url, params = (self._url(nxt) if nxt else None), None
            if url in seen:
                raise KoboError("KoBo sent the same page of results twice; stopped.", url=url)
            seen.add(url)

    def _all(self, path, params=None):
        return [item for results, _c, _n in self._pages(path, params) for item in results]

    @staticmethod
    def _asset(uid, *tail):
        return "/".join(["api/v2/assets", quote(str(uid), safe=""), *map(str, tail)]) + "/"

    # ------------------------------------------------------------------
    # Account
    # ------------------------------------------------------------------
    @classmethod
    def fetch_token(cls, base_url, username, password, **kw):
        """Exchange a username and password, once, for the API token
        (``GET /token/`` with Basic auth; KoBo creates one if missing)."""
        client = cls(base_url, None, **kw)
        body = client._request("GET", "token/", auth=(username, password))
        if not isinstance(body, dict) or not body.get("token"):
            raise KoboNotJson(
                f"{client.host} did not return an API token: the URL probably does not point at "
                "a KoBo (KPI) server.",
                url=client._url("token/"),
            )
        return body["token"]

    def me(self):
        """The token's user (``/me/``): the credentials check, since KPI
        answers anonymous requests with empty lists rather than 401."""
        return self._request("GET", "me/")

    def has_api_v2(self):
        """True when ``/api/v2/`` answers (False: not KPI, or far too old)."""
        try:
            return isinstance(self._request("GET", "api/v2/"), dict)
        except (KoboNotFound, KoboGone, KoboNotJson):
            return False

    def has_api_v1(self):
        """Diagnostic only, after ``me()`` failed: True when this address is
        an old KoBoCAT that still serves ``/api/v1/`` (the user pasted the
        ``kc.`` address). No data is ever read through API v1."""
        try:
            self._request("GET", "api/v1/")
        except (KoboAuthError, KoboForbidden):
            return True
        except (KoboNotFound, KoboGone, KoboNotJson, KoboMethodNotAllowed, KoboBadRequest):
            return False
        return True

    # ------------------------------------------------------------------
    # Assets
    # ------------------------------------------------------------------
    def iter_surveys(self):
        """Every survey asset visible to the token (all pages)."""
        for results, _count, _next in self._pages(
            "api/v2/assets/", {"q": "asset_type:survey", "limit": 1000}
        ):
            yield from results

    def get_asset(self, uid, exclude=()):
        params = {"exclude": ",".join(exclude)} if exclude else None
        return self._request("GET", self._asset(uid), params=params)

    def asset_url(self, uid):
        return self._url(self._asset(uid))

    def asset_hash(self):
        """Hash of all accessible survey versions: cheap change detection."""
        return self._request("GET", "api/v2/assets/hash/")["hash"]

    def list_versions(self, uid):
        return self._all(self._asset(uid, "versions"))

    def get_version(self, uid, version_uid):
        return self._request("GET", self._asset(uid, "versions", version_uid))

    def delete_asset(self, uid):
        self._request("DELETE", self._asset(uid))

    def rename(self, uid, name):
        return self._request("PATCH", self._asset(uid), json={"name": name})

    def clone(self, uid, name, version_id=None):
        body = {"clone_from": uid, "name": name}
        if version_id:
            body["clone_from_version_id"] = version_id
        return self._request("POST", "api/v2/assets/", json=body)

    # ------------------------------------------------------------------
    # Imports (XLSForm upload)
    # ------------------------------------------------------------------
    def import_xlsform(
        self, data, filename, *, name=None, destination_uid=None, timeout=120, poll_interval=1.0
    ):
        """Upload an XLSForm as a new project (or replace ``destination_uid``'s
        content) and wait for KoBo to process it; return the asset uid."""
        fields = {"library": "false"}
        if name:
            # KPI strips the text after the last dot of ``name``: protect it
            fields["name"] = f"{name}.xlsx" if "." in name else name
        if destination_uid:
            fields["destination"] = self.asset_url(destination_uid)
        task = self._request(
            "POST", "api/v2/imports/", data=fields, files={"file": (filename, data, XLSX_MIME)}
        )
        if not isinstance(task, dict) or not (task.get("url") or task.get("uid")):
            raise KoboNotJson(f"{self.host} did not start the XLSForm import.", url=self.base_url)
        poll = task.get("url") or f"api/v2/imports/{task['uid']}/"
        deadline, interval = self.clock() + timeout, poll_interval
        while True:
            if self.clock() + interval > deadline:
                raise KoboTimeout(
                    f"KoBo was still processing the XLSForm after {timeout:.0f} seconds "
                    f"(import {task.get('uid')}). Try again later.",
                    url=self._url(poll),
                )
            self.sleep(interval)
            interval = min(interval * 1.5, 5.0)
            task = self._request("GET", poll)
            status, messages = task.get("status"), task.get("messages") or {}
            if status == "complete":
                done = messages.get("updated") or messages.get("created") or []
                if done and isinstance(done[0], dict) and done[0].get("uid"):
                    return done[0]["uid"]
                raise KoboImportError("KoBo finished the import but reported no form.")
            if status == "error":
                kind = messages.get("error_type")
                raise KoboImportError(
                    _flatten(messages.get("error"))
                    or f"KoBo could not import the XLSForm ({kind or 'no reason given'}).",
                    error_type=kind,
                    url=self._url(poll),
                )

    # ------------------------------------------------------------------
    # Deployment
    # ------------------------------------------------------------------
    def get_deployment(self, uid):
        return self._request("GET", self._asset(uid, "deployment"))

    def deploy(self, uid):
        return self._request("POST", self._asset(uid, "deployment"), json={"active": True})

    def redeploy(self, uid):
        """Deploy the latest version (after a rename or replace), keeping the
        form open or archived as it is on KoBo: KPI sets ``active`` from the
        body, so an archived form stays archived (its new version deployed)."""
        asset = self.get_asset(uid, exclude=("content", "analysis_form_json"))
        body = {"version_id": asset["version_id"], "active": bool(asset.get("deployment__active"))}
        return self._request("PATCH", self._asset(uid, "deployment"), json=body)

    def archive(self, uid):
        return self._request("PATCH", self._asset(uid, "deployment"), json={"active": False})

    def unarchive(self, uid):
        return self._request("PATCH", self._asset(uid, "deployment"), json={"active": True})

    # ------------------------------------------------------------------
    # Sharing
    # ------------------------------------------------------------------
    def assignable_permissions(self, uid):
        """``[{url, label}, …]`` that may be granted on this asset."""
        asset = self.get_asset(uid, exclude=("content", "analysis_form_json"))
        return asset.get("assignable_permissions") or []

    def permission_assignments(self, uid):
        return self._request("GET", self._asset(uid, "permission-assignments"))

    def _permission_url(self, codename):
        return self._url(f"api/v2/permissions/{quote(codename, safe='')}/")

    def get_user(self, username):
        """``users/<username>/`` (any authenticated user may read it): raises
        ``KoboNotFound`` when KoBo has no such user."""
        return self._request("GET", f"api/v2/users/{quote(username, safe='')}/")

    def assign_permission(self, uid, username, codename, partial_permissions=None):
        """Grant ``codename`` to ``username`` (KPI adds the implied ones).
        ``partial_permissions`` (for ``partial_submissions``) maps a submission
        permission codename to its list of Mongo filters, e.g.
        ``{"view_submissions": [{"_submitted_by": {"$in": ["alice"]}}]}``."""
        body = {
            "user": self._url(f"api/v2/users/{quote(username, safe='')}/"),
            "permission": self._permission_url(codename),
        }
        if partial_permissions:
            body["partial_permissions"] = [
                {"url": self._permission_url(code), "filters": list(filters)}
                for code, filters in partial_permissions.items()
            ]
        return self._request("POST", self._asset(uid, "permission-assignments"), json=body)

    def assign_partial_submissions(self, uid, username, codenames, submitted_by):
        """One ``partial_submissions`` assignment: ``username`` may do each of
        ``codenames`` (``view_submissions``, ``change_submissions``, …) only on
        the submissions made by the users ``submitted_by``."""
        users = list(submitted_by)
        flt = {"_submitted_by": users[0] if len(users) == 1 else {"$in": users}}
        partial = {code: [flt] for code in codenames}
        return self.assign_permission(uid, username, "partial_submissions", partial)

    def revoke_permission(self, assignment_url_or_uid, uid=None):
        """Delete one assignment, given by its URL, or by its uid and the asset's."""
        if "/" in assignment_url_or_uid:
            return self._request("DELETE", assignment_url_or_uid)
        if not uid:
            raise ValueError("revoke_permission needs the asset uid with an assignment uid")
        return self._request(
            "DELETE", self._asset(uid, "permission-assignments", assignment_url_or_uid)
        )

    # ------------------------------------------------------------------
    # Submissions
    # ------------------------------------------------------------------
    def iter_submission_pages(
        self, uid, *, query=None, fields=None, sort=None, limit=1000, start=None
    ):
        """Yield ``(results, count, next_url)`` per page of ``/data/`` (from
        the ``start``-th result of the query, when given)."""
        params = {"limit": limit}
        if start:
            params["start"] = start
        for key, value in (("query", query), ("fields", fields), ("sort", sort)):
            if value is not None:
                params[key] = (
                    value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
                )
        yield from self._pages(self._asset(uid, "data"), params)

    def iter_submissions(self, uid, **kw):
        for results, _count, _next in self.iter_submission_pages(uid, **kw):
            yield from results

    def iter_submissions_by_ids(self, uid, ids, *, fields=None, max_url=MAX_URL):
        """The submissions with these ``_id``s that KoBo has, in ``_id`` order
        per request, asked in as few GETs as keep each URL under ``max_url``."""
        budget = max_url - len(self._url(self._asset(uid, "data"))) - 300  # other params
        for chunk in chunk_ids(ids, budget):
            yield from self.iter_submissions(
                uid, query={"_id": {"$in": chunk}}, fields=fields, sort={"_id": 1}, limit=1000
            )

    def get_submission(self, uid, submission_id):
        return self._request("GET", self._asset(uid, "data", submission_id))

    def get_validation_status(self, uid, sid):
        return self._request("GET", self._asset(uid, "data", sid, "validation_status"))

    def set_validation_status(self, uid, sid, status_uid):
        """Set (or, with an empty ``status_uid``, clear) a validation status."""
        path = self._asset(uid, "data", sid, "validation_status")
        if not status_uid:
            return self._request("DELETE", path) or {}
        return self._request("PATCH", path, json={"validation_status.uid": status_uid})

    def download_attachment(self, uid, sid, att_uid, fileobj, *, max_bytes=None):
        """Stream the attachment ``att_uid`` of submission ``sid`` of form
        ``uid`` into ``fileobj``; return ``(content_type, filename, size)``.
        The URL is built here, on the server's own URL (never the
        ``download_url`` KoBo lists: the token opens the whole account), and
        no redirect is followed (KPI serves the file itself)."""
        url = self._url(self._asset(uid, "data", sid, "attachments", att_uid))
        resp = self._send("GET", url, stream=True, headers={"Accept": "*/*"})
        with resp:
            return self._stream(resp, url, fileobj, max_bytes)

    def _stream(self, resp, url, fileobj, max_bytes, what="attachment"):
        length = resp.headers.get("Content-Length", "")
        too_big = KoboError(f"The {what} is larger than the limit of {max_bytes} bytes.")
        if max_bytes is not None and length.isdigit() and int(length) > max_bytes:
            raise too_big
        size = 0
        try:
            for chunk in resp.iter_content(64 * 1024):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise too_big
                fileobj.write(chunk)
        except requests.exceptions.RequestException as exc:
            raise KoboConnectionError(
                f"Cannot reach {urlsplit(url).hostname}: {_reason(exc, self.timeout)}."
            ) from None
        ctype = resp.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        disposition = resp.headers.get("Content-Disposition", "")
        match = re.search(r"filename\*=(?:UTF-8|utf-8)''([^;]+)", disposition) or re.search(
            r'filename="?([^";]+)"?', disposition
        )
        filename = unquote(match.group(1)) if match else ""
        filename = filename or unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
        return ctype, Path(filename).name, size

    # ------------------------------------------------------------------
    # REST services (hooks)
    # ------------------------------------------------------------------
    def list_hooks(self, uid):
        return self._all(self._asset(uid, "hooks"))

    def create_hook(
        self,
        uid,
        name,
        endpoint,
        *,
        export_type="json",
        custom_headers=None,
        auth=None,
        subset_fields=None,
        active=True,
    ):
        """Create a REST service (``export_type`` ``json`` or ``xml``);
        ``auth`` is ``(username, password)``. KoBo returns the password in
        clear in ``settings``: callers keep no copy of the answer's settings."""
        settings = {"custom_headers": dict(custom_headers or {})}
        if auth:
            settings.update(username=auth[0], password=auth[1])
        body = {
            "name": name,
            "endpoint": endpoint,
            "active": active,
            "export_type": export_type,
            "auth_level": "basic_auth" if auth else "no_auth",
            "settings": settings,
            "subset_fields": list(subset_fields or []),
        }
        return self._request("POST", self._asset(uid, "hooks"), json=body)

    def get_hook(self, uid, hook_uid):
        return self._request("GET", self._asset(uid, "hooks", hook_uid))

    def update_hook(self, uid, hook_uid, **values):
        """PATCH some fields of a REST service (``active``, ``name``, …)."""
        return self._request("PATCH", self._asset(uid, "hooks", hook_uid), json=values)

    def set_hook_active(self, uid, hook_uid, active):
        """Enable or disable a REST service (a disabled one sends nothing)."""
        return self.update_hook(uid, hook_uid, active=bool(active))

    def retry_hook(self, uid, hook_uid):
        """Retry every failed delivery of a REST service: ``{"detail",
        "pending_uids"}``; KPI answers 304 (no body) when nothing failed,
        returned here as an empty ``pending_uids``; a disabled hook → 400."""
        url = self._url(self._asset(uid, "hooks", hook_uid, "retry"))
        resp = self._send("PATCH", url, redirects_ok=True)
        with resp:
            if resp.status_code == 304:
                return {"detail": "No data to retry", "pending_uids": []}
            if 300 <= resp.status_code < 400:
                raise self._error(resp, "PATCH", url)
            body = _json_body(resp)
        if not isinstance(body, dict):
            raise self._not_json(resp, url)
        body.setdefault("pending_uids", [])
        return body

    def retry_hook_log(self, uid, hook_uid, log_uid):
        """Retry one delivery (one log) of a REST service."""
        return self._request("PATCH", self._asset(uid, "hooks", hook_uid, "logs", log_uid, "retry"))

    def delete_hook(self, uid, hook_uid):
        self._request("DELETE", self._asset(uid, "hooks", hook_uid))

    def hook_logs(self, uid, hook_uid, status=None):
        """Every delivery log of a REST service (``status``: 0 failed,
        1 pending, 2 success)."""
        params = {"status": status} if status is not None else None
        return self._all(self._asset(uid, "hooks", hook_uid, "logs"), params)

    def last_hook_failure(self, uid, hook_uid, limit=30):
        """The latest failed delivery log of a REST service, or ``None``: one
        request (one page of failed logs)."""
        page = self._request(
            "GET",
            self._asset(uid, "hooks", hook_uid, "logs"),
            params={"status": 0, "limit": limit},
        )
        logs = (page or {}).get("results") or [] if isinstance(page, dict) else []
        return max(logs, key=lambda log: log.get("date_modified") or "", default=None)

    # ------------------------------------------------------------------
    # Validation statuses in bulk (issue 12: write-back after import)
    # ------------------------------------------------------------------
    def set_validation_statuses(self, uid, submission_ids, status_uid):
        """Set the validation status of several submissions in one call (an
        empty ``status_uid`` clears them). An id that is not the form's makes
        KoBo refuse the whole call (400)."""
        payload = {
            "submission_ids": list(submission_ids),
            "validation_status.uid": status_uid or "",
        }
        return self._request(
            "PATCH", self._asset(uid, "data", "validation_statuses"), json={"payload": payload}
        )

    # ------------------------------------------------------------------
    # Form media (issue 13: choice lists published from Odoo)
    # ------------------------------------------------------------------
    def list_media(self, uid):
        """The live ``form_media`` files of the asset (KPI's asset files)."""
        return self._all(self._asset(uid, "files"), {"file_type": "form_media"})

    def upload_media(self, uid, filename, data, description, mimetype="text/csv"):
        """Upload one form media file. KPI requires ``description`` and
        refuses a second live file of the same name (400): replace is
        :meth:`delete_media` then this call. Not retried (not idempotent).
        Sent as ``base64Encoded`` with ``metadata.filename``, as KPI's own
        front end does: a binary upload without ``metadata`` fails with a 500
        on KPI."""
        encoded = base64.b64encode(data).decode("ascii")
        body = {
            "file_type": "form_media",
            "description": description,
            "base64Encoded": f"data:{mimetype};base64,{encoded}",
            "metadata": {"filename": filename},
        }
        return self._request("POST", self._asset(uid, "files"), json=body)

    def delete_media(self, uid, file_uid):
        self._request("DELETE", self._asset(uid, "files", file_uid))

    def media_content(self, uid, file_uid):
        """The bytes of one asset file."""
        url = self._url(self._asset(uid, "files", file_uid, "content"))
        return self._send("GET", url, headers={"Accept": "*/*"}).content

    def redeploy_media(self, uid):
        """Redeploy the *deployed* version again so that KoBo syncs the form
        media to collectors (KPI accepts the same version). Refused when the
        asset has undeployed changes: KPI can only deploy its current
        version, which is not the one collectors have."""
        asset = self.get_asset(uid, exclude=("content", "analysis_form_json"))
        if asset.get("version_id") != asset.get("deployed_version_id"):
            raise KoboConflict(
                "The form has changes that are not deployed: redeploying it for its media "
                "would also publish them.",
                url=self.asset_url(uid),
            )
        body = {"version_id": asset["version_id"], "active": bool(asset.get("deployment__active"))}
        return self._request("PATCH", self._asset(uid, "deployment"), json=body)

    def collector_media(self, uid):
        """What collectors get of the deployed form ``uid``: the files of its
        OpenRosa manifest, ``[{filename, hash, downloadUrl}, …]`` (``None``
        when the form is not in this user's form list: not deployed, or
        archived). KPI fills the manifest asynchronously after a deploy."""
        headers = {"Accept": "text/xml", "X-OpenRosa-Version": "1.0"}
        listing = self._send("GET", self._url("formList"), headers=headers)
        manifest_url = None
        for xform in _xml_items(listing.content, "xform"):
            if xform.get("formID") == uid:
                manifest_url = xform.get("manifestUrl")
        if not manifest_url:
            return None
        manifest = self._send("GET", self._url(manifest_url), headers=headers)
        return list(_xml_items(manifest.content, "mediaFile"))


def _xml_items(content, tag):
    """The ``tag`` elements of an OpenRosa list as dicts of their children's text."""
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise KoboNotJson("KoBo answered an OpenRosa list with something that is not XML.") from exc
    for node in root.iter():
        if node.tag.rsplit("}", 1)[-1] == tag:
            yield {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in node}
