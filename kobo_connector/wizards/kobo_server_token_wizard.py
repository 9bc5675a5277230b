from odoo import fields, models

from ..kobo_kpi import errors
from ..kobo_kpi.client import KpiClient
from ..models.kobo_server import CLIENT_TIMEOUT


class KoboServerTokenWizard(models.TransientModel):
    """Exchange a KoBo username and password, once, for the API token.

    The password is never left behind: it is blanked right after the attempt,
    in the same transaction, and a failed attempt does not raise (which would
    roll the blanking back and keep the password saved by the dialog): it
    reopens the dialog with the reason and an empty password."""

    _name = "kobo.server.token.wizard"
    _description = "Get a KoBo API token from a username and password"

    server_id = fields.Many2one("kobo.server", required=True, ondelete="cascade")
    username = fields.Char(required=True)
    password = fields.Char(copy=False)
    error = fields.Char(readonly=True)

    def action_get_token(self):
        self.ensure_one()
        server = self.server_id
        password, self.password = self.password, False
        try:
            if not password:
                return self._reopen(self.env._("Enter the KoBo password."))
            token = KpiClient.fetch_token(
                server.url, self.username, password, timeout=CLIENT_TIMEOUT
            )
        except errors.KoboError as exc:
            return self._reopen(server._kobo_error_message(exc))
        server.token = token
        self.unlink()
        return server.action_test_connection()

    def _reopen(self, message):
        self.error = message
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Get KoBo API token"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }
