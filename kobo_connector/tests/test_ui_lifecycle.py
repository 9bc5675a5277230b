"""Form life cycle over HTTP: a KoBo User's RPC calls to every action are
refused on the server; a KoBo Manager (not an Odoo admin) shares a form from
the Actions menu of the forms list (browser tour)."""

from odoo.tests import new_test_user, tagged
from odoo.tests.common import JsonRpcException

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .test_kobo_form import CHOICES, SURVEY
from .test_kobo_form_lifecycle import CORPUS, b64
from .test_ui_tours import KoboTourCase

WRITES = ("POST", "PATCH", "PUT", "DELETE")


class LifecycleHttpCase(KoboTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake.add_user("alice", password="alice-pw")
        cls.uid = cls.fake.create_asset(
            xlsform=build_xlsform(SURVEY, CHOICES), name="Field survey", deploy=True
        )
        cls.fake.create_asset(xlsform=build_xlsform(SURVEY, CHOICES), name="Other survey")
        cls.server = cls._connected_server()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        cls.manager = new_test_user(
            cls.env,
            login="kobo_tour_manager",
            groups="base.group_user,kobo_connector.group_kobo_manager",
        )
        cls.kobo_user = new_test_user(
            cls.env, login="kobo_rpc_user", groups="base.group_user,kobo_connector.group_kobo_user"
        )


@tagged("post_install", "-at_install")
class TestLifecycleRpc(LifecycleHttpCase):
    def _call(self, model, method, args, kwargs=None):
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def test_kobo_user_is_refused_every_action(self):
        form = self.form
        form.action_refresh_from_kobo()  # sharing and hooks rows to aim at
        hook = form._kobo_add_hook("Receiver", "https://example.org/hook")
        assignment = form.assignment_ids[:1]
        self.assertTrue(assignment and hook)
        view_asset = self.env.ref("kobo_connector.kobo_permission_view_asset")
        self.authenticate("kobo_rpc_user", "kobo_rpc_user")
        self.fake.reset_requests()
        calls = [
            ("kobo.form", "action_open_share_wizard", [[form.id]]),
            ("kobo.form", "action_open_replace_wizard", [[form.id]]),
            ("kobo.form", "action_open_clone_wizard", [[form.id]]),
            ("kobo.form", "action_open_delete_wizard", [[form.id]]),
            ("kobo.form", "action_open_hook_wizard", [[form.id]]),
            ("kobo.form", "action_refresh_remote_lists", [[form.id]]),
            ("kobo.form", "_kobo_share", [[form.id], "alice", [view_asset.id]]),
            ("kobo.form", "_kobo_delete", [[form.id]]),
            ("kobo.form.assignment", "action_revoke", [assignment.ids]),
            ("kobo.form.hook", "action_toggle_active", [hook.ids]),
            ("kobo.form.hook", "action_retry_failed", [hook.ids]),
            ("kobo.form.hook", "action_remove", [hook.ids]),
            (
                "kobo.form.share.wizard",
                "create",
                [{"form_ids": [(6, 0, form.ids)], "username": "alice"}],
            ),
            ("kobo.form.upload.wizard", "create", [{"server_id": self.server.id}]),
            ("kobo.form.clone.wizard", "create", [{"form_id": form.id, "name": "Copy"}]),
            ("kobo.form.delete.wizard", "create", [{"form_id": form.id}]),
            (
                "kobo.form.hook.wizard",
                "create",
                [{"form_id": form.id, "name": "X", "endpoint": "https://example.org/x"}],
            ),
        ]
        for model, method, args in calls:
            with self.subTest(model=model, method=method):
                with self.assertRaises(JsonRpcException) as info:
                    self._call(model, method, args)
                self.assertIn(info.exception.args[0], ("odoo.exceptions.AccessError",))
        self.assertFalse([(m, p) for m, p in self.fake.requests if m in WRITES])
        self.assertTrue(self.fake.store.assets[self.uid].hooks)

    def test_manager_uploads_over_rpc_warnings_shown_mistakes_stop(self):
        """As the browser does: web_save the wizard, read its report, press
        Upload. Warnings only: the file goes to KoBo; a mistake: nothing does."""
        self.authenticate("kobo_tour_manager", "kobo_tour_manager")
        spec = {"check_report": {}, "check_warnings": {}}

        def wizard(name, folder):
            data = (CORPUS / folder / f"{name}.xlsx").read_bytes()
            vals = {"server_id": self.server.id, "file": b64(data), "filename": f"{name}.xlsx"}
            return self._call(
                "kobo.form.upload.wizard", "web_save", [[], vals], {"specification": spec}
            )[0]

        self.fake.reset_requests()
        refused = wizard("duplicate_name_other_group", "broken")
        self.assertIn("survey, row 4, column name: the name 'q'", refused["check_report"])
        with self.assertRaises(JsonRpcException) as info:
            self._call("kobo.form.upload.wizard", "action_upload", [[refused["id"]]])
        self.assertEqual(info.exception.args[0], "odoo.exceptions.UserError")
        self.assertEqual(self.fake.requests, [])
        warned = wizard("lone_sheet_any_name", "good")
        self.assertFalse(warned["check_report"])
        self.assertEqual(warned["check_warnings"], "Form 1: the only sheet is read as the survey")
        action = self._call("kobo.form.upload.wizard", "action_upload", [[warned["id"]]])
        form = self.env["kobo.form"].browse(action["res_id"])
        self.assertEqual(form.question_count, 2)
        self.assertIn(form.asset_uid, self.fake.store.assets)


@tagged("post_install", "-at_install")
class TestShareTour(LifecycleHttpCase):
    def test_share_tour(self):
        self.assertFalse(self.manager.has_group("base.group_system"))
        self._start_kobo_tour(
            "kobo_connector_share_tour",
            {"form": "Field survey", "user": "alice"},
            login="kobo_tour_manager",
        )
        rows = {
            a["codename"]
            for a in self.fake.store.assets[self.uid].assignments
            if a["user"] == "alice"
        }
        self.assertEqual(rows, {"view_asset", "view_submissions"})
        self.form.invalidate_recordset()
        self.assertIn("alice", self.form.assignment_ids.mapped("username"))
        self.assertTrue(
            any("Shared on KoBo with alice" in b for b in self.form.message_ids.mapped("body"))
        )
        hooks = list(self.fake.store.assets[self.uid].hooks.values())
        self.assertEqual([h["name"] for h in hooks], ["Tour receiver"])
        self.assertEqual(hooks[0]["settings"]["password"], "tour-Secret-9")
        self.assertEqual(self.form.hook_ids.name, "Tour receiver")
        self.env.cr.execute("SELECT * FROM kobo_form_hook_wizard")
        self.assertNotIn("tour-Secret-9", repr(self.env.cr.fetchall()))

    def test_upload_menu_and_server_action(self):
        """The Upload XLSForm menu entry and the servers' Actions menu open the wizard."""
        menu_action = self.env.ref("kobo_connector.kobo_form_upload_action").with_user(self.manager)
        action = menu_action.run()
        self.assertEqual(action["res_model"], "kobo.form.upload.wizard")
        self.assertEqual(action["context"]["default_server_id"], self.server.id)
        bound = self.env.ref("kobo_connector.kobo_server_action_server_upload_xlsform")
        action = (
            bound.with_user(self.manager)
            .with_context(active_model="kobo.server", active_ids=self.server.ids)
            .run()
        )
        self.assertEqual(action["context"]["default_server_id"], self.server.id)
        self.assertTrue(
            self.env.ref("kobo_connector.kobo_form_upload_menu")
            .with_user(self.manager)
            ._filter_visible_menus()
        )
        self.assertFalse(
            self.env.ref("kobo_connector.kobo_form_upload_menu")
            .with_user(self.kobo_user)
            ._filter_visible_menus()
        )
