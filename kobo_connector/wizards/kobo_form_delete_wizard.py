from odoo import fields, models
from odoo.exceptions import UserError


class KoboFormDeleteWizard(models.TransientModel):
    _name = "kobo.form.delete.wizard"
    _description = "Delete a KoBo form on KoBo"

    form_id = fields.Many2one("kobo.form", required=True, ondelete="cascade")
    form_name = fields.Char(related="form_id.name")
    submission_count = fields.Integer(related="form_id.submission_count")
    confirm_name = fields.Char(string="Type the form's name to confirm")

    def action_delete(self):
        self.ensure_one()
        if (self.confirm_name or "").strip() != self.form_id.name:
            raise UserError(
                self.env._(
                    "The name typed does not match: type %(name)s exactly to delete the form.",
                    name=self.form_id.name,
                )
            )
        return self.form_id._kobo_delete()
