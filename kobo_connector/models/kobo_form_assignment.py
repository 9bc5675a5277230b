from odoo import fields, models


class KoboFormAssignment(models.Model):
    """One permission assignment of a form, as KoBo lists it (rebuilt from
    KoBo after every change and on Refresh)."""

    _name = "kobo.form.assignment"
    _description = "KoBo Form Permission Assignment"
    _inherit = ["kobo.system.mixin"]
    _order = "is_owner, username, codename"

    form_id = fields.Many2one(
        "kobo.form", required=True, ondelete="cascade", index=True, kobo_system=True
    )
    company_id = fields.Many2one(related="form_id.company_id", store=True, kobo_system=True)
    url = fields.Char(string="KoBo URL", required=True, readonly=True, kobo_system=True)
    username = fields.Char(string="KoBo User", required=True, readonly=True, kobo_system=True)
    codename = fields.Char(required=True, readonly=True, kobo_system=True)
    label = fields.Char(string="Permission", readonly=True, kobo_system=True)
    partial_filter = fields.Char(
        string="Only Submissions Of",
        readonly=True,
        help="KoBo's filter of a partial permission: which submissions it covers.",
        kobo_system=True,
    )
    is_owner = fields.Boolean(string="Owner", readonly=True, kobo_system=True)

    def action_revoke(self):
        """Revoke this assignment on KoBo (KPI also revokes the permissions
        that imply it); KoBo's refusal is shown as its message."""
        self.ensure_one()
        form = self.form_id
        form._check_kobo_manager()
        username, label = self.username, self.label or self.codename
        title = self.env._("Revoke")
        with form.server_id._get_client() as client:
            form._kobo_call(title, lambda: client.revoke_permission(self.url))
            form._refresh_sharing(client)
            form._refresh_from_kobo(client)
        message = self.env._(
            "%(user)s no longer has %(permission)s on KoBo.", user=username, permission=label
        )
        form.message_post(body=message)
        return form.server_id._notify(title, message, "success")
