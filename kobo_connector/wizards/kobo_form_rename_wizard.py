from odoo import api, fields, models
from odoo.exceptions import UserError


class KoboFormRenameWizard(models.TransientModel):
    _name = "kobo.form.rename.wizard"
    _description = "Rename a KoBo form"

    form_id = fields.Many2one("kobo.form", required=True, ondelete="cascade")
    name = fields.Char(string="New Name", required=True)
    is_deployed = fields.Boolean(compute="_compute_is_deployed")
    redeploy = fields.Boolean(
        string="Redeploy now",
        compute="_compute_redeploy",
        store=True,
        readonly=False,
        help="KoBo shows data collectors the new name only after a redeployment.",
    )

    @api.depends("form_id")
    def _compute_is_deployed(self):
        for wizard in self:
            wizard.is_deployed = wizard.form_id.deployment_status == "deployed"

    @api.depends("form_id")
    def _compute_redeploy(self):
        for wizard in self:
            wizard.redeploy = wizard.form_id.deployment_status == "deployed"

    def action_rename(self):
        self.ensure_one()
        form, name = self.form_id, self.name.strip()
        if name == form.name:
            raise UserError(self.env._("The form is already named %(name)s.", name=name))
        result = form._kobo_rename(name)
        if self.redeploy and form.needs_redeploy:
            try:
                form.action_redeploy()
            except UserError as exc:  # renamed all the same: say so, keep it
                return form.server_id._notify(
                    self.env._("Renamed, not redeployed"), exc.args[0], "warning", sticky=True
                )
            result["params"]["title"] = self.env._("Rename and redeploy")
        return result
