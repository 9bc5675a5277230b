from odoo import api, fields, models


class KoboFormShareWizard(models.TransientModel):
    _name = "kobo.form.share.wizard"
    _description = "Share KoBo forms with a KoBo user"

    form_ids = fields.Many2many("kobo.form", string="Forms", required=True)
    username = fields.Char(string="KoBo Username", required=True)
    permission_ids = fields.Many2many(
        "kobo.permission",
        string="Permissions",
        required=True,
        help="KoBo's permissions, under KoBo's labels. Each form is asked which it accepts.",
    )
    partial = fields.Boolean(
        string="Only submissions made by these users",
        help="KoBo's partial permissions: the submission permissions chosen cover only the "
        "submissions of the users listed (how field teams see only their own data).",
    )
    submitted_by = fields.Char(
        string="Submitted By",
        help="KoBo usernames, separated by commas. Empty: the shared user's own submissions.",
    )
    reveals_secrets = fields.Boolean(compute="_compute_reveals_secrets")

    @api.depends("permission_ids")
    def _compute_reveals_secrets(self):
        for wizard in self:
            wizard.reveals_secrets = bool(
                {"change_asset", "manage_asset"} & set(wizard.permission_ids.mapped("codename"))
            )

    def action_share(self):
        self.ensure_one()
        submitted_by = ()
        if self.partial:
            submitted_by = [u for u in (self.submitted_by or "").split(",") if u.strip()]
            submitted_by = submitted_by or [self.username]
        return self.form_ids._kobo_share(self.username, self.permission_ids, submitted_by)
