from odoo import models
from odoo.exceptions import UserError


class KoboSubmission(models.Model):
    """Submissions into pickings: products and warehouses found by their
    codes, moves completed, pickings confirmed or validated on request, and
    done or cancelled pickings left alone by KoBo edits."""

    _inherit = "kobo.submission"

    def _kobo_mapping(self):
        # sudo: the import user reads the options of the mapping it runs (it has no
        # right on kobo.mapping); its searches go through _kobo_import_model()
        return self.env["kobo.mapping"].sudo().browse(self.env.context.get("kobo_mapping_id"))

    def _find_by_names(self, model, names, aliases):
        if model == "product.product":
            # a choice code is the internal reference or the barcode; else the name
            Product = self.env[model].with_context(active_test=True)  # the import user's env
            found = {}
            for field in ("default_code", "barcode"):
                wanted = [n for n in names if n not in found]
                if wanted:
                    for product in Product.search_fetch([(field, "in", wanted)], [field]):
                        found.setdefault(product[field], product.id)
            rest = [n for n in names if n not in found]
            result = super()._find_by_names(model, rest, aliases) if rest else {}
            result.update(found)
            return result
        result = super()._find_by_names(model, names, aliases)
        if model == "stock.picking.type":
            # a warehouse (code or name) answered: the mapping's operation of it
            mapping = self._kobo_mapping()
            Warehouse = self.env["stock.warehouse"]  # the import user's env
            for name in [n for n, found in result.items() if not found]:
                for candidate in (name, aliases.get(name)):
                    if not candidate:
                        continue
                    warehouse = Warehouse.search([("code", "=ilike", candidate)], limit=1)
                    warehouse = warehouse or Warehouse.search(
                        [("name", "=ilike", candidate)], limit=1
                    )
                    if warehouse and mapping:
                        result[name] = mapping._kobo_picking_type(warehouse).id or None
                        break
        return result

    def _create_records(self, Model, creates, outcomes, made):
        mapping = self._kobo_mapping()
        if Model._name != "stock.picking" or not mapping:
            return super()._create_records(Model, creates, outcomes, made)
        ready = []
        for sub, vals in creates:
            try:
                ready.append((sub, mapping._kobo_complete_values(vals)))
            except UserError as exc:
                outcomes[sub.id] = ("error", exc.args[0], False)
        count = super()._create_records(Model, ready, outcomes, made)
        self._kobo_after_import(mapping, Model, [sub for sub, _vals in ready], outcomes)
        return count

    def _write_records(self, Model, writes, outcomes, made):
        mapping = self._kobo_mapping()
        if Model._name != "stock.picking" or not mapping:
            return super()._write_records(Model, writes, outcomes, made)
        pickings = Model.browse([record_id for _sub, record_id, _vals in writes])
        closed = {
            picking.id: picking for picking in pickings if picking.state in ("done", "cancel")
        }
        todo = []
        for sub, record_id, vals in writes:
            if record_id in closed:
                outcomes[sub.id] = (
                    "imported",
                    self.env._(
                        "Edited on KoBo, but the picking %(picking)s is %(state)s: left as it is.",
                        picking=closed[record_id].name,
                        state=dict(Model._fields["state"]._description_selection(self.env))[
                            closed[record_id].state
                        ],
                    ),
                    record_id,
                )
                continue
            try:
                todo.append((sub, record_id, mapping._kobo_complete_values(vals)))
            except UserError as exc:
                outcomes[sub.id] = ("error", exc.args[0], False)
        count = super()._write_records(Model, todo, outcomes, made)
        self._kobo_after_import(mapping, Model, [sub for sub, _r, _v in todo], outcomes)
        return count

    def _kobo_after_import(self, mapping, Model, subs, outcomes):
        if mapping.picking_action not in ("confirm", "validate"):
            return
        for sub in subs:
            state, _message, record_id = outcomes[sub.id]
            if state != "imported" or not record_id:
                continue
            message = Model.browse(record_id)._kobo_process(mapping.picking_action)
            if message:
                outcomes[sub.id] = ("imported", message, record_id)
