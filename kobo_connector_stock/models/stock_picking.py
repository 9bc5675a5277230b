from odoo import models
from odoo.exceptions import UserError, ValidationError


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "kobo.submission.source"]  # its submissions' smart button

    def _kobo_process(self, action):
        """Mark as to do (``confirm``), then validate (``validate``); return
        False when done, else why the picking needs a person: a wizard
        (backorder, immediate transfer) or an error. Never makes a
        backorder on its own."""
        self.ensure_one()
        if action not in ("confirm", "validate") or self.state in ("done", "cancel"):
            return False
        try:
            with self.env.cr.savepoint():
                if self.state == "draft":
                    self.action_confirm()
                if action != "validate":
                    return False
                result = self.button_validate()
        except (UserError, ValidationError) as exc:
            return self.env._("Needs manual validation: %(reason)s", reason=exc.args[0])
        if self.state == "done":
            return False
        what = result.get("name") if isinstance(result, dict) else ""
        return self.env._(
            "Needs manual validation: Odoo asks a question (%(question)s).",
            question=what or self.env._("a wizard"),
        )
