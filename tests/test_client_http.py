"""KpiClient plumbing without the fake KPI: headers, error mapping of every
status and body shape, retries/backoff/Retry-After/budget, redirects and the
token, imports polling. Answers come from a scripted ``requests`` transport
adapter (``session`` injection) or a tiny stdlib HTTP server on 127.0.0.1."""

import email.utils
import io
import json
import logging
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import urllib3
from kobo_kpi import client as client_module
from kobo_kpi import errors
from kobo_kpi.client import USER_AGENT, KpiClient, _retry_after
from requests.structures import CaseInsensitiveDict

TOKEN = "0123456789abcdef0123456789abcdef01234567"
BASE = "https://kobo.example.org"


# ----------------------------------------------------------------------
# A scripted transport adapter
# ----------------------------------------------------------------------
class Script(requests.adapters.BaseAdapter):
    """Answers requests in order: ``(status, body[, headers])``, an
    exception instance to raise, or a callable taking the request."""

    def __init__(self, *answers):
        super().__init__()
        self.answers = list(answers)
        self.sent = []

    def send(self, request, **kw):
        self.sent.append((request, kw))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if callable(answer):
            answer = answer(request)
        if isinstance(answer, BaseException):
            raise answer
        status, body, headers = (*answer, {})[:3]
        headers = CaseInsensitiveDict(headers)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        body = body.encode() if isinstance(body, str) else body
        resp = requests.Response()
        resp.status_code, resp.headers, resp.url, resp.request = (
            status,
            headers,
            request.url,
            request,
        )
        resp.reason = "Reason"
        resp._content, resp._content_consumed, resp.raw = body, True, io.BytesIO(body)
        return resp

    def close(self):
        pass


class Clock:
    """Fake monotonic clock advanced by the fake sleep."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make(*answers, token=TOKEN, **kw):
    script = Script(*answers)
    session = requests.Session()
    session.mount("https://", script)
    session.mount("http://", script)
    clock = Clock()
    kw.setdefault("sleep", clock.sleep)
    kw.setdefault("clock", clock)
    client = KpiClient(BASE, token, session=session, **kw)
    return client, script, clock


def refused():
    cause = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", cause))


# ----------------------------------------------------------------------
# Requests as sent
# ----------------------------------------------------------------------
def test_headers_timeout_and_trailing_slash():
    client, script, _ = make((200, {"username": "bob"}))
    assert client.me() == {"username": "bob"}
    request, kw = script.sent[0]
    assert request.url == f"{BASE}/me/"
    assert request.headers["Authorization"] == f"Token {TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("kobo_connector/18.0.")
    assert kw["timeout"] == (10, 60)
    assert client.request_count == 1


def test_no_token_no_authorization_header():
    client, script, _ = make((200, {"count": 0, "next": None, "results": []}), token=None)
    assert list(client.iter_surveys()) == []
    request = script.sent[0][0]
    assert "Authorization" not in request.headers
    assert request.url == f"{BASE}/api/v2/assets/?q=asset_type%3Asurvey&limit=1000"


def test_every_route_ends_with_slash():
    client, script, _ = make((200, {"uid": "x", "version_id": "v1"}))
    client.get_asset("aX")
    client.get_deployment("aX")
    client.get_submission("aX", 4)
    client.get_validation_status("aX", 4)
    client.get_version("aX", "v1")
    client.permission_assignments("aX")
    client.delete_hook("aX", "hY")
    client.delete_asset("aX")
    for request, _kw in script.sent:
        assert request.path_url.split("?")[0].endswith("/"), request.path_url
        assert "/api/v1/" not in request.path_url


def test_repr_hides_token():
    client, _, _ = make((200, {}))
    assert TOKEN not in repr(client)


# ----------------------------------------------------------------------
# Error mapping
# ----------------------------------------------------------------------
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (
            400,
            {"user": ["This field is required."], "permission": ["This field is required."]},
            errors.KoboBadRequest,
            "user: This field is required.; permission: This field is required.",
        ),
        (
            400,
            {"user": "Owner's permissions cannot be assigned explicitly"},
            errors.KoboBadRequest,
            "user: Owner's permissions cannot be assigned explicitly",
        ),
        (400, ["Unsupported query"], errors.KoboBadRequest, "Unsupported query"),
        (
            400,
            {"detail": "Your query is too short"},
            errors.KoboBadRequest,
            "Your query is too short",
        ),
        (400, {"error": "Duplicate name: 'age'"}, errors.KoboBadRequest, "Duplicate name: 'age'"),
        (
            400,
            {"partial_permissions": [{"filters": ["Bad filter"]}]},
            errors.KoboBadRequest,
            "partial_permissions: filters: Bad filter",
        ),
        (400, "", errors.KoboBadRequest, "KoBo refused the request."),
        (401, {"detail": "Invalid token."}, errors.KoboAuthError, "Invalid token."),
        (401, "", errors.KoboAuthError, "KoBo refused the credentials"),
        (
            403,
            {"detail": "You do not have permission to perform this action."},
            errors.KoboForbidden,
            "You do not have permission to perform this action.",
        ),
        (404, {"detail": "Not found."}, errors.KoboNotFound, "Not found."),
        (404, "Resource not found (404)", errors.KoboNotFound, "Resource not found (404)"),
        (
            404,
            "<html><body>Not Found</body></html>",
            errors.KoboNotFound,
            "KoBo answered 'not found'.",
        ),
        (
            405,
            {"detail": "Use PATCH to update an existing deployment"},
            errors.KoboMethodNotAllowed,
            "Use PATCH to update an existing deployment",
        ),
        (
            409,
            {"detail": "Owner's permissions cannot be deleted"},
            errors.KoboConflict,
            "Owner's permissions cannot be deleted",
        ),
        (
            410,
            {"detail": "The V1 API has been removed."},
            errors.KoboGone,
            "The V1 API has been removed.",
        ),
        (413, "", errors.KoboError, "KoBo refused the request (HTTP 413)."),
        (500, {"error": "Server Error (500)"}, errors.KoboServerError, "Server Error (500)"),
        (
            500,
            "<html>Internal error</html>",
            errors.KoboServerError,
            "failed with HTTP 500.",
        ),
    ],
)
def test_error_mapping(status, body, cls, message):
    client, _, _ = make((status, body, JSON if isinstance(body, (dict, list)) else {}))
    with pytest.raises(cls) as info:
        client.get_asset("aX")
    exc = info.value
    assert type(exc) is cls
    assert message in exc.message
    assert exc.status == status
    assert exc.url == f"{BASE}/api/v2/assets/aX/"
    assert TOKEN not in str(exc)


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        ("<!DOCTYPE html><html><body>Please log in</body></html>", "text/html; charset=utf-8"),
        ('{"count": 3, "results": [{"uid": "a', "application/json"),
        ("not json at all", "text/plain"),
    ],
)
def test_2xx_not_json(body, ctype):
    client, _, _ = make((200, body, {"Content-Type": ctype}))
    with pytest.raises(
        errors.KoboNotJson, match=r"probably does not point at a KoBo \(KPI\) server"
    ):
        client.me()


def test_204_is_none():
    client, _, _ = make((204, ""))
    assert client.delete_asset("aX") is None


def test_redirect_is_an_error_not_followed():
    client, script, _ = make((301, "", {"Location": "https://kf.example.org/me/"}))
    with pytest.raises(errors.KoboError, match=re.escape("https://kf.example.org")) as info:
        client.me()
    assert info.value.status == 301
    assert "does not follow redirects" in info.value.message
    assert client.request_count == 1
    assert len(script.sent) == 1


def test_3xx_on_post_not_followed():
    client, script, _ = make((302, "", {"Location": "/accounts/login/?next=/api/v2/assets/"}))
    with pytest.raises(errors.KoboError, match="redirected POST"):
        client.deploy("aX")
    assert len(script.sent) == 1


# ----------------------------------------------------------------------
# Retry-After, retries, budget
# ----------------------------------------------------------------------
def test_retry_after_parsing():
    assert _retry_after("5") == 5
    assert _retry_after(" 2.5 ") == 2.5
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    assert _retry_after("-3") == 0
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 27 <= _retry_after(future) <= 31
    past = email.utils.formatdate(time.time() - 300, usegmt=True)
    assert _retry_after(past) == 0


def test_get_retries_503_then_succeeds():
    client, _, clock = make((503, "busy"), (502, "<html>"), (200, {"username": "bob"}))
    assert client.me()["username"] == "bob"
    assert client.request_count == 3
    assert len(clock.sleeps) == 2
    assert 0.5 <= clock.sleeps[0] <= 1.0
    assert 1.0 <= clock.sleeps[1] <= 2.0


def test_429_honours_retry_after_seconds():
    client, _, clock = make((429, {"detail": "Slow down"}, {"Retry-After": "7"}), (200, {"a": 1}))
    assert client.me() == {"a": 1}
    assert clock.sleeps == [7]


def test_503_with_retry_after_is_throttled():
    date = email.utils.formatdate(time.time() + 20, usegmt=True)
    client, _, clock = make((503, {"detail": "Export running"}, {"Retry-After": date}))
    with pytest.raises(errors.KoboThrottled) as info:
        client.me()
    assert 17 <= info.value.retry_after <= 21
    assert "Export running" in info.value.message
    assert client.request_count == 4  # the 60 s budget allows three waits of ~20 s
    assert sum(clock.sleeps) <= client.max_retry_seconds


def test_503_without_retry_after_is_server_error():
    client, _, _ = make((503, "<html>Service Unavailable</html>"), max_retries=0)
    with pytest.raises(errors.KoboServerError, match="HTTP 503"):
        client.me()


def test_500_is_not_retried():
    client, _, clock = make((500, {"error": "Server Error (500)"}))
    with pytest.raises(errors.KoboServerError):
        client.me()
    assert client.request_count == 1
    assert clock.sleeps == []


def test_retries_bounded_by_max_retries():
    client, _, clock = make((504, ""), max_retries=3)
    with pytest.raises(errors.KoboServerError):
        client.me()
    assert client.request_count == 4
    assert len(clock.sleeps) == 3


def test_retry_after_beyond_budget_gives_up_at_once():
    client, _, clock = make((429, {"detail": "Throttled"}, {"Retry-After": "120"}))
    with pytest.raises(errors.KoboThrottled) as info:
        client.me()
    assert info.value.retry_after == 120
    assert client.request_count == 1
    assert clock.sleeps == []


def test_backoff_never_sleeps_past_budget():
    client, _, clock = make((503, ""), max_retries=50, max_retry_seconds=20)
    with pytest.raises(errors.KoboServerError):
        client.me()
    assert 2 <= len(clock.sleeps) < 10
    assert sum(clock.sleeps) <= 20
    assert all(s <= 30 for s in clock.sleeps)


@pytest.mark.parametrize("method", ["delete_asset", "archive"])
def test_delete_and_patch_are_retried(method):
    client, _, _ = make((502, ""), (200, {"active": False}))
    getattr(client, method)("aX")
    assert client.request_count == 2


def test_post_not_retried_on_503_or_read_timeout():
    client, _, _ = make((503, ""), (200, {}))
    with pytest.raises(errors.KoboServerError):
        client.deploy("aX")
    assert client.request_count == 1
    client, _, _ = make(requests.exceptions.ReadTimeout("read timed out"), (200, {}))
    with pytest.raises(errors.KoboConnectionError, match="no answer within 60 seconds"):
        client.deploy("aX")
    assert client.request_count == 1


def test_post_retried_on_429_and_when_never_sent():
    client, _, clock = make(
        (429, "", {"Retry-After": "1"}),
        refused(),
        requests.exceptions.ConnectTimeout("connect timed out"),
        (200, {"active": True}),
    )
    assert client.deploy("aX") == {"active": True}
    assert client.request_count == 4
    assert clock.sleeps[0] == 1


def test_get_retried_on_connection_errors():
    reset = requests.exceptions.ConnectionError(
        ConnectionResetError(104, "Connection reset by peer")
    )
    client, _, _ = make(reset, requests.exceptions.ReadTimeout("x"), (200, {"username": "bob"}))
    assert client.me()["username"] == "bob"
    assert client.request_count == 3


def test_connection_error_message():
    client, _, _ = make(refused(), max_retries=1)
    with pytest.raises(errors.KoboConnectionError) as info:
        client.me()
    assert info.value.message.startswith("Cannot reach kobo.example.org: ")
    assert info.value.status is None


class BlockedRequest(requests.exceptions.ConnectionError):
    """Like Odoo's test-mode refusal of outgoing requests."""


def test_odoo_blocked_request_is_a_connection_error_without_retry():
    client, _, clock = make(BlockedRequest("External requests verboten (was GET https://x)"))
    with pytest.raises(
        errors.KoboConnectionError, match=re.escape("Cannot reach kobo.example.org")
    ):
        client.me()
    assert client.request_count == 1
    assert clock.sleeps == []


def test_token_never_logged_nor_in_errors(caplog):
    caplog.set_level(logging.DEBUG, logger="kobo_kpi")
    client, _, _ = make((503, ""), (401, {"detail": "Invalid token."}), refused())
    for _ in range(3):
        with pytest.raises(errors.KoboError) as info:
            client.me()
        assert TOKEN not in str(info.value) and TOKEN not in (info.value.url or "")
    assert "KPI GET /me/" in caplog.text
    assert TOKEN not in caplog.text


# ----------------------------------------------------------------------
# Paging and `next`
# ----------------------------------------------------------------------
def page(results, nxt=None, count=None):
    return 200, {"count": count, "next": nxt, "previous": None, "results": results}


def test_next_followed_verbatim_and_rebased_onto_base_url():
    nxt = "http://internal:8000/api/v2/assets/?q=asset_type%3Asurvey&limit=1000&offset=1000"
    client, script, _ = make(page([{"uid": "a1"}], nxt), page([{"uid": "a2"}]))
    assert [a["uid"] for a in client.iter_surveys()] == ["a1", "a2"]
    second = script.sent[1][0]
    assert second.url == f"{BASE}/api/v2/assets/?q=asset_type%3Asurvey&limit=1000&offset=1000"
    assert second.headers["Authorization"] == f"Token {TOKEN}"


def test_submission_pages_json_params():
    nxt = f"{BASE}/api/v2/assets/aX/data/?limit=2&start=2&query=%7B%7D"
    client, script, _ = make(page([{"_id": 1}, {"_id": 2}], nxt, 3), page([{"_id": 3}], None, 3))
    pages = list(
        client.iter_submission_pages(
            "aX", query={"consent": "yes"}, fields=["_id", "age"], sort={"_id": -1}, limit=2
        )
    )
    assert [(len(r), c, n) for r, c, n in pages] == [(2, 3, nxt), (1, 3, None)]
    params = parse_qs(urlsplit(script.sent[0][0].url).query)
    assert params == {
        "limit": ["2"],
        "query": ['{"consent":"yes"}'],
        "fields": ['["_id","age"]'],
        "sort": ['{"_id":-1}'],
    }
    assert script.sent[1][0].url == nxt


def test_same_next_twice_stops():
    nxt = f"{BASE}/api/v2/assets/aX/hooks/?start=1"
    client, _, _ = make(page([{"uid": "h1"}], nxt), page([{"uid": "h1"}], nxt))
    with pytest.raises(errors.KoboError, match="same page"):
        client.list_hooks("aX")


def test_list_without_results_is_not_kpi():
    client, _, _ = make((200, {"hello": "world"}))
    with pytest.raises(errors.KoboNotJson):
        list(client.iter_surveys())


# ----------------------------------------------------------------------
# Token exchange
# ----------------------------------------------------------------------
def test_fetch_token_uses_basic_auth():
    script = Script((200, {"token": TOKEN}))
    session = requests.Session()
    session.mount("https://", script)
    assert KpiClient.fetch_token("kobo.example.org/", "bob", "pw", session=session) == TOKEN
    request = script.sent[0][0]
    assert request.url == f"{BASE}/token/"
    assert request.headers["Authorization"].startswith("Basic ")


def test_fetch_token_bad_password():
    script = Script((401, {"detail": "Invalid username/password."}))
    session = requests.Session()
    session.mount("https://", script)
    with pytest.raises(errors.KoboAuthError, match=re.escape("Invalid username/password.")):
        KpiClient.fetch_token(BASE, "bob", "bad", session=session)


# ----------------------------------------------------------------------
# Import polling
# ----------------------------------------------------------------------
def started(uid="iAbc"):
    return 201, {
        "uid": uid,
        "url": f"http://127.0.0.1:8000/api/v2/imports/{uid}/?format=json",
        "status": "processing",
    }


def test_import_polls_until_created():
    client, script, clock = make(
        started(),
        (200, {"status": "processing", "messages": {}}),
        (200, {"status": "complete", "messages": {"created": [{"uid": "aNew", "kind": "asset"}]}}),
    )
    assert client.import_xlsform(b"PK\x03\x04xlsx", "form.xlsx", name="Survey v1.5") == "aNew"
    post = script.sent[0][0]
    assert post.method == "POST" and post.url == f"{BASE}/api/v2/imports/"
    body = post.body
    assert b'name="library"\r\n\r\nfalse' in body
    assert b'name="name"\r\n\r\nSurvey v1.5.xlsx' in body
    assert b'filename="form.xlsx"' in body and b"PK\x03\x04xlsx" in body
    assert b'name="destination"' not in body
    assert script.sent[1][0].url == f"{BASE}/api/v2/imports/iAbc/?format=json"
    assert clock.sleeps == [1.0, 1.5]


def test_import_replace_reads_updated():
    client, script, _ = make(
        started(),
        (200, {"status": "complete", "messages": {"updated": [{"uid": "aOld"}], "audit_logs": []}}),
    )
    assert client.import_xlsform(b"x", "f.xlsx", destination_uid="aOld") == "aOld"
    assert (
        f'name="destination"\r\n\r\n{BASE}/api/v2/assets/aOld/'.encode() in script.sent[0][0].body
    )


def test_import_error():
    client, _, _ = make(
        started(),
        (
            200,
            {
                "status": "error",
                "messages": {
                    "error": "Unsupported format, or corrupt file",
                    "error_type": "XlsFormatException",
                },
            },
        ),
    )
    with pytest.raises(errors.KoboImportError, match="Unsupported format") as info:
        client.import_xlsform(b"not excel", "f.xlsx")
    assert info.value.error_type == "XlsFormatException"


def test_import_times_out():
    client, _, clock = make(started(), (200, {"status": "processing", "messages": {}}))
    with pytest.raises(errors.KoboTimeout, match="still processing"):
        client.import_xlsform(b"x", "f.xlsx", timeout=30)
    assert sum(clock.sleeps) <= 30
    assert max(clock.sleeps) <= 5


# ----------------------------------------------------------------------
# Real sockets: a tiny HTTP server on 127.0.0.1
# ----------------------------------------------------------------------
class Server:
    """``routes``: path → function(handler) writing the answer."""

    def __init__(self):
        self.routes, self.seen = {}, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.seen.append((self.command, self.path, dict(self.headers)))
                outer.routes.get(self.path.split("?")[0], Server.not_found)(self)

            do_POST = do_GET

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def not_found(h):
        h.send_response(404)
        h.send_header("Content-Type", "text/plain")
        h.end_headers()
        h.wfile.write(b"Resource not found (404)")

    @staticmethod
    def redirect(location, status=302):
        def answer(h):
            h.send_response(status)
            h.send_header("Location", location)
            h.send_header("Content-Length", "0")
            h.end_headers()

        return answer

    @staticmethod
    def file(data, ctype="image/jpeg", disposition='attachment; filename="IMG_2235.jpg"'):
        def answer(h):
            h.send_response(200)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            if disposition:
                h.send_header("Content-Disposition", disposition)
            h.end_headers()
            h.wfile.write(data)

        return answer

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


def local(server, **kw):
    clock = Clock()
    return KpiClient(f"http://127.0.0.1:{server.port}", TOKEN, sleep=clock.sleep, clock=clock, **kw)


PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 700  # ~180 KB, several chunks


ATT1 = "/api/v2/assets/aX/data/4/attachments/att1/"


def test_download_builds_the_url_and_follows_no_redirect(server):
    server.routes[ATT1] = Server.file(PHOTO)
    out = io.BytesIO()
    assert local(server).download_attachment("aX", 4, "att1", out) == (
        "image/jpeg",
        "IMG_2235.jpg",
        len(PHOTO),
    )
    assert out.getvalue() == PHOTO
    assert [s[2].get("Authorization") for s in server.seen] == [f"Token {TOKEN}"]
    # a redirect is KoBo pointing elsewhere: refused, never followed
    server.routes[ATT1] = Server.redirect("/media/x.jpg")
    server.routes["/media/x.jpg"] = Server.file(PHOTO)
    server.seen.clear()
    with pytest.raises(errors.KoboError, match="does not follow redirects"):
        local(server).download_attachment("aX", 4, "att1", io.BytesIO())
    assert len(server.seen) == 1


def test_download_max_bytes(server):
    server.routes[ATT1] = Server.file(PHOTO)
    with pytest.raises(errors.KoboError, match="larger than the limit of 1000 bytes"):
        local(server).download_attachment("aX", 4, "att1", io.BytesIO(), max_bytes=1000)
    server.routes[ATT1] = lambda h: (
        h.send_response(200),
        h.send_header("Content-Type", "image/jpeg"),
        h.end_headers(),
        h.wfile.write(PHOTO),
        h.wfile.flush(),
        setattr(h, "close_connection", True),
    )
    out = io.BytesIO()
    with pytest.raises(errors.KoboError, match="larger than the limit"):
        local(server).download_attachment("aX", 4, "att1", out, max_bytes=100_000)
    assert len(out.getvalue()) <= 100_000


def test_api_answer_capped_while_streaming(server, monkeypatch):
    monkeypatch.setattr(client_module, "MAX_ANSWER_BYTES", 1000)
    server.routes["/me/"] = lambda h: (
        h.send_response(200),
        h.send_header("Content-Type", "application/json"),
        h.end_headers(),
        h.wfile.write(b'{"username": "' + b"x" * 5000 + b'"}'),
        h.wfile.flush(),
        setattr(h, "close_connection", True),
    )
    with pytest.raises(errors.KoboError, match="answer is larger than the limit of 1000 bytes"):
        local(server).me()


def test_error_answer_read_only_so_far(server, monkeypatch):
    """A hostile server's endless error page is not read into memory: the
    error keeps what was read of it, and still says what happened."""
    monkeypatch.setattr(client_module, "ERROR_BODY_BYTES", 1000)
    server.routes["/me/"] = lambda h: (
        h.send_response(400),
        h.send_header("Content-Type", "text/plain"),
        h.end_headers(),
        h.wfile.write(b"x" * 5000),
        h.wfile.flush(),
        setattr(h, "close_connection", True),
    )
    with pytest.raises(errors.KoboBadRequest, match="KoBo refused the request") as info:
        local(server).me()
    assert 0 < len(info.value.body) <= 1000


def test_download_404(server):
    with pytest.raises(errors.KoboNotFound, match=r"Resource not found \(404\)"):
        local(server).download_attachment("aX", 4, "nothing", io.BytesIO())


def test_real_redirect_on_api_call_is_refused(server):
    server.routes["/me/"] = Server.redirect(f"https://127.0.0.1:{server.port}/me/", 301)
    with pytest.raises(errors.KoboError, match="redirected GET /me/"):
        local(server).me()
    assert len(server.seen) == 1


def test_real_read_timeout(server):
    server.routes["/me/"] = lambda h: time.sleep(1.0)
    client = local(server, timeout=(2, 0.2), max_retries=1)
    with pytest.raises(errors.KoboConnectionError, match=re.escape("no answer within 0.2 seconds")):
        client.me()
    assert client.request_count == 2


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("call", ["me", "deploy"])
def test_real_connection_refused_is_retried(call):
    clock = Clock()
    client = KpiClient(f"http://127.0.0.1:{free_port()}", TOKEN, sleep=clock.sleep, clock=clock)
    with pytest.raises(
        errors.KoboConnectionError,
        match=re.escape("Cannot reach 127.0.0.1: the connection was refused"),
    ):
        getattr(client, call)(*(["aX"] if call == "deploy" else []))
    assert client.request_count == 5  # never reached the server: even POST is retried


def test_download_url_is_built_on_the_servers_url():
    client, script, _ = make((200, b"\x89PNG", {"Content-Type": "image/png"}))
    assert client.download_attachment("aX", 4, "att1", io.BytesIO()) == ("image/png", "att1", 4)
    request = script.sent[0][0]
    assert request.url == f"{BASE}/api/v2/assets/aX/data/4/attachments/att1/"
    assert request.headers["Authorization"] == f"Token {TOKEN}"
    assert request.headers["Accept"] == "*/*"


def test_throttled_message_and_context_manager():
    client, _script, _ = make((429, {"detail": "Slow down."}, {"Retry-After": "1"}))
    with client, pytest.raises(errors.KoboThrottled) as info:
        client.me()
    assert info.value.message == "Slow down. (retry in 1 second)"
    injected = requests.Session()
    KpiClient(BASE, session=injected).close()  # an injected session is the caller's
    assert injected.adapters
