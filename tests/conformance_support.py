"""Helpers of the conformance suite (tests/test_conformance.py): one
``KoboTarget`` per server (the fake, or a real KPI), the XLSForms it imports,
OpenRosa submissions over HTTP and a loopback listener for REST services."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from kobo_kpi import errors
from kobo_kpi.client import KpiClient
from kobo_kpi.fake import build_xlsform
from kobo_kpi.fake.openrosa import Collector, build_instance

SURVEY = [
    {"type": "text", "name": "full_name", "label": "Full name", "required": "yes"},
    {"type": "integer", "name": "age", "label": "Age"},
    {"type": "select_one yesno", "name": "consent", "label": "Consent?"},
    {"type": "begin_group", "name": "hh", "label": "Household"},
    {"type": "integer", "name": "size", "label": "Household size"},
    {"type": "end_group", "name": ""},
]
CHOICES = [
    {"list_name": "yesno", "name": "yes", "label": "Yes"},
    {"list_name": "yesno", "name": "no", "label": "No"},
]
XLSFORM = build_xlsform(SURVEY, CHOICES)
XLSFORM_V2 = build_xlsform([*SURVEY, {"type": "text", "name": "city", "label": "City"}], CHOICES)
BROKEN_XLSFORM = build_xlsform([{"type": "badtype", "name": "q", "label": "Q"}])
NOT_EXCEL = b"this is not a spreadsheet"
UNKNOWN_ASSET = "aDoesNotExist000000000"
POLL = 0.1  # seconds between import polls, for both targets


def codename(url):
    return url.rstrip("/").rsplit("/", 1)[-1]


def wait_for(predicate, timeout, interval=0.2):
    """Call ``predicate`` until it returns something truthy; return it (or
    the last falsy value after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class KoboTarget:
    """One server under test. ``client`` is a ``KpiClient`` with the token;
    ``new_form`` imports an XLSForm and remembers the asset for ``cleanup``."""

    def __init__(self, kind, url, token, *, share_user, password=None, fake=None):
        self.kind, self.url, self.token = kind, url.rstrip("/"), token
        self.share_user, self.password, self.fake = share_user, password, fake
        self.client = KpiClient(self.url, token, timeout=(10, 120))
        self.collector = Collector(self.client)
        self.created = []
        self._username = None

    def __repr__(self):
        return f"<KoboTarget {self.kind} {self.url}>"

    @property
    def username(self):
        if self._username is None:
            self._username = self.client.me()["username"]
        return self._username

    # ------------------------------------------------------------ assets
    def keep(self, uid):
        """Delete ``uid`` at the end of the scenario."""
        self.created.append(uid)
        return uid

    def import_xlsform(self, data, **kw):
        """``client.import_xlsform`` polling every ``POLL`` seconds; a new
        asset is kept for ``cleanup``."""
        uid = self.client.import_xlsform(data, "form.xlsx", poll_interval=POLL, **kw)
        if not kw.get("destination_uid"):
            self.keep(uid)
        return uid

    def new_form(self, name, *, xlsform=XLSFORM, deploy=False):
        uid = self.import_xlsform(xlsform, name=name)
        if deploy:
            self.client.deploy(uid)
        return uid

    def cleanup(self):
        while self.created:
            uid = self.created.pop()
            try:
                self.client.delete_asset(uid)
            except errors.KoboNotFound:
                pass

    # ------------------------------------------------------------ OpenRosa
    def xform(self, uid):
        return self.collector.xform(uid)

    def get(self, path):
        """A raw authenticated GET of ``path`` (relative to the server)."""
        return requests.get(
            f"{self.url}/{path}", headers={"Authorization": f"Token {self.token}"}, timeout=60
        )

    def post_instance(self, form_id, root, version, formhub_uuid, answers=None):
        """POST a new instance to ``/submission`` with exactly these ``id``,
        root tag, version and formhub/uuid; return the response."""
        xml = build_instance(
            form_id,
            answers or {"full_name": "Lookup"},
            root=root,
            version=version,
            instance_id=f"uuid:{uuid.uuid4()}",
            formhub_uuid=formhub_uuid,
        )
        return self.collector.post(xml)

    def submit(self, uid, answers, *, instance_id=None, deprecated_id=None):
        """Create (or, with ``deprecated_id``, edit) a submission through
        OpenRosa ``POST /submission``; return its ``uuid:…`` instanceID."""
        return self.collector.submit(
            uid, answers, instance_id=instance_id, deprecated_id=deprecated_id
        )


class HookListener:
    """A loopback HTTP server recording every POST (path, headers, body)."""

    def __init__(self):
        self.received = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                listener.received.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def posts(self, path):
        return [(h, json.loads(b)) for p, h, b in list(self.received) if p == path]
