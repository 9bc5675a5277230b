"""kobo.form with queue_job: the scheduled action and *Sync from KoBo* enqueue
one job per form step in channel ``root.kobo``; a step that leaves work
enqueues the next. Engine calls go through :mod:`.engine`."""

import logging

from odoo import SUPERUSER_ID, api, models

from odoo.addons.queue_job.exception import FailedJobError, RetryableJobError
from odoo.addons.queue_job.job import identity_exact

from . import engine

_logger = logging.getLogger(__name__)

CHANNEL = "root.kobo"


class KoboForm(models.Model):
    _inherit = "kobo.form"

    # ------------------------------------------------------------------
    # Enqueue (instead of importing in the cron)
    # ------------------------------------------------------------------
    def _kobo_enqueue(self, step="import"):
        """One job per form: its identity key (form, step) skips a form whose
        step already waits in the queue. It does not lock: two jobs of a form
        may still run at once, and the form's lock makes the second a no-op."""
        # OdooBot (the superuser by convention) enqueues: any user allowed to
        # sync may queue a job without rights on queue.job; the engine writes
        # each job's records as the form's import user (kobo.form._import_env())
        for form in self.with_user(SUPERUSER_ID):
            form.with_delay(
                channel=CHANNEL,
                identity_key=identity_exact,
                description=form.env._(
                    "KoBo %(step)s: %(form)s",
                    step=form.env._("import") if step == "import" else form.env._("reconcile"),
                    form=form.name,
                ),
            )._kobo_job_step(step)

    def _dispatch_sync(self):
        self._kobo_enqueue("import")

    @api.model
    def _cron_import(self, limit=engine.PAGE_SIZE):
        forms = engine.forms_to_import(self)
        forms._kobo_enqueue("import")
        self.env["ir.cron"]._notify_progress(done=len(forms), remaining=0)
        return 0, 0

    @api.model
    def _cron_reconcile(self, limit=engine.PAGE_SIZE):
        engine.forms_to_reconcile(self)._kobo_enqueue("reconcile")

    # ------------------------------------------------------------------
    # The job
    # ------------------------------------------------------------------
    def _kobo_job_step(self, step="import"):
        """One bounded step of this form (``import`` or ``reconcile``), its
        records written as its import user; enqueue the next step while work remains. A form whose
        lock is taken (a job or a cron step already on it) ends quietly: the
        lock holder carries on."""
        self.ensure_one()
        if step not in engine.STEPS:
            raise FailedJobError(f"Unknown KoBo step {step!r}")
        form = self.with_context(kobo_queue_job=True)
        if not engine.is_importable(form):
            return "Not importable any more (archived, mapping disabled or server disconnected)."
        if not engine.try_lock(form):
            return "Another import of this form is running: it carries on."
        done, remaining = engine.run_step(form, step)
        if remaining:
            self._kobo_enqueue(step)
        return f"{step}: {done} done, {remaining} remaining"

    def _sync_failed(self, exc):
        """In a job: a transient KoBo error (429, 5xx, a reset) retries the job
        after KoBo's Retry-After; any other error is recorded on the form as
        without queue_job and ends the job with the same message."""
        if not self.env.context.get("kobo_queue_job"):
            return super()._sync_failed(exc)
        message = engine.error_message(self, exc)
        if isinstance(exc, engine.TRANSIENT):
            seconds = engine.retry_after(exc)
            _logger.info("KoBo form %s: %s, job retried later", self.asset_uid, type(exc).__name__)
            self.write({"sync_error": message})
            engine.commit(self)
            raise RetryableJobError(message, seconds=seconds) from exc
        super()._sync_failed(exc)
        raise FailedJobError(message) from exc
