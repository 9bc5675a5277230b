"""The live link of a form: KoBo REST Services push new submissions to
Odoo, and Odoo writes the outcome of each import back to KoBo as a
validation status.

- **Push**: each form has a long random secret; its receiver URL is
  ``<public base URL>/kobo/push/<form id>/<secret>``. *Register push* creates
  the REST service on KoBo (a preset of KoBo's "Add REST service"),
  *Unregister* deletes it. A push only records the submission's ``_id``
  (``kobo.pending.push``); the import cron reads it from KoBo and maps it
  through the pull path (``_import_pushed``, called at the start of each
  import step), so the same lock, isolation, outcome states and import user
  apply. The pull keeps running behind: edits, deletions, missed pushes.
- **Validation write-back** (optional): imported submissions get one
  status on KoBo, submissions in error another, in bulk calls made by the
  after-import cron, never inside the import.
"""

import hmac
import logging
import secrets

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..kobo_kpi import errors
from .kobo_form_sync import PAGE_SIZE, PREFETCH

_logger = logging.getLogger(__name__)

HOOK_NAME = "Odoo (kobo_connector)"
PUSH_ROUTE = "/kobo/push"
VALIDATION_STATUSES = [
    ("validation_status_approved", "Approved"),
    ("validation_status_not_approved", "Not Approved"),
    ("validation_status_on_hold", "On Hold"),
]
WRITE_BACK_BATCH = 1000


class KoboForm(models.Model):
    _inherit = "kobo.form"

    # -- push --------------------------------------------------------------
    push_secret = fields.Char(
        readonly=True,
        copy=False,
        groups="kobo_connector.group_kobo_manager",
        help="The secret part of this form's push URL. Regenerate it if the URL leaked.",
        kobo_system=True,
    )
    push_url = fields.Char(
        string="Push URL",
        compute="_compute_push_url",
        groups="kobo_connector.group_kobo_manager",
        help="Where KoBo posts new submissions of this form (REST Services).",
    )
    push_hook_uid = fields.Char(
        string="REST Service on KoBo", readonly=True, copy=False, kobo_system=True
    )
    push_status = fields.Char(
        readonly=True,
        copy=False,
        help="What KoBo said the last time its deliveries were checked.",
        kobo_system=True,
    )
    pending_push_ids = fields.One2many("kobo.pending.push", "form_id", string="Pending Pushes")
    pending_push_count = fields.Integer(compute="_compute_pending_push_count")

    # -- validation write-back ---------------------------------------------
    validation_writeback = fields.Boolean(
        string="Write Validation Status Back",
        help="After each import, set the submission's validation status on KoBo: "
        "one status for imported submissions, another for those in error.",
    )
    validation_status_imported = fields.Selection(
        VALIDATION_STATUSES,
        string="Status When Imported",
        default="validation_status_approved",
    )
    validation_status_error = fields.Selection(
        VALIDATION_STATUSES,
        string="Status On Error",
        default="validation_status_not_approved",
        help="Leave empty to write nothing back for submissions in error.",
    )
    validation_writeback_error = fields.Text(
        readonly=True,
        copy=False,
        help="Why the last write-back to KoBo failed (retried later).",
        kobo_system=True,
    )

    @api.depends("push_secret")
    def _compute_push_url(self):
        base = self._push_base_url()
        for form in self:
            form.push_url = (
                f"{base}{PUSH_ROUTE}/{form.id}/{form.push_secret}"
                if form.id and form.push_secret
                else False
            )

    def _compute_pending_push_count(self):
        counts = dict(
            self.env["kobo.pending.push"]._read_group(
                [("form_id", "in", self.ids)], ["form_id"], ["__count"]
            )
        )
        for form in self:
            form.pending_push_count = counts.get(form, 0)

    @api.model
    def _push_base_url(self):
        # sudo: system parameters are readable by administrators only; these two are URLs
        params = self.env["ir.config_parameter"].sudo()
        base = params.get_param("kobo_connector.public_base_url") or params.get_param(
            "web.base.url", ""
        )
        return base.strip().rstrip("/")

    def _check_push_secret(self, secret):
        """Constant-time comparison of a URL's secret with this form's."""
        # sudo: the caller is KoBo (no Odoo user); the secret is the credential
        expected = (self.sudo().push_secret if self else None) or secrets.token_urlsafe(32)
        return (
            bool(secret)
            and hmac.compare_digest(str(secret).encode(), expected.encode())
            and bool(self)
        )

    def write(self, vals):
        if vals.get("validation_writeback"):
            # what was imported before the write-back was switched on is left as it is on KoBo
            turned_on = self.filtered(lambda f: not f.validation_writeback)
            if turned_on:
                self.env.flush_all()
                self.env.cr.execute(
                    "UPDATE kobo_submission SET validation_written = state "
                    "WHERE form_id = ANY(%s) AND validation_written IS DISTINCT FROM state",
                    (turned_on.ids,),
                )
        return super().write(vals)

    # ------------------------------------------------------------------
    # Register / unregister the REST service on KoBo
    # ------------------------------------------------------------------
    def _push_client(self):
        self.ensure_one()
        self.check_access("write")
        if self.gone_from_kobo:
            raise UserError(self.env._("%(form)s is no longer on KoBo.", form=self.name))
        return self.server_id._get_client()

    def _push_call(self, title, operation):
        """Run ``operation(client)``; a KoBo error becomes a UserError."""
        with self._push_client() as client:
            return self._kobo_call(title, lambda: operation(client))

    def action_register_push(self):
        self.ensure_one()
        self.check_access("write")
        if self.deployment_status == "draft":
            raise UserError(
                self.env._("Deploy %(form)s before registering a push.", form=self.name)
            )
        if not self.sudo().push_secret:  # sudo: a KoBo manager sets it, checked above
            self.sudo().push_secret = secrets.token_urlsafe(32)
        url = self.push_url
        if not url.startswith(("http://", "https://")):
            raise UserError(
                self.env._(
                    "Set the public address of this Odoo (system parameter "
                    "kobo_connector.public_base_url, or web.base.url) before registering a push."
                )
            )

        def register(client):
            for hook in client.list_hooks(self.asset_uid):
                if hook.get("endpoint") == url:  # already there (e.g. registered by hand)
                    return hook
            if self.push_hook_uid:
                try:
                    client.delete_hook(self.asset_uid, self.push_hook_uid)
                except errors.KoboNotFound:
                    _logger.info("KoBo form %s: old push already gone", self.asset_uid)
            return client.create_hook(self.asset_uid, HOOK_NAME, url)

        hook = self._push_call(self.env._("Register push"), register)
        # sudo: the push fields are the engine's; _push_client checked the write right
        self.sudo().write(
            {
                "push_hook_uid": hook["uid"],
                "push_status": self.env._("Registered: KoBo will post each new submission."),
            }
        )
        self.message_post(body=self.env._("Push registered on KoBo (REST Services)."))
        return self.env["kobo.server"]._notify(
            self.env._("Push registered"),
            self.env._(
                "KoBo will post each new submission of %(form)s to Odoo. KoBo refuses "
                "private and loopback addresses unless its administrator allows them: "
                "use Check push after the next submission.",
                form=self.name,
            ),
            "success",
        )

    def action_unregister_push(self):
        self.ensure_one()
        if not self.push_hook_uid:
            raise UserError(self.env._("No push is registered for %(form)s.", form=self.name))

        def unregister(client):
            try:
                client.delete_hook(self.asset_uid, self.push_hook_uid)
            except errors.KoboNotFound:
                _logger.info("KoBo form %s: push already removed on KoBo", self.asset_uid)

        self._push_call(self.env._("Unregister push"), unregister)
        self.sudo().write({"push_hook_uid": False, "push_status": False})  # sudo: as above
        self.message_post(body=self.env._("Push unregistered: KoBo no longer posts submissions."))
        return self.env["kobo.server"]._notify(
            self.env._("Push unregistered"),
            self.env._("Submissions of %(form)s arrive with the scheduled sync.", form=self.name),
            "info",
        )

    def action_regenerate_push_secret(self):
        """A new secret: the old URL stops working at once; a registered push
        is registered again with the new URL."""
        self.ensure_one()
        self.check_access("write")
        self.sudo().push_secret = secrets.token_urlsafe(32)  # sudo: manager-only field, checked
        if self.push_hook_uid:
            return self.action_register_push()
        return self.env["kobo.server"]._notify(
            self.env._("Push URL changed"),
            self.env._("The previous push URL of %(form)s no longer works.", form=self.name),
            "info",
        )

    def action_check_push(self):
        """Ask KoBo whether the REST service delivers (its counters and last log)."""
        self.ensure_one()
        if not self.push_hook_uid:
            raise UserError(self.env._("No push is registered for %(form)s.", form=self.name))

        def check(client):
            hook = next(
                (
                    h
                    for h in client.list_hooks(self.asset_uid)
                    if h.get("uid") == self.push_hook_uid
                ),
                None,
            )
            if hook is None:
                return None, []
            return hook, client.hook_logs(self.asset_uid, self.push_hook_uid)

        hook, logs = self._push_call(self.env._("Check push"), check)
        if hook is None:
            message = self.env._("The REST service was removed on KoBo: register the push again.")
            self.sudo().write({"push_hook_uid": False, "push_status": message})  # sudo: as above
            return self.env["kobo.server"]._notify(self.env._("Push status"), message, "warning")
        status = self.env._(
            "%(active)s — %(ok)s delivered, %(failed)s failed, %(pending)s pending.",
            active=self.env._("Active") if hook.get("active") else self.env._("Inactive"),
            ok=hook.get("success_count", 0),
            failed=hook.get("failed_count", 0),
            pending=hook.get("pending_count", 0),
        )
        last = logs[-1] if logs else None
        if last and last.get("status") == 0:
            status += " " + self.env._(
                "Last failure (HTTP %(code)s): %(message)s",
                code=last.get("status_code") or "-",
                message=(last.get("message") or "")[:300],
            )
        self.sudo().push_status = status  # sudo: the engine's status; write checked
        return self.env["kobo.server"]._notify(
            self.env._("Push status"),
            status,
            "warning" if last and last.get("status") == 0 else "info",
        )

    # ------------------------------------------------------------------
    # The import of pushed submissions (called by the import step)
    # ------------------------------------------------------------------
    def _import_pushed(self, client, limit=1000, kobo_ids=None):
        """Read the submissions pushed to this form from KoBo (``_id $in``)
        and import them through the pull path; forget the pending rows (a
        pushed id KoBo does not know, e.g. a made-up one, is forgotten too).
        ``kobo_ids``: only these (as ``_prefetch_pushed`` fetched them).
        Called under the form's lock, inside the import step's savepoint:
        if KoBo fails, the rows stay for the next step. Return counts."""
        self.ensure_one()
        # pushes of submissions the pull already stored cost no request to KoBo
        self.env.flush_all()
        self.env.cr.execute(
            "DELETE FROM kobo_pending_push p USING kobo_submission s "
            "WHERE p.form_id = %s AND s.form_id = p.form_id AND s.kobo_id = p.kobo_id",
            (self.id,),
        )
        self.env["kobo.pending.push"].invalidate_model()
        domain = [("form_id", "=", self.id)]
        subs = None
        if kobo_ids is not None:
            domain.append(("kobo_id", "in", kobo_ids))
            page = PREFETCH.take(("pushed", tuple(kobo_ids)), self._prefetch_group("push"))
            subs = page[0] if page else None
        pending = self.env["kobo.pending.push"].search(domain, limit=limit, order="kobo_id")
        if not pending:
            return {}
        ids = pending.mapped("kobo_id")
        if subs is not None:
            subs = [sub for sub in subs if sub.get("_id") in set(ids)]
        counts = self._pull_ids(client, ids, subs)
        pending.unlink()
        return counts

    def _prefetch_pushed(self, kobo_ids):
        """Read these pushed submissions from KoBo in the background, for
        ``_import_pushed`` (one request, ``_id $in``)."""
        self.ensure_one()
        kw = {"query": {"_id": {"$in": list(kobo_ids)}}, "sort": {"_id": 1}, "limit": PAGE_SIZE}
        group = self._prefetch_group("push")
        PREFETCH.drop(group)
        self._prefetch(("pushed", tuple(kobo_ids)), kw, group)

    # ------------------------------------------------------------------
    # Validation status write-back (called by the after-import cron)
    # ------------------------------------------------------------------
    def _write_back_statuses(self, client, limit=WRITE_BACK_BATCH):
        """Bulk-set the validation status of the submissions imported (or in
        error) since the last write-back. Return how many were written."""
        self.ensure_one()
        wanted = {
            "imported": self.validation_status_imported,
            "error": self.validation_status_error,
        }
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT id, kobo_id, state FROM kobo_submission
             WHERE form_id = %s AND state IN ('imported', 'error')
               AND validation_written IS DISTINCT FROM state
             ORDER BY id LIMIT %s
            """,
            (self.id, limit),
        )
        by_state = {}
        for sub_id, kobo_id, state in self.env.cr.fetchall():
            by_state.setdefault(state, []).append((sub_id, kobo_id))
        written = 0
        for state, rows in by_state.items():
            status = wanted.get(state)
            if status:
                kobo_ids = [kobo_id for _s, kobo_id in rows]
                try:
                    client.set_validation_statuses(self.asset_uid, kobo_ids, status)
                except errors.KoboError as exc:
                    if exc.status != 400:
                        raise
                    # one id KoBo no longer has (deleted) refuses the batch: one by one
                    for kobo_id in kobo_ids:
                        try:
                            client.set_validation_status(self.asset_uid, kobo_id, status)
                        except errors.KoboNotFound:
                            _logger.info("KoBo submission %s: gone, no status", kobo_id)
            self.env.cr.execute(
                """
                UPDATE kobo_submission
                   SET validation_written = %s,
                       validation_status = COALESCE(%s, validation_status)
                 WHERE id = ANY(%s)
                """,
                (state, status or None, [sub_id for sub_id, _k in rows]),
            )
            written += len(rows)
        self.env["kobo.submission"].invalidate_model(["validation_written", "validation_status"])
        return written

    def _write_back_failed(self, exc):
        message = (
            self.server_id._kobo_error_message(exc)
            if isinstance(exc, errors.KoboError)
            else str(exc.args[0] if exc.args else exc)
        )
        _logger.warning("KoBo form %s: validation write-back failed", self.asset_uid)
        if self.validation_writeback_error != message:
            self.message_post(
                body=Markup("%s<br/>%s")
                % (self.env._("Writing validation statuses back to KoBo failed."), message)
            )
        self.validation_writeback_error = message
