"""Browser tours of the dashboard, graphs, pivot and reports, as a KoBo User."""

from unittest.mock import patch

from odoo.tests import new_test_user, tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .test_kobo_location import GEO_SURVEY
from .test_ui_tours import KoboTourCase


class DashboardTourCase(KoboTourCase):
    """A form with three submissions (two imported, one in error, in two
    places) and a KoBo User to read them."""

    browser_size = "1920,1080"  # the menus of every language in the bar

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(
            xlsform=build_xlsform(
                [*GEO_SURVEY, {"type": "text", "name": "country", "label": "Country"}], []
            ),
            name="Farm visits",
            deploy=True,
        )
        for name, home, country in (
            ("Amina", "-1.29 36.82 0 0", ""),  # Nairobi
            ("Joseph", "4.85 31.58 0 0", ""),  # Juba
            ("Nobody", "0.35 32.58 0 0", "atlantis"),  # Kampala, no such country
        ):
            cls.fake.add_submission(
                cls.uid, {"name": name, "home": home, "country": country}, submitted_by="amina"
            )
        cls.server = cls._connected_server()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        cls._contact_mapping(cls.form, (("name", "name"), ("country", "country_id")))
        Form = cls.env["kobo.form"]
        with patch.object(type(Form), "_kobo_commit", lambda form: None):
            Form._cron_import()
        cls.reader = new_test_user(
            cls.env,
            login="kobo_reader",
            groups="base.group_user,kobo_connector.group_kobo_user",
            tz="Africa/Nairobi",
        )

    def _counts(self):
        subs = self.env["kobo.submission"].search([("form_id", "=", self.form.id)])
        return sorted(subs.mapped("state"))


@tagged("post_install", "-at_install")
class TestDashboardTour(DashboardTourCase):
    def test_dashboard_tour(self):
        self.assertEqual(self._counts(), ["error", "imported", "imported"])
        self._start_kobo_tour("kobo_connector_dashboard_tour", {}, login="kobo_reader")
