"""Submissions KoBo pushed (REST Services) and the import has not read yet.

The push receiver (controllers/push.py) records only the identity of the
submission (``_id``): the body of a push is a trigger, not the truth. The
import cron reads each pending submission from KoBo with the server's token
and maps it through the ordinary pull path (``kobo.form._import_pushed``),
then forgets the pending row. One row per (form, KoBo id): a duplicate push
changes nothing.
"""

from odoo import fields, models

from .kobo_form_sync import PUSH_QUIET


class KoboPendingPush(models.Model):
    _name = "kobo.pending.push"
    _description = "KoBo Pushed Submission (pending import)"
    _inherit = ["kobo.system.mixin"]
    _order = "form_id, kobo_id"
    _rec_name = "kobo_id"
    _log_access = False

    form_id = fields.Many2one(
        "kobo.form", required=True, readonly=True, ondelete="cascade", index=True, kobo_system=True
    )
    kobo_id = fields.Integer(
        string="KoBo ID", required=True, readonly=True, aggregator=None, kobo_system=True
    )
    received_on = fields.Datetime(readonly=True, default=fields.Datetime.now)

    _sql_constraints = [
        ("push_uniq", "unique(form_id, kobo_id)", "A pushed submission is recorded once per form."),
    ]

    def _record(self, form_id, kobo_id):
        """Record a push (plain SQL: a duplicate is a no-op) and wake the
        scheduled action of pushes, once for the pushes of a form within
        ``PUSH_QUIET`` (it looks again that long after the newest push it
        served). Return False when the submission is already stored in Odoo."""
        cr = self.env.cr
        cr.execute(
            "SELECT 1 FROM kobo_submission WHERE form_id = %s AND kobo_id = %s", (form_id, kobo_id)
        )
        if cr.fetchone():
            return False
        cr.execute(
            """
            INSERT INTO kobo_pending_push (form_id, kobo_id, received_on)
            VALUES (%s, %s, clock_timestamp() AT TIME ZONE 'UTC')
            ON CONFLICT (form_id, kobo_id) DO NOTHING
            RETURNING received_on
            """,
            (form_id, kobo_id),
        )
        row = cr.fetchone()
        if row is None:
            return True  # already pending: already woken
        cr.execute(
            "SELECT 1 FROM kobo_pending_push WHERE form_id = %s AND kobo_id != %s "
            "AND received_on > %s - make_interval(secs => %s) LIMIT 1",
            (form_id, kobo_id, row[0], PUSH_QUIET),
        )
        if not cr.fetchone():
            self.env.ref("kobo_connector.ir_cron_kobo_import_pushed")._trigger()
        return True
