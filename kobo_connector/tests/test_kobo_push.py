"""The push receiver (KoBo REST Services), over real HTTP."""

import json
from unittest.mock import patch

import psycopg2

from odoo.exceptions import AccessError
from odoo.sql_db import db_connect
from odoo.tests import HttpCase, tagged
from odoo.tools import config, mute_logger

from odoo.addons.kobo_connector.models.kobo_form_sync import LOCK_NAMESPACE

from .test_kobo_import import ImportCase, person

QUIET = ()


class PushCase(ImportCase, HttpCase):
    def setUp(self):
        super().setUp()
        self.env["kobo.pending.push"].search([]).unlink()
        hooks = self.fake.store.assets[self.uid].hooks
        hooks.clear()  # the fake outlives each test's rollback
        self.addCleanup(hooks.clear)
        self.env["ir.config_parameter"].sudo().set_param(
            "kobo_connector.public_base_url", self.base_url()
        )
        self.form.sudo().push_secret = "s" * 43
        self.path = f"/kobo/push/{self.form.id}/{'s' * 43}"

    def _post(self, body, path=None):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        with mute_logger(*QUIET):
            return self.url_open(
                path or self.path, data=data, headers={"Content-Type": "application/json"}
            )

    def _pending(self):
        return self.env["kobo.pending.push"].search([("form_id", "=", self.form.id)])


@tagged("post_install", "-at_install")
class TestPushReceiver(PushCase):
    def test_right_secret_records_then_the_cron_imports(self):
        sub = self.fake.add_submission(self.uid, person(1))
        triggers = self.env["ir.cron.trigger"].search_count([])
        resp = self._post(sub)
        self.assertEqual(resp.status_code, 202, resp.text)
        self.assertEqual(resp.json(), {"status": "recorded", "id": sub["_id"]})
        self.assertEqual(self._pending().mapped("kobo_id"), [sub["_id"]])
        self.assertFalse(self._subs(), "a push imports nothing by itself")
        self.assertGreater(self.env["ir.cron.trigger"].search_count([]), triggers)
        self.env["kobo.form"]._cron_import()
        self.assertEqual(self._subs().mapped("state"), ["imported"])
        self.assertEqual(self._partners().mapped("name"), ["Person 1"])
        self.assertFalse(self._pending())

    def test_wrong_missing_secret_or_unknown_form(self):
        sub = self.fake.add_submission(self.uid, person(1))
        for path in (
            f"/kobo/push/{self.form.id}/{'t' * 43}",
            f"/kobo/push/{self.form.id}/{'s' * 42}",
            f"/kobo/push/{self.form.id}",
            f"/kobo/push/{self.form.id + 1000}/{'s' * 43}",
        ):
            resp = self._post(sub, path)
            self.assertEqual(resp.status_code, 403, path)
        self.form.sudo().push_secret = False  # never registered: no URL works
        self.assertEqual(self._post(sub).status_code, 403)
        self.assertFalse(self._pending())

    def test_oversized_and_malformed_bodies(self):
        self.env["ir.config_parameter"].sudo().set_param("kobo_connector.push_max_body_kb", "1")
        big = {"_id": 5, "name": "x" * 2000}
        self.assertEqual(self._post(big).status_code, 413)
        for body in ("not json", "[1, 2]", '{"name": "no id"}', '{"_id": "abc"}', '{"_id": -3}'):
            self.assertEqual(self._post(body).status_code, 400, body)
        self.assertFalse(self._pending())

    def test_chunked_body_over_the_limit(self):
        """No Content-Length (chunked): the limit still holds, the stream
        read at most limit + 1 bytes."""
        self.env["ir.config_parameter"].sudo().set_param("kobo_connector.push_max_body_kb", "1")
        head = b'{"_id": 5, "name": "'

        def chunks():
            yield head
            for _i in range(64):
                yield b"x" * 1024
            yield b'"}'

        with mute_logger(*QUIET):
            resp = self.url_open(
                self.path, data=chunks(), headers={"Content-Type": "application/json"}
            )
        self.assertEqual(resp.status_code, 413, resp.text)
        self.assertFalse(self._pending())

    def test_body_is_a_trigger_kobo_copy_wins(self):
        sub = self.fake.add_submission(self.uid, person(1))
        forged = dict(sub, name="Mallory", email="p1@example.org")
        self.assertEqual(self._post(forged).status_code, 202)
        # an _id KoBo does not have: recorded, then forgotten by the import
        self.assertEqual(self._post({"_id": 999999, "name": "Ghost"}).status_code, 202)
        self.env["kobo.form"]._cron_import()
        self.assertEqual(self._partners().mapped("name"), ["Person 1"])
        self.assertEqual(self._subs().payload["name"], "Person 1")
        self.assertFalse(self._pending())

    def test_duplicate_push(self):
        sub = self.fake.add_submission(self.uid, person(1))
        self.assertEqual(self._post(sub).status_code, 202)
        self.assertEqual(self._post(sub).status_code, 202)
        self.assertEqual(len(self._pending()), 1)
        self.env["kobo.form"]._cron_import()
        resp = self._post(sub)  # KoBo retried a delivery Odoo already imported
        self.assertEqual((resp.status_code, resp.json()["status"]), (200, "known"))
        self.assertFalse(self._pending())
        self.env["kobo.form"]._cron_import()
        self.assertEqual(len(self._subs()), 1)
        self.assertEqual(len(self._partners()), 1)

    def test_push_racing_the_cron(self):
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(3)])
        with db_connect(self.env.cr.dbname).cursor() as other:
            other.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, self.form.id))
            try:
                # the form's import is busy: the pushes are recorded at once, not dropped
                for sub in subs:
                    self.assertEqual(self._post({"_id": sub["_id"]}).status_code, 202)
                self.assertEqual(self.form._sync_step(), (0, 1))
                self.assertFalse(self._subs())
            finally:
                other.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, self.form.id))
        self.env["kobo.form"]._cron_import()
        self.assertEqual(len(self._subs()), 3)
        self.assertEqual(len(set(self._subs().mapped("kobo_id"))), 3)
        self.assertEqual(len(self._partners()), 3)
        self.assertFalse(self._pending())

    def test_push_whose_mapping_fails(self):
        sub = self.fake.add_submission(self.uid, person(1, country="atlantis"))
        self.assertEqual(self._post(sub).status_code, 202)
        self.env["kobo.form"]._cron_import()
        self.assertEqual(self._subs().state, "error")
        self.assertIn("atlantis", self._subs().error_message)
        self.assertFalse(self._pending())

    def test_archived_or_unmapped_form(self):
        sub = self.fake.add_submission(self.uid, person(1))
        self.mapping.enabled = False
        resp = self._post(sub)
        self.assertEqual((resp.status_code, resp.json()["status"]), (202, "deferred"))
        self.assertFalse(self._pending(), "nothing left pending: the pull brings it later")
        self.env["kobo.form"]._cron_import()
        self.assertFalse(self._subs())
        self.mapping.enabled = True
        self.env["kobo.form"]._cron_import()
        self.assertEqual(self._subs().state, "imported")
        self.form.active = False
        other = self.fake.add_submission(self.uid, person(2))
        self.assertEqual(self._post(other).status_code, 410)
        self.assertFalse(self._pending())

    def test_kobo_unreachable_then_imported(self):
        sub = self.fake.add_submission(self.uid, person(1))
        self.fake.fail(r"/data/", status=500, times=None)
        self.assertEqual(self._post(sub).status_code, 202)
        with mute_logger("odoo.addons.kobo_connector.models.kobo_form_sync"):
            self.env["kobo.form"]._cron_import()
        self.assertFalse(self._subs())
        self.assertTrue(self.form.sync_error)
        self.assertEqual(len(self._pending()), 1)
        self.fake.clear_faults()
        self.env["kobo.form"]._cron_import()
        self.assertEqual(self._subs().state, "imported")
        self.assertFalse(self._pending())

    def test_cannot_record_answers_503(self):
        sub = self.fake.add_submission(self.uid, person(1))
        Pending = type(self.env["kobo.pending.push"])

        def broken(self, form_id, kobo_id):
            raise psycopg2.OperationalError("the database is going away")

        with patch.object(Pending, "_record", broken):
            resp = self._post(sub)
        self.assertEqual(resp.status_code, 503, "KoBo retries 503")
        self.assertEqual(resp.headers.get("Retry-After"), "60")
        self.assertFalse(self._pending())

    def test_database_chosen_by_dbfilter(self):
        sub = self.fake.add_submission(self.uid, person(1))
        with patch.dict(config.options, {"dbfilter": "^no_such_database$"}):
            self.assertEqual(self._post(sub).status_code, 404)
        dbname = self.env.cr.dbname
        with patch.dict(config.options, {"dbfilter": f"^{dbname}$"}):
            self.assertEqual(self._post(sub).status_code, 202)

    def test_register_deliver_unregister_end_to_end(self):
        """A KoBo manager registers the push; KoBo's REST service posts a new
        submission to Odoo; the cron imports it; unregister removes it."""
        form = self.form.with_user(self.manager)
        form.sudo().push_secret = False
        form.action_register_push()
        self.assertTrue(form.push_hook_uid)
        hooks = self.fake.store.assets[self.uid].hooks
        self.assertEqual([h["endpoint"] for h in hooks.values()], [form.push_url])
        self.assertTrue(form.push_url.startswith(f"{self.base_url()}/kobo/push/{form.id}/"))
        self.assertGreaterEqual(len(form.push_url.rsplit("/", 1)[1]), 40)
        form.action_register_push()  # again: the same REST service, not a second one
        self.assertEqual(len(hooks), 1)

        self.env.flush_all()  # as the button's commit would: KoBo's POST reads the secret
        self.fake.add_submission(self.uid, person(1))
        self.assertTrue(self.fake.wait_hooks(20))
        logs = [log for hook in hooks.values() for log in hook["logs"]]
        self.assertEqual([log["status_code"] for log in logs], [202], logs)
        self.assertEqual(len(self._pending()), 1)
        form.action_check_push()
        self.assertIn("1 delivered, 0 failed", form.push_status)
        self.env["kobo.form"]._cron_import()
        self.assertEqual(self._partners().mapped("name"), ["Person 1"])

        old_url = form.push_url
        form.action_regenerate_push_secret()  # the old URL stops working, KoBo gets the new one
        self.assertNotEqual(form.push_url, old_url)
        self.assertEqual([h["endpoint"] for h in hooks.values()], [form.push_url])
        self.assertEqual(
            self._post({"_id": 1}, old_url.removeprefix(self.base_url())).status_code, 403
        )

        form.action_unregister_push()
        self.assertFalse(hooks)
        self.assertFalse(form.push_hook_uid)

    def test_kobo_user_cannot_manage_push(self):
        form = self.form.with_user(self.user)
        with self.assertRaises(AccessError):
            form.action_register_push()
        with self.assertRaises(AccessError):
            form.read(["push_url"])
        with self.assertRaises(AccessError):
            form.write({"validation_writeback": True})
