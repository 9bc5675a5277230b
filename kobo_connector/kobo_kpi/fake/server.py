"""``FakeKobo``: a stateful KPI (REST API v2 + OpenRosa) on a real HTTP port,
with fault injection, a request log and REST-service (hook) delivery."""

import base64
import json
import logging
import queue
import re
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import urlsplit

from . import api_assets, api_data, api_media  # noqa: F401 - importing registers the routes
from .api_assets import run_import
from .openrosa import build_instance, detail_reply
from .store import ImportTask, KoboStateError, Store, seed_id_string, utcnow
from .wire import NO_CREDENTIALS, Request, Response, basic_credentials, json_response, resolve
from .xlsform import read_xlsform

_logger = logging.getLogger(__name__)

V1_GONE = {
    "detail": "The V1 API has been removed. Please read the migration article at "
    "https://support.kobotoolbox.org/migrating_api.html"
}
V1_PREFIXES = (
    "/api/v1/",
    "/assets/",
    "/imports/",
    "/exports/",
    "/permissions/",
    "/users/",
    "/tags/",
    "/reports/",
    "/asset_snapshots/",
    "/collections/",
)
SUFFIX = re.compile(
    r"^(/api/v2/assets(?:/a[A-Za-z0-9]{21}(?:/data(?:/[\w:-]+)?)?)?)\.(json|xls|xml)$"
)
ERROR_BODIES = {
    400: {"detail": "Bad request."},
    401: NO_CREDENTIALS,
    403: {"detail": "You do not have permission to perform this action."},
    404: {"detail": "Not found."},
    409: {"detail": "Conflict."},
    429: {"detail": "Request was throttled. Expected available in 1 second."},
    500: {"error": "Server Error (500)"},
    503: {"detail": "Service temporarily unavailable, try again later."},
}
# nginx (in front of kf and eu): large_client_header_buffers 4 8k
MAX_REQUEST_LINE = 8190
REQUEST_URI_TOO_LARGE = (
    b"<html><head><title>414 Request-URI Too Large</title></head><body>"
    b"<center><h1>414 Request-URI Too Large</h1></center><hr><center>nginx</center>"
    b"</body></html>"
)
# a page of submissions: GET of a form's data listing (not of one submission)
DATA_PAGE = re.compile(r"^/api/v2/assets/a[A-Za-z0-9]{21}/data(?:\.json)?/?(?:\?|$)")
LOGIN_PAGE = (
    b"<!doctype html>\n<html><head><title>KoboToolbox</title></head><body>"
    b'<form class="registration registration--login" method="post" action="/accounts/login/">'
    b'<input name="login"><input name="password" type="password"></form></body></html>'
)


class FakeKobo:
    """A fake KPI server. ``with FakeKobo() as fake: fake.url, fake.token``."""

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        *,
        token=None,
        seed=None,
        admin="kobo_admin",
        admin_password="kobo",
    ):
        self.store = Store(seed)
        self.store.on_new_submission = self._queue_hooks
        self.lock = self.store.lock
        self.admin = admin
        self.token = self.store.add_user(admin, admin_password, superuser=True, token=token).token
        self.host, self.port = host, port
        self.page_size_default = 100
        self.page_size_max = 1000
        self.import_delay = 0.0  # seconds an import stays "processing"
        self.page_latency = 0.0  # seconds each page of submissions (DATA_PAGE) takes
        # KPI's PUBLIC_DOMAIN_NAME (unset by default): " - <domain>" in the hook User-Agent
        self.public_domain = None
        self._faults = []
        self.faults_served = []  # (method, path, kind or status) of each fault injected
        self._requests = []
        self._server = None
        self._threads = []
        self._hook_queue = queue.Queue()
        self._hooks_pending = 0
        self._hooks_done = threading.Condition(self.lock)

    # ------------------------------------------------------------ life cycle

    def start(self):
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self._server = server
        self.port = server.server_address[1]
        for target in (lambda: server.serve_forever(0.05), self._hook_worker):
            thread = threading.Thread(target=target, daemon=True, name=f"fake-kobo-{self.port}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        if self._server is not None:
            self._server.serving.wait(2)  # shutdown() before serve_forever() would hang it
            self._server.shutdown()
            self._server.server_close()
            self._hook_queue.put(None)
            for thread in self._threads:
                thread.join(timeout=5)
            self._server, self._threads = None, []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    # ------------------------------------------------------------ Python API

    def add_user(self, username, password="pw", superuser=False, token=None):
        return self.store.add_user(username, password, superuser, token).token

    def create_asset(
        self, owner=None, xlsform=None, content=None, name="", deploy=False, asset_type="survey"
    ):
        """Create an asset from XLSForm bytes or a content dict; return its uid.
        As with imports, a ``settings.form_title`` wins over ``name``, and an
        XLSForm without ``settings.id_string`` gets one from ``name``."""
        with self.lock:
            if xlsform is not None:
                content = seed_id_string(read_xlsform(xlsform), name)
            asset = self.store.create_asset(
                owner or self.admin, content, name or "", asset_type, xls=xlsform
            )
            if deploy:
                self.store.deploy(asset)
            return asset.uid

    def deploy(self, uid, active=True):
        self.store.deploy(self.store.assets[uid], active)

    def grant(self, uid, username, codename, partial=None):
        """Assign a permission (and what it implies), as the API would."""
        self.store.grant(self.store.assets[uid], username, codename, partial)

    def add_submission(
        self, uid, answers, submitted_by=None, submission_time=None, attachments=None
    ):
        with self.lock:
            sub = self.store.add_submission(
                self.store.assets[uid], answers, submitted_by, submission_time, attachments
            )
            return self._render(sub)

    def add_submissions(self, uid, answers_list, submitted_by=None):
        """Fast bulk insert; returns the stored submissions (relative attachment URLs)."""
        with self.lock:
            asset = self.store.assets[uid]
            add = self.store.add_submission
            return [add(asset, a, submitted_by) for a in answers_list]

    def edit_submission(self, uid, submission_id, changes):
        with self.lock:
            return self._render(
                self.store.edit_submission(self.store.assets[uid], submission_id, changes)
            )

    def set_validation(self, uid, submission_ids, status_uid, timestamp=None, by_whom="reviewer"):
        """Set validation statuses as a reviewer on KoBo does (``None``
        clears); ``timestamp``: the second KPI stamps (default now)."""
        with self.lock:
            asset = self.store.assets[uid]
            for sid in submission_ids:
                status = self.store.set_validation(asset.by_id[sid], status_uid, by_whom)
                if timestamp is not None and status:
                    status["timestamp"] = timestamp

    def delete_submission(self, uid, submission_id):
        self.store.delete_submission(self.store.assets[uid], submission_id)

    def hide_submission(self, uid, submission_id):
        """Take a submission out of the listings (as KoBo does with one whose
        write is not yet visible) and return it, for :meth:`reveal_submission`."""
        with self.lock:
            return self.store.remove_submission(self.store.assets[uid], submission_id)

    def reveal_submission(self, uid, sub):
        """Make a hidden submission visible again, at its ``_id``'s place."""
        with self.lock:
            self.store.insert_submission(self.store.assets[uid], sub)

    def submissions(self, uid):
        with self.lock:
            return [self._render(s) for s in self.store.assets[uid].submissions]

    def instance_xml(self, uid, answers, **kw):
        """Instance XML for ``/submission`` of the deployed form ``uid``, as
        Enketo/Collect send it: root ``uid``, ``id`` the form's id_string."""
        asset = self.store.assets[uid]
        kw.setdefault("version", asset.deployed_version_id)
        kw.setdefault("formhub_uuid", asset.deployment_uuid)
        kw.setdefault("root", uid)
        return build_instance(asset.id_string or uid, answers, **kw)

    @property
    def assets(self):
        with self.lock:
            return dict(self.store.assets)

    def _render(self, sub):
        return api_data.render(SimpleNamespace(base=self.url), sub)

    # ------------------------------------------------------------ faults / log

    def fail(
        self,
        path_regex,
        status=500,
        *,
        method=None,
        times=1,
        headers=None,
        body=None,
        kind="status",
        delay=1.0,
        after=0,
    ):
        """Make matching requests fail. ``kind``: status | html | truncated |
        slow | reset; ``times=None`` = forever. ``after``: let that many
        matching requests through first (a schedule by request count)."""
        if kind not in ("status", "html", "truncated", "slow", "reset"):
            raise ValueError(f"unknown fault kind {kind!r}")
        with self.lock:
            self._faults.append(
                SimpleNamespace(
                    regex=re.compile(path_regex),
                    status=status,
                    method=method,
                    times=times,
                    headers=dict(headers or {}),
                    body=body,
                    kind=kind,
                    delay=delay,
                    after=after,
                )
            )

    def clear_faults(self):
        with self.lock:
            self._faults.clear()

    def _take_fault(self, method, path):
        """The first matching fault due for this request (each matching fault
        not yet due counts it); logged in ``faults_served``."""
        chosen = None
        with self.lock:
            for fault in list(self._faults):
                if fault.method not in (None, method) or not fault.regex.search(path):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if chosen is not None:
                    continue
                chosen = fault
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
            if chosen is not None:
                kind = chosen.status if chosen.kind == "status" else chosen.kind
                self.faults_served.append((method, path, kind))
        return chosen

    @property
    def requests(self):
        with self.lock:
            return list(self._requests)

    def reset_requests(self):
        with self.lock:
            self._requests.clear()

    # ------------------------------------------------------------ imports

    def new_import(self, owner, data):
        with self.lock:
            task = ImportTask(self.store.uid("i"), owner, data, utcnow())
            self.store.imports[task.uid] = task
            return task

    def process_import(self, task):
        if task.status in ("complete", "error"):
            return
        if (utcnow() - task.date_created).total_seconds() < self.import_delay:
            task.status = "processing"
            return
        if "url" in task.data and "file" not in task.data:
            task.status = "error"
            task.messages = {
                "error": "the fake KPI does not download `url` imports",
                "error_type": "NotImplementedError",
            }
            return
        run_import(self.store, task)

    # ------------------------------------------------------------ dispatch

    def handle(self, method, raw_path, headers, body, base):
        req = Request(method, raw_path, headers, body, base)
        path = req.url_path
        match = SUFFIX.match(path)
        if match:
            path, req.suffix = match.group(1) + "/", "." + match.group(2)
        if path.startswith(V1_PREFIXES):
            return json_response(410, V1_GONE)
        found, allowed = resolve(path, method)
        if found is None:
            if allowed:
                return json_response(405, {"detail": f'Method "{method}" not allowed.'})
            if not path.endswith("/") and resolve(path + "/", "GET")[1]:
                location = path + "/" + (f"?{req.query_string}" if req.query_string else "")
                return Response(301, content_type=None, headers={"Location": location})
            return Response(404, b"Resource not found (404)", "text/plain; charset=utf-8")
        regex_match, handler, xml = found
        with self.lock:
            try:
                self._authenticate(req)
                return handler(self, req, **regex_match.groupdict())
            except KoboStateError as exc:
                if xml and isinstance(exc.body, dict) and "detail" in exc.body:
                    return api_data.xml_response(exc.status, detail_reply(exc.body["detail"]))
                extra = {"WWW-Authenticate": "Session"} if exc.status == 401 else None
                return json_response(exc.status, exc.body, extra)

    def _authenticate(self, req):
        header = req.headers.get("Authorization", "")
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "token":
            user = self.store.tokens.get(header.split(" ", 1)[1].strip() if " " in header else "")
            if user is None:
                raise KoboStateError(401, {"detail": "Invalid token."})
            req.user = user
        elif scheme == "basic":
            username, password = basic_credentials(header)
            user = self.store.users.get(username or "")
            if user is None or user.password != password:
                raise KoboStateError(401, {"detail": "Invalid username/password."})
            req.user = user

    # ------------------------------------------------------------ hooks

    def _queue_hooks(self, asset, sub):
        for hook in asset.hooks.values():
            if hook["active"]:
                self._hooks_pending += 1
                self._hook_queue.put((asset, hook, self._render(sub)))

    def retry_hook_logs(self, asset, hook, logs):
        """Deliver again the submissions of ``logs`` (marked pending): each
        log is updated in place, as KPI's retry task does."""
        for log in logs:
            sub = asset.by_id.get(log["submission_id"])
            log.update(status=1, status_str="pending", date_modified=utcnow())
            if sub is None:  # deleted since: KPI's task fails it again
                log.update(status=0, status_str="failed", message="Submission not found")
                continue
            self._hooks_pending += 1
            self._hook_queue.put((asset, hook, self._render(sub), log))

    def wait_hooks(self, timeout=5):
        """Wait until every queued hook delivery is done; False on timeout."""
        with self._hooks_done:
            return self._hooks_done.wait_for(lambda: self._hooks_pending == 0, timeout)

    def _hook_worker(self):
        while True:
            item = self._hook_queue.get()
            if item is None:
                return
            asset, hook, sub, *retried = item
            try:
                log = self._deliver(hook, asset, sub)
            except Exception as exc:  # keep the worker alive whatever happens
                log = {"status": 0, "status_code": None, "message": str(exc)}
            with self._hooks_done:
                log.update(
                    status_str="success" if log["status"] == 2 else "failed",
                    date_modified=utcnow(),
                )
                if retried:
                    retried[0].update(log, tries=retried[0]["tries"] + 1)
                else:
                    log.update(uid=self.store.uid("hl"), submission_id=sub["_id"], tries=1)
                    hook["logs"].append(log)
                self._hooks_pending -= 1
                self._hooks_done.notify_all()

    def _deliver(self, hook, asset, sub):
        fields = hook["subset_fields"] or []
        if fields:
            sub = {k: v for k, v in sub.items() if k in fields or k.rsplit("/", 1)[-1] in fields}
        if hook["export_type"] == "xml":
            answers = {k: v for k, v in sub.items() if not k.startswith("_")}
            data = build_instance(sub["_xform_id_string"] or asset.uid, answers, root=asset.uid)
            ctype = "application/xml"
        else:
            data = json.dumps(sub)
            if hook.get("payload_template"):
                data = hook["payload_template"].replace("%SUBMISSION%", data)
            data, ctype = data.encode(), "application/json"
        request = urllib.request.Request(hook["endpoint"], data=data, method="POST")
        request.add_header("Content-Type", ctype)
        domain = f"- {self.public_domain} " if self.public_domain else ""
        request.add_header("User-Agent", f"KoboToolbox external service {domain}#{hook['uid']}")
        for key, value in (hook["settings"].get("custom_headers") or {}).items():
            request.add_header(key, value)
        if hook["auth_level"] == "basic_auth":
            pair = f"{hook['settings'].get('username', '')}:{hook['settings'].get('password', '')}"
            request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return {
                    "status": 2,
                    "status_code": answer.status,
                    "message": answer.read(2000).decode("utf-8", "replace"),
                }
        except urllib.error.HTTPError as exc:
            return {
                "status": 0,
                "status_code": exc.code,
                "message": exc.read(2000).decode("utf-8", "replace"),
            }
        except (urllib.error.URLError, OSError) as exc:
            return {"status": 0, "status_code": None, "message": str(exc)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args):
        self.serving = threading.Event()
        super().__init__(*args)

    def service_actions(self):
        self.serving.set()

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], ConnectionError):  # a client gone (timed out)
            return None
        return super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delay
    server_version = "WSGIServer/0.2"
    sys_version = "CPython"

    def log_message(self, *args):  # silence stderr
        pass

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _handle(self):
        fake = self.server.fake
        if len(self.requestline) > MAX_REQUEST_LINE:  # nginx's default in front of kf/eu
            self.close_connection = True
            self._send(Response(414, REQUEST_URI_TOO_LARGE, "text/html"))
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with fake.lock:
            fake._requests.append((self.command, self.path))
        fault = fake._take_fault(self.command, self.path)
        if fault is not None and fault.kind == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        if fake.page_latency and self.command == "GET" and DATA_PAGE.match(self.path):
            time.sleep(fake.page_latency)
        if fault is not None and fault.kind in ("status", "html"):
            response = _fault_response(fault, self.command)
        else:
            base = f"http://{self.headers.get('Host') or urlsplit(fake.url).netloc}"
            try:
                response = fake.handle(self.command, self.path, self.headers, body, base)
            except Exception:  # a bug in the fake: answer like KPI's 500
                _logger.exception("fake KPI failed on %s %s", self.command, self.path)
                response = json_response(500, {"error": "Server Error (500)"})
            if fault is not None:  # truncated
                cut = max(1, len(response.body) // 2)
                response = Response(200, response.body[:cut], "application/json")
        self._send(response)

    def _send(self, response):
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)


def _fault_response(fault, method):
    headers = dict(fault.headers)
    if fault.kind == "html":
        return Response(200, LOGIN_PAGE, "text/html; charset=utf-8", headers)
    if fault.status in (429, 503):
        headers.setdefault("Retry-After", "1")
    body = fault.body
    if body is None:
        body = ERROR_BODIES.get(fault.status)
        if fault.status == 405:
            body = {"detail": f'Method "{method}" not allowed.'}
        if body is None:
            try:
                body = {"detail": HTTPStatus(fault.status).phrase}
            except ValueError:
                body = {"detail": "Error"}
    if isinstance(body, (bytes, str)):
        data = body.encode() if isinstance(body, str) else body
        return Response(fault.status, data, "application/json", headers)
    return json_response(fault.status, body, headers)
