from odoo import Command, fields, models
from odoo.exceptions import UserError

OPERATION_FIELDS = {"outgoing": "out_type_id", "incoming": "in_type_id", "internal": "int_type_id"}


class KoboMapping(models.Model):
    """Pickings from a form: the operation of the warehouse answered, what
    Odoo derives for a move filled in, and what to do once imported."""

    _inherit = "kobo.mapping"

    picking_operation = fields.Selection(
        [("outgoing", "Delivery"), ("incoming", "Receipt"), ("internal", "Internal Transfer")],
        string="Operation",
        default="outgoing",
        help="A warehouse answer (its code or name) becomes this operation of that warehouse; "
        "without one, the first warehouse of the company is used.",
    )
    picking_action = fields.Selection(
        [
            ("draft", "Leave as draft"),
            ("confirm", "Mark as to do"),
            ("validate", "Mark as to do and validate"),
        ],
        string="After Import",
        default="draft",
        help="Validation never creates a backorder: a picking Odoo cannot validate alone "
        "(not enough stock, lots to enter) stays ready and its submission says why.",
    )

    def _kobo_derived_fields(self, model_name):
        derived = super()._kobo_derived_fields(model_name)
        if model_name == "stock.picking":
            derived |= {"picking_type_id", "location_id", "location_dest_id"}
        elif model_name == "stock.move":
            derived |= {"name", "product_uom", "location_id", "location_dest_id"}
        return derived

    def _kobo_suggest_words(self, model_name):
        words = super()._kobo_suggest_words(model_name)
        if model_name == "stock.picking":
            words.update(
                {
                    "picking_type_id": ["warehouse", "site", "depot", "store", "operation"],
                    "scheduled_date": ["date", "distribution date", "delivery date"],
                    "partner_id": ["beneficiary", "recipient", "partner", "supplier", "customer"],
                    "move_ids": ["items", "products", "goods", "lines"],
                    "origin": ["reference", "source document"],
                }
            )
        elif model_name == "stock.move":
            words.update(
                {
                    "product_id": ["product", "item", "article"],
                    "product_uom_qty": ["quantity", "qty", "amount"],
                    "product_uom": ["unit", "uom", "unit of measure"],
                }
            )
        return words

    def _kobo_picking_type(self, warehouse=None):
        """The mapping's operation type of ``warehouse`` (default: the
        company's first warehouse)."""
        env = self._kobo_import_model().env
        if not warehouse:
            company = self.form_id.company_id or env.company
            warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        return warehouse[OPERATION_FIELDS[self.picking_operation or "outgoing"]]

    def _kobo_complete_values(self, vals):
        vals = super()._kobo_complete_values(vals)
        if self.model_name != "stock.picking":
            return vals
        for name in ("location_id", "location_dest_id"):
            if not vals.get(name, True):  # unanswered: from the operation type
                del vals[name]
        if not vals.get("picking_type_id"):
            picking_type = self._kobo_picking_type()
            if not picking_type:
                raise UserError(self.env._("No warehouse: map the warehouse question."))
            vals["picking_type_id"] = picking_type.id
        env = self._kobo_import_model().env
        for key in ("move_ids", "move_ids_without_package"):
            for command in vals.get(key) or ():
                if command[0] == Command.CREATE:
                    self._kobo_complete_move(env, command[2])
        return vals

    def _kobo_complete_move(self, env, move):
        """A product and a quantity suffice: the description comes from the
        product (unit and locations are precomputed by Odoo); an answered
        unit must measure the product."""
        for name in ("product_uom", "location_id", "location_dest_id"):
            if not move.get(name, True):  # unanswered: let Odoo compute it
                del move[name]
        product = env["product.product"].browse(move.get("product_id") or [])
        if not product:
            raise UserError(self.env._("An item has no product: map the product question."))
        if not move.get("name"):
            move["name"] = product.display_name
        if move.get("product_uom"):
            uom = env["uom.uom"].browse(move["product_uom"])
            if uom.category_id != product.uom_id.category_id:
                raise UserError(
                    self.env._(
                        "The unit %(unit)s cannot measure %(product)s (counted in %(product_unit)s).",
                        unit=uom.name,
                        product=product.display_name,
                        product_unit=product.uom_id.name,
                    )
                )
