import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from odoo import fields, models

# the secret of Odoo's own push URL (controllers/push.py): /kobo/push/<form id>/<secret>
PUSH_SECRET = re.compile(r"(/kobo/push/\d+/)[^/?#]+")


def masked_url(url):
    """``url`` without the credentials it may carry: no user:password, the
    push secret and every query value replaced by ``***``."""
    parts = urlsplit(url or "")
    netloc = parts.netloc.rpartition("@")[2]
    path = PUSH_SECRET.sub(r"\1***", parts.path)
    query = "&".join(f"{key}=***" for key, _v in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


class KoboFormHook(models.Model):
    """A REST service (KPI hook) of a form, as KoBo lists it. Its settings
    (basic auth password, custom headers) are never copied into Odoo."""

    _name = "kobo.form.hook"
    _description = "KoBo REST Service"
    _inherit = ["kobo.system.mixin"]
    _order = "name, id"

    form_id = fields.Many2one(
        "kobo.form", required=True, ondelete="cascade", index=True, kobo_system=True
    )
    company_id = fields.Many2one(related="form_id.company_id", store=True, kobo_system=True)
    hook_uid = fields.Char(string="KoBo UID", required=True, readonly=True, kobo_system=True)
    name = fields.Char(required=True, readonly=True, kobo_system=True)
    endpoint = fields.Char(readonly=True, kobo_system=True)
    active_on_kobo = fields.Boolean(string="Enabled", readonly=True, kobo_system=True)
    export_type = fields.Selection(
        [("json", "JSON"), ("xml", "XML")], readonly=True, kobo_system=True
    )
    auth_level = fields.Selection(
        [("no_auth", "None"), ("basic_auth", "Basic")],
        string="Authentication",
        readonly=True,
        kobo_system=True,
    )
    subset_fields = fields.Char(string="Fields Sent", readonly=True, kobo_system=True)
    success_count = fields.Integer(string="Delivered", readonly=True, kobo_system=True)
    failed_count = fields.Integer(string="Failed", readonly=True, kobo_system=True)
    pending_count = fields.Integer(string="Pending", readonly=True, kobo_system=True)
    last_failure = fields.Char(string="Last Failure", readonly=True, kobo_system=True)

    def _hook_run(self, title, operation, message):
        """Run ``operation(client)`` on KoBo for this hook, then re-read the
        form's hooks; KoBo's refusal becomes a UserError."""
        self.ensure_one()
        form = self.form_id
        form._check_kobo_manager()
        with form.server_id._get_client() as client:
            result = form._kobo_call(title, lambda: operation(client))
            form._refresh_hooks(client)
            form._refresh_from_kobo(client)
        text = message(result) if callable(message) else message
        form.message_post(body=text)
        return form.server_id._notify(title, text, "success")

    def action_toggle_active(self):
        self.ensure_one()
        active, name = not self.active_on_kobo, self.name
        uid, hook_uid = self.form_id.asset_uid, self.hook_uid
        return self._hook_run(
            self.env._("Enable REST service") if active else self.env._("Disable REST service"),
            lambda client: client.set_hook_active(uid, hook_uid, active),
            self.env._("REST service %(name)s enabled on KoBo.", name=name)
            if active
            else self.env._("REST service %(name)s disabled on KoBo: it sends nothing.", name=name),
        )

    def action_retry_failed(self):
        self.ensure_one()
        name, uid, hook_uid = self.name, self.form_id.asset_uid, self.hook_uid

        def message(answer):
            count = len(answer.get("pending_uids") or [])
            if not count:
                return self.env._("REST service %(name)s: no failed delivery to retry.", name=name)
            return self.env._(
                "REST service %(name)s: %(count)s failed deliveries sent again.",
                name=name,
                count=count,
            )

        return self._hook_run(
            self.env._("Retry failed deliveries"),
            lambda client: client.retry_hook(uid, hook_uid),
            message,
        )

    def action_remove(self):
        self.ensure_one()
        name, uid, hook_uid = self.name, self.form_id.asset_uid, self.hook_uid
        return self._hook_run(
            self.env._("Remove REST service"),
            lambda client: client.delete_hook(uid, hook_uid),
            self.env._("REST service %(name)s removed from KoBo.", name=name),
        )
