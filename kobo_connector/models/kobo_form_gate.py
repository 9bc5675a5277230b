"""The approval gate: a form may import only the submissions validated on
KoBo as *Approved*.

New submissions of a gated form are stored *Waiting for approval*. KPI sets
``_validation_status.timestamp`` (whole seconds; a bulk approval stamps many
submissions with one second) on every status change, changing neither
``_uuid`` nor the edit listing, so the approvals are read by their own
keyset-paged query on (timestamp, ``_id``): "a later second, or the same
second and a larger ``_id``". A poll costs one request per page of new status
changes (not per submission of the form), at most once per poll interval
(KPI has no index on that field). The last minutes are read again at the
next poll (an approval may still land in the cursor's second); a cleared
status (``{}``), which no query on the timestamp sees, is caught by the
daily reconcile."""

import time
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..kobo_kpi.approvals import change_key, changes_query
from .kobo_form_sync import _first_page
from .kobo_submission import APPROVED, NOT_APPROVED

REREAD_SECONDS = 300  # the last minutes of status changes are read again at the next poll


class KoboForm(models.Model):
    _inherit = "kobo.form"

    import_gate = fields.Selection(
        [("all", "All submissions"), ("approved", "Only those approved on KoBo")],
        string="Import",
        default="all",
        required=True,
        help="Only approved: new submissions wait until a reviewer approves them on KoBo "
        "(or here, with Approve on KoBo); the validation write-back is then off.",
    )
    approval_cursor_ts = fields.Integer(
        readonly=True,
        copy=False,
        help="Where the reading of KoBo's status changes resumes.",
        kobo_system=True,
    )
    approval_cursor_id = fields.Integer(readonly=True, copy=False, kobo_system=True)
    last_approval_poll = fields.Datetime(readonly=True, copy=False, kobo_system=True)

    def _approvals_due(self):
        """Gated, and not polled within the interval (or a pass under way)."""
        if self.import_gate != "approved":
            return False
        if not self.last_approval_poll:
            return True
        interval = timedelta(minutes=self._kobo_param("poll_interval"))
        return self.last_approval_poll + interval <= fields.Datetime.now()

    def _do_edits(self, client, limit):
        """On a gated form, the status changes are read first (when due)."""
        if self._approvals_due():
            done, remaining = self._do_approvals(client, limit)
            if remaining:
                self.next_poll = False
                return done, remaining
        return super()._do_edits(client, limit)

    def _do_approvals(self, client, limit):
        """One page of status changes since the cursor: the stored
        submissions whose status changed are updated (the approved waiting
        ones imported); those above the sync cursor are left to the next
        page of new ones."""
        ts, kobo_id = self.approval_cursor_ts, self.approval_cursor_id
        results, count = _first_page(client, self.asset_uid, **changes_query(ts, kobo_id, limit))
        keys = [key for key in map(change_key, results) if key]
        known = [
            r for r in results if isinstance(r.get("_id"), int) and r["_id"] <= self.sync_cursor
        ]
        if known:
            self._add_run_counts(self.env["kobo.submission"]._import_page(self, known))
        remaining = max(count - len(results), 0) if results else 0
        if keys:
            ts, kobo_id = max(keys)
        if remaining and keys:
            # a pass under way: the form stays due until it is read whole
            self.write(
                {
                    "approval_cursor_ts": ts,
                    "approval_cursor_id": kobo_id,
                    "last_approval_poll": False,
                }
            )
            return len(results), remaining
        # read whole: the last minutes are read again next time (an approval may
        # still land in the cursor's second, or come from a clock a little behind)
        floor = int(time.time()) - REREAD_SECONDS
        if ts > floor:
            ts, kobo_id = max(floor, self.approval_cursor_ts), 0
        self.write(
            {
                "approval_cursor_ts": ts,
                "approval_cursor_id": kobo_id,
                "last_approval_poll": fields.Datetime.now(),
            }
        )
        return len(results), 0

    def _reconcile_news(self, stored_statuses, on_kobo_statuses):
        """Gated: the stored submissions whose status KoBo changed (also
        cleared, which the timestamp query never sees)."""
        if self.import_gate != "approved":
            return []
        return [
            kobo_id
            for kobo_id, status in stored_statuses.items()
            if kobo_id in on_kobo_statuses and on_kobo_statuses[kobo_id] != (status or "")
        ]

    @api.constrains("import_gate", "validation_writeback")
    def _check_gate_writeback(self):
        for form in self:
            if form.import_gate == "approved" and form.validation_writeback:
                raise ValidationError(
                    self.env._(
                        "On a form that imports only approved submissions, the reviewers on "
                        "KoBo decide the status: turn the validation write-back off."
                    )
                )


class KoboSubmission(models.Model):
    _inherit = "kobo.submission"

    def action_kobo_approve(self):
        return self._kobo_set_status(APPROVED)

    def action_kobo_reject(self):
        return self._kobo_set_status(NOT_APPROVED)

    def _kobo_set_status(self, status):
        """Write the status of the waiting submissions to KoBo (KoBo's refusal
        shown as its message), then read them back and import the approved."""
        self.form_id.check_access("write")  # KoBo Managers, of these forms
        # sudo: submissions are the engine's (no user writes them); the caller may write
        # their forms (checked above); the records are written as the import user
        todo = self.sudo().filtered(lambda s: s.state == "waiting")
        if not todo:
            raise UserError(self.env._("Choose submissions waiting for approval."))
        counts = {}
        for form in todo.form_id:
            subs = todo.filtered(lambda s, f=form: s.form_id == f)
            if not form._try_lock():
                raise UserError(
                    self.env._(
                        "A sync of %(form)s is running: try again in a moment.", form=form.name
                    )
                )
            ids = sorted(subs.mapped("kobo_id"))
            title = (
                self.env._("Approve on KoBo")
                if status == APPROVED
                else self.env._("Reject on KoBo")
            )
            uid = form.asset_uid
            with form.server_id._get_client() as client:
                form._kobo_call(
                    title, lambda c=client, u=uid, i=ids: c.set_validation_statuses(u, i, status)
                )
                results = form._kobo_call(
                    title, lambda c=client, u=uid, i=ids: list(c.iter_submissions_by_ids(u, i))
                )
            for key, value in todo._import_page(form, results).items():
                counts[key] = counts.get(key, 0) + value
        return self.env["kobo.server"]._notify(
            self.env._("Written to KoBo"),
            self.env._(
                "%(count)s submissions: %(new)s imported, %(errors)s errors.",
                count=len(todo),
                new=counts.get("new", 0) + counts.get("updated", 0),
                errors=counts.get("errors", 0),
            ),
            "warning" if counts.get("errors") else "success",
        )
