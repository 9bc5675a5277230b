from odoo import fields, models
from odoo.exceptions import UserError

from ..kobo_kpi import errors
from ..kobo_kpi.client import KpiClient
from ..models.kobo_server import CLIENT_TIMEOUT


class KoboServerTokenWizard(models.TransientModel):
    """Exchange a KoBo username and password, once, for the API token.
    The password is never stored: it is cleared as soon as it was used."""

    _name = "kobo.server.token.wizard"
    _description = "Get a KoBo API token from a username and password"

    server_id = fields.Many2one("kobo.server", required=True, ondelete="cascade")
    username = fields.Char(required=True)
    password = fields.Char(required=True)

    def action_get_token(self):
        self.ensure_one()
        server = self.server_id
        try:
            token = KpiClient.fetch_token(
                server.url, self.username, self.password, timeout=CLIENT_TIMEOUT
            )
        except errors.KoboError as exc:
            raise UserError(server._kobo_error_message(exc)) from exc
        finally:
            self.password = False
        server.token = token
        return server.action_test_connection()
