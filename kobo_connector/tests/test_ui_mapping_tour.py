"""Browser tour: the README's "import submissions as contacts", through the UI.

The fake KoBo serves the sandbox's deployed "Contact registration" form with a
few submissions; a KoBo Manager who is NOT an Odoo administrator (so cannot
read ir.model / ir.model.fields: the mapping's pickers are the safe ones)
maps it to Contacts and presses "Sync from KoBo"; the test then runs the
scheduled import (as the import user), edits a submission on KoBo and imports
again.
"""

from unittest.mock import patch

from odoo.tests import new_test_user, tagged

from .test_ui_tours import KoboTourCase, contact_xlsform

PEOPLE = [
    {
        "name": f"Mapped contact {i}",
        "email": f"mapped{i}@example.org",
        "phone": f"+243 81 000 000{i}",
        "city": city,
    }
    for i, city in enumerate(("Goma", "Bukavu", "Kinshasa"))
]


@tagged("post_install", "-at_install")
class TestMappingTour(KoboTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(xlsform=contact_xlsform(), deploy=True)
        cls.submissions = cls.fake.add_submissions(cls.uid, PEOPLE)
        cls.server = cls._connected_server()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        cls.manager = new_test_user(
            cls.env,
            login="tour_kobo_manager",
            groups="base.group_user,kobo_connector.group_kobo_manager",
        )

    def _cron_import(self):
        # the scheduled action the button woke up (its commits are the seam
        # tests replace: pytest-odoo does not set odoo's current_test)
        Form = self.env["kobo.form"]
        with patch.object(type(Form), "_kobo_commit", lambda form: None):
            Form._cron_import()

    def _partners(self):
        return self.env["res.partner"].search([("name", "=like", "Mapped contact %")], order="name")

    def test_mapping_tour(self):
        self.assertFalse(self.form.mapping_ids, "the tour creates the mapping")
        self.assertFalse(self.manager._is_admin())
        self._start_kobo_tour(
            "kobo_connector_mapping_tour",
            {
                "form": "Contact registration",
                "model": "Contact",
                "lines": [
                    ["Full name", "Name"],
                    ["Email", "Email"],
                    ["Phone", "Phone"],
                    ["City", "City"],
                ],
            },
            login="tour_kobo_manager",
        )
        # what the user built
        self.form.invalidate_recordset()
        mapping = self.form.mapping_id
        self.assertEqual(mapping.model_id.model, "res.partner")
        self.assertEqual(
            [(line.question_path, line.field_name) for line in mapping.line_ids],
            [("name", "name"), ("email", "email"), ("phone", "phone"), ("city", "city")],
        )
        request = self.env["kobo.sync.request"].search([("form_id", "=", self.form.id)])
        self.assertEqual(request.user_id, self.manager)

        # the import the button asked for
        self._cron_import()
        self.env.invalidate_all()
        partners = self._partners()
        self.assertEqual(
            [
                {key: partner[key] for key in ("name", "email", "phone", "city")}
                for partner in partners
            ],
            PEOPLE,
        )
        self.assertEqual(self.form.imported_count, 3)
        import_user = self.env.ref("kobo_connector.user_kobo_import")
        self.assertEqual(partners.create_uid, import_user, "written as the import user")

        # edited on KoBo: the same contact is updated
        bukavu = partners.filtered(lambda p: p.city == "Bukavu")
        self.fake.edit_submission(
            self.uid,
            self.submissions[1]["_id"],
            {"city": "Uvira", "email": "mapped1@example.com"},
        )
        self._cron_import()
        self.env.invalidate_all()
        partners_after = self._partners()
        self.assertEqual(partners_after, partners, "no contact created nor removed")
        self.assertEqual(bukavu.city, "Uvira")
        self.assertEqual(bukavu.email, "mapped1@example.com")
        self.assertEqual(bukavu.name, "Mapped contact 1")
        self.assertEqual(self.form.imported_count, 3)
