"""Browser tours: a new user clicks through the product against a fake KoBo.

Each class starts its own fake KoBo server on a free port of 127.0.0.1; the
tours get its address (and what to look for) through ``window.koboTour``.
"""

import json
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.kobo_connector.kobo_kpi.fake import FakeKobo
from odoo.addons.kobo_connector.kobo_kpi.fake.seed import CONTACT
from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

SANDBOX_TOKEN = "0123456789abcdef0123456789abcdef01234567"

DRAFT_SURVEY = [
    {"type": "text", "name": "village", "label": "Village", "required": "yes"},
    {"type": "integer", "name": "households", "label": "Number of households"},
    {"type": "select_one yn", "name": "water_point", "label": "Working water point?"},
]
DRAFT_CHOICES = [
    {"list_name": "yn", "name": "yes", "label": "Yes"},
    {"list_name": "yn", "name": "no", "label": "No"},
]


def contact_xlsform():
    return build_xlsform(CONTACT["survey"], CONTACT["choices"], CONTACT["settings"])


class KoboTourCase(HttpCase):
    """A fake KoBo for the class; ``_start_kobo_tour`` passes ``data`` to the tour."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # tests poll again at once, as if the poll interval had passed
        cls.env["ir.config_parameter"].set_param("kobo_connector.poll_interval", "0")
        cls.env["ir.config_parameter"].set_param("kobo_connector.allow_private_urls", "1")
        cls.fake = FakeKobo(token=SANDBOX_TOKEN)
        cls.fake.start()
        cls.addClassCleanup(cls.fake.stop)

    @classmethod
    def _connected_server(cls):
        server = cls.env["kobo.server"].create(
            {"name": "Sandbox", "url": cls.fake.url, "token": cls.fake.token}
        )
        server.action_test_connection()
        server.action_fetch_forms()
        return server

    @classmethod
    def _contact_mapping(cls, form, lines):
        """An enabled mapping of ``form`` into contacts: ``lines`` are
        (question path, contact field) pairs."""
        field = cls.env["ir.model.fields"]._get
        return cls.env["kobo.mapping"].create(
            {
                "form_id": form.id,
                "model_id": cls.env["ir.model"]._get("res.partner").id,
                "enabled": True,
                "line_ids": [
                    (0, 0, {"question_path": path, "field_id": field("res.partner", name).id})
                    for path, name in lines
                ],
            }
        )

    def _start_kobo_tour(self, tour, data, login="admin"):
        options = {
            "stepDelay": 0,
            "keepWatchBrowser": False,
            "debug": False,
            "startUrl": "/odoo",
            "delayToCheckUndeterminisms": 0,
        }
        payload = json.dumps(data)
        code = (
            f"window.koboTour = {payload}; "
            f"sessionStorage.setItem('koboTour', JSON.stringify(window.koboTour)); "
            f"odoo.startTour({tour!r}, {json.dumps(options)})"
        )
        self.start_tour("/odoo", tour, login=login, code=code)


@tagged("post_install", "-at_install")
class TestServerTour(KoboTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake.create_asset(xlsform=contact_xlsform(), deploy=True)
        cls.fake.create_asset(
            xlsform=build_xlsform(DRAFT_SURVEY, DRAFT_CHOICES), name="Village assessment"
        )

    def test_server_tour(self):
        self.assertFalse(self.env["kobo.server"].search([]), "the tour creates the server")
        self._start_kobo_tour(
            "kobo_connector_server_tour",
            {
                "url": self.fake.url,
                "token": self.fake.token,
                "form": "Contact registration",
                "formCount": 2,
            },
        )
        server = self.env["kobo.server"].search([("name", "=", "Sandbox")])
        self.assertEqual(server.url, self.fake.url)
        self.assertEqual(server.state, "connected")
        self.assertEqual(server.kobo_username, "kobo_admin")
        self.assertEqual(
            sorted(server.form_ids.mapped("name")), ["Contact registration", "Village assessment"]
        )


@tagged("post_install", "-at_install")
class TestFormTour(KoboTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(
            xlsform=build_xlsform(DRAFT_SURVEY, DRAFT_CHOICES), name="Tour draft form"
        )
        cls.server = cls._connected_server()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])

    def test_form_tour(self):
        self.assertEqual(self.form.deployment_status, "draft")
        self._start_kobo_tour(
            "kobo_connector_form_tour",
            {"form": "Tour draft form", "newName": "Tour renamed form", "question": "Village"},
        )
        self.form.invalidate_recordset()
        self.assertEqual(self.form.deployment_status, "deployed")
        self.assertEqual(self.form.name, "Tour renamed form")
        asset = self.fake.assets[self.uid]
        self.assertEqual(asset.deployment_status, "deployed")
        self.assertEqual(asset.name, "Tour renamed form")


@tagged("post_install", "-at_install")
class TestSyncTour(KoboTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(xlsform=contact_xlsform(), deploy=True)
        cls.fake.add_submissions(
            cls.uid,
            [
                {"name": f"Tour contact {i}", "email": f"tour{i}@example.org", "city": "Goma"}
                for i in range(3)
            ],
        )
        cls.server = cls._connected_server()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        cls._contact_mapping(cls.form, (("name", "name"), ("email", "email"), ("city", "city")))

    def test_sync_tour(self):
        self._start_kobo_tour("kobo_connector_sync_tour", {"form": "Contact registration"})
        request = self.env["kobo.sync.request"].search([("form_id", "=", self.form.id)])
        self.assertEqual(request.user_id, self.env.ref("base.user_admin"))
        # the scheduled action the button woke up (its commits are the seam
        # tests replace: pytest-odoo does not set odoo's current_test)
        Form = self.env["kobo.form"]
        with patch.object(type(Form), "_kobo_commit", lambda form: None):
            Form._cron_import()
        partners = self.env["res.partner"].search([("name", "=like", "Tour contact %")])
        self.assertEqual(len(partners), 3)
        self.assertEqual(set(partners.mapped("city")), {"Goma"})
        self.form.invalidate_recordset()
        self.assertEqual(self.form.imported_count, 3)


@tagged("post_install", "-at_install")
class TestPushTour(KoboTourCase):
    """Issue 12 as a new KoBo manager sees it: Register push in the UI, a
    submission on KoBo arrives in Odoo with its photo, approved on KoBo."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(xlsform=contact_xlsform(), deploy=True)
        cls.server = cls._connected_server()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        field = cls.env["ir.model.fields"]._get
        cls.env["kobo.mapping"].create(
            {
                "form_id": cls.form.id,
                "model_id": cls.env["ir.model"]._get("res.partner").id,
                "enabled": True,
                "line_ids": [
                    (0, 0, {"question_path": "name", "field_id": field("res.partner", "name").id})
                ],
            }
        )
        cls.form.validation_writeback = True
        cls.manager = new_test_user(
            cls.env,
            login="kobo_push_manager",
            groups="base.group_user,kobo_connector.group_kobo_manager",
        )

    def test_push_tour(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "kobo_connector.public_base_url", self.base_url()
        )
        data = {"form": self.form.name, "person": "Pushed person"}
        self._start_kobo_tour("kobo_connector_push_tour", data, login="kobo_push_manager")
        self.assertTrue(self.form.push_hook_uid)
        hooks = self.fake.store.assets[self.uid].hooks
        self.addCleanup(hooks.clear)
        self.env.flush_all()
        photo = b"\xff\xd8\xff\xe0" + b"tour-photo" * 50
        sub = self.fake.add_submission(
            self.uid,
            {"name": "Pushed person", "photo": "photo.jpg"},
            attachments={"photo": ("photo.jpg", photo, "image/jpeg")},
        )
        self.assertTrue(self.fake.wait_hooks(20))
        Form = self.env["kobo.form"]
        with patch.object(type(Form), "_kobo_commit", lambda form: None):
            Form._cron_import()
            self.env["kobo.submission"]._cron_after_import()
        partner = self.env["res.partner"].search([("name", "=", "Pushed person")])
        self.assertEqual(len(partner), 1)
        files = self.env["ir.attachment"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)]
        )
        self.assertEqual(files.raw, photo)
        on_kobo = next(s for s in self.fake.submissions(self.uid) if s["_id"] == sub["_id"])
        self.assertEqual(on_kobo["_validation_status"]["uid"], "validation_status_approved")
        self._start_kobo_tour("kobo_connector_push_files_tour", data, login="kobo_push_manager")
