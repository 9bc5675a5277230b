import base64
import io
from unittest.mock import patch

from PIL import Image

from odoo.tests import tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.seed import xlsform

from .common import KoboCase


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return buffer.getvalue()


@tagged("post_install", "-at_install")
class TestHouseholdRegistration(KoboCase):
    """The sandbox's household registration, from its XLSForm to contacts:
    a country by its label, needs as tags (created when missing), a
    geopoint into latitude and longitude, a photo, members as children."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(xlsform=xlsform("registration"), deploy=True)
        cls.server.action_test_connection()
        cls.server.action_fetch_forms()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        cls.env["res.partner.category"].create({"name": "Food"})
        cls.mapping = cls.env["kobo.mapping"].create(
            {
                "form_id": cls.form.id,
                "model_id": cls.env["ir.model"]._get("res.partner").id,
            }
        )
        # what Suggest finds, then the photo by hand
        cls.mapping.action_suggest()
        cls.suggested = {(line.question_path, line.field_name) for line in cls.mapping.line_ids}
        Field = cls.env["ir.model.fields"]
        cls.mapping.line_ids = [
            (
                0,
                0,
                {"question_path": "photo", "field_id": Field._get("res.partner", "image_1920").id},
            )
        ]
        cls.mapping.enabled = True

    def setUp(self):
        super().setUp()
        for sub in self.fake.submissions(self.uid):  # the fake outlives each test's rollback
            self.fake.delete_submission(self.uid, sub["_id"])

    def test_suggest_found_the_obvious_fields(self):
        self.assertLessEqual(
            {
                ("head_name", "name"),
                ("phone", "phone"),
                ("country", "country_id"),
                ("needs", "category_id"),
                ("location", "partner_latitude"),
                ("location", "partner_longitude"),
                ("members", "child_ids"),
            },
            self.suggested,
        )
        members = self.mapping.line_ids.filtered(lambda line: line.field_name == "child_ids")
        self.assertIn(
            ("members/member_name", "name"),
            {(line.question_path, line.field_name) for line in members.child_ids},
        )
        needs = self.mapping.line_ids.filtered(lambda line: line.field_name == "category_id")
        self.assertTrue(needs.create_missing, "needs become tags, created when missing")

    def test_registration_to_contact(self):
        photo = png()
        self.fake.add_submission(
            self.uid,
            {
                "head_name": "Awa Ndiaye",
                "phone": "+221 70 123 45 67",
                "country": "sn",
                "needs": "food shelter",
                "location": "14.69370 -17.44406 12.0 5.0",
                "members": [
                    {"members/member_name": "Moussa Ndiaye", "members/member_age": "12"},
                    {"members/member_name": "Fatou Ndiaye", "members/member_age": "9"},
                ],
            },
            attachments={"photo": ("house.png", photo, "image/png")},
        )
        self.env["kobo.form"]._cron_import(limit=1000)
        sub = self.env["kobo.submission"].search([("form_id", "=", self.form.id)])
        self.assertEqual(sub.state, "imported", sub.error_message)
        partner = self.env["res.partner"].browse(sub.res_id)
        self.assertEqual(partner.name, "Awa Ndiaye")
        self.assertEqual(partner.phone, "+221 70 123 45 67")
        self.assertEqual(partner.country_id, self.env.ref("base.sn"), "found by the choice label")
        self.assertEqual(sorted(partner.category_id.mapped("name")), ["Food", "Shelter"])
        self.assertAlmostEqual(partner.partner_latitude, 14.6937)
        self.assertAlmostEqual(partner.partner_longitude, -17.44406)
        self.assertEqual(
            sorted(partner.child_ids.mapped("name")), ["Fatou Ndiaye", "Moussa Ndiaye"]
        )
        self.assertTrue(partner.image_1920)
        stored = Image.open(io.BytesIO(base64.b64decode(partner.image_1920)))
        self.assertEqual(stored.size, (4, 4))

    def test_files_of_binary_fields_one_submission_at_a_time(self):
        for name in ("One", "Two", "Three"):
            self.fake.add_submission(
                self.uid,
                {"head_name": name, "country": "sn"},
                attachments={"photo": (f"{name}.png", png(), "image/png")},
            )
        Sub = type(self.env["kobo.submission"])
        seen = []
        original = Sub._kobo_download_files

        def spy(records, todo, outcomes):
            seen.append(len(todo))
            return original(records, todo, outcomes)

        with patch.object(Sub, "_kobo_download_files", spy):
            self.env["kobo.form"]._cron_import(limit=1000)
        subs = self.env["kobo.submission"].search([("form_id", "=", self.form.id)])
        self.assertEqual(subs.mapped("state"), ["imported"] * 3)
        self.assertEqual(seen, [1, 1, 1], "never a page of files in memory")

    def test_missing_photo_is_a_clear_error(self):
        self.fake.add_submission(
            self.uid, {"head_name": "Binta Sow", "country": "ml", "photo": "gone.jpg"}
        )
        self.env["kobo.form"]._cron_import(limit=1000)
        sub = self.env["kobo.submission"].search([("form_id", "=", self.form.id)])
        self.assertEqual(sub.state, "error")
        self.assertIn("gone.jpg", sub.error_message)
