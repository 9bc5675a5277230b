"""After-import actions: a server action run on each record an import
created (e.g. send a welcome email, confirm a picking).

A server action can run code and only administrators can read them, so a
KoBo manager picks among those a system administrator approved for KoBo
imports (``ir.actions.server.kobo_approved``), through a read-only view of
their names and models (``kobo.import.action``), never ``ir.actions.server``
itself; the choice is checked on the server (approved, same model as the
mapping). The action runs in the after-import cron, after the import is
committed, never inside a push answer, as the import user, once per
submission (on the record its first import produced); its failure is
written on the submission and does not undo the import.
"""

import logging

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

_logger = logging.getLogger(__name__)

ACTION_BATCH = 200


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    kobo_approved = fields.Boolean(
        string="Approved for KoBo Imports",
        groups="base.group_system",
        help="KoBo managers may run this action on the records their imports create.",
    )


class KoboImportAction(models.Model):
    """The approved server actions, as KoBo managers may see them."""

    _name = "kobo.import.action"
    _description = "Server Action Approved for KoBo Imports"
    _auto = False
    _order = "name"

    name = fields.Char(readonly=True)
    model_name = fields.Char(readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            f"""
            CREATE VIEW {self._table} AS
            SELECT a.id, a.name->>'en_US' AS name, m.model AS model_name
              FROM ir_act_server a
              JOIN ir_model m ON m.id = a.model_id
             WHERE a.kobo_approved
            """
        )


class KoboMapping(models.Model):
    _inherit = "kobo.mapping"

    after_import_action_id = fields.Many2one(
        "kobo.import.action",
        string="After-Import Action",
        domain="[('model_name', '=', model_name)]",
        help="Run on each record created by an import, after it is committed. Only server "
        "actions a system administrator approved for KoBo imports can be chosen.",
    )

    @api.constrains("after_import_action_id", "model_name")
    def _check_after_import_action(self):
        for mapping in self.filtered("after_import_action_id"):
            error = mapping._after_import_action_error()
            if error:
                raise ValidationError(error)

    def _after_import_action_error(self):
        """Why this mapping's action may not run (or no longer), or False:
        checked when it is chosen and again at every run."""
        # sudo: only administrators can read server actions; this checks the approval
        action = self.env["ir.actions.server"].sudo().browse(self.after_import_action_id.id)
        if not (action.exists() and action.kobo_approved):
            return self.env._("This server action is not approved for KoBo imports.")
        if action.model_id.model != self.model_name:
            return self.env._(
                "The after-import action must act on %(model)s, the model of the mapping.",
                model=self.model_name,
            )
        return False

    def write(self, vals):
        if vals.get("after_import_action_id"):
            # an action chosen now runs on what is imported from now on, not on the past
            self.env.flush_all()
            self.env.cr.execute(
                "UPDATE kobo_submission SET action_state = 'none' "
                "WHERE form_id = ANY(%s) AND action_state IS NULL",
                (self.form_id.ids,),
            )
        return super().write(vals)


class KoboSubmission(models.Model):
    _inherit = "kobo.submission"

    action_state = fields.Selection(
        [("none", "None"), ("done", "Done"), ("error", "Failed")],
        string="After-Import Action",
        readonly=True,
        copy=False,
        kobo_system=True,
    )
    action_error = fields.Text(
        string="After-Import Action Error", readonly=True, copy=False, kobo_system=True
    )

    def init(self):
        res = super().init()
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS kobo_submission_action_todo_idx ON kobo_submission (id) "
            "WHERE action_state IS NULL"
        )
        return res

    @api.model
    def _run_after_import_actions(self, limit=ACTION_BATCH):
        """Run the enabled mappings' after-import actions on the records of
        submissions imported since; settle the others. Return how many ran."""
        self.env.flush_all()
        cr = self.env.cr
        Mapping = self.env["kobo.mapping"]
        with_action = Mapping.search(
            [("enabled", "=", True), ("after_import_action_id", "!=", False)]
        )
        cr.execute(
            "UPDATE kobo_submission SET action_state = 'none' WHERE action_state IS NULL "
            "AND state = 'imported' AND NOT (form_id = ANY(%s))",
            (with_action.form_id.ids,),
        )
        ran = 0
        for form in with_action.form_id:
            mappings = with_action.filtered(lambda m, f=form: m.form_id == f).sorted(
                lambda m: (m.sequence, m.id)
            )
            cr.execute(
                "SELECT id FROM kobo_submission WHERE action_state IS NULL AND state = 'imported' "
                "AND form_id = %s ORDER BY id LIMIT %s",
                (form.id, limit),
            )
            subs = self.browse([row[0] for row in cr.fetchall()])
            env = form._import_env()
            # approval withdrawn or model changed since it was chosen: refused, at every run
            refused = {mapping.id: mapping._after_import_action_error() for mapping in mappings}
            for sub in subs:
                # each mapping's action on the record that mapping made
                done, failures = 0, []
                for mapping in mappings:
                    link = sub.link_ids.filtered(lambda link, m=mapping: link.mapping_id == m)
                    record = link and env[link.res_model].browse(link.res_id).exists()
                    if not record:
                        continue
                    if refused[mapping.id]:
                        failures.append(f"{mapping.name}: {refused[mapping.id]}")
                        continue
                    action = env["ir.actions.server"].browse(mapping.after_import_action_id.id)
                    try:
                        with cr.savepoint():
                            action.with_context(
                                active_model=record._name,
                                active_id=record.id,
                                active_ids=record.ids,
                            ).run()
                    except Exception as exc:  # any failure of the action: reported, import kept
                        _logger.info("KoBo submission %s: after-import action failed", sub.id)
                        failures.append(f"{mapping.name}: {exc}"[:2000])
                    done += 1
                if failures:
                    sub.write({"action_state": "error", "action_error": "\n".join(failures)})
                else:
                    sub.write({"action_state": "done" if done else "none", "action_error": False})
                ran += done
            form._kobo_commit()
        return ran
