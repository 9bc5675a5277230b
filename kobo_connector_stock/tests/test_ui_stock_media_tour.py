"""Browser tour: a KoBo manager (not an administrator) publishes the
products as the distribution form's products.csv from the UI."""

from odoo.tests import new_test_user, tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.seed import DISTRIBUTION_PRODUCTS, xlsform
from odoo.addons.kobo_connector.tests.test_ui_tours import KoboTourCase


@tagged("post_install", "-at_install")
class TestStockMediaTour(KoboTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(xlsform=xlsform("distribution"), deploy=True)
        cls.env["product.product"].create(
            [
                {"name": en, "default_code": code, "is_storable": True}
                for code, (en, _fr) in DISTRIBUTION_PRODUCTS.items()
            ]
        )
        cls.env["kobo.allowed.model"].create({"name": "Product", "model": "product.product"})
        cls.server = cls._connected_server()
        cls.manager = new_test_user(
            cls.env,
            login="tour_media_kobo_manager",
            groups="base.group_user,kobo_connector.group_kobo_manager",
        )

    def test_publish_products_from_the_ui(self):
        self.assertFalse(self.manager._is_admin())
        self._start_kobo_tour("kobo_connector_stock_media_tour", {}, login=self.manager.login)
        media = self.env["kobo.media.list"].search([("name", "=", "Products")])
        self.assertEqual(media.publisher_id, self.manager)
        self.assertEqual(media.target_ids.state, "published", media.target_ids.message)
        (file,) = self.fake.store.assets[self.uid].media.values()
        self.assertEqual(file["filename"], "products.csv")
        self.assertIn(b"KB-RICE25,Rice 25kg", file["data"])
        with self.server._get_client() as client:
            manifest = client.collector_media(self.uid)
        self.assertEqual([m["filename"] for m in manifest], ["products.csv"])
