"""The one adapter between the queue jobs and kobo_connector's import engine.

Every engine name the glue calls is here (and, on ``kobo.form``, the four
methods it overrides: ``_cron_import``, ``_cron_reconcile`` and the hooks
``_dispatch_sync`` and ``_sync_failed``), so that following a change of the
engine's step API is a change of this file (``kobo.server._get_client`` is
overridden too: in a job, the client waits less by itself).
"""

from odoo.addons.kobo_connector.kobo_kpi import errors
from odoo.addons.kobo_connector.models.kobo_form_sync import PAGE_SIZE

STEPS = ("import", "reconcile")
# KoBo's answers worth retrying later: 429 / 503 with Retry-After, other 5xx,
# and the network (resets, timeouts, a server restarting)
TRANSIENT = (errors.KoboThrottled, errors.KoboServerError, errors.KoboConnectionError)


def forms_to_import(model):
    """The forms due for an import step (poll interval, requests, pushes)."""
    return model._forms_to_import()


def forms_to_reconcile(model):
    """The forms due for a reconcile step."""
    return model._forms_to_reconcile()


def is_importable(form):
    return bool(form.filtered_domain(form._importable_domain()))


def try_lock(form):
    """The form's own lock (the real guard against two imports at once):
    taken in the job's transaction, released by the step's commit."""
    return form._try_lock()


def run_step(form, step):
    """Run one bounded, committed step of ``form``; return (done, remaining):
    ``remaining`` > 0 means the step left work for a next one."""
    if step == "import":
        return form._sync_step(PAGE_SIZE)
    return form._step_reconcile(PAGE_SIZE)


def error_message(form, exc):
    """The sentence the form shows for ``exc``."""
    if isinstance(exc, errors.KoboError):
        return form.server_id._kobo_error_message(exc)
    return exc.args[0]


def retry_after(exc):
    """KoBo's Retry-After in seconds, or None (the job function's pattern)."""
    seconds = getattr(exc, "retry_after", None)
    return None if seconds is None else max(1, round(seconds))


def commit(form):
    form._kobo_commit()
