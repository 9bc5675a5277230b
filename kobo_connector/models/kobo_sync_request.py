from odoo import fields, models


class KoboSyncRequest(models.Model):
    """A user's "Sync from KoBo" on a form: the cron takes the form first,
    whatever its poll interval (only KoBo's Retry-After delays it), and when
    it is caught up (or fails) tells the requester on the bus what it did."""

    _name = "kobo.sync.request"
    _description = "KoBo Sync Request"
    _order = "id"

    form_id = fields.Many2one("kobo.form", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one("res.users", required=True, ondelete="cascade")
