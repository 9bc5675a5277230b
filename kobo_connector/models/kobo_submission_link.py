"""Which records a submission made: one link per (submission, mapping).

A form may have several enabled mappings (a household's contact, then its
distribution picking): each one that applies to a submission makes (or
updates) one record, linked here. The first applying mapping's record is the
submission's main record (``res_model``/``res_id`` on the submission). The
engine writes the links in bulk SQL (no ORM create per record, no chatter
post): every field below is engine-owned (``kobo_system``), no user writes
it."""

from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError


class KoboSubmissionLink(models.Model):
    _name = "kobo.submission.link"
    _description = "KoBo Submission Record"
    _inherit = ["kobo.system.mixin"]
    _order = "submission_id, sequence, id"

    submission_id = fields.Many2one(
        "kobo.submission",
        required=True,
        readonly=True,
        ondelete="cascade",
        index=True,
        kobo_system=True,
    )
    mapping_id = fields.Many2one(
        "kobo.mapping",
        required=True,
        readonly=True,
        ondelete="cascade",
        index=True,
        kobo_system=True,
    )
    sequence = fields.Integer(related="mapping_id.sequence")
    company_id = fields.Many2one(related="submission_id.company_id", store=True, kobo_system=True)
    form_id = fields.Many2one(related="submission_id.form_id")
    res_model = fields.Char(
        string="Record Model", required=True, readonly=True, index=True, kobo_system=True
    )
    res_id = fields.Many2oneReference(
        string="Record ID",
        model_field="res_model",
        required=True,
        readonly=True,
        index=True,
        kobo_system=True,
    )
    record_name = fields.Char(string="Record", compute="_compute_record_name")
    import_lines = fields.Json(
        readonly=True,
        prefetch=False,
        help="{one2many field: [line ids]}: the lines the import made, which a KoBo edit "
        "replaces (lines added in Odoo stay).",
        kobo_system=True,
    )

    _sql_constraints = [
        (
            "submission_mapping_uniq",
            "unique(submission_id, mapping_id)",
            "A submission makes one record per mapping.",
        ),
    ]

    @api.depends("res_model", "res_id")
    def _compute_record_name(self):
        names = _record_names(self.env, [(link.res_model, link.res_id) for link in self])
        for link in self:
            link.record_name = names.get((link.res_model, link.res_id), False)

    def action_open_record(self):
        self.ensure_one()
        if self.res_model not in self.env or not self.env[self.res_model].browse(
            self.res_id
        ).exists().has_access("read"):
            raise UserError(self.env._("This record does not exist (any more)."))
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }


def _record_names(env, pairs):
    """{(model, id): display name} within what the reader may read: one
    search per model; a record the reader cannot see has no name (and no
    AccessError)."""
    ids_by_model = defaultdict(set)
    for model, res_id in pairs:
        if model and res_id and model in env:
            ids_by_model[model].add(res_id)
    names = {}
    for model, ids in ids_by_model.items():
        Model = env[model].with_context(active_test=False)
        if not Model.has_access("read"):
            continue
        for record in Model.search([("id", "in", list(ids))]):
            names[model, record.id] = record.display_name
    return names


class KoboSubmissionSource(models.AbstractModel):
    """The smart button of a record made from KoBo: its submission(s),
    computed from the links (no chatter post, no column on the record)."""

    _name = "kobo.submission.source"
    _description = "Made from KoBo submissions"

    kobo_submission_count = fields.Integer(
        string="KoBo Submissions", compute="_compute_kobo_submission_count"
    )

    def _kobo_links(self):
        Link = self.env["kobo.submission.link"]
        if not Link.has_access("read"):
            return Link
        return Link.search([("res_model", "=", self._name), ("res_id", "in", self.ids)])

    def _compute_kobo_submission_count(self):
        counts = defaultdict(set)
        for link in self._kobo_links():
            counts[link.res_id].add(link.submission_id.id)
        for record in self:
            record.kobo_submission_count = len(counts.get(record.id, ()))

    def action_open_kobo_submissions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kobo_connector.kobo_submission_action"
        )
        action["domain"] = [("id", "in", self._kobo_links().submission_id.ids)]
        action["context"] = {}
        return action


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "kobo.submission.source"]
