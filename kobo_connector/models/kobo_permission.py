from odoo import fields, models


class KoboPermission(models.Model):
    """A KoBo (KPI) permission that may be given on a form, under KoBo's own
    label. Which of them a given form accepts is asked to KoBo each time
    (the form's ``assignable_permissions``)."""

    _name = "kobo.permission"
    _description = "KoBo Permission"
    _inherit = ["kobo.system.mixin"]
    _order = "sequence, id"

    name = fields.Char(string="Label", required=True, translate=True)
    codename = fields.Char(required=True, readonly=True, kobo_system=True)
    sequence = fields.Integer(default=10)
    on_submissions = fields.Boolean(
        readonly=True,
        help="A permission on submissions, which may be limited to the submissions of some users.",
    )

    _sql_constraints = [
        ("codename_uniq", "unique(codename)", "A KoBo permission is defined once."),
    ]
