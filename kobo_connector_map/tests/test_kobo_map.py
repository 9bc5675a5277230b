from odoo.tests import tagged

from odoo.addons.kobo_connector.tests.test_kobo_dashboard import outsider
from odoo.addons.kobo_connector.tests.test_kobo_import import person
from odoo.addons.kobo_connector.tests.test_kobo_location import GeoCase
from odoo.addons.kobo_connector.tests.test_ui_dashboard import DashboardTourCase


@tagged("post_install", "-at_install")
class TestMap(GeoCase):
    def test_points_follow_the_search_with_state_and_record(self):
        """The map's points: located submissions of the search only, with
        their state and record, for a KoBo User; none for another company."""
        self.fake.add_submission(
            self.geo_uid, {"name": "Amina", "home": "-1.5 36.5 0 0"}, submitted_by="amina"
        )
        self.fake.add_submission(self.geo_uid, {"name": "Nowhere"})
        self.fake.add_submission(self.uid, person(1))  # a form without geopoint
        self._sync_all()
        Sub = self.env["kobo.submission"].with_user(self.user)
        points = Sub.kobo_map_points([("form_id", "=", self.geo_form.id)])
        self.assertEqual(len(points), 1)
        point = points[0]
        self.assertEqual((point["lat"], point["lng"]), (-1.5, 36.5))
        self.assertEqual((point["state"], point["state_label"]), ("imported", "Imported"))
        self.assertEqual(point["submitted_by"], "amina")
        self.assertEqual(point["record_name"], "Amina")
        self.assertFalse(Sub.kobo_map_points([("state", "=", "error")]), "follows the filters")
        other = outsider(self.env, "kobo_map_outsider")
        self.assertFalse(self.env["kobo.submission"].with_user(other).kobo_map_points([]))

    def test_form_map_and_submissions_offer_the_map(self):
        """A form opens its own submissions on the map; the submissions'
        action offers the map view; the tiles default to OpenStreetMap."""
        action = self.geo_form.with_user(self.user).action_open_map()
        self.assertEqual(action["views"][0][1], "leaflet_map")
        self.assertIn(("form_id", "=", self.geo_form.id), action["domain"])
        submissions = self.env["ir.actions.act_window"]._for_xml_id(
            "kobo_connector.kobo_submission_action"
        )
        self.assertIn("leaflet_map", submissions["view_mode"])
        views = self.env["kobo.submission"].with_user(self.user).get_views([(False, "leaflet_map")])
        self.assertIn('js_class="kobo_submission_map"', views["views"]["leaflet_map"]["arch"])
        self.assertEqual(
            self.env["ir.config_parameter"].get_param("leaflet.tile_url"),
            "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png",
        )


@tagged("post_install", "-at_install")
class TestMapTour(DashboardTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # tiles from this Odoo (tests reach no other server)
        cls.env["ir.config_parameter"].set_param(
            "leaflet.tile_url", "/web/static/img/placeholder.png?{z}/{x}/{y}"
        )

    def test_map_tour(self):
        subs = self.env["kobo.submission"].search([("form_id", "=", self.form.id)])
        self.assertEqual(len(subs.filtered("latitude")), 3)
        self._start_kobo_tour("kobo_connector_map_tour", {}, login="kobo_reader")
