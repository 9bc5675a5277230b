import base64

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..kobo_kpi.xlsform_check import check_xlsform


class KoboFormUploadWizard(models.TransientModel):
    """Upload an XLSForm as a new KoBo form, or (with ``form_id``) replace
    the content of an existing one. The file is checked locally first:
    nothing reaches KoBo while it has mistakes (what KoBo certainly refuses);
    its warnings (what the check does not recognise) are shown, and the
    manager may upload anyway: KoBo's own answer is final."""

    _name = "kobo.form.upload.wizard"
    _description = "Upload an XLSForm to KoBo"

    server_id = fields.Many2one("kobo.server", string="KoBo Server", required=True)
    form_id = fields.Many2one("kobo.form", string="Form to Replace", ondelete="cascade")
    file = fields.Binary(string="XLSForm", required=True, attachment=False)
    filename = fields.Char()
    name = fields.Char(help="The new form's name on KoBo (default: the XLSForm's form_title).")
    check_report = fields.Text(compute="_compute_check", string="Mistakes")
    check_warnings = fields.Text(compute="_compute_check", string="Warnings")
    mapping_impact = fields.Text(
        compute="_compute_check",
        string="Mappings Affected",
        help="Mapping lines whose question disappears or changes type with this file.",
    )
    is_deployed = fields.Boolean(compute="_compute_check")
    redeploy = fields.Boolean(string="Redeploy after replacing")

    def _data(self):
        # web_save reads the wizard back with bin_size=True: the file, not its size
        file = self.with_context(bin_size=False).file
        return base64.b64decode(file) if file else b""

    @api.depends("file", "form_id")
    def _compute_check(self):
        for wizard in self:
            wizard.is_deployed = wizard.form_id.deployment_status == "deployed"
            wizard.check_report = wizard.check_warnings = wizard.mapping_impact = False
            if not wizard.file:
                continue
            result = check_xlsform(wizard._data())
            wizard.check_report = result.report() or False
            wizard.check_warnings = result.warnings_report() or False
            if result.ok and wizard.form_id:
                wizard.mapping_impact = "\n".join(wizard.form_id._replace_impact(result.questions))

    def _checked(self):
        """The file's bytes, or a UserError listing its mistakes."""
        data = self._data()
        result = check_xlsform(data)
        if not result.ok:
            raise UserError(
                self.env._(
                    "The XLSForm has mistakes; fix them and upload it again "
                    "(nothing was sent to KoBo):\n%(mistakes)s",
                    mistakes=result.report(),
                )
            )
        return data

    def action_upload(self):
        self.ensure_one()
        self.env["kobo.form"]._check_kobo_manager()
        data, filename = self._checked(), self.filename or "form.xlsx"
        if self.form_id:
            return self.form_id._kobo_replace(data, filename, redeploy=self.redeploy)
        form = self.env["kobo.form"]._kobo_upload_xlsform(
            self.server_id, data, filename, (self.name or "").strip()
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "kobo.form",
            "res_id": form.id,
            "view_mode": "form",
            "target": "current",
        }
