import socket

import psycopg2

from odoo.exceptions import AccessError, ValidationError
from odoo.modules.neutralize import neutralize_database
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import KoboCase, StubHttp


def _closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return "http://127.0.0.1:%s" % sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestKoboServerConnection(KoboCase):
    def _test(self, server=None):
        server = server or self.server
        action = server.action_test_connection()
        self.assertEqual(action["tag"], "display_notification")
        return action["params"]

    def test_success_names_the_kobo_user(self):
        params = self._test()
        self.assertEqual(params["type"], "success")
        self.assertIn("kobo_admin", params["message"])
        self.assertEqual(self.server.state, "connected")
        self.assertEqual(self.server.kobo_username, "kobo_admin")
        self.assertFalse(self.server.last_error)

    def test_bad_token(self):
        self.server.token = "0" * 40
        params = self._test()
        self.assertEqual(params["type"], "danger")
        self.assertIn("token", params["message"])
        self.assertIn("Invalid token", params["message"])
        self.assertEqual(self.server.state, "draft")
        self.assertEqual(self.server.last_error, params["message"])

    def test_unreachable(self):
        self.server.url = _closed_port_url()
        params = self._test()
        self.assertEqual(params["type"], "danger")
        self.assertIn("Cannot reach", params["message"])

    def test_html_page_is_not_a_kobo_server(self):
        self.fake.fail(r"^/me/", kind="html", times=None)
        params = self._test()
        self.assertEqual(params["type"], "danger")
        self.assertIn("does not look like a KoBoToolbox server", params["message"])

    def test_json_but_not_kobo(self):
        stub = StubHttp({"/me/": (200, "application/json", {"hello": "world"})})
        self.addCleanup(stub.close)
        self.server.url = stub.url
        params = self._test()
        self.assertEqual(params["type"], "danger")
        self.assertIn("not like a KoBoToolbox server", params["message"])

    def test_v1_only_server(self):
        stub = StubHttp({"/api/v1/": (200, "application/json", {"forms": "/api/v1/forms"})})
        self.addCleanup(stub.close)
        self.server.url = stub.url
        params = self._test()
        self.assertEqual(params["type"], "danger")
        self.assertIn("API v1", params["message"])

    def test_server_without_api_v2(self):
        stub = StubHttp({"/me/": (200, "application/json", {"username": "old"})})
        self.addCleanup(stub.close)
        self.server.url = stub.url
        params = self._test()
        self.assertEqual(params["type"], "danger")
        self.assertIn("API v2", params["message"])

    def test_new_credentials_need_a_new_test(self):
        self._test()
        self.server.token = self.fake.token
        self.assertEqual(self.server.state, "draft")


@tagged("post_install", "-at_install")
class TestKoboServerUrl(KoboCase):
    def _url(self, url):
        return self.env["kobo.server"].create({"name": "x", "url": url}).url

    def test_normalised(self):
        self.assertEqual(self._url(" https://kf.kobotoolbox.org/ "), "https://kf.kobotoolbox.org")
        self.assertEqual(
            self._url("https://kf.kobotoolbox.org/api/v2/"), "https://kf.kobotoolbox.org"
        )
        self.assertEqual(self._url("kf.kobotoolbox.org"), "https://kf.kobotoolbox.org")
        self.assertEqual(
            self._url("https://kobo.humanitarianresponse.info/"), "https://eu.kobotoolbox.org"
        )

    def test_refused(self):
        with self.assertRaisesRegex(ValidationError, "not valid"):
            self._url("ftp://kobo.example.org")

    def test_presets(self):
        form = Form(self.env["kobo.server"])
        form.name = "EU"
        form.preset = "eu"
        server = form.save()
        self.assertEqual(server.url, "https://eu.kobotoolbox.org")
        self.assertEqual(server.preset, "eu")
        server.url = "https://kobo.example.org"
        self.assertEqual(server.preset, "custom")


@tagged("post_install", "-at_install")
class TestKoboServerSecurity(KoboCase):
    def test_user_cannot_read_token(self):
        server = self.server.with_user(self.user)
        self.assertEqual(server.name, "Fake KoBo")
        with self.assertRaises(AccessError):
            server.read(["token"])
        with self.assertRaises(AccessError):
            server.search([("token", "!=", False)])
        self.assertNotIn("token", server.fields_get())
        exporter = new_test_user(
            self.env,
            login="kobo_exporter",
            groups="base.group_user,base.group_allow_export,kobo_connector.group_kobo_user",
        )
        with self.assertRaises(AccessError):
            self.server.with_user(exporter).export_data(["token"])

    def test_user_can_use_the_client(self):
        client = self.server.with_user(self.user)._get_client()
        self.assertEqual(client.me()["username"], "kobo_admin")

    def test_manager_reads_token(self):
        self.assertEqual(self.server.with_user(self.manager).token, self.fake.token)

    def test_user_cannot_write(self):
        with self.assertRaises(AccessError):
            self.server.with_user(self.user).write({"name": "Mine"})

    def test_copy_drops_token(self):
        copy = self.server.copy()
        self.assertFalse(copy.token)
        self.assertEqual(copy.state, "draft")

    def test_neutralize_blanks_token(self):
        self.server.action_test_connection()
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        self.assertFalse(self.server.token)
        self.assertEqual(self.server.state, "draft")

    def test_company_rule(self):
        other = self.env["res.company"].create({"name": "Other NGO"})
        foreign = self.env["kobo.server"].create(
            {"name": "Other's KoBo", "url": "https://kobo.other.org", "company_id": other.id}
        )
        # one company per chain: a server always has one
        with (
            self.assertRaises(psycopg2.errors.NotNullViolation),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env["kobo.server"].create(
                {"name": "Shared KoBo", "url": "https://kobo.shared.org", "company_id": False}
            )
        user = new_test_user(
            self.env,
            login="kobo_user_main",
            groups="base.group_user,kobo_connector.group_kobo_user",
        )
        visible = self.env["kobo.server"].with_user(user).search([])
        self.assertIn(self.server, visible)
        self.assertNotIn(foreign, visible)
