"""As whom a form's submissions are imported: one API, ``_import_env()``,
for every import path (the cron, Sync, Reprocess; later push, jobs, media).

The environment is that of the form's *import user* (by default the module's
archived ``kobo_connector.user_kobo_import``, whose rights come from the group
KoBoToolbox / Import), never the superuser: uid 1 and OdooBot bypass access
checks. Only a system administrator may choose another import user."""

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from odoo.addons.base.models.res_partner import _tz_get

IMPORT_USER_XMLID = "kobo_connector.user_kobo_import"


class KoboForm(models.Model):
    _inherit = "kobo.form"

    import_user_id = fields.Many2one(
        "res.users",
        string="Import User",
        default=lambda self: self._default_import_user(),
        ondelete="restrict",
        context={"active_test": False},
        help="The user whose rights the imports of this form write with. Only a system "
        "administrator may change it; by default the module's KoBo Import user.",
    )
    tz = fields.Selection(
        _tz_get,
        string="Time Zone",
        help="Time zone of the answers' dates and times without one; by default the company's.",
    )

    @api.model
    def _default_import_user(self):
        # sudo: the import user is archived; reading its id is no secret
        return (
            self.env.ref(IMPORT_USER_XMLID, raise_if_not_found=False)
            or self.env["res.users"].sudo().browse()
        )

    @api.constrains("import_user_id")
    def _check_import_user(self):
        default = self._default_import_user()
        for form in self:
            user = form.import_user_id
            if user and (user._is_superuser() or user.sudo()._is_admin()):
                raise ValidationError(
                    self.env._(
                        "Imports never run as the superuser or an administrator: choose a "
                        "real, limited user."
                    )
                )
            if user != default and not (self.env.su or self.env.user._is_system()):
                raise AccessError(
                    self.env._("Only a system administrator may choose a form's import user.")
                )

    @api.model_create_multi
    def create(self, vals_list):
        forms = super().create(vals_list)
        forms._sync_import_user_companies()
        return forms

    def _sync_import_user_companies(self):
        """Keep the module's import user's companies in step with the forms':
        only with companies the acting user works in (the superuser: the
        cron and upgrades, whose forms' companies a member chose)."""
        default = self._default_import_user()
        # sudo: read the forms' companies and import users whoever syncs
        forms = self.sudo().filtered(lambda f: f.company_id and f.import_user_id == default)
        missing = forms.company_id - default.sudo().company_ids
        if not self.env.user._is_superuser():
            missing &= self.env.user.company_ids
        if missing:
            # sudo: only an administrator writes users; this is the module's own import user
            default.sudo().company_ids = [Command.link(company.id) for company in missing]

    def _import_env(self):
        """The environment every import path writes with: the form's import
        user (``with_user``, never the superuser), the form's company as the
        only allowed company, the form's (or its company's) time zone."""
        self.ensure_one()
        # sudo: the cron runs as OdooBot and a KoBo User may press Sync: read the settings
        form = self.sudo()
        user = form.import_user_id or self._default_import_user()
        if not user or user._is_superuser():
            raise UserError(
                self.env._(
                    "The form %(form)s has no import user (never the superuser).", form=form.name
                )
            )
        self._sync_import_user_companies()
        company = form.company_id  # never the import user's default company
        if not company or company not in user.sudo().company_ids:
            raise UserError(
                self.env._(
                    "The import user %(user)s of %(form)s is not allowed in the company %(company)s.",
                    user=user.name,
                    form=form.name,
                    company=company.name or "-",
                )
            )
        tz = form.tz or company.partner_id.tz or "UTC"
        # a fresh context: nothing of the caller's (defaults, active_test...) leaks in
        context = {"lang": user.lang, "tz": tz, "allowed_company_ids": [company.id]}
        # the import user as the origin too: the lines of a model that refuses sudo
        # commands (a contact's child contacts) are written as the origin user, who
        # is otherwise whoever pressed Reprocess or Preview
        return api.Environment(self.env.cr, user.id, context, su=False, uid_origin=user.id)
