from odoo import api, fields, models
from odoo.exceptions import UserError

from ..kobo_kpi import errors
from ..kobo_kpi.client import KpiClient
from ..models.kobo_server import CLIENT_TIMEOUT


class KoboServerTokenWizard(models.TransientModel):
    """Exchange a KoBo username and password, once, for the API token.

    The password is never left behind: the exchange happens in ``create()``
    (the dialog's save), which takes the password out of the values, so that
    it never reaches a column; a failed attempt does not raise: the button
    reopens the dialog with the reason and an empty password."""

    _name = "kobo.server.token.wizard"
    _description = "Get a KoBo API token from a username and password"

    server_id = fields.Many2one("kobo.server", required=True, ondelete="cascade")
    username = fields.Char(required=True)
    password = fields.Char(copy=False, help="Sent to KoBo once; never stored.")
    error = fields.Char(readonly=True)
    done = fields.Boolean(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        """The exchange happens here, as the dialog saves: the password is
        taken out of the values and never reaches a column."""
        secrets = [vals.pop("password", False) for vals in vals_list]
        wizards = super().create(vals_list)
        for wizard, password in zip(wizards, secrets, strict=True):
            wizard._exchange(password)
        return wizards

    def write(self, vals):
        if "password" in vals:
            vals = dict(vals)
            password = vals.pop("password")
            res = super().write(vals)
            for wizard in self:
                wizard._exchange(password)
            return res
        return super().write(vals)

    def _exchange(self, password):
        server = self.server_id
        server.check_access("write")
        if not password:
            self.error = self.env._("Enter the KoBo password.")
            return
        try:
            server._check_public_address(server.url)
            token = KpiClient.fetch_token(
                server.url, self.username, password, timeout=CLIENT_TIMEOUT
            )
        except errors.KoboError as exc:
            self.error = server._kobo_error_message(exc)
            return
        except UserError as exc:
            self.error = exc.args[0]
            return
        except UnicodeError:  # HTTP basic auth carries Latin-1 only
            self.error = self.env._(
                "KoBo cannot receive this password from Odoo (characters outside Latin-1): "
                "copy the API key from KoBo instead."
            )
            return
        server.token = token
        self.write({"done": True, "error": False})

    def action_get_token(self):
        self.ensure_one()
        if not self.done:
            return self._reopen(self.error or self.env._("Enter the KoBo password."))
        server = self.server_id
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
