from odoo import fields, models


class KoboFormCloneWizard(models.TransientModel):
    _name = "kobo.form.clone.wizard"
    _description = "Clone a KoBo form"

    form_id = fields.Many2one("kobo.form", required=True, ondelete="cascade")
    name = fields.Char(string="Name of the Copy", required=True)

    def action_clone(self):
        self.ensure_one()
        new = self.form_id._kobo_clone(self.name.strip())
        return {
            "type": "ir.actions.act_window",
            "res_model": "kobo.form",
            "res_id": new.id,
            "view_mode": "form",
            "target": "current",
        }
