"""FakeKobo fault injection, request log, hooks delivery and the sandbox."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from kobo_kpi.fake import FakeKobo
from kobo_kpi.fake.seed import seed_demo, xlsform


@pytest.fixture
def api(fake_kobo):
    s = requests.Session()
    s.headers["Authorization"] = f"Token {fake_kobo.token}"
    return s


def test_fault_status_kinds(fake_kobo, api):
    fake = fake_kobo
    me = f"{fake.url}/me/"
    fake.fail(r"^/me/", 503)
    answer = api.get(me)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert api.get(me).status_code == 200  # times=1
    fake.fail("/me/", 429, headers={"Retry-After": "7"}, times=2)
    assert [api.get(me).headers.get("Retry-After") for _ in range(3)] == ["7", "7", None]
    fake.fail("/me/", 500, method="POST")
    assert api.get(me).status_code == 200
    fake.clear_faults()
    fake.fail("/me/", 500, times=None)
    assert [api.get(me).status_code for _ in range(3)] == [500, 500, 500]
    assert api.get(me).json() == {"error": "Server Error (500)"}
    fake.clear_faults()
    fake.fail("/me/", 400, body={"detail": "custom"})
    assert api.get(me).json() == {"detail": "custom"}


def test_fault_html_truncated_slow_reset(fake_kobo, api):
    fake = fake_kobo
    uid = fake.create_asset(xlsform=xlsform("contact"), deploy=True)
    fake.add_submissions(uid, [{"name": str(i)} for i in range(5)])
    data = f"{fake.url}/api/v2/assets/{uid}/data/"
    fake.fail("/data/", kind="html")
    html = api.get(data)
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    fake.fail("/data/", kind="truncated")
    cut = api.get(data)
    assert cut.status_code == 200 and cut.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(cut.text)
    fake.fail("/data/", kind="slow", delay=0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get(data, timeout=0.1)
    fake.fail("/data/", kind="reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(data, headers=api.headers)
    assert api.get(data).json()["count"] == 5
    with pytest.raises(ValueError):
        fake.fail("/x/", kind="nonsense")


def test_request_log(fake_kobo, api):
    fake = fake_kobo
    fake.reset_requests()
    api.get(f"{fake.url}/me/?format=json")
    api.post(f"{fake.url}/api/v2/assets/", json={"asset_type": "survey"})
    assert fake.requests == [("GET", "/me/?format=json"), ("POST", "/api/v2/assets/")]
    fake.reset_requests()
    assert fake.requests == []


class _Listener(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), json.loads(body)))
        status = 500 if b'"fail"' in body else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    _Listener.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=lambda: server.serve_forever(0.05), daemon=True)
    thread.start()
    yield server, _Listener.received
    server.shutdown()
    server.server_close()


def test_hooks_crud_and_delivery(fake_kobo, api, listener):
    fake = fake_kobo
    server, received = listener
    uid = fake.create_asset(xlsform=xlsform("contact"), deploy=True)
    hooks = f"{fake.url}/api/v2/assets/{uid}/hooks/"
    invalid = api.post(hooks, json={"endpoint": "ftp://x"})
    assert invalid.status_code == 400
    assert invalid.json() == {
        "name": ["This field is required."],
        "endpoint": ["Enter a valid URL."],
    }
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/kobo/hook"
    created = api.post(
        hooks,
        json={
            "name": "Odoo",
            "endpoint": endpoint,
            "auth_level": "basic_auth",
            "settings": {"username": "u", "password": "p", "custom_headers": {"X-Odoo": "s3"}},
        },
    )
    assert created.status_code == 201
    hook = created.json()
    assert hook["uid"].startswith("h") and hook["active"] is True
    assert api.get(hooks).json()["count"] == 1
    sub = fake.add_submission(uid, {"name": "Ann"})
    fake.add_submission(uid, {"name": "fail"})
    fake.edit_submission(uid, sub["_id"], {"name": "Ann B"})  # edits do not fire hooks
    assert fake.wait_hooks(timeout=5)
    assert len(received) == 2
    headers, body = received[0]
    assert body == sub
    assert headers["User-Agent"] == f"KoboToolbox external service #{hook['uid']}"
    assert headers["X-Odoo"] == "s3" and headers["Authorization"].startswith("Basic ")
    logs = api.get(hook["logs_url"]).json()["results"]
    assert sorted((log["status"], log["status_code"]) for log in logs) == [(0, 500), (2, 200)]
    detail = api.get(hook["url"]).json()
    assert (detail["success_count"], detail["failed_count"]) == (1, 1)
    fake.public_domain = "kf.example.org"  # KPI's PUBLIC_DOMAIN_NAME set
    fake.add_submission(uid, {"name": "Domain"})
    assert fake.wait_hooks(timeout=5) and len(received) == 3
    ua = f"KoboToolbox external service - kf.example.org #{hook['uid']}"
    assert received[2][0]["User-Agent"] == ua
    assert api.patch(hook["url"], json={"active": False}).json()["active"] is False
    fake.add_submission(uid, {"name": "Quiet"})
    assert fake.wait_hooks(timeout=5) and len(received) == 3
    assert api.delete(hook["url"]).status_code == 204
    assert api.get(hook["url"]).status_code == 404
    logs = api.get(hook["logs_url"])  # KPI: the logs of a deleted hook are an empty page
    assert (logs.status_code, logs.json()["count"]) == (200, 0)


def test_sandbox_seed_is_deterministic():
    def snapshot():
        with FakeKobo(token="f" * 40, seed=1) as fake:
            uids = seed_demo(fake)
            s = requests.Session()
            s.headers["Authorization"] = f"Token {'f' * 40}"
            listing = s.get(f"{fake.url}/api/v2/assets/?q=asset_type:survey").json()
            household = s.get(f"{fake.url}/api/v2/assets/{uids['household']}/data/").json()
            return uids, listing, household

    uids, listing, household = snapshot()
    assert listing["count"] == 5
    assert {a["name"] for a in listing["results"]} == {
        "Household survey",
        "Stock delivery",
        "Contact registration",
        "Household registration",
        "Distribution",
    }
    assert all(a["deployment__submission_count"] == 20 for a in listing["results"])
    first = household["results"][0]
    assert first["members"] and first["hh/assets"] and first["_geolocation"][0] is not None
    again_uids, _listing, again = snapshot()
    assert again_uids == uids
    strip = [{k: v for k, v in s.items() if k != "_submission_time"} for s in household["results"]]
    assert strip == [
        {k: v for k, v in s.items() if k != "_submission_time"} for s in again["results"]
    ]


def test_sandbox_main_prints_token(capsys, monkeypatch):
    from types import SimpleNamespace

    from kobo_kpi.fake import __main__ as sandbox

    stop = SimpleNamespace(wait=lambda: True, set=lambda: None)
    monkeypatch.setattr(sandbox, "threading", SimpleNamespace(Event=lambda: stop))
    sandbox.main(["--port", "0", "--no-seed", "--token", "a" * 40])
    out = capsys.readouterr().out
    assert "a" * 40 in out and "kobo_admin" in out


def test_fault_schedule_by_request_count(fake_kobo, api):
    fake = fake_kobo
    me = f"{fake.url}/me/"
    fake.fail("/me/", 500, after=2)
    fake.fail("/me/", 429, after=3, headers={"Retry-After": "3"})
    fake.fail("/me/", kind="html", after=3)
    codes = [api.get(me) for _ in range(7)]
    assert [(r.status_code, r.headers["Content-Type"][:9]) for r in codes] == [
        (200, "applicati"),
        (200, "applicati"),
        (500, "applicati"),
        (429, "applicati"),
        (200, "text/html"),
        (200, "applicati"),
        (200, "applicati"),
    ]
    assert codes[3].headers["Retry-After"] == "3"
    assert fake.faults_served == [
        ("GET", "/me/", 500),
        ("GET", "/me/", 429),
        ("GET", "/me/", "html"),
    ]


def test_page_latency(fake_kobo, api):
    fake = fake_kobo
    uid = fake.create_asset(xlsform=xlsform("contact"), deploy=True)
    sub = fake.add_submission(uid, {"name": "x"})
    fake.page_latency = 0.4
    data = f"{fake.url}/api/v2/assets/{uid}/data/"
    assert api.get(data, params={"limit": 1}).elapsed.total_seconds() >= 0.4
    assert api.get(data.rstrip("/") + ".json").elapsed.total_seconds() >= 0.4
    # one submission, the form and other calls are not pages
    assert api.get(f"{data}{sub['_id']}/").elapsed.total_seconds() < 0.4
    assert api.get(f"{fake.url}/api/v2/assets/{uid}/").elapsed.total_seconds() < 0.4
