"""Browser tour: two mappings of one form, with a condition and a link,
built, previewed and imported by a KoBo Manager who is not an administrator."""

from unittest.mock import patch

from odoo.tests import new_test_user, tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.seed import xlsform

from .test_ui_tours import KoboTourCase


@tagged("post_install", "-at_install")
class TestMultiMappingTour(KoboTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(xlsform=xlsform("registration"), deploy=True)
        cls.fake.add_submissions(
            cls.uid,
            [
                {"head_name": "Tour household 1", "country": "sn", "needs": "water"},
                {"head_name": "Tour household 2", "country": "ml", "needs": "food water"},
            ],
        )
        cls.server = cls._connected_server()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        cls.manager = new_test_user(
            cls.env,
            login="tour_multi_manager",
            groups="base.group_user,kobo_connector.group_kobo_manager",
        )

    def test_multi_mapping_tour(self):
        self.assertFalse(self.manager._is_admin())
        self._start_kobo_tour(
            "kobo_connector_multi_mapping_tour",
            {"form": self.form.name},
            login="tour_multi_manager",
        )
        self.form.invalidate_recordset()
        household, recipient = self.form._enabled_mappings()
        self.assertEqual(household.name, "Household")
        self.assertEqual(recipient.conditions_text, "when Needs contains Food")
        self.assertEqual(recipient.line_ids.source_mapping_id, household)
        Form = self.env["kobo.form"]
        with patch.object(type(Form), "_kobo_commit", lambda form: None):
            Form._cron_import()
        self.env.invalidate_all()
        subs = self.env["kobo.submission"].search([("form_id", "=", self.form.id)], order="kobo_id")
        self.assertEqual(subs.mapped("state"), ["imported", "imported"])
        self.assertEqual(len(subs[0].link_ids), 1, "no food: the household only")
        second = self.env["res.partner"].browse(subs[1].res_id)
        self.assertEqual(second.name, "Tour household 2")
        self.assertEqual(second.child_ids.mapped("name"), ["Food parcel recipient"])
