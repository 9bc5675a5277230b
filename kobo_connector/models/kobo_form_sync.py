"""Pulling submissions of a form from KoBo into Odoo records.

The step API (what the scheduled actions call, and what job runners wrap):

``form._step_new(limit)``
    Import at most ``limit`` submissions newer than the form's cursor
    (``_id`` > ``sync_cursor``, sorted): stored raw, mapped, the cursor moved
    past them. While the page is mapped, the next one is fetched in one
    background thread (network only), so KoBo's page latency is not paid
    between steps.
``form._step_edits(limit)``
    One page of the "changes" listing (keyset on ``edit_cursor``): the
    edited submissions (``meta/deprecatedID`` exists) and those submitted in
    the last ``kobo_connector.recheck_window`` minutes (default 60) among
    the newest 1,000 stored (and the gaps between them), only
    ``_id``/``_uuid``. Stored ones whose ``_uuid`` changed are pulled again
    (edits); listed ones below the cursor that Odoo lacks are pulled (they
    became visible on KoBo out of ``_id`` order). When the listing is done,
    the run is finished: result posted, requesters notified, next poll set.
``form._step_reconcile(limit)``
    One page of the complete comparison (keyset on ``reconcile_cursor``):
    every ``_id``/``_uuid`` on KoBo against what Odoo stored; edits and gaps
    pulled; a stored submission missing from the listing is marked *deleted*
    only when a direct ``_id $in`` query confirms it is gone.
``form._sync_step(limit)``
    ``_step_new``, then ``_step_edits`` once the form is caught up.

Each step returns ``(done, remaining)``; it runs under the form's advisory
lock (``(0, 1)`` when another step holds it), reads its cursor under the
lock, works inside a savepoint and commits (``_kobo_commit``): a cursor only
moves with committed work, so a crash at any point loses nothing and
duplicates nothing. Any failure of a step (KoBo, mapping, database) rolls
back that step only, is recorded on that form (``sync_error``, requesters
notified) and never stops another form.

A caught-up form is polled at most once per ``kobo_connector.poll_interval``
minutes (default 10); a throttled one (429) waits for KoBo's Retry-After,
doubled on each new refusal. A requested sync (``kobo.sync.request``) and
a push (``kobo.pending.push``) are never delayed by the interval (only by a
running Retry-After).

Records are written as the form's import user (``kobo.form._import_env()``:
a real, limited user, never the superuser), in the form's company and time
zone, whoever runs the import (OdooBot for the scheduled action).
"""

import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import psycopg2
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.modules import module as odoo_module
from odoo.tools import mute_logger

from ..kobo_kpi import errors
from ..kobo_kpi.prefetch import Prefetcher

_logger = logging.getLogger(__name__)

PAGE_SIZE = 1000
LOCK_NAMESPACE = 0x6B6F626F  # "kobo": advisory locks of form syncs
# One call of a scheduled action starts no new step after CALL_SECONDS of
# wall time or CALL_CPU_SECONDS of CPU; when it has worked at least a second
# and work remains, it ends its job and triggers it again, so that Odoo's
# prefork cron worker never stacks several calls under one watchdog (every
# ready job of a database, each up to 10 calls, runs under one
# limit_time_real, 120 s, and one limit_time_cpu, 60 s: README, "Prefork").
CALL_SECONDS = 15
CALL_CPU_SECONDS = 10
CALL_LIMIT = 10 * PAGE_SIZE  # submissions per call of the scheduled import
PAGES_IN_FLIGHT = 3  # pages of one form fetched side by side (latency hidden)
PUSH_QUIET = 1.0  # seconds: pushes of a form within this wake the import once
RECONCILE_EVERY = timedelta(hours=20)  # a form is reconciled about once a day
MAX_BACKOFF = 3600  # seconds
RECHECK = PAGE_SIZE  # the re-read window covers at most this many stored submissions
PAGE_ATTEMPTS = 3  # a page whose mapping killed the worker this often is kept unmapped
DEFAULTS = {"poll_interval": 10, "recheck_window": 60}  # minutes
# failures that pass by themselves: retried within a minute
TRANSIENT = (errors.KoboServerError, errors.KoboConnectionError, errors.KoboNotJson)
# another transaction updated (or holds) the same row
CONCURRENT_UPDATE = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.LockNotAvailable,
    psycopg2.errors.DeadlockDetected,
)
# pages fetched ahead, shared by the steps of this process (bounded per server)
PREFETCH = Prefetcher()
# the page chains being fetched ahead: (database, form id) -> chain (_prefetch_new)
CHAINS = {}


def _call_spent(started, cpu):
    """Whether a call begun at these clocks has spent its budget."""
    return time.monotonic() - started > CALL_SECONDS or time.process_time() - cpu > CALL_CPU_SECONDS


def _first_page(client, uid, **kw):
    """(results, count) of the first page of a ``/data/`` query (no ORM);
    without KoBo's count, a ``next`` link still says that more remain."""
    pages = client.iter_submission_pages(uid, **kw)
    try:
        results, count, nxt = next(pages, ([], 0, None))
    finally:
        pages.close()
    if not isinstance(count, int):
        count = len(results) + (1 if nxt else 0)
    return results, count


class KoboForm(models.Model):
    _inherit = "kobo.form"

    mapping_ids = fields.One2many("kobo.mapping", "form_id", string="Mappings")
    mapping_id = fields.Many2one(
        "kobo.mapping", string="First Enabled Mapping", compute="_compute_mapping_id"
    )
    submission_ids = fields.One2many("kobo.submission", "form_id", string="Submissions")
    imported_count = fields.Integer(compute="_compute_submission_counts")
    error_count = fields.Integer(compute="_compute_submission_counts")
    skipped_count = fields.Integer(compute="_compute_submission_counts")
    waiting_count = fields.Integer(compute="_compute_submission_counts")
    sync_cursor = fields.Integer(
        readonly=True,
        copy=False,
        help="The highest KoBo submission id imported: the next sync asks KoBo for newer ones.",
        kobo_system=True,
    )
    last_sync = fields.Datetime(readonly=True, copy=False, kobo_system=True)
    last_sync_result = fields.Char(
        string="Last Sync Result",
        readonly=True,
        copy=False,
        help="What the last sync that did anything did.",
        kobo_system=True,
    )
    sync_error = fields.Text(
        readonly=True,
        copy=False,
        help="Why the last sync could not talk to KoBo.",
        kobo_system=True,
    )
    sync_step_date = fields.Datetime(readonly=True, copy=False, kobo_system=True)
    run_new = fields.Integer(readonly=True, copy=False, kobo_system=True)
    run_updated = fields.Integer(readonly=True, copy=False, kobo_system=True)
    run_errors = fields.Integer(readonly=True, copy=False, kobo_system=True)
    sync_request_ids = fields.One2many("kobo.sync.request", "form_id")
    next_poll = fields.Datetime(
        readonly=True,
        copy=False,
        help="A caught-up form is asked for news again from this time on (poll interval, or "
        "KoBo's Retry-After when it throttled us). A sync request does not wait for it.",
        kobo_system=True,
    )
    throttle_count = fields.Integer(readonly=True, copy=False, kobo_system=True)
    edit_cursor = fields.Integer(
        readonly=True,
        copy=False,
        help="Where the listing of edited submissions resumes.",
        kobo_system=True,
    )
    reconcile_cursor = fields.Integer(
        readonly=True,
        copy=False,
        help="Where the reconciliation with KoBo resumes.",
        kobo_system=True,
    )
    reconcile_counts = fields.Json(readonly=True, copy=False, kobo_system=True)
    last_reconcile = fields.Datetime(readonly=True, copy=False, kobo_system=True)
    reconcile_retry = fields.Datetime(
        readonly=True,
        copy=False,
        help="A reconciliation that failed resumes then.",
        kobo_system=True,
    )

    @api.depends("mapping_ids.enabled", "mapping_ids.sequence")
    def _compute_mapping_id(self):
        for form in self:
            form.mapping_id = form._enabled_mappings()[:1]

    def _enabled_mappings(self):
        """The enabled mappings, in the order they apply."""
        self.ensure_one()
        return self.mapping_ids.filtered("enabled").sorted(lambda m: (m.sequence, m.id))

    def _compile_mappings(self):
        """[(mapping, plan)] of the enabled mappings, in order."""
        return [(mapping, mapping._compile()) for mapping in self._enabled_mappings()]

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
            form.skipped_count = counts.get((form, "skipped"), 0)
            form.waiting_count = counts.get((form, "waiting"), 0)

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

    def action_open_skipped(self):
        return self._open_submissions([("state", "=", "skipped")])

    def action_open_waiting(self):
        return self._open_submissions([("state", "=", "waiting")])

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
        forms._dispatch_sync()
        return self.env["kobo.server"]._notify(
            self.env._("Sync requested"),
            self.env._(
                "Importing from KoBo in the background: you will be notified when "
                "%(forms)s is done.",
                forms=", ".join(forms.mapped("name")),
            ),
            "info",
        )

    def _dispatch_sync(self):
        """Start importing these forms soon: wake the scheduled action. A hook:
        kobo_connector_queue enqueues one job per form instead."""
        # sudo: any user who may sync may wake the import cron (ir.cron is admin-only)
        self.env.ref("kobo_connector.ir_cron_kobo_import").sudo()._trigger()

    # ------------------------------------------------------------------
    # The scheduled actions
    # ------------------------------------------------------------------
    @api.model
    def _kobo_param(self, name):
        """A setting in minutes (``kobo_connector.<name>``), 0 or more."""
        # sudo: a plain setting of this module, read by the import
        value = self.env["ir.config_parameter"].sudo().get_param(f"kobo_connector.{name}")
        if value in (None, False, ""):
            return DEFAULTS[name]
        try:
            return max(0, int(value))
        except (TypeError, ValueError):
            return DEFAULTS[name]

    def _is_due(self, now, pushed=()):
        """Not polled within the interval, requested, or pushed by KoBo; never
        while KoBo's Retry-After runs."""
        if not self.next_poll or self.next_poll <= now:
            return True
        return (bool(self.sync_request_ids) or self.id in pushed) and not self.throttle_count

    @api.model
    def _forms_to_import(self):
        """The importable forms that are due, forms with a pending request
        first, then the least recently served."""
        now = fields.Datetime.now()
        # pushes are recorded without touching the form's row (controllers/push.py)
        self.env.cr.execute("SELECT DISTINCT form_id FROM kobo_pending_push")
        pushed = {form_id for (form_id,) in self.env.cr.fetchall()}
        forms = self.search(self._importable_domain()).filtered(lambda f: f._is_due(now, pushed))
        requested = forms.filtered("sync_request_ids")
        return requested + (forms - requested).sorted(
            lambda f: f.sync_step_date or fields.Datetime.to_datetime("1970-01-01")
        )

    @api.model
    def _forms_to_reconcile(self):
        """The importable forms due for reconciliation (about once a day, or
        resuming one)."""
        now = fields.Datetime.now()
        return self.search(self._importable_domain()).filtered(
            lambda f: (
                f.reconcile_retry <= now
                if f.reconcile_retry
                else (
                    not f.last_reconcile
                    or f.last_reconcile <= now - RECONCILE_EVERY
                    or f.reconcile_cursor  # one under way goes on
                )
            )
        )

    @api.model
    def _cron_import(self, limit=CALL_LIMIT):
        """Import one bounded batch over the forms that are due, and tell the
        cron what remains so that it calls again."""
        forms = self._forms_to_import()
        return self._serve(forms, lambda form, budget: form._sync_step(budget), limit)

    @api.model
    def _cron_import_pushed(self, limit=PAGE_SIZE):
        """KoBo's pushes, by a scheduled action of their own that the push
        receiver wakes, so that a pushed form never waits behind the other
        forms' imports. The submissions pushed to each form are read from
        KoBo side by side (``PREFETCH``, bounded per server), then imported
        form by form through the pull path. The call stays while pushes keep
        coming (until its budget), and ends only ``PUSH_QUIET`` after the
        newest push it served: a push that did not wake it (one of the same
        form came just before) is still seen. Pending pushes of forms that
        can no longer be imported end with a message."""
        started, cpu = time.monotonic(), time.process_time()
        done = remaining = 0
        quiet_at = 0.0
        busy = {}  # form id -> when to try its lock again
        failed = set()  # forms whose step failed: they wait for their back-off
        while True:
            self._kobo_commit()  # a fresh snapshot: the pushes recorded meanwhile
            self.env.invalidate_all()  # and fresh forms (a mapping disabled meanwhile)
            self._end_unimportable_pushes()
            batch = {
                form: ids
                for form, ids in self._pushed_batch(limit).items()
                if busy.get(form.id, 0) <= time.monotonic() and form.id not in failed
            }
            if _call_spent(started, cpu):
                remaining = len(batch) + len(busy)
                break
            if not batch:
                if time.monotonic() >= quiet_at and not busy:
                    break
                time.sleep(0.1)
                busy = {k: v for k, v in busy.items() if v > time.monotonic()}
                continue
            for form, ids in batch.items():
                form._prefetch_pushed(ids)
            for form, ids in batch.items():
                try:
                    served, left = form._step_pushed(ids)
                except Exception:  # the last guard: steps record their own failures
                    _logger.exception("KoBo form %s: push step failed", form.asset_uid)
                    self._kobo_rollback()
                    served, left = 0, 0
                done += served
                if left and not served:  # its lock is taken: another step is on it
                    busy[form.id] = time.monotonic() + 0.3
                elif not served:
                    failed.add(form.id)
            quiet_at = time.monotonic() + PUSH_QUIET
        self._cron_progress(done, remaining, started)
        return done, remaining

    @api.model
    def _pushed_batch(self, limit):
        """{form: pushed KoBo ids (at most ``limit``)} of the importable forms
        with pending pushes, not waiting after a failure."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT form_id, (array_agg(kobo_id ORDER BY kobo_id))[1:%s] "
            "FROM kobo_pending_push GROUP BY form_id ORDER BY min(received_on)",
            (limit,),
        )
        rows = dict(self.env.cr.fetchall())
        now = fields.Datetime.now()
        forms = self.browse(list(rows)).filtered_domain(self._importable_domain())
        return {
            form: rows[form.id]
            for form in forms
            # after a failure (a 429 included), the form's back-off holds
            if not (form.sync_error and form.next_poll and form.next_poll > now)
        }

    @api.model
    def _end_unimportable_pushes(self):
        """The pending pushes of forms that can no longer be imported end,
        with a message on the form (the scheduled sync brings these
        submissions once the form can be imported again)."""
        self.env.flush_all()
        self.env.cr.execute("SELECT DISTINCT form_id FROM kobo_pending_push")
        forms = self.with_context(active_test=False).browse(
            [form_id for (form_id,) in self.env.cr.fetchall()]
        )
        for form in forms - forms.filtered_domain(self._importable_domain()):
            pending = form.pending_push_ids
            form.message_post(
                body=self.env._(
                    "%(count)s submission(s) pushed by KoBo were not imported now: %(reason)s "
                    "The scheduled sync imports them once the form can be imported again.",
                    count=len(pending),
                    reason=form._unimportable_reason(),
                )
            )
            pending.unlink()
        if forms:
            self._kobo_commit()

    def _unimportable_reason(self):
        """Why this form is out of ``_importable_domain()`` (one sentence)."""
        self.ensure_one()
        server = self.server_id
        if not self.active:
            return self.env._("the form is archived in Odoo.")
        if self.gone_from_kobo:
            return self.env._("the form is no longer on KoBo.")
        if self.deployment_status not in ("deployed", "archived"):
            return self.env._("the form is not deployed on KoBo.")
        if not self.mapping_ids.filtered("enabled"):
            return self.env._("the form has no enabled mapping.")
        if not server.active or server.state != "connected":
            return self.env._("its KoBo server is not connected.")
        return self.env._("the form cannot be imported.")

    @api.model
    def _cron_reconcile(self, limit=PAGE_SIZE):
        """Reconcile the forms that are due in bounded steps, and tell the
        cron what remains."""
        forms = self._forms_to_reconcile()
        return self._serve(forms, lambda form, budget: form._step_reconcile(budget), limit)

    @api.model
    def _serve(self, forms, step, limit):
        """Give each form one step per round, rounds while forms have work
        left, until ``limit`` submissions or the call's budget
        (``CALL_SECONDS``, ``CALL_CPU_SECONDS``) are spent; one form's
        failure never stops the others."""
        started, cpu = time.monotonic(), time.process_time()
        done = 0
        left = {}  # form -> what its last step left (1: not served in this call)
        todo = forms
        while todo:
            for form in todo:
                if done >= limit or _call_spent(started, cpu):
                    left[form] = max(left.get(form, 0), 1)  # at least one more call
                    continue
                try:
                    served, left[form] = step(form, min(PAGE_SIZE, limit - done))
                except Exception:  # the last guard: steps record their own failures
                    _logger.exception("KoBo form %s: step failed", form.asset_uid)
                    self._kobo_rollback()
                    served, left[form] = 0, 0
                done += served
                if not served:  # locked by another step: not again in this call
                    todo -= form
            todo = todo.filtered(lambda f: left[f])
            if done >= limit or _call_spent(started, cpu):
                break
        remaining = sum(left.values())
        self._cron_progress(done, remaining, started)
        return done, remaining

    @api.model
    def _cron_progress(self, done, remaining, started):
        """Tell the scheduled action what remains. A call that worked at
        least a second ends its job and triggers it again (a new unit of
        work of the cron worker, with its own limits); a shorter one lets
        Odoo call again at once. Odoo keeps a trigger only when it is not
        older than the job's start, to the second: hence the second."""
        cron_id = self.env.context.get("cron_id")
        if remaining and cron_id:
            wait = 1 - (time.monotonic() - started)
            if wait <= 0 or not done:
                if wait > 0:  # nothing could be done (forms busy): no busy loop
                    time.sleep(wait)
                self.env["ir.cron"].browse(cron_id)._trigger()
                remaining = 0
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)

    def _kobo_commit(self):
        """Commit the work of a step: the seam that tests replace to simulate
        a crash (tests never commit)."""
        if not odoo_module.current_test:
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _kobo_rollback(self):
        """Drop what a failed step left uncommitted (tests never roll back)."""
        if not odoo_module.current_test:
            self.env.cr.rollback()  # pylint: disable=invalid-commit

    def _try_lock(self):
        """Transaction-level advisory lock on this form: two steps of one form
        never run at the same time (released at each commit)."""
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, self.id))
        return self.env.cr.fetchone()[0]

    # ------------------------------------------------------------------
    # The steps (see the module docstring)
    # ------------------------------------------------------------------
    def _step_new(self, limit=PAGE_SIZE):
        return self._run_step(self._do_new, limit)[:2]

    def _step_edits(self, limit=PAGE_SIZE):
        return self._run_step(self._do_edits, limit)[:2]

    def _step_reconcile(self, limit=PAGE_SIZE):
        done, remaining, ok = self._run_step(self._do_reconcile, limit)
        if ok and self.reconcile_retry:
            self.reconcile_retry = False
            self._kobo_commit()
        elif not ok and remaining == 0:  # failed: resumes after the failure's back-off
            self.reconcile_retry = self.next_poll or fields.Datetime.now()
            self._kobo_commit()
        return done, remaining

    def _step_pushed(self, kobo_ids):
        """Import these pushed submissions (read from KoBo) under the form's
        lock; return (done, remaining)."""

        def work(client, _limit):
            self._add_run_counts(self._import_pushed(client, kobo_ids=kobo_ids))
            return len(kobo_ids), 0

        return self._run_step(work, len(kobo_ids))[:2]

    def _sync_step(self, limit=PAGE_SIZE):
        """New submissions; once caught up, the changes listing."""
        done, remaining, ok = self._run_step(self._do_new, limit)
        if remaining or not ok:
            return done, remaining
        more, remaining, _ok = self._run_step(self._do_edits, limit)
        return done + more, remaining

    def _run_step(self, work, limit):
        """Run ``work(client, limit)`` under the lock, in a savepoint, and
        commit. Return (done, remaining, ok)."""
        self.ensure_one()
        if not self._try_lock():
            _logger.info("KoBo form %s: another step is running, skipped", self.asset_uid)
            return 0, 1, False
        self.invalidate_recordset()  # read the cursors under the lock
        try:
            with self.server_id._get_client() as client, self.env.cr.savepoint():
                done, remaining = work(client, limit)
        except Exception as exc:  # any failure stays this form's (module docstring)
            self._sync_failed(exc)
            return 0, 0, False
        self._kobo_commit()
        return done, remaining, True

    def init(self):
        res = super().init()
        # the attempts at mapping a form's next page, written in a transaction of their own
        # (see _page_stalled): no ORM model, no row of the form locked by it
        self.env.cr.execute(
            "CREATE TABLE IF NOT EXISTS kobo_page_attempt (form_id integer PRIMARY KEY, "
            "start_id bigint NOT NULL, attempts integer NOT NULL)"
        )
        return res

    def _page_stalled(self, start):
        """Count an attempt at mapping the page after ``start``, committed at
        once in a transaction of its own (and cleared once the page went
        through): a page whose mapping kills the worker (memory, time limit)
        rolls back everything else, and would be retried forever. From the ``PAGE_ATTEMPTS``-th attempt on, return why
        its submissions are kept in Error, unmapped (else False)."""
        with self.env.registry.cursor() as cr:
            cr.execute(
                """
                INSERT INTO kobo_page_attempt (form_id, start_id, attempts) VALUES (%s, %s, 1)
                ON CONFLICT (form_id) DO UPDATE SET
                    attempts = CASE WHEN kobo_page_attempt.start_id = EXCLUDED.start_id
                                    THEN kobo_page_attempt.attempts + 1 ELSE 1 END,
                    start_id = EXCLUDED.start_id
                RETURNING attempts
                """,
                (self.id, start),
            )
            attempts = cr.fetchone()[0]
        if attempts < PAGE_ATTEMPTS:
            return False
        _logger.warning(
            "KoBo form %s: the page after %s stopped the import %s times: kept unmapped",
            self.asset_uid,
            start,
            attempts - 1,
        )
        return self.env._(
            "Mapping the page of submissions after KoBo ID %(start)s stopped the import "
            "%(count)s times (the worker was ended: a memory or time limit): its submissions "
            "are kept here unmapped. Reprocess them once the cause is found.",
            start=start,
            count=attempts - 1,
        )

    def _page_attempts_clear(self):
        """The page went through (or failed in a way the step reports)."""
        with self.env.registry.cursor() as cr:
            cr.execute("DELETE FROM kobo_page_attempt WHERE form_id = %s", (self.id,))

    def _do_new(self, client, limit):
        """One page of submissions newer than the cursor: stored, mapped, and
        the cursor moved past them."""
        # submissions KoBo pushed are read from KoBo and imported first
        self._add_run_counts(self._import_pushed(client, limit))
        page = self._take_new(limit)
        chained = page is not None
        if page is None:
            page = _first_page(client, self.asset_uid, **self._new_query(self.sync_cursor, limit))
        results, count = page
        remaining = max(count - len(results), 0)
        counts = {}
        if results:
            cursor = max(r["_id"] for r in results)
            if remaining:
                self._prefetch_new(cursor, limit, remaining, chained)
            stalled = self._page_stalled(self.sync_cursor)
            try:
                counts = self.env["kobo.submission"]._import_page(self, results, stalled=stalled)
            except MemoryError:  # the worker's memory limit: an attempt that counts
                raise
            except Exception:  # a failure the step reports (and retries): not a stalled page
                self._page_attempts_clear()
                raise
            self._page_attempts_clear()
            self.sync_cursor = cursor
        self._add_run_counts(counts)
        if remaining:
            self.next_poll = False
        return len(results), remaining

    @staticmethod
    def _new_query(cursor, limit):
        return {"query": {"_id": {"$gt": cursor}}, "sort": {"_id": 1}, "limit": limit}

    def _prefetch_group(self, kind="new"):
        return (self.env.cr.dbname, self.id, kind)

    def _prefetch(self, key, kw, group):
        """Fetch ``/data/`` with ``kw`` in the background (network only)."""
        try:
            client = self.server_id._get_client()
        except UserError:
            return False
        uid = self.asset_uid

        def fetch():
            with client:
                return _first_page(client, uid, **kw)

        if PREFETCH.start(key, fetch, group, server=self.server_id.url, replace=False):
            return True
        client.close()
        return False

    def _prefetch_new(self, cursor, limit, remaining, chained):
        """Keep up to ``PAGES_IN_FLIGHT`` pages after ``cursor`` on their way,
        side by side: page j of the chain that starts at ``base`` is the
        query ``_id > base`` from its (j * (limit - 1))-th result (KoBo gives
        at most 1,000 a page), so that its first submission is the last of
        page j - 1: ``_take_new`` checks that overlap, and a deletion or a
        late submission that shifted the pages meanwhile only costs a direct
        fetch."""
        group = self._prefetch_group()
        chain = CHAINS.get(group) if chained else None
        if chain is None:
            PREFETCH.drop(group)
            chain = CHAINS[group] = {
                "base": cursor,
                "size": limit,
                "next": 0,
                "launched": 0,
                "total": remaining,
            }
        base = chain["base"]
        while (
            chain["launched"] < chain["next"] + PAGES_IN_FLIGHT
            and chain["launched"] * (limit - 1) + bool(chain["launched"]) < chain["total"]
        ):
            j = chain["launched"]
            kw = self._new_query(base, limit)
            if j:
                kw["start"] = j * (limit - 1)
            if not self._prefetch(("new", base, j, limit), kw, group):
                break
            chain["launched"] += 1

    def _take_new(self, limit):
        """The next page after the cursor from the chain fetched ahead
        (``(results, count)``), or None."""
        group = self._prefetch_group()
        chain = CHAINS.get(group)
        if chain is None or chain["size"] != limit:
            return None
        j = chain["next"]
        page = PREFETCH.take(("new", chain["base"], j, limit), group)
        if page is not None and j:
            results, count = page
            if results and results[0].get("_id") == self.sync_cursor:
                page = results[1:], count - j * (limit - 1) - 1
            else:
                page = None  # the pages shifted: fetched again directly
        elif page is not None and chain["base"] != self.sync_cursor:
            page = None
        if page is None:
            CHAINS.pop(group, None)
            PREFETCH.drop(group)
            return None
        chain["next"] = j + 1
        return page

    def _do_edits(self, client, limit):
        """One page of the changes listing (edits, and the recent window);
        finish the run when the listing is done."""
        query = {"_id": {"$gt": self.edit_cursor}}
        edited = {"meta/deprecatedID": {"$exists": True}}
        window = self._kobo_param("recheck_window")
        if window:
            since = datetime.now(timezone.utc) - timedelta(minutes=window)
            recent = {
                # at most the newest RECHECK stored ones (and the gaps among them)
                "_id": {"$gt": self._recheck_floor()},
                "_submission_time": {"$gte": since.strftime("%Y-%m-%dT%H:%M:%S")},
            }
            query["$or"] = [edited, recent]
        else:
            query.update(edited)
        results, count = _first_page(
            client,
            self.asset_uid,
            query=query,
            fields=["_id", "_uuid"],
            sort={"_id": 1},
            limit=limit,
        )
        listed = {r["_id"]: r.get("_uuid") for r in results}
        stored = self._stored(list(listed))
        todo = [
            kobo_id
            for kobo_id, uuid in listed.items()
            if (
                kobo_id in stored
                and stored[kobo_id][1] != "ignored"
                and (stored[kobo_id][0] != uuid or stored[kobo_id][1] == "deleted")
            )
            or (kobo_id not in stored and kobo_id <= self.sync_cursor)
        ]
        self._add_run_counts(self._pull_ids(client, sorted(todo)))
        remaining = max(count - len(results), 0)
        if remaining and results:
            self.edit_cursor = max(listed)
        else:
            remaining = 0
            self.edit_cursor = 0
            self._finish_run()
        return len(results), remaining

    def _recheck_floor(self):
        """The ``_id`` above which the newest ``RECHECK`` stored submissions
        lie (0 when fewer are stored): the re-read window stays one page."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT kobo_id FROM kobo_submission WHERE form_id = %s "
            "ORDER BY kobo_id DESC OFFSET %s LIMIT 1",
            (self.id, RECHECK - 1),
        )
        row = self.env.cr.fetchone()
        return row[0] if row else 0

    def _stored(self, kobo_ids):
        """{kobo id: (uuid, state)} of the stored submissions among these."""
        self.env.flush_all()
        rows = self.env["kobo.submission"]._stored_rows(self.id, kobo_ids)
        return {kobo_id: (uuid, state) for kobo_id, _id, uuid, state, _status in rows}

    def _pull_ids(self, client, kobo_ids, subs=None):
        """Fetch these submissions (URLs kept short), or take them from
        ``subs`` (already fetched), and import them."""
        counts = defaultdict(int)
        batch = []

        def flush():
            for key, value in self.env["kobo.submission"]._import_page(self, batch).items():
                counts[key] += value
            batch.clear()

        if subs is None:
            subs = client.iter_submissions_by_ids(self.asset_uid, kobo_ids)
        for sub in subs:
            batch.append(sub)
            if len(batch) >= PAGE_SIZE:
                flush()
        if batch:
            flush()
        return counts

    def _do_reconcile(self, client, limit):
        """One page of the comparison of KoBo's ``_id``/``_uuid`` with what
        is stored, keyset-paged: pull edits and gaps, mark confirmed
        deletions, move the reconcile cursor."""
        cursor = self.reconcile_cursor
        results, count = _first_page(
            client,
            self.asset_uid,
            query={"_id": {"$gt": cursor}},
            fields=["_id", "_uuid"],
            sort={"_id": 1},
            limit=limit,
        )
        on_kobo = {r["_id"]: r.get("_uuid") for r in results}
        kobo_statuses = {
            r["_id"]: (r.get("_validation_status") or {}).get("uid") or "" for r in results
        }
        top = max(on_kobo) if count > len(results) and on_kobo else None  # None: to the end
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT kobo_id, uuid, state, validation_status FROM kobo_submission "
            "WHERE form_id = %s AND kobo_id > %s AND (%s::int IS NULL OR kobo_id <= %s) "
            "ORDER BY kobo_id LIMIT %s",
            (self.id, cursor, top, top, limit + 1),
        )
        rows = self.env.cr.fetchall()
        statuses = {row[0]: row[3] for row in rows}
        rows = [row[:3] for row in rows]
        if len(rows) > limit:  # more stored than a step compares: stop at the limit-th
            rows = rows[:limit]
            top = rows[-1][0] if top is None else min(top, rows[-1][0])
        if top is not None:
            on_kobo = {k: u for k, u in on_kobo.items() if k <= top}
        stored = {k: (u, state) for k, u, state in rows if top is None or k <= top}
        absent = [k for k, (_u, s) in stored.items() if k not in on_kobo and s not in SETTLED]
        gone = []
        if absent:  # never deleted on one listing's word: ask for them by id
            alive = {
                sub["_id"]: sub.get("_uuid")
                for sub in client.iter_submissions_by_ids(
                    self.asset_uid, absent, fields=["_id", "_uuid"]
                )
            }
            on_kobo.update(alive)
            gone = [k for k in absent if k not in alive]
        if gone:
            subs = self.env["kobo.submission"].search(
                [("form_id", "=", self.id), ("kobo_id", "in", gone)]
            )
            subs._update_outcomes({sub.id: ("deleted", False, False) for sub in subs})
        changed = [
            k
            for k, (uuid, state) in stored.items()
            if k in on_kobo and state != "ignored" and (on_kobo[k] != uuid or state == "deleted")
        ]
        missing = [k for k in on_kobo if k not in stored and k <= self.sync_cursor]
        # a gated form: statuses KoBo changed, also cleared ones (the approvals poll misses those)
        news = self._reconcile_news({k: statuses[k] for k in stored}, kobo_statuses)
        changed += [k for k in news if k not in changed]
        counts = dict(self._pull_ids(client, sorted(changed + missing)), deleted=len(gone))
        totals = dict(self.reconcile_counts or {})
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        if top is None:
            self._finish_reconcile(totals)
            remaining = 0
        else:
            self.write({"reconcile_cursor": top, "reconcile_counts": totals})
            remaining = max(count - len(on_kobo), 1)
        return max(len(on_kobo), len(stored), 1), remaining

    def _finish_reconcile(self, totals):
        if any(totals.values()):
            self.message_post(
                body=self.env._(
                    "Reconciled with KoBo: %(new)s missing imported, %(updated)s updated, "
                    "%(deleted)s deleted on KoBo, %(errors)s errors.",
                    new=totals.get("new", 0),
                    updated=totals.get("updated", 0),
                    deleted=totals.get("deleted", 0),
                    errors=totals.get("errors", 0),
                )
            )
        self.write(
            {
                "reconcile_cursor": 0,
                "reconcile_counts": False,
                "last_reconcile": fields.Datetime.now(),
                "sync_error": False,
            }
        )

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
        """The form is caught up: record the result, post it, tell requesters,
        and poll it again after the interval."""
        result = self.env._(
            "%(new)s new, %(updated)s updated, %(errors)s errors",
            new=self.run_new,
            updated=self.run_updated,
            errors=self.run_errors,
        )
        now = fields.Datetime.now()
        vals = {
            "last_sync": now,
            "run_new": 0,
            "run_updated": 0,
            "run_errors": 0,
            "throttle_count": 0,
            "next_poll": now + timedelta(minutes=self._kobo_param("poll_interval")),
        }
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
        # forms of one server may finish at once (parallel job runners): the
        # server's summary is best effort, the form's own record is what counts
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                self.server_id.write(server_vals)
        except CONCURRENT_UPDATE:
            _logger.info("KoBo server %s: summary updated by another form", self.server_id.id)

    def _failure_message(self, exc):
        if isinstance(exc, errors.KoboError):
            return self.server_id._kobo_error_message(exc)
        if isinstance(exc, UserError):  # ValidationError, AccessError, ...
            return exc.args[0]
        if isinstance(exc, KeyError):
            return self.env._(
                "The mapping names a field or question that does not exist (any more): "
                "%(name)s. Fix the mapping.",
                name=exc.args[0] if exc.args else "?",
            )
        if isinstance(exc, psycopg2.Error):
            text = (exc.pgerror or str(exc)).strip().splitlines()
            return self.env._("Database error: %(error)s", error=text[0] if text else "?")
        return self.env._(
            "Unexpected error (%(type)s): %(error)s", type=type(exc).__name__, error=exc
        )

    def _backoff_seconds(self, exc):
        """How long a form waits after a failure: after a 429, KoBo's
        Retry-After (a minute when it gives none), doubled on each new
        refusal; after a passing failure (5xx, network, an HTML page) at most
        a minute; after anything else (a mapping to fix), the poll interval."""
        interval = self._kobo_param("poll_interval") * 60
        if isinstance(exc, errors.KoboThrottled):
            base = exc.retry_after if exc.retry_after else 60
            return min(max(base, 1) * 2**self.throttle_count, MAX_BACKOFF)
        if isinstance(exc, TRANSIENT):
            return min(60, interval)
        return interval

    def _sync_failed(self, exc):
        """Record a failed step on this form (its requesters told), commit.
        The savepoint of the step was rolled back: the cursor is usable."""
        message = self._failure_message(exc)
        expected = isinstance(exc, errors.KoboError | UserError)
        _logger.warning(
            "KoBo form %s: sync failed (%s)",
            self.asset_uid,
            type(exc).__name__,
            exc_info=not expected,
        )
        throttled = isinstance(exc, errors.KoboThrottled)
        now = fields.Datetime.now()
        self.write(
            {
                "sync_error": message,
                "sync_step_date": now,
                "next_poll": now + timedelta(seconds=self._backoff_seconds(exc)),
                "throttle_count": self.throttle_count + 1 if throttled else 0,
            }
        )
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


# submission states a listing's absence does not change
SETTLED = ("deleted", "ignored")
