"""Browser tour: the distribution form mapped to pickings through the UI
(Suggest, a value map, Preview), enabled, synced, and the picking opened.

Run as a KoBo Manager who is an Inventory user, not an Odoo administrator."""

from unittest.mock import patch

from odoo.tests import new_test_user, tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.seed import DISTRIBUTION_PRODUCTS, xlsform
from odoo.addons.kobo_connector.tests.test_ui_tours import KoboTourCase


@tagged("post_install", "-at_install")
class TestStockTour(KoboTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(xlsform=xlsform("distribution"), deploy=True)
        cls.fake.add_submission(
            cls.uid,
            {
                "warehouse": "WH",
                "distribution_date": "2026-03-02",
                "beneficiary": "Kofi Traoré",
                "items": [
                    {"items/product": "KB-RICE25", "items/quantity": "2", "items/unit": "units"},
                    {"items/product": "KB-SOAP", "items/quantity": "5"},
                ],
            },
        )
        cls.env["product.product"].create(
            [
                {"name": en, "default_code": code, "is_storable": True}
                for code, (en, _fr) in DISTRIBUTION_PRODUCTS.items()
            ]
        )
        cls.env["res.partner"].create({"name": "Kofi Traoré"})
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1
        )
        cls.warehouse.code = "WH"
        cls.server = cls._connected_server()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        cls.manager = new_test_user(
            cls.env,
            login="tour_stock_kobo_manager",
            groups="base.group_user,kobo_connector.group_kobo_manager,stock.group_stock_user",
        )

    def test_stock_tour(self):
        self._start_kobo_tour("kobo_connector_stock_tour", {}, login=self.manager.login)
        mapping = self.env["kobo.mapping"].search([("form_id", "=", self.form.id)])
        self.assertTrue(mapping.enabled)
        self.assertEqual(mapping.model_name, "stock.picking")
        pairs = {(line.question_path, line.field_name) for line in mapping.line_ids}
        self.assertLessEqual(
            {
                ("warehouse", "picking_type_id"),
                ("distribution_date", "scheduled_date"),
                ("beneficiary", "partner_id"),
                ("items", "move_ids"),
                ("_id", "origin"),
            },
            pairs,
        )
        moves = mapping.line_ids.filtered(lambda line: line.field_name == "move_ids").child_ids
        self.assertEqual(
            {(line.question_path, line.field_name) for line in moves},
            {
                ("items/product", "product_id"),
                ("items/quantity", "product_uom_qty"),
                ("items/unit", "product_uom"),
            },
        )
        warehouse = mapping.line_ids.filtered(lambda line: line.field_name == "picking_type_id")
        self.assertEqual(
            [(v.choice, v.res_id) for v in warehouse.value_ids],
            [("WH", self.warehouse.out_type_id.id)],
        )

        Form = self.env["kobo.form"]
        with patch.object(type(Form), "_kobo_commit", lambda form: None):
            Form._cron_import()
        self.env.invalidate_all()
        sub = self.env["kobo.submission"].search([("form_id", "=", self.form.id)])
        self.assertEqual(sub.state, "imported", sub.error_message)
        picking = self.env["stock.picking"].browse(sub.res_id)
        self.assertEqual(picking.picking_type_id, self.warehouse.out_type_id)
        self.assertEqual(picking.move_ids.mapped("product_uom_qty"), [2.0, 5.0])
        self.assertEqual(picking.origin, str(sub.kobo_id), "the system field _id, picked")

        self._start_kobo_tour(
            "kobo_connector_stock_open_picking_tour", {}, login=self.manager.login
        )
