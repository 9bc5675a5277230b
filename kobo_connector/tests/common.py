import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

from odoo.tests import TransactionCase, new_test_user

from odoo.addons.kobo_connector.kobo_kpi.fake import FakeKobo

# XLSForm survey rows in two languages, for tests that build forms
EN, FR = "label::English (en)", "label::Français (fr)"


def row(type_, name=None, en=None, fr=None, **extra):
    out = {"type": type_}
    if name:
        out["name"] = name
    if en:
        out[EN] = en
    if fr:
        out[FR] = fr
    out.update(extra)
    return out


class KoboCase(TransactionCase):
    """A fake KoBo server on 127.0.0.1 for the whole class, a connected
    kobo.server pointing at it, and a KoBo manager and a KoBo user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # tests never commit: the import's commit seam does nothing here
        cls.startClassPatcher(
            patch.object(type(cls.env["kobo.form"]), "_kobo_commit", lambda self: None)
        )
        cls.startClassPatcher(
            patch.object(type(cls.env["kobo.form"]), "_kobo_rollback", lambda self: None)
        )
        # tests poll again at once, as if the poll interval had passed
        cls.env["ir.config_parameter"].set_param("kobo_connector.poll_interval", "0")
        # the fake KoBo listens on 127.0.0.1: a private address, allowed here
        cls.env["ir.config_parameter"].set_param("kobo_connector.allow_private_urls", "1")
        cls.fake = FakeKobo()
        cls.fake.start()
        cls.addClassCleanup(cls.fake.stop)
        cls.server = cls.env["kobo.server"].create(
            {"name": "Fake KoBo", "url": cls.fake.url, "token": cls.fake.token}
        )
        cls.manager = new_test_user(
            cls.env,
            login="kobo_manager",
            groups="base.group_user,kobo_connector.group_kobo_manager",
        )
        cls.user = new_test_user(
            cls.env, login="kobo_user", groups="base.group_user,kobo_connector.group_kobo_user"
        )

    def setUp(self):
        super().setUp()
        self.fake.clear_faults()
        self.fake.reset_requests()


class StubHttp:
    """A tiny HTTP server on 127.0.0.1 answering fixed routes:
    ``{"/path/": (status, content_type, body)}``; anything else is 404."""

    def __init__(self, routes):
        routes = dict(routes)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, ctype, body = routes.get(
                    self.path.split("?")[0], (404, "text/plain", "Resource not found (404)")
                )
                if not isinstance(body, str):
                    body = json.dumps(body)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%s" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
