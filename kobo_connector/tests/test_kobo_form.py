import re

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from odoo.addons.kobo_connector.kobo_kpi.client import KpiClient
from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .common import KoboCase

SURVEY = [
    {"type": "text", "name": "full_name", "label": "Full name", "required": "yes"},
    {"type": "integer", "name": "age", "label": "Age"},
    {"type": "select_one yes_no", "name": "consent", "label": "Consent"},
]
CHOICES = [
    {"list_name": "yes_no", "name": "yes", "label": "Yes"},
    {"list_name": "yes_no", "name": "no", "label": "No"},
]
DETAIL = re.compile(r"^/api/v2/assets/(a\w{21})/(\?|$)")


class KoboFormCase(KoboCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kobo = KpiClient(cls.fake.url, cls.fake.token, timeout=10)  # "someone on KoBo"
        cls.addClassCleanup(cls.kobo.close)

    def _asset(self, name="Household survey", deploy=False):
        return self.fake.create_asset(
            xlsform=build_xlsform(SURVEY, CHOICES), name=name, deploy=deploy
        )

    def _form(self, name="Household survey", deploy=False):
        """A form known to Odoo (read from KoBo), as the KoBo manager sees it."""
        uid = self._asset(name, deploy)
        form = self.env["kobo.form"].create(
            {"server_id": self.server.id, "asset_uid": uid, "name": uid}
        )
        form._refresh_from_kobo(self.server._get_client())
        self.fake.reset_requests()
        return form.with_user(self.manager)

    def _detail_reads(self):
        """Uids whose detail was read, in order."""
        return [
            match.group(1)
            for method, path in self.fake.requests
            if method == "GET" and (match := DETAIL.match(path))
        ]

    def _messages(self, form):
        return form.message_ids.mapped("body")

    def _last_note(self, form):
        """The latest chatter message with a text (not a tracking message)."""
        return form.message_ids.filtered("body")[:1]


@tagged("post_install", "-at_install")
class TestKoboFormFetch(KoboFormCase):
    def _fetch(self):
        action = self.server.with_user(self.manager).action_fetch_forms()
        self.assertEqual(action["tag"], "display_notification")
        return action["params"]

    def _odoo_forms(self):
        forms = self.env["kobo.form"].with_context(active_test=False)
        return forms.search([("server_id", "=", self.server.id)])

    def test_fetch_every_page(self):
        self.patch(self.fake, "page_size_max", 2)
        uids = {self._asset(f"Survey {i}", deploy=i % 2 == 0) for i in range(5)}
        self.fake.create_asset(content={"survey": []}, name="A block", asset_type="block")
        params = self._fetch()
        surveys = {u for u, a in self.fake.assets.items() if a.asset_type == "survey"}
        self.assertEqual(set(self._odoo_forms().mapped("asset_uid")), surveys)
        self.assertGreaterEqual(surveys, uids)
        self.assertEqual(params["type"], "success")
        self.assertIn(f"{len(surveys)} new forms", params["message"])
        pages = [p for m, p in self.fake.requests if m == "GET" and "/api/v2/assets/?" in p]
        self.assertEqual(len(pages), (len(surveys) + 1) // 2)
        self.assertTrue(self.server.last_forms_fetch)

        deployed = self._odoo_forms().filtered(lambda f: f.name == "Survey 0")
        asset = self.fake.assets[deployed.asset_uid]
        self.assertRecordValues(
            deployed,
            [
                {
                    "deployment_status": "deployed",
                    "owner_username": "kobo_admin",
                    "version_id": asset.version_id,
                    "deployed_version_id": asset.version_id,
                    "catalogue_version_id": asset.version_id,
                    "needs_redeploy": False,
                    "gone_from_kobo": False,
                    "question_count": 3,
                }
            ],
        )
        self.assertTrue(deployed.enketo_url)
        self.assertTrue(deployed.xls_url.endswith(f"{deployed.asset_uid}.xls"))
        draft = self._odoo_forms().filtered(lambda f: f.name == "Survey 1")
        self.assertEqual(draft.deployment_status, "draft")
        self.assertFalse(draft.enketo_url)
        self.assertEqual(draft.question_count, 3)

    def test_second_fetch_reads_only_changed_forms(self):
        same, renamed = self._asset("Unchanged", deploy=True), self._asset("Old name", deploy=True)
        self._fetch()
        self.kobo.rename(renamed, "New name")
        self.fake.reset_requests()
        params = self._fetch()
        self.assertEqual(self._detail_reads(), [renamed])
        self.assertIn("0 new forms, 1 updated, 0 no longer on KoBo", params["message"])
        form = self._odoo_forms().filtered(lambda f: f.asset_uid == renamed)
        self.assertEqual(form.name, "New name")
        self.assertTrue(form.needs_redeploy)
        self.assertIn(same, self._odoo_forms().mapped("asset_uid"))

        self.fake.reset_requests()
        self._fetch()
        self.assertEqual(self._detail_reads(), [], "nothing changed: no detail read")

    def test_status_changed_on_kobo_is_seen(self):
        uid = self._asset("Archived there", deploy=True)
        self._fetch()
        self.kobo.archive(uid)
        self._fetch()
        form = self._odoo_forms().filtered(lambda f: f.asset_uid == uid)
        self.assertEqual(form.deployment_status, "archived")
        self.assertFalse(form.enketo_url, "KoBo gives no data-entry link for an archived form")

    def test_form_deleted_on_kobo(self):
        uid = self._asset("Deleted there", deploy=True)
        self._fetch()
        self.kobo.delete_asset(uid)
        params = self._fetch()
        self.assertIn("1 no longer on KoBo", params["message"])
        form = self._odoo_forms().filtered(lambda f: f.asset_uid == uid)
        self.assertTrue(form.exists())
        self.assertTrue(form.active)
        self.assertTrue(form.gone_from_kobo)
        self.assertEqual(form.question_count, 3, "its questions are kept")
        params = self._fetch()
        self.assertIn("0 no longer on KoBo", params["message"], "reported once")

        form = form.with_user(self.manager)
        for action in (form.action_refresh_from_kobo, form.action_archive_on_kobo):
            with self.assertRaisesRegex(UserError, r"not found.*Not found\."):
                action()
        self.assertTrue(form.exists())

    def test_fetch_rights_and_errors(self):
        with self.assertRaises(AccessError):
            self.server.with_user(self.user).action_fetch_forms()
        self.fake.fail(r"^/api/v2/assets/\?", 500)
        with self.assertRaisesRegex(UserError, r"HTTP 500.*Server Error \(500\)"):
            self._fetch()


@tagged("post_install", "-at_install")
class TestKoboFormActions(KoboFormCase):
    def _run_server_action(self, xmlid, forms, user=None):
        action = self.env.ref(f"kobo_connector.{xmlid}").with_user(user or self.manager)
        return action.with_context(active_model="kobo.form", active_ids=forms.ids).run()

    def test_deploy(self):
        form = self._form()
        self.assertEqual(form.deployment_status, "draft")
        action = form.action_deploy()
        self.assertEqual(action["params"]["type"], "success")
        asset = self.fake.assets[form.asset_uid]
        self.assertTrue(asset.has_deployment and asset.active)
        self.assertRecordValues(
            form,
            [
                {
                    "deployment_status": "deployed",
                    "deployed_version_id": asset.version_id,
                    "needs_redeploy": False,
                }
            ],
        )
        self.assertTrue(form.enketo_url and form.date_deployed and form.last_refresh)
        note = self._last_note(form)
        self.assertIn("Deployed on KoBo", note.body)
        self.assertEqual(note.author_id, self.manager.partner_id)

        with self.assertRaisesRegex(UserError, "already deployed"):
            form.action_deploy()

    def test_redeploy_with_nothing_new(self):
        form = self._form(deploy=True)
        with self.assertRaisesRegex(UserError, "Nothing to redeploy"):
            form.action_redeploy()
        self.assertFalse([p for m, p in self.fake.requests if m == "PATCH"])
        draft = self._form()
        with self.assertRaisesRegex(UserError, "never deployed: use Deploy"):
            draft.action_redeploy()

    def test_redeploy_after_change_on_kobo(self):
        form = self._form(deploy=True)
        deployed = form.deployed_version_id
        self.kobo.rename(form.asset_uid, "Renamed on KoBo")
        form.action_refresh_from_kobo()
        self.assertEqual(form.name, "Renamed on KoBo")
        self.assertTrue(form.needs_redeploy)
        self.assertEqual(form.deployed_version_id, deployed)

        action = form.action_redeploy()
        self.assertEqual(action["params"]["type"], "success")
        asset = self.fake.assets[form.asset_uid]
        self.assertEqual(asset.deployed_version_id, asset.version_id)
        self.assertEqual(form.deployed_version_id, asset.version_id)
        self.assertFalse(form.needs_redeploy)
        self.assertIn("Redeployed on KoBo", self._last_note(form).body)

    def test_archive_and_unarchive(self):
        form = self._form(deploy=True)
        form.action_archive_on_kobo()
        asset = self.fake.assets[form.asset_uid]
        self.assertFalse(asset.active)
        self.assertEqual(form.deployment_status, "archived")
        self.assertFalse(form.enketo_url)
        self.assertTrue(form.active, "archived on KoBo is not archived in Odoo")
        self.assertIn("Archived on KoBo", self._last_note(form).body)
        with self.assertRaisesRegex(UserError, "not deployed and active"):
            form.action_archive_on_kobo()
        with self.assertRaisesRegex(UserError, "Unarchive it first"):
            form.action_redeploy()

        form.action_unarchive_on_kobo()
        self.assertTrue(asset.active)
        self.assertEqual(form.deployment_status, "deployed")
        self.assertTrue(form.enketo_url)
        self.assertIn("Unarchived on KoBo", self._last_note(form).body)
        with self.assertRaisesRegex(UserError, "not archived"):
            form.action_unarchive_on_kobo()

    def test_refresh_from_kobo(self):
        form = self._form(deploy=True)
        self.fake.add_submission(form.asset_uid, {"full_name": "Ada", "age": "36"})
        action = form.action_refresh_from_kobo()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(form.submission_count, 1)
        self.assertIn("Refreshed from KoBo", self._last_note(form).body)

    def _rename(self, form, name, redeploy=None):
        wizard_form = Form(
            self.env["kobo.form.rename.wizard"]
            .with_user(self.manager)
            .with_context(form.action_open_rename_wizard()["context"])
        )
        self.assertEqual(wizard_form.name, form.name)
        self.assertEqual(wizard_form.redeploy, form.deployment_status == "deployed")
        wizard_form.name = name
        if redeploy is not None:
            wizard_form.redeploy = redeploy
        return wizard_form.save().action_rename()

    def test_rename_and_redeploy(self):
        form = self._form("Before", deploy=True)
        action = self._rename(form, "  After  ")
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(action["params"]["title"], "Rename and redeploy")
        self.assertIn("Done: After.", action["params"]["message"])
        asset = self.fake.assets[form.asset_uid]
        self.assertEqual(asset.name, "After")
        self.assertEqual(asset.deployed_version_id, asset.version_id)
        self.assertEqual(form.name, "After")
        self.assertFalse(form.needs_redeploy)
        bodies = self._messages(form)
        self.assertTrue(any("Renamed on KoBo to After" in b for b in bodies))
        self.assertTrue(any("Redeployed on KoBo" in b for b in bodies))

    def test_rename_without_redeploy(self):
        form = self._form("Before", deploy=True)
        self._rename(form, "After", redeploy=False)
        asset = self.fake.assets[form.asset_uid]
        self.assertEqual((asset.name, form.name), ("After", "After"))
        self.assertNotEqual(asset.deployed_version_id, asset.version_id)
        self.assertTrue(form.needs_redeploy)

    def test_rename_when_the_redeploy_fails(self):
        form = self._form("Before", deploy=True)
        self.fake.fail(r"/deployment/", 500, method="PATCH")
        action = self._rename(form, "After")
        self.assertEqual(
            (action["params"]["type"], action["params"]["title"]),
            ("warning", "Renamed, not redeployed"),
        )
        self.assertIn("Server Error (500)", action["params"]["message"])
        self.assertEqual((self.fake.assets[form.asset_uid].name, form.name), ("After", "After"))
        self.assertTrue(form.needs_redeploy, "still to redeploy, and shown so")

    def test_rename_draft(self):
        form = self._form("Before")
        self._rename(form, "After")
        self.assertEqual(form.name, "After")
        self.assertEqual(self.fake.assets[form.asset_uid].name, "After")
        self.assertFalse(form.needs_redeploy)
        self.assertEqual(form.deployment_status, "draft")

    def test_rename_to_the_same_name(self):
        form = self._form("Same", deploy=True)
        with self.assertRaisesRegex(UserError, "already named"):
            self._rename(form, "Same ")

    def test_kobo_user_reads_but_cannot_act(self):
        form = self._form(deploy=True).with_user(self.user)
        self.assertEqual(form.question_count, 3)
        self.assertEqual(len(form.question_ids.filtered("choice_ids").choice_ids), 2)
        for method in (
            "action_deploy",
            "action_redeploy",
            "action_archive_on_kobo",
            "action_unarchive_on_kobo",
            "action_refresh_from_kobo",
            "action_open_rename_wizard",
        ):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(form, method)()
        with self.assertRaises(AccessError):
            self._run_server_action("kobo_form_action_server_archive", form, self.user)
        with self.assertRaises(AccessError):
            self.env["kobo.form.rename.wizard"].with_user(self.user).create(
                {"form_id": form.id, "name": "X"}
            )
        self.assertFalse([p for m, p in self.fake.requests if m != "GET"])
        self.assertTrue(self.fake.assets[form.asset_uid].active)

    def test_kobo_server_error(self):
        form = self._form()
        before = form.message_ids
        self.fake.fail(r"/deployment/", 500, method="POST")
        with self.assertRaisesRegex(UserError, r"Deploy: .*HTTP 500.*Server Error \(500\)"):
            form.action_deploy()
        self.assertFalse(self.fake.assets[form.asset_uid].has_deployment)
        self.assertEqual(form.deployment_status, "draft")
        self.assertEqual(form.message_ids, before)

        self.kobo.rename(form.asset_uid, "Changed on KoBo")
        self.fake.fail(r"^/api/v2/assets/a\w+/", 500, method="GET")
        with self.assertRaisesRegex(UserError, r"Refresh from KoBo: .*Server Error \(500\)"):
            form.action_refresh_from_kobo()
        self.assertNotEqual(form.name, "Changed on KoBo")

    def test_bulk_action_where_one_fails(self):
        forms = self._form("First") | self._form("Second") | self._form("Third")
        already = self._form("Deployed already", deploy=True)
        self.kobo.delete_asset(forms[1].asset_uid)
        selection = forms | already
        action = self._run_server_action("kobo_form_action_server_deploy", selection)
        params = action["params"]
        self.assertEqual((params["type"], params["sticky"]), ("warning", True))
        self.assertIn("Done: First, Third.", params["message"])
        self.assertRegex(params["message"], r"Failed: Second — .*Not found\.")
        self.assertIn("Failed: Deployed already — Deployed already is already", params["message"])

        self.assertEqual(forms.mapped("deployment_status"), ["deployed", "draft", "deployed"])
        self.assertTrue(forms[1].gone_from_kobo)
        self.assertIn("Deployed on KoBo", self._last_note(forms[0]).body)
        self.assertIn("Deploy failed.", self._last_note(forms[1]).body)
        self.assertIn("Not found.", self._last_note(forms[1]).body)
        self.assertIn("Deploy failed.", self._last_note(already).body)

    def test_bulk_action_all_done(self):
        forms = self._form("One", deploy=True) | self._form("Two", deploy=True)
        action = self._run_server_action("kobo_form_action_server_archive", forms)
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(forms.mapped("deployment_status"), ["archived", "archived"])
        action = self._run_server_action("kobo_form_action_server_unarchive", forms)
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(forms.mapped("deployment_status"), ["deployed", "deployed"])

    def test_bound_actions_are_in_the_actions_menu(self):
        bound = self.env["ir.actions.actions"]._get_bindings("kobo.form")["action"]
        names = {a["name"] for a in bound}
        self.assertGreaterEqual(
            names,
            {
                "Deploy on KoBo",
                "Redeploy on KoBo",
                "Archive on KoBo",
                "Unarchive on KoBo",
                "Refresh from KoBo",
            },
        )
