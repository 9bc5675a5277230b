"""The map tour in French and in Arabic: passes once the .po files exist."""

from odoo.tests import tagged

from odoo.addons.kobo_connector.tests.test_ui_translated import TranslatedTourCase


@tagged("post_install", "-at_install")
class TestTranslatedMapTours(TranslatedTourCase):
    ADDONS = ("kobo_connector", "kobo_connector_map")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # tiles from this Odoo (tests reach no other server)
        cls.env["ir.config_parameter"].set_param(
            "leaflet.tile_url", "/web/static/img/placeholder.png?{z}/{x}/{y}"
        )

    def _labels(self, lang):
        core = self._translations("kobo_connector", lang, "Errors")
        bridge = self._translations("kobo_connector_map", lang, "Open the submission")
        return {
            "errors": core["Errors"],
            "openSubmission": bridge["Open the submission"],
        }

    def test_french_map_tour(self):
        self._start_kobo_tour(
            "kobo_connector_map_tour", self._labels("fr"), login=self._as("fr_FR")
        )

    def test_arabic_map_tour(self):
        self._start_kobo_tour(
            "kobo_connector_map_tour", self._labels("ar"), login=self._as("ar_001")
        )
