import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import str2bool

from ..kobo_kpi import errors
from ..kobo_kpi.client import KpiClient, normalize_server_url

_logger = logging.getLogger(__name__)

CLIENT_TIMEOUT = 30  # seconds, per request
# a system parameter: KoBo servers on private or loopback addresses allowed (demo, sandbox, tests)
ALLOW_PRIVATE = "kobo_connector.allow_private_urls"

PRESETS = {
    "kf": "https://kf.kobotoolbox.org",
    "eu": "https://eu.kobotoolbox.org",
}


class KoboServer(models.Model):
    _name = "kobo.server"
    _description = "KoBoToolbox Server"
    _inherit = ["mail.thread", "kobo.system.mixin"]
    _order = "sequence, name, id"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    preset = fields.Selection(
        [
            ("kf", "KoboToolbox Global (kf.kobotoolbox.org)"),
            ("eu", "KoboToolbox European Union (eu.kobotoolbox.org)"),
            ("custom", "Self-hosted server"),
        ],
        string="Server",
        compute="_compute_preset",
        inverse="_inverse_preset",
    )
    url = fields.Char(
        string="URL",
        required=True,
        default=PRESETS["kf"],
        tracking=True,
        help="Address of the KoBoToolbox web interface (KPI), for example "
        "https://kf.kobotoolbox.org or https://kf.your-organisation.org.",
    )
    token = fields.Char(
        string="API Token",
        copy=False,
        groups="kobo_connector.group_kobo_manager,base.group_system",
        help="KoBo API key: in KoBoToolbox, Account settings > Security > API key. "
        "It is sent as 'Authorization: Token ...' and never shown to KoBo users.",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        help="The company whose forms, mappings and imports this server serves. Companies "
        "that share one KoBo account each have their own server record.",
    )
    state = fields.Selection(
        [("draft", "Not connected"), ("connected", "Connected")],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        kobo_system=True,
    )
    kobo_username = fields.Char(string="KoBo User", readonly=True, copy=False, kobo_system=True)
    last_error = fields.Text(readonly=True, copy=False, kobo_system=True)
    last_check = fields.Datetime(string="Last Checked", readonly=True, copy=False, kobo_system=True)
    last_forms_fetch = fields.Datetime(
        string="Forms Fetched", readonly=True, copy=False, kobo_system=True
    )
    last_sync = fields.Datetime(readonly=True, copy=False, kobo_system=True)
    last_sync_result = fields.Char(readonly=True, copy=False, kobo_system=True)
    form_ids = fields.One2many("kobo.form", "server_id", string="Forms")
    form_count = fields.Integer(compute="_compute_form_count")

    def _compute_form_count(self):
        counts = dict(
            self.env["kobo.form"]._read_group(
                [("server_id", "in", self.ids)], ["server_id"], ["__count"]
            )
        )
        for server in self:
            server.form_count = counts.get(server, 0)

    @api.depends("url")
    def _compute_preset(self):
        by_url = {url: key for key, url in PRESETS.items()}
        for server in self:
            server.preset = by_url.get(server.url or "", "custom")

    def _inverse_preset(self):
        for server in self:
            if server.preset in PRESETS:
                server.url = PRESETS[server.preset]

    @api.onchange("preset")
    def _onchange_preset(self):
        if self.preset in PRESETS:
            self.url = PRESETS[self.preset]
        elif self.url in PRESETS.values():
            self.url = False

    @api.model
    def _normalize_url(self, url):
        try:
            return normalize_server_url(url)
        except ValueError as exc:
            raise ValidationError(
                self.env._("The KoBo server URL is not valid: %(reason)s", reason=exc)
            ) from exc

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("url"):
                vals["url"] = self._normalize_url(vals["url"])
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("url"):
            vals["url"] = self._normalize_url(vals["url"])
        self._kobo_check_company_move(vals, "form_ids")
        res = super().write(vals)
        if {"url", "token"} & vals.keys() and "state" not in vals:
            # sudo: new credentials, written above with the caller's rights: the
            # engine's state says the connection must be tested again
            self.sudo().write({"state": "draft", "kobo_username": False})
        return res

    # ------------------------------------------------------------------
    # KPI client
    # ------------------------------------------------------------------
    def _get_client(self, **options):
        """The one place a KPI client is built (``options``: KpiClient's, e.g.
        ``max_retries``). Callers need read access to the server; the token
        itself is read as superuser so that KoBo Users can sync without ever
        seeing it."""
        self.ensure_one()
        self.check_access("read")
        token = self.sudo().token
        if not token:
            raise UserError(
                self.env._(
                    "The KoBo server %(name)s has no API token. Ask a KoBo manager to set it.",
                    name=self.name,
                )
            )
        self._check_public_address(self.url)
        # one number (not a (connect, read) pair): Odoo's test harness compares it
        return KpiClient(self.url, token, timeout=CLIENT_TIMEOUT, **options)

    @api.model
    def _check_public_address(self, url):
        """Refuse a KoBo URL whose host is on a private, loopback, link-local
        or reserved address (the token and Odoo's requests would reach this
        Odoo's own network), unless a system administrator allows them."""
        # sudo: a setting of this module, readable by every user of it
        if str2bool(self.env["ir.config_parameter"].sudo().get_param(ALLOW_PRIVATE, "") or "0"):
            return
        host = urlsplit(url or "").hostname or ""
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
        except (OSError, UnicodeError):
            return  # not resolvable: the request fails with "cannot reach"
        if any(not ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
            raise UserError(
                self.env._(
                    "%(host)s is a private or loopback address: KoBo servers must be on a public "
                    "address. A system administrator may allow private addresses (system "
                    "parameter %(param)s).",
                    host=host,
                    param=ALLOW_PRIVATE,
                )
            )

    def _kobo_error_message(self, exc):
        """A sentence a user can act on, for any error of the KPI client."""
        url = self.url or ""
        if isinstance(exc, errors.KoboConnectionError):
            return self.env._(
                "Cannot reach %(url)s (%(reason)s). Check the address and that this "
                "Odoo server can reach it.",
                url=url,
                reason=exc.message,
            )
        if isinstance(exc, errors.KoboAuthError):
            return self.env._(
                "KoBo refused the API token (%(reason)s). Copy it again from KoBo: "
                "Account settings > Security > API key.",
                reason=exc.message,
            )
        if isinstance(exc, errors.KoboNotJson):
            return self.env._(
                "%(url)s answered with a web page instead of the KoBo API: it does not "
                "look like a KoBoToolbox server. Use the address of the KoBo web "
                "interface, such as https://kf.kobotoolbox.org.",
                url=url,
            )
        if isinstance(exc, errors.KoboThrottled):
            return self.env._(
                "KoBo is receiving too many requests; try again in %(seconds)s seconds.",
                seconds=int(exc.retry_after or 60),
            )
        if isinstance(exc, errors.KoboServerError):
            return self.env._(
                "KoBo had an internal error (HTTP %(status)s): %(reason)s. Try again "
                "later; if it persists, contact the KoBo server's administrators.",
                status=exc.status,
                reason=exc.message,
            )
        if isinstance(exc, errors.KoboNotFound):
            return self.env._(
                "KoBo answered 'not found' (%(reason)s): the object was deleted on KoBo, "
                "or this server's token has no access to it.",
                reason=exc.message,
            )
        if isinstance(exc, errors.KoboForbidden):
            return self.env._("KoBo refused: %(reason)s", reason=exc.message)
        return self.env._("KoBo answered: %(reason)s", reason=exc.message)

    def _check_connection(self):
        """Ask /me/ (the only reliable credentials check: KPI answers
        anonymous requests with empty lists), then that API v2 is there.
        Return the KoBo username; raise a KoboError or UserError."""
        with self._get_client(max_retries=1) as client:  # someone is waiting on the button
            try:
                me = client.me()
            except (errors.KoboNotFound, errors.KoboNotJson, errors.KoboGone) as exc:
                if client.has_api_v1():
                    raise UserError(
                        self.env._(
                            "%(url)s only offers KoBo's old API v1 (KoBoCAT), which is removed. "
                            "Use the address of the KoBo web interface (KPI), for example "
                            "https://kf.kobotoolbox.org rather than https://kc.kobotoolbox.org.",
                            url=self.url,
                        )
                    ) from exc
                raise
            if not isinstance(me, dict) or not me.get("username"):
                raise UserError(
                    self.env._(
                        "%(url)s answered, but not like a KoBoToolbox server: check the address.",
                        url=self.url,
                    )
                )
            if not client.has_api_v2():
                raise UserError(
                    self.env._(
                        "%(url)s is a KoBoToolbox server too old for kobo_connector: it does "
                        "not offer API v2. Ask its administrators to upgrade it.",
                        url=self.url,
                    )
                )
            return me["username"]

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_test_connection(self):
        self.ensure_one()
        self.check_access("write")
        # sudo: the outcome of the test is the engine's to write (state, KoBo user), checked above
        self = self.sudo()
        try:
            username = self._check_connection()
        except (errors.KoboError, UserError) as exc:
            message = (
                self._kobo_error_message(exc) if isinstance(exc, errors.KoboError) else exc.args[0]
            )
            _logger.info("KoBo server %s: connection test failed", self.name)
            self.write(
                {"state": "draft", "last_error": message, "last_check": fields.Datetime.now()}
            )
            return self._notify(self.env._("Connection failed"), message, "danger")
        self.write(
            {
                "state": "connected",
                "kobo_username": username,
                "last_error": False,
                "last_check": fields.Datetime.now(),
            }
        )
        return self._notify(
            self.env._("Connected"),
            self.env._("Connected to %(url)s as KoBo user %(user)s.", url=self.url, user=username),
            "success",
        )

    def action_fetch_forms(self):
        """Create or update a kobo.form for every survey of each server (all
        pages). A known form whose versions did not change is not read again;
        forms gone from KoBo are marked, never deleted."""
        self.env["kobo.form"].check_access("write")
        totals = [0, 0, 0]  # created, updated, gone
        for server in self:
            try:
                counts = server._fetch_forms()
            except errors.KoboError as exc:
                raise UserError(server._kobo_error_message(exc)) from exc
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
        created, updated, gone = totals
        message = self.env._(
            "%(created)s new forms, %(updated)s updated, %(gone)s no longer on KoBo.",
            created=created,
            updated=updated,
            gone=gone,
        )
        return self._notify(self.env._("Forms fetched"), message, "success")

    def _fetch_forms(self):
        """Return (created, updated, gone) counts."""
        self.ensure_one()
        # sudo: forms are KoBo's, written by the engine; the caller may write forms
        # (action_fetch_forms) and read this server (its company)
        self.check_access("read")
        Form = self.env["kobo.form"].sudo().with_context(active_test=False)
        known = {form.asset_uid: form for form in Form.search([("server_id", "=", self.id)])}
        created = updated = 0
        with self._get_client() as client:
            for asset in client.iter_surveys():
                form = known.pop(asset["uid"], None)
                vals = Form._values_from_asset(asset)
                if form is None:
                    form = Form.create(dict(vals, server_id=self.id, asset_uid=asset["uid"]))
                    created += 1
                else:
                    changed = {key: val for key, val in vals.items() if form[key] != val}
                    if changed:
                        form.write(changed)
                    # same versions and status: counts and dates only, no detail request
                    if not changed.keys() & {
                        "version_id",
                        "deployed_version_id",
                        "deployment_status",
                        "gone_from_kobo",
                    }:
                        continue
                    updated += 1
                try:
                    form._refresh_from_kobo(client)
                except errors.KoboNotFound:  # deleted on KoBo since the list was read
                    known[asset["uid"]] = form
        gone = Form.union(*known.values()).filtered(lambda f: not f.gone_from_kobo)
        gone.write({"gone_from_kobo": True})
        self.sudo().last_forms_fetch = fields.Datetime.now()  # sudo: the engine's date, see above
        return created, updated, len(gone)

    def action_sync(self):
        """Sync from KoBo every importable form of these servers."""
        return self.form_ids.action_sync()

    def action_open_forms(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("kobo_connector.kobo_form_action")
        action["domain"] = [("server_id", "=", self.id)]
        action["context"] = {"default_server_id": self.id}
        return action

    def action_reset_draft(self):
        self.check_access("write")
        self.sudo().write({"state": "draft"})  # sudo: the engine's state, the caller may write

    @api.model
    def _notify(self, title, message, kind, sticky=False):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": sticky,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
