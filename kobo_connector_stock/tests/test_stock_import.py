from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.seed import DISTRIBUTION_PRODUCTS, xlsform
from odoo.addons.kobo_connector.tests.common import KoboCase


def distribution(*items, warehouse="WH", beneficiary="Amina Diallo"):
    return {
        "warehouse": warehouse,
        "distribution_date": "2026-03-02",
        "beneficiary": beneficiary,
        "items": [
            {"items/product": code, "items/quantity": qty, **({"items/unit": unit} if unit else {})}
            for code, qty, unit in items
        ],
    }


class StockCase(KoboCase):
    """The sandbox's distribution form, fetched into Odoo, its products and
    a mapping into pickings with one move per item."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(xlsform=xlsform("distribution"), deploy=True)
        cls.server.action_test_connection()
        cls.server.action_fetch_forms()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        cls.products = cls.env["product.product"].create(
            [
                {"name": en, "default_code": code, "is_storable": True}
                for code, (en, _fr) in DISTRIBUTION_PRODUCTS.items()
            ]
        )
        cls.rice, cls.oil, cls.soap, cls.blanket = cls.products
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1
        )
        cls.warehouse.code = "WH"
        cls.beneficiary = cls.env["res.partner"].create({"name": "Amina Diallo"})
        cls.mapping = cls.env["kobo.mapping"].create(
            {
                "form_id": cls.form.id,
                "model_id": cls.env["ir.model"]._get("stock.picking").id,
                "line_ids": [
                    cls._line("stock.picking", "warehouse", "picking_type_id"),
                    cls._line("stock.picking", "distribution_date", "scheduled_date"),
                    cls._line("stock.picking", "beneficiary", "partner_id"),
                ],
            }
        )
        mapping = {"mapping_id": cls.mapping.id}
        cls.mapping.line_ids = [
            cls._line(
                "stock.picking",
                "items",
                "move_ids",
                **mapping,
                child_ids=[
                    cls._line("stock.move", "items/product", "product_id", **mapping),
                    cls._line("stock.move", "items/quantity", "product_uom_qty", **mapping),
                    cls._line("stock.move", "items/unit", "product_uom", **mapping),
                ],
            )
        ]
        cls.mapping.enabled = True

    def setUp(self):
        super().setUp()
        for sub in self.fake.submissions(self.uid):  # the fake outlives each test's rollback
            self.fake.delete_submission(self.uid, sub["_id"])

    @classmethod
    def _line(cls, model, path, field, **vals):
        field_id = cls.env["ir.model.fields"]._get(model, field).id
        return (0, 0, {"question_path": path, "field_id": field_id, **vals})

    def _sync(self):
        _done, remaining = self.env["kobo.form"]._cron_import(limit=1000)
        self.assertFalse(remaining)

    def _submit(self, answers):
        sub = self.fake.add_submission(self.uid, answers)
        self._sync()
        stored = self.env["kobo.submission"].search(
            [("form_id", "=", self.form.id), ("kobo_id", "=", sub["_id"])]
        )
        return sub, stored

    def _picking(self, stored):
        self.assertEqual(stored.res_model, "stock.picking", stored.error_message)
        return self.env["stock.picking"].browse(stored.res_id)


@tagged("post_install", "-at_install")
class TestStockImport(StockCase):
    def test_items_become_moves(self):
        _sub, stored = self._submit(
            distribution(
                ("KB-RICE25", "3", "units"), ("KB-OIL5", "2.5", None), ("KB-SOAP", "10", None)
            )
        )
        self.assertEqual(stored.state, "imported", stored.error_message)
        picking = self._picking(stored)
        self.assertEqual(picking.picking_type_id, self.warehouse.out_type_id)
        self.assertEqual(picking.partner_id, self.beneficiary)
        self.assertEqual(picking.scheduled_date.date().isoformat(), "2026-03-02")
        self.assertEqual(picking.state, "draft", "left as draft by default")
        moves = picking.move_ids.sorted("id")
        self.assertEqual(moves.product_id, self.rice | self.oil | self.soap)
        self.assertEqual(moves.mapped("product_uom_qty"), [3.0, 2.5, 10.0])
        self.assertEqual(moves.product_uom, self.env.ref("uom.product_uom_unit"))
        self.assertEqual(moves.mapped("name"), [p.display_name for p in moves.product_id])
        self.assertEqual(moves.location_id, self.warehouse.lot_stock_id)
        self.assertEqual(moves.location_dest_id, self.env.ref("stock.stock_location_customers"))
        self.assertEqual(moves.picking_type_id, picking.picking_type_id)

    def test_product_by_barcode_or_name(self):
        self.blanket.write({"default_code": False, "barcode": "4006381333931"})
        self.soap.default_code = False
        _sub, stored = self._submit(
            distribution(("4006381333931", "1", None), ("Soap bar", "4", None))
        )
        self.assertEqual(stored.state, "imported", stored.error_message)
        self.assertEqual(self._picking(stored).move_ids.product_id, self.blanket | self.soap)

    def test_unknown_product_and_foreign_unit_are_errors(self):
        _sub, stored = self._submit(distribution(("KB-NOPE", "1", None)))
        self.assertEqual(stored.state, "error")
        self.assertIn("KB-NOPE", stored.error_message)
        kg = self.env.ref("uom.product_uom_kgm")
        _sub, stored = self._submit(distribution(("KB-RICE25", "1", kg.name)))
        self.assertEqual(stored.state, "error")
        self.assertIn("cannot measure", stored.error_message)
        self.assertIn("Rice 25kg", stored.error_message)
        self.assertFalse(stored.res_id)

    def test_warehouse_by_name_and_mark_as_to_do(self):
        self.mapping.picking_action = "confirm"
        self.env["stock.quant"]._update_available_quantity(
            self.rice, self.warehouse.lot_stock_id, 50
        )
        _sub, stored = self._submit(
            distribution(("KB-RICE25", "5", None), warehouse=self.warehouse.name)
        )
        picking = self._picking(stored)
        self.assertEqual(picking.picking_type_id, self.warehouse.out_type_id)
        self.assertEqual(picking.state, "assigned")
        self.assertFalse(stored.error_message)

    def test_validate_receipt_then_edit_leaves_it(self):
        self.mapping.write({"picking_operation": "incoming", "picking_action": "validate"})
        sub, stored = self._submit(distribution(("KB-RICE25", "7", None)))
        picking = self._picking(stored)
        self.assertEqual(picking.state, "done", stored.error_message)
        self.assertEqual(picking.picking_type_id, self.warehouse.in_type_id)
        self.assertEqual(picking.location_dest_id, self.warehouse.lot_stock_id)
        self.assertEqual(self.rice.qty_available, 7)
        self.assertFalse(stored.error_message)

        self.fake.edit_submission(
            self.uid, sub["_id"], {"items": [{"items/product": "KB-OIL5", "items/quantity": "1"}]}
        )
        self._sync()
        self.assertEqual(stored.state, "imported")
        self.assertIn("left as it is", stored.error_message)
        self.assertEqual(picking.move_ids.product_id, self.rice)
        self.assertEqual(picking.move_ids.quantity, 7)
        self.assertEqual(self.oil.qty_available, 0)

    def test_validation_needing_a_wizard_stays_ready(self):
        self.mapping.picking_action = "validate"
        self.env["stock.quant"]._update_available_quantity(self.oil, self.warehouse.lot_stock_id, 5)
        pickings_before = self.env["stock.picking"].search_count([])
        _sub, stored = self._submit(distribution(("KB-OIL5", "8", None)))
        picking = self._picking(stored)
        self.assertEqual(stored.state, "imported")
        self.assertEqual(picking.state, "assigned", "ready, not done")
        self.assertIn("Needs manual validation", stored.error_message)
        self.assertEqual(
            self.env["stock.picking"].search_count([]), pickings_before + 1, "no backorder"
        )
        self.assertEqual(self.oil.qty_available, 5)

    def test_edit_of_a_draft_picking_replaces_its_moves(self):
        sub, stored = self._submit(distribution(("KB-RICE25", "3", None)))
        picking = self._picking(stored)
        self.fake.edit_submission(
            self.uid, sub["_id"], {"items": [{"items/product": "KB-SOAP", "items/quantity": "6"}]}
        )
        self._sync()
        self.assertEqual(stored.state, "imported", stored.error_message)
        self.assertEqual(picking.move_ids.product_id, self.soap)
        self.assertEqual(picking.move_ids.product_uom_qty, 6)

    def test_import_user_deletes_draft_moves_only(self):
        """What an edit of a draft picking needs, and no more: the import
        user (an Inventory user) deletes draft moves, never others."""
        _sub, stored = self._submit(distribution(("KB-RICE25", "3", None), ("KB-SOAP", "1", None)))
        picking = self._picking(stored)
        draft, other = picking.move_ids
        import_env = self.form._import_env()
        other.write({"state": "confirmed"})
        with self.assertRaises(AccessError):
            import_env["stock.move"].browse(other.id).unlink()
        import_env["stock.move"].browse(draft.id).unlink()
        self.assertFalse(draft.exists())
        self.assertTrue(other.exists())

    def test_enable_check_names_missing_move_product(self):
        self.mapping.enabled = False
        products = self.mapping.line_ids.child_ids.filtered(
            lambda line: line.field_name == "product_id"
        )
        products.unlink()
        with self.assertRaises(ValidationError) as caught:
            self.mapping.enabled = True
        self.assertIn("Product", caught.exception.args[0])
        self.assertIn(self.env["stock.move"]._description, caught.exception.args[0])

    def test_preview_writes_nothing_and_uses_no_sequence(self):
        self._submit(distribution(("KB-RICE25", "3", None), ("KB-BLANKET", "2", None)))
        sequence = self.warehouse.out_type_id.sequence_id
        next_before = sequence.number_next_actual
        counts = (
            self.env["stock.picking"].search_count([]),
            self.env["stock.move"].search_count([]),
        )
        action = self.mapping.action_preview()
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create({})
        self.assertTrue(wizard.submission_id)
        html = str(wizard.result)
        self.assertIn("Rice 25kg", html)
        self.assertIn(self.warehouse.lot_stock_id.display_name, html)
        self.assertIn("o_kobo_preview_o2m", html)
        self.assertIn("o_kobo_preview_db_later", html, "a picking takes a number: not tried")
        self.env.flush_all()
        self.assertEqual(sequence.number_next_actual, next_before)
        self.assertEqual(
            counts,
            (self.env["stock.picking"].search_count([]), self.env["stock.move"].search_count([])),
        )

    def test_suggest_builds_a_mapping_that_can_be_enabled(self):
        self.mapping.enabled = False
        mapping = self.env["kobo.mapping"].create(
            {"form_id": self.form.id, "model_id": self.env["ir.model"]._get("stock.picking").id}
        )
        mapping.action_suggest()
        self.assertEqual(
            {(line.question_path, line.field_name) for line in mapping.line_ids},
            {
                ("warehouse", "picking_type_id"),
                ("distribution_date", "scheduled_date"),
                ("beneficiary", "partner_id"),
                ("items", "move_ids"),
            },
        )
        self.assertEqual(
            {(line.question_path, line.field_name) for line in mapping.line_ids.child_ids},
            {
                ("items/product", "product_id"),
                ("items/quantity", "product_uom_qty"),
                ("items/unit", "product_uom"),
            },
        )
        mapping.enabled = True
        _sub, stored = self._submit(distribution(("KB-BLANKET", "2", None)))
        self.assertEqual(self._picking(stored).move_ids.product_id, self.blanket)

    def test_preview_by_a_kobo_manager_without_stock_rights(self):
        self._submit(distribution(("KB-SOAP", "4", None)))
        mapping = self.mapping.with_user(self.manager)
        action = mapping.action_preview()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.manager)
            .with_context(**action["context"])
            .create({})
        )
        html = str(wizard.result)
        self.assertIn("Soap bar", html)
        self.assertNotIn("o_kobo_preview_error", html)
