"""The fields the engine or KoBo sets, protected where they are declared.

A field joins the protection by an attribute on the field itself:

- ``kobo_system=True``: only the engine writes it (state, cursors, what KoBo
  answered, the outcome of an import);
- ``kobo_system="create"``: given when the record is created, never changed
  (the link to the parent of a chain: a mapping never moves to another form).

``create()`` and ``write()`` refuse them for every environment that is not
the superuser's, whatever the context says (RPC carries the client's
context). The engine checks the caller's right first, then writes with
``sudo()``, its reason beside it."""

from odoo import api, models
from odoo.exceptions import AccessError, UserError


class KoboSystemMixin(models.AbstractModel):
    _name = "kobo.system.mixin"
    _description = "KoBo: fields only the engine writes"

    @api.model
    def _valid_field_parameter(self, field, name):
        return name == "kobo_system" or super()._valid_field_parameter(field, name)

    @api.model
    def _kobo_system_fields(self, creating=False):
        """Names of the fields a user may not write (``creating``: on a new record)."""
        return {
            name
            for name, field in self._fields.items()
            if getattr(field, "kobo_system", False)
            and not (creating and field.kobo_system == "create")
        }

    def _kobo_refuse_system_fields(self, names, creating=False):
        if self.env.su:
            return
        refused = set(names) & self._kobo_system_fields(creating)
        if refused:
            raise AccessError(
                self.env._(
                    "%(model)s: %(fields)s are set by the KoBo connector or by KoBo, not by users.",
                    model=self._description,
                    fields=", ".join(sorted(self._fields[name].string for name in refused)),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                self._kobo_refuse_system_fields(vals, creating=True)
            # defaults from the client's context are values the client chose
            defaults = {
                key[len("default_") :] for key in self.env.context if key.startswith("default_")
            }
            self._kobo_refuse_system_fields(defaults, creating=True)
        return super().create(vals_list)

    def write(self, vals):
        self._kobo_refuse_system_fields(vals)
        return super().write(vals)

    def _kobo_check_company_move(self, vals, children):
        """The company of a chain's head is not changed under its children
        (``children``: the one2many field naming them); a system
        administrator may move a whole chain."""
        if "company_id" not in vals or self.env.su or self.env.user._is_system():
            return
        if vals["company_id"] not in self.env.user.company_ids.ids:
            raise UserError(self.env._("You can only choose a company you work in."))
        for record in self:
            if record.company_id.id != vals["company_id"] and record[children]:
                raise UserError(
                    self.env._(
                        "%(record)s has %(children)s in its company: its company cannot be "
                        "changed any more. A system administrator may move it with them.",
                        record=record.display_name,
                        children=record._fields[children].string,
                    )
                )
