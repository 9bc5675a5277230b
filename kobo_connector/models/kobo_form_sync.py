"""Pulling submissions of a form from KoBo into Odoo records.

Each step imports one page of new submissions (KoBo's ``_id`` above the
form's cursor) under a per-form advisory lock, stores them raw, maps them,
advances the cursor and commits: the cursor only ever moves with committed
work, so a crash at any point loses nothing and duplicates nothing (the
unique (form, kobo_id) constraint is the last line of defence). When a form
is caught up, edited submissions are pulled too (``meta/deprecatedID``
exists and ``_uuid`` changed), then the requesters are notified.

Records are written as the form's import user (``kobo.form._import_env()``:
a real, limited user, never the superuser), in the form's company and time
zone, whoever runs the import (OdooBot for the scheduled action).
"""

import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.modules import module as odoo_module

from ..kobo_kpi import errors

_logger = logging.getLogger(__name__)

PAGE_SIZE = 1000
LOCK_NAMESPACE = 0x6B6F626F  # "kobo": advisory locks of form syncs


class KoboForm(models.Model):
    _inherit = "kobo.form"

    mapping_ids = fields.One2many("kobo.mapping", "form_id", string="Mappings")
    mapping_id = fields.Many2one(
        "kobo.mapping", string="Enabled Mapping", compute="_compute_mapping_id"
    )
    submission_ids = fields.One2many("kobo.submission", "form_id", string="Submissions")
    imported_count = fields.Integer(compute="_compute_submission_counts")
    error_count = fields.Integer(compute="_compute_submission_counts")
    sync_cursor = fields.Integer(
        readonly=True,
        copy=False,
        help="The highest KoBo submission id imported: the next sync asks KoBo for newer ones.",
    )
    last_sync = fields.Datetime(readonly=True, copy=False)
    last_sync_result = fields.Char(
        string="Last Sync Result",
        readonly=True,
        copy=False,
        help="What the last sync that did anything did.",
    )
    sync_error = fields.Text(
        readonly=True, copy=False, help="Why the last sync could not talk to KoBo."
    )
    sync_step_date = fields.Datetime(readonly=True, copy=False)
    run_new = fields.Integer(readonly=True, copy=False)
    run_updated = fields.Integer(readonly=True, copy=False)
    run_errors = fields.Integer(readonly=True, copy=False)
    sync_request_ids = fields.One2many("kobo.sync.request", "form_id")

    @api.depends("mapping_ids.enabled")
    def _compute_mapping_id(self):
        for form in self:
            form.mapping_id = form.mapping_ids.filtered("enabled")[:1]

    def _compute_submission_counts(self):
        counts = {
            (form, state): count
            for form, state, count in self.env["kobo.submission"]._read_group(
                [("form_id", "in", self.ids)], ["form_id", "state"], ["__count"]
            )
        }
        for form in self:
            form.imported_count = counts.get((form, "imported"), 0)
            form.error_count = counts.get((form, "error"), 0)

    def _open_submissions(self, domain):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kobo_connector.kobo_submission_action"
        )
        action["domain"] = [("form_id", "=", self.id), *domain]
        action["context"] = {"default_form_id": self.id}
        return action

    def action_open_imported(self):
        return self._open_submissions([("state", "=", "imported")])

    def action_open_errors(self):
        return self._open_submissions([("state", "=", "error")])

    # ------------------------------------------------------------------
    # "Sync from KoBo": record the request, wake the cron
    # ------------------------------------------------------------------
    @api.model
    def _importable_domain(self):
        return [
            ("active", "=", True),
            ("gone_from_kobo", "=", False),
            ("deployment_status", "in", ("deployed", "archived")),
            ("mapping_ids.enabled", "=", True),
            ("server_id.state", "=", "connected"),
            ("server_id.active", "=", True),
        ]

    def action_sync(self):
        forms = self.filtered_domain(self._importable_domain())
        if not forms:
            return self.env["kobo.server"]._notify(
                self.env._("Nothing to sync"),
                self.env._(
                    "Submissions are imported from deployed forms with an enabled mapping "
                    "on a connected server."
                ),
                "warning",
            )
        # sudo: a KoBo User may ask for a sync; the request only names the form and the user
        self.env["kobo.sync.request"].sudo().create(
            [{"form_id": form.id, "user_id": self.env.uid} for form in forms]
        )
        # sudo: waking the cron needs no right on ir.cron; the import runs as the import user
        self.env.ref("kobo_connector.ir_cron_kobo_import").sudo()._trigger()
        return self.env["kobo.server"]._notify(
            self.env._("Sync requested"),
            self.env._(
                "Importing from KoBo in the background: you will be notified when "
                "%(forms)s is done.",
                forms=", ".join(forms.mapped("name")),
            ),
            "info",
        )

    # ------------------------------------------------------------------
    # The scheduled action
    # ------------------------------------------------------------------
    @api.model
    def _cron_import(self, limit=PAGE_SIZE):
        """Import one bounded batch over all importable forms (forms with a
        pending request first, then the least recently served), and tell the
        cron what remains so that it calls again."""
        forms = self.search(self._importable_domain())
        requested = forms.filtered("sync_request_ids")
        forms = requested + (forms - requested).sorted(
            lambda f: f.sync_step_date or fields.Datetime.to_datetime("1970-01-01")
        )
        done = remaining = 0
        for form in forms:
            if done >= limit:
                remaining += 1  # not served this time: at least one more call
                continue
            imported, left = form._sync_step(min(PAGE_SIZE, limit - done))
            done += imported
            remaining += left
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done, remaining

    def _kobo_commit(self):
        """Commit the work of a step: the seam that tests replace to simulate
        a crash (tests never commit)."""
        if not odoo_module.current_test:
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _try_lock(self):
        """Transaction-level advisory lock on this form: two syncs of one form
        never import at the same time (released at each commit)."""
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, self.id))
        return self.env.cr.fetchone()[0]

    def _sync_step(self, limit=PAGE_SIZE):
        """Import at most ``limit`` new submissions of this form and commit;
        when caught up, also pull edits and finish the run (a second commit).
        Return (done, remaining)."""
        self.ensure_one()
        if not self._try_lock():
            _logger.info("KoBo form %s: another sync is running, skipped", self.asset_uid)
            return 0, 1
        self.invalidate_recordset(["sync_cursor"])  # read it under the lock
        try:
            client = self.server_id._get_client()
        except UserError as exc:
            self._sync_failed(exc)
            return 0, 0
        with client:
            return self._sync_with(client, limit)

    def _sync_with(self, client, limit):
        try:
            with self.env.cr.savepoint():
                results, remaining = self._import_new(client, limit)
        except errors.KoboError as exc:
            self._sync_failed(exc)
            return 0, 0
        self._kobo_commit()
        if remaining or not self._try_lock():
            return len(results), remaining
        try:
            with self.env.cr.savepoint():
                self._add_run_counts(self._sync_edits(client))
                self._finish_run()
        except errors.KoboError as exc:
            self._sync_failed(exc)
            return len(results), 0
        self._kobo_commit()
        return len(results), 0

    def _import_new(self, client, limit):
        """One page of submissions newer than the cursor: stored, mapped, and
        the cursor moved past them. Return (results, how many remain)."""
        pages = client.iter_submission_pages(
            self.asset_uid,
            query={"_id": {"$gt": self.sync_cursor}},
            sort={"_id": 1},
            limit=limit,
        )
        results, count, _next = next(pages, ([], 0, None))
        pages.close()
        counts = {}
        if results:
            counts = self.env["kobo.submission"]._import_page(self, results)
            self.sync_cursor = max(r["_id"] for r in results)
        self._add_run_counts(counts)
        return results, max(count - len(results), 0)

    def _sync_edits(self, client):
        """Pull the submissions edited on KoBo whose ``_uuid`` changed since
        they were stored, and update their records (mapping permitting)."""
        edited = {
            sub["_id"]: sub.get("_uuid")
            for sub in client.iter_submissions(
                self.asset_uid,
                query={"meta/deprecatedID": {"$exists": True}},
                fields=["_id", "_uuid"],
                limit=PAGE_SIZE,
            )
        }
        if not edited:
            return {}
        self.env.cr.execute(
            "SELECT kobo_id, uuid FROM kobo_submission WHERE form_id = %s AND kobo_id = ANY(%s)",
            (self.id, list(edited)),
        )
        changed = [kobo_id for kobo_id, uuid in self.env.cr.fetchall() if edited[kobo_id] != uuid]
        return self._pull_ids(client, changed)

    def _pull_ids(self, client, kobo_ids):
        counts = {"new": 0, "updated": 0, "errors": 0}
        for start in range(0, len(kobo_ids), PAGE_SIZE):
            chunk = kobo_ids[start : start + PAGE_SIZE]
            results = list(
                client.iter_submissions(
                    self.asset_uid, query={"_id": {"$in": chunk}}, limit=PAGE_SIZE
                )
            )
            for key, value in self.env["kobo.submission"]._import_page(self, results).items():
                counts[key] += value
        return counts

    @api.model
    def _cron_reconcile(self):
        """The slow, complete pass: compare every ``_id``/``_uuid`` on KoBo with
        what Odoo stored; pull edits and gaps, mark deletions."""
        forms = self.search(self._importable_domain())
        for done, form in enumerate(forms, start=1):
            if form._try_lock():
                try:
                    with form.server_id._get_client() as client, self.env.cr.savepoint():
                        form._add_run_counts(form._reconcile(client))
                        form._finish_run()
                except (errors.KoboError, UserError) as exc:
                    form._sync_failed(exc)
                form._kobo_commit()
            self.env["ir.cron"]._notify_progress(done=done, remaining=len(forms) - done)

    def _reconcile(self, client):
        on_kobo = {
            sub["_id"]: sub.get("_uuid")
            for sub in client.iter_submissions(
                self.asset_uid, fields=["_id", "_uuid"], limit=PAGE_SIZE
            )
        }
        self.env.cr.execute(
            "SELECT kobo_id, uuid, state FROM kobo_submission WHERE form_id = %s", (self.id,)
        )
        stored = {kobo_id: (uuid, state) for kobo_id, uuid, state in self.env.cr.fetchall()}
        deleted = [
            k for k, (_u, state) in stored.items() if k not in on_kobo and state != "deleted"
        ]
        if deleted:
            subs = self.env["kobo.submission"].search(
                [("form_id", "=", self.id), ("kobo_id", "in", deleted)]
            )
            subs._update_outcomes({sub.id: ("deleted", False, False) for sub in subs})
        changed = [k for k, (uuid, _s) in stored.items() if k in on_kobo and on_kobo[k] != uuid]
        missing = [k for k in on_kobo if k not in stored and k <= self.sync_cursor]
        return self._pull_ids(client, sorted(changed + missing))

    def _add_run_counts(self, counts):
        self.write(
            {
                "run_new": self.run_new + counts.get("new", 0),
                "run_updated": self.run_updated + counts.get("updated", 0),
                "run_errors": self.run_errors + counts.get("errors", 0),
                "sync_step_date": fields.Datetime.now(),
                "sync_error": False,
            }
        )

    def _finish_run(self):
        """The form is caught up: record the result, post it, tell requesters."""
        result = self.env._(
            "%(new)s new, %(updated)s updated, %(errors)s errors",
            new=self.run_new,
            updated=self.run_updated,
            errors=self.run_errors,
        )
        now = fields.Datetime.now()
        vals = {"last_sync": now, "run_new": 0, "run_updated": 0, "run_errors": 0}
        server_vals = {"last_sync": now}
        # a scheduled pass with nothing new keeps the last result on display
        if self.run_new or self.run_updated or self.run_errors or self.sync_request_ids:
            self.message_post(body=self.env._("Sync from KoBo: %(result)s.", result=result))
            vals["last_sync_result"] = result
            server_vals["last_sync_result"] = f"{self.name}: {result}"
        for user in self.sync_request_ids.user_id:
            user._bus_send(
                "simple_notification",
                {
                    "type": "warning" if self.run_errors else "success",
                    "title": self.env._("KoBo sync done: %(form)s", form=self.name),
                    "message": result,
                    "sticky": False,
                },
            )
        self.sync_request_ids.unlink()
        self.write(vals)
        self.server_id.write(server_vals)

    def _sync_failed(self, exc):
        message = (
            self.server_id._kobo_error_message(exc)
            if isinstance(exc, errors.KoboError)
            else exc.args[0]
        )
        _logger.warning("KoBo form %s: sync failed (%s)", self.asset_uid, type(exc).__name__)
        self.write({"sync_error": message, "sync_step_date": fields.Datetime.now()})
        if self.sync_request_ids:
            self.message_post(
                body=Markup("%s<br/>%s") % (self.env._("Sync from KoBo failed."), message)
            )
            for user in self.sync_request_ids.user_id:
                user._bus_send(
                    "simple_notification",
                    {
                        "type": "danger",
                        "title": self.env._("KoBo sync failed: %(form)s", form=self.name),
                        "message": message,
                        "sticky": True,
                    },
                )
            self.sync_request_ids.unlink()
        self._kobo_commit()
