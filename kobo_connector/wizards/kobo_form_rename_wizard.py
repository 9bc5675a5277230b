from odoo import api, fields, models


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
            wizard.is_deployed = wizard.form_id.deployment_status != "draft"

    @api.depends("form_id")
    def _compute_redeploy(self):
        for wizard in self:
            wizard.redeploy = wizard.form_id.deployment_status == "deployed"

    def action_rename(self):
        self.ensure_one()
        form = self.form_id
        result = form._kobo_rename(self.name.strip())
        if self.redeploy and form.deployment_status != "draft":
            result = form.action_redeploy()
        return result
