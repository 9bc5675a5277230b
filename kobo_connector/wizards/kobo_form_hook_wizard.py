from odoo import api, fields, models


class KoboFormHookWizard(models.TransientModel):
    """Add a REST service. The work is done when the dialog is saved
    (``create``): the basic-auth password goes from the browser's request
    straight to KoBo and is removed from the values before anything is
    written, so it never reaches Odoo's database, cache or logs."""

    _name = "kobo.form.hook.wizard"
    _description = "Add a REST service to a KoBo form"

    form_id = fields.Many2one("kobo.form", required=True, ondelete="cascade")
    name = fields.Char(required=True)
    endpoint = fields.Char(required=True, help="The address KoBo POSTs each new submission to.")
    export_type = fields.Selection(
        [("json", "JSON"), ("xml", "XML")], string="Format", default="json", required=True
    )
    use_auth = fields.Boolean(string="Basic authentication")
    auth_username = fields.Char(string="Username")
    auth_password = fields.Char(
        string="Password",
        compute="_compute_auth_password",
        inverse="_inverse_auth_password",
        help="Sent to KoBo only; Odoo keeps no copy.",
    )
    subset_fields = fields.Char(
        string="Only these questions",
        help="Question names or paths, separated by commas. Empty: the whole submission.",
    )
    hook_id = fields.Many2one("kobo.form.hook", string="REST Service", readonly=True)

    def _compute_auth_password(self):
        self.auth_password = False  # never stored: a value exists only in the save request

    def _inverse_auth_password(self):
        """Nothing to keep: ``create`` sends the password to KoBo and drops it."""

    @api.model_create_multi
    def create(self, vals_list):
        passwords = [vals.pop("auth_password", None) or "" for vals in vals_list]
        wizards = super().create(vals_list)
        for wizard, password in zip(wizards, passwords, strict=True):
            auth = (wizard.auth_username or "", password) if wizard.use_auth else None
            names = [f.strip() for f in (wizard.subset_fields or "").split(",") if f.strip()]
            wizard.hook_id = wizard.form_id._kobo_add_hook(
                wizard.name.strip(),
                wizard.endpoint.strip(),
                export_type=wizard.export_type,
                auth=auth,
                subset_fields=names,
            )
            self.env.user._bus_send(
                "simple_notification",
                {
                    "type": "success",
                    "title": self.env._("Add REST service"),
                    "message": self.env._("REST service %(name)s added on KoBo.", name=wizard.name),
                },
            )
        return wizards
