"""The sandbox's distribution form reads its products from products.csv, a
KoBo media list published from Odoo's products: published, republished on
change, and the import finds the products by the list's codes."""

import csv
import io

from odoo.tests import tagged

from .test_stock_import import StockCase, distribution


@tagged("post_install", "-at_install")
class TestProductList(StockCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Allowed = cls.env["kobo.allowed.model"]
        Allowed.create([{"name": "Product", "model": "product.product"}])
        Allowed.create([{"name": "Lot", "model": "stock.lot"}])

    def _list(self, model, columns, domain="[]"):
        env = self.env(user=self.manager)
        Field = env["kobo.media.field"]
        return env["kobo.media.list"].create(
            {
                "name": model,
                "file_name": "products.csv",
                "model_id": env["kobo.target.model"].search([("model", "=", model)]).id,
                "domain": domain,
                "column_ids": [
                    (
                        0,
                        0,
                        {
                            "column": column,
                            "field_id": Field.search(
                                [("model", "=", model), ("name", "=", field)]
                            ).id,
                        },
                    )
                    for column, field in columns
                ],
                "target_ids": [(0, 0, {"form_id": self.form.id})],
            }
        )

    def _products(self):
        return self._list(
            "product.product",
            [("name", "default_code"), ("label", "name"), ("unit", "uom_id")],
            "[('default_code', 'like', 'KB-')]",
        )

    def _csv(self):
        (media,) = self.fake.store.assets[self.uid].media.values()
        return list(csv.reader(io.StringIO(media["data"].decode(), newline="")))

    def test_products_published_and_imported_by_code(self):
        self.products.default_code = False  # the line finds by name until published
        self.rice.default_code = "KB-RICE25"
        self.soap.default_code = "KB-SOAP"
        media = self._products()
        self.assertEqual(media.row_count, 2)
        media.action_publish()
        self.assertEqual(media.target_ids.state, "published", media.target_ids.message)
        self.assertEqual(
            self._csv(),
            [
                ["name", "label", "unit"],
                ["KB-RICE25", "Rice 25kg", "Units"],
                ["KB-SOAP", "Soap bar", "Units"],
            ],
        )
        with self.server._get_client() as client:
            manifest = client.collector_media(self.uid)
        self.assertEqual([m["filename"] for m in manifest], ["products.csv"])
        line = self.mapping.line_ids.child_ids.filtered(lambda li: li.field_name == "product_id")
        self.assertEqual(line.lookup_field, "default_code")
        _sub, stored = self._submit(distribution(("KB-RICE25", "3", None), ("KB-SOAP", "1", None)))
        self.assertEqual(stored.state, "imported", stored.error_message)
        self.assertEqual(self._picking(stored).move_ids.product_id, self.rice | self.soap)
        # "Soap bar" is a name, not a code of the list: an error, not a guess
        _sub, stored = self._submit(distribution(("Soap bar", "1", None)))
        self.assertEqual(stored.state, "error")
        self.assertIn("Soap bar", stored.error_message)

    def test_renamed_product_is_republished(self):
        media = self._products()
        media.action_publish()
        self.fake.reset_requests()
        Lists = self.env["kobo.media.list"]
        self.assertFalse(Lists._cron_publish())
        self.env.flush_all()
        self.env.cr.execute("SELECT max(write_date) FROM product_template")
        (latest,) = self.env.cr.fetchone()
        self.oil.name = "Sunflower oil 5L"  # the template's name
        self.env.flush_all()
        # as a later transaction: a later write date (of the template only)
        self.env.cr.execute(
            "UPDATE product_template SET write_date = %s + interval '1 minute' WHERE id = %s",
            [latest, self.oil.product_tmpl_id.id],
        )
        self.oil.product_tmpl_id.invalidate_recordset(["write_date"])
        self.assertEqual(Lists._cron_publish(), media)
        self.assertIn(["KB-OIL5", "Sunflower oil 5L", "Units"], self._csv())
        self.assertEqual([m for m, p in self.fake.requests if "/files/" in p].count("POST"), 1)

    def test_manager_cannot_publish_records_they_cannot_read(self):
        """Lots are allowed, but a KoBo manager without Inventory rights
        cannot read them: publishing fails with a reason, nothing leaves."""
        self.assertFalse(self.env["stock.lot"].with_user(self.manager).has_access("read"))
        self.env["stock.lot"].create({"name": "LOT-1", "product_id": self.rice.id})
        media = self._list("stock.lot", [("name", "name"), ("label", "name")])
        self.assertIn("may not read", media.preview_error)
        self.fake.reset_requests()
        media.action_publish()
        self.assertEqual(media.target_ids.state, "error")
        self.assertIn("may not read", media.target_ids.message)
        self.assertFalse(self.fake.store.assets[self.uid].media)
        self.assertFalse([p for _m, p in self.fake.requests if "/files/" in p])
