from odoo import fields, models, tools
from odoo.tools import SQL


class KoboSubmission(models.Model):
    _inherit = "kobo.submission"

    def init(self):
        super().init()
        # the dashboard's submissions per day, and the graphs by day, of a form
        tools.create_index(
            self.env.cr,
            "kobo_submission_form_time_index",
            self._table,
            ["form_id", "submission_time"],
        )


class KoboCollectorReport(models.Model):
    """Per collector (KoBo's ``_submitted_by``) and form: what a field
    supervisor checks. A view of ``kobo_submission``, so that its measures
    are numbers a pivot can add up."""

    _name = "kobo.collector.report"
    _description = "KoBo Collectors"
    _auto = False
    _rec_name = "submitted_by"
    _order = "last_submission desc"

    submitted_by = fields.Char(string="Collector", readonly=True)
    form_id = fields.Many2one("kobo.form", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    submission_count = fields.Integer(string="Submissions", readonly=True)
    error_count = fields.Integer(string="Errors", readonly=True)
    last_submission = fields.Datetime(string="Last Submission", readonly=True, aggregator="max")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE VIEW %s AS (
                    SELECT min(s.id) AS id,
                           s.submitted_by,
                           s.form_id,
                           s.company_id,
                           count(*) AS submission_count,
                           count(*) FILTER (WHERE s.state = 'error') AS error_count,
                           max(s.submission_time) AS last_submission
                      FROM kobo_submission s
                     WHERE s.state != 'deleted'
                  GROUP BY s.submitted_by, s.form_id, s.company_id
                )""",
                SQL.identifier(self._table),
            )
        )
