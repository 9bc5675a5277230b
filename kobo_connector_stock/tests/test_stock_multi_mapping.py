from odoo.tests import tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.seed import xlsform
from odoo.addons.kobo_connector.tests.common import KoboCase


def household(name, needs, members=("Awa",)):
    return {
        "head_name": name,
        "country": "sn",
        "needs": needs,
        "members": [{"members/member_name": member} for member in members],
    }


@tagged("post_install", "-at_install")
class TestRegistrationAndFirstDistribution(KoboCase):
    """The sandbox's household registration: the household's contact with
    its members, then, when Needs contains food, a delivery of one Food
    parcel for that same contact (constants, no repeat)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(xlsform=xlsform("registration"), deploy=True)
        cls.server.action_test_connection()
        cls.server.action_fetch_forms()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        cls.parcel = cls.env["product.product"].create(
            {"name": "Food parcel", "default_code": "KB-FOODPARCEL", "is_storable": True}
        )
        cls.household = cls.env["kobo.mapping"].create(
            {
                "name": "Household",
                "form_id": cls.form.id,
                "sequence": 10,
                "model_id": cls.env["ir.model"]._get("res.partner").id,
                "line_ids": [cls._line("res.partner", "head_name", "name")],
            }
        )
        cls.household.line_ids = [
            cls._line(
                "res.partner",
                "members",
                "child_ids",
                mapping_id=cls.household.id,
                child_ids=[
                    cls._line(
                        "res.partner", "members/member_name", "name", mapping_id=cls.household.id
                    )
                ],
            )
        ]
        food = cls.form.question_ids.filtered(lambda q: q.xpath == "needs").choice_ids.filtered(
            lambda c: c.name == "food"
        )
        cls.distribution = cls.env["kobo.mapping"].create(
            {
                "name": "First distribution",
                "form_id": cls.form.id,
                "sequence": 20,
                "model_id": cls.env["ir.model"]._get("stock.picking").id,
                "picking_action": "confirm",
                "line_ids": [
                    cls._line("stock.picking", "", "partner_id", source_mapping_id=cls.household.id)
                ],
                "condition_ids": [
                    (
                        0,
                        0,
                        {"question_path": "needs", "operator": "contains", "choice_ids": food.ids},
                    )
                ],
            }
        )
        mapping = {"mapping_id": cls.distribution.id}
        cls.distribution.line_ids = [
            cls._line(
                "stock.picking",
                "",
                "move_ids",
                **mapping,
                child_ids=[
                    cls._line("stock.move", "", "product_id", constant="Food parcel", **mapping),
                    cls._line("stock.move", "", "product_uom_qty", constant="1", **mapping),
                ],
            )
        ]
        (cls.household | cls.distribution).write({"enabled": True})

    def setUp(self):
        super().setUp()
        for sub in self.fake.submissions(self.uid):
            self.fake.delete_submission(self.uid, sub["_id"])

    @classmethod
    def _line(cls, model, path, field, **vals):
        field_id = cls.env["ir.model.fields"]._get(model, field).id
        return (0, 0, {"question_path": path, "field_id": field_id, **vals})

    def _subs(self):
        return self.env["kobo.submission"].search([("form_id", "=", self.form.id)], order="kobo_id")

    def test_contact_members_and_a_picking_for_that_contact_when_food(self):
        self.assertEqual(self.distribution.conditions_text, "when Needs contains Food")
        self.fake.add_submissions(
            self.uid, [household("Aminata Sow", "food water"), household("Moussa Ba", "water")]
        )
        self.env["kobo.form"]._cron_import(limit=1000)
        first, second = self._subs()
        self.assertEqual((first.state, second.state), ("imported", "imported"))
        aminata = self.env["res.partner"].browse(first.res_id)
        self.assertEqual(aminata.name, "Aminata Sow")
        self.assertEqual(aminata.child_ids.mapped("name"), ["Awa"])
        picking = first.link_ids.filtered(lambda link: link.mapping_id == self.distribution)
        picking = self.env["stock.picking"].browse(picking.res_id)
        self.assertEqual(picking.partner_id, aminata)
        self.assertEqual(picking.move_ids.product_id, self.parcel)
        self.assertEqual(picking.move_ids.product_uom_qty, 1)
        self.assertEqual(picking.state, "confirmed")
        self.assertEqual(second.link_ids.mapping_id, self.household, "no food, no picking")
        self.assertEqual(picking.kobo_submission_count, 1)

    def test_preview_shows_every_mapping_and_creates_nothing(self):
        self.fake.add_submissions(self.uid, [household("Aminata Sow", "food")])
        self.household.enabled = False  # stored, not imported: the preview's submission
        self.env["kobo.form"]._cron_import(limit=1000)
        self.household.enabled = True
        counts = (
            self.env["stock.picking"].search_count([]),
            self.env["res.partner"].search_count([]),
        )
        action = self.distribution.with_user(self.manager).action_preview()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.manager)
            .with_context(**action["context"])
            .create({})
        )
        html = str(wizard.result)
        self.assertEqual(html.count("o_kobo_preview_mapping"), 2)
        self.assertEqual(html.count("o_kobo_preview_applies"), 2)
        self.assertIn("the Contact made by Household", html)
        self.assertIn("Aminata Sow", html)
        self.assertIn("Food parcel", html)
        self.env.flush_all()
        self.assertEqual(
            counts,
            (self.env["stock.picking"].search_count([]), self.env["res.partner"].search_count([])),
        )
        # without food: the distribution does not apply, and says why
        payload = dict(self._subs().payload, needs="water")
        html = str(self.distribution._kobo_preview_all_html(payload))
        self.assertIn("Does not apply: Needs does not contain Food.", html)
