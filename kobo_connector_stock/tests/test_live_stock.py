"""A distribution form with a repeat into a stock picking, against a REAL
KoBo (KPI) server: uploaded, deployed, submitted through OpenRosa as a plain
KoBo user, synced, and deleted. Skipped without ``KOBO_URL``/``KOBO_TOKEN``
(see kobo_connector/tests/test_live_kobo.py)."""

import uuid

from odoo import Command
from odoo.tests import tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.seed import (
    DISTRIBUTION,
    DISTRIBUTION_PRODUCTS,
)
from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform
from odoo.addons.kobo_connector.tests.test_live_kobo import LiveKoboCase


@tagged("post_install", "-at_install")
class TestLiveStock(LiveKoboCase):
    @classmethod
    def _line(cls, model, path, field, **vals):
        field_id = cls.env["ir.model.fields"]._get(model, field).id
        return Command.create({"question_path": path, "field_id": field_id, **vals})

    def _sync_all(self):
        Form = self.env["kobo.form"]
        for _ in range(20):
            _done, remaining = Form._cron_import()
            if not remaining:
                return
        self.fail("the import never caught up")

    def test_distribution_into_a_picking_and_its_moves(self):
        self.server.action_test_connection()
        self.assertEqual(self.server.state, "connected")
        tag = uuid.uuid4().hex[:8]
        # the sandbox's distribution XLSForm, under an id_string of its own
        settings = dict(DISTRIBUTION["settings"], id_string=f"distribution_{tag}")
        uid = self.kobo.import_xlsform(
            build_xlsform(DISTRIBUTION["survey"], DISTRIBUTION["choices"], settings),
            "distribution.xlsx",
            name=f"Live distribution {tag}",
            poll_interval=0.2,
        )
        self.addCleanup(self._delete_asset, uid)
        self.kobo.deploy(uid)

        products = self.env["product.product"].create(
            [
                {"name": f"{en} {tag}", "default_code": code, "is_storable": True}
                for code, (en, _fr) in DISTRIBUTION_PRODUCTS.items()
            ]
        )
        rice, _oil, soap, blanket = products
        warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        )
        warehouse.code = "WH"
        beneficiary = self.env["res.partner"].create({"name": f"Amina {tag}"})

        form = self._odoo_form(uid)
        self.assertIn("items/product", form.question_ids.mapped("xpath"))
        mapping = self.env["kobo.mapping"].create(
            {
                "form_id": form.id,
                "model_id": self.env["ir.model"]._get("stock.picking").id,
                "line_ids": [
                    self._line("stock.picking", "warehouse", "picking_type_id"),
                    self._line("stock.picking", "distribution_date", "scheduled_date"),
                    self._line("stock.picking", "beneficiary", "partner_id"),
                    self._line("stock.picking", "_id", "origin"),
                ],
            }
        )
        mapping.line_ids = [
            self._line(
                "stock.picking",
                "items",
                "move_ids",
                mapping_id=mapping.id,
                child_ids=[
                    self._line("stock.move", "items/product", "product_id", mapping_id=mapping.id),
                    self._line(
                        "stock.move", "items/quantity", "product_uom_qty", mapping_id=mapping.id
                    ),
                    self._line("stock.move", "items/unit", "product_uom", mapping_id=mapping.id),
                ],
            )
        ]
        mapping.enabled = True

        answers = {
            "warehouse": "WH",
            "distribution_date": "2026-03-02",
            "beneficiary": beneficiary.name,
            "items": [
                {"items/product": "KB-RICE25", "items/quantity": "3", "items/unit": "units"},
                {"items/product": "KB-SOAP", "items/quantity": "5"},
            ],
        }
        instance_id = self._submit(uid, answers)
        self._sync_all()
        sub = self.env["kobo.submission"].search([("form_id", "=", form.id)])
        self.assertEqual(len(sub), 1, form.sync_error)
        self.assertEqual(sub.state, "imported", sub.error_message)
        self.assertEqual(sub.res_model, "stock.picking")
        picking = self.env["stock.picking"].browse(sub.res_id)
        out = warehouse.out_type_id
        self.assertEqual(picking.picking_type_id, out)
        self.assertEqual(picking.partner_id, beneficiary)
        self.assertEqual(picking.origin, str(sub.kobo_id))
        self.assertEqual(picking.scheduled_date.date().isoformat(), "2026-03-02")
        self.assertEqual(picking.state, "draft", "left as draft (the mapping's default)")
        self.assertTrue(picking.name.startswith(out.sequence_id.prefix or ""))
        moves = picking.move_ids.sorted("id")
        self.assertEqual(moves.product_id, rice | soap)
        self.assertEqual(moves.mapped("product_uom_qty"), [3.0, 5.0])
        self.assertEqual(moves.mapped("product_uom"), moves.product_id.mapped("uom_id"))
        self.assertEqual(moves.location_id, out.default_location_src_id)
        self.assertEqual(moves.location_dest_id, picking.location_dest_id)
        self.assertEqual(moves.mapped("name"), [rice.display_name, soap.display_name])
        import_user = self.env.ref("kobo_connector.user_kobo_import")
        self.assertEqual(picking.create_uid, import_user, "written as the import user")

        # an edit on KoBo (a new instance deprecating the first): the draft
        # picking's moves are replaced by the import user
        self._submit(
            uid,
            dict(answers, items=[{"items/product": "KB-BLANKET", "items/quantity": "2"}]),
            deprecated_id=instance_id,
        )
        self._sync_all()
        self.assertEqual(sub.state, "imported", sub.error_message)
        self.assertEqual(sub.res_id, picking.id, "the same picking")
        self.assertEqual(picking.move_ids.product_id, blanket)
        self.assertEqual(picking.move_ids.product_uom_qty, 2.0)
