import importlib.util

from odoo.tests import tagged
from odoo.tools.misc import file_path

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .test_kobo_import import ImportCase

GEO_SURVEY = [
    {"type": "text", "name": "name", "label": "Full name"},
    {"type": "geopoint", "name": "home", "label": "Home"},
    {"type": "geopoint", "name": "field", "label": "Field"},
]


class GeoCase(ImportCase):
    """Besides the contacts form, a form with two geopoints, mapped to contacts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.geo_uid = cls.fake.create_asset(
            xlsform=build_xlsform(GEO_SURVEY, []), name="Farm visits", deploy=True
        )
        cls.server.action_fetch_forms()
        cls.geo_form = cls.env["kobo.form"].search([("asset_uid", "=", cls.geo_uid)])
        cls.mapping.copy({"form_id": cls.geo_form.id, "enabled": True})

    def setUp(self):
        super().setUp()
        for sub in self.fake.submissions(self.geo_uid):  # the fake outlives each test
            self.fake.delete_submission(self.geo_uid, sub["_id"])


@tagged("post_install", "-at_install")
class TestLocation(GeoCase):
    def _subs(self):
        return self.env["kobo.submission"].search(
            [("form_id", "=", self.geo_form.id)], order="kobo_id"
        )

    def test_coordinates_stored_chosen_and_migrated(self):
        """KoBo's ``_geolocation`` (the first geopoint) by default, stored with
        the page; the form's chosen geopoint replaces it on every stored
        submission; an edit moves it; the migration fills old rows."""
        first = self.fake.add_submission(
            self.geo_uid, {"name": "A", "home": "-1.5 36.5 0 0", "field": "-2.25 37.75 0 0"}
        )
        self.fake.add_submission(self.geo_uid, {"name": "B"})  # no location
        self._sync_all()
        a, b = self._subs()
        self.assertEqual((a.latitude, a.longitude), (-1.5, 36.5))
        self.assertEqual((b.latitude, b.longitude), (0, 0))
        field_q = self.geo_form.question_ids.filtered(lambda q: q.xpath == "field")
        self.geo_form.with_user(self.manager).location_question_id = field_q
        self.assertEqual((a.latitude, a.longitude), (-2.25, 37.75))
        self.fake.edit_submission(self.geo_uid, first["_id"], {"field": "3.5 30.25 0 0"})
        self._sync_all()
        self.assertEqual((a.latitude, a.longitude), (3.5, 30.25))
        # rows stored before the columns existed: the migration fills them
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE kobo_submission SET latitude = NULL, longitude = NULL WHERE form_id = %s",
            (self.geo_form.id,),
        )
        self.env.invalidate_all()
        path = file_path("kobo_connector/migrations/18.0.1.1.0/post-migrate.py")
        spec = importlib.util.spec_from_file_location("kobo_migration", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.1.0.0")
        self.assertEqual((a.latitude, a.longitude), (3.5, 30.25))
