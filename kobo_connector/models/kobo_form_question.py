from odoo import api, fields, models

# KoBo's system fields: (type, label) of those in every submission, in every
# form's catalogue so that a mapping picks them like questions
SYSTEM_QUESTIONS = {
    "_id": ("integer", "KoBo ID"),
    "_uuid": ("text", "Submission UUID"),
    "_submission_time": ("datetime", "Submission time"),
    "_submitted_by": ("text", "Submitted by"),
}
SYSTEM_SEQUENCE = 100000  # after the form's own questions


class KoboFormQuestion(models.Model):
    """A node of a form's question catalogue: a question, a group or a repeat,
    read from the form's deployed KoBo version."""

    _name = "kobo.form.question"
    _description = "KoBo Form Question"
    _inherit = ["kobo.system.mixin"]
    _order = "form_id, sequence, id"
    _rec_names_search = ["xpath", "label"]

    form_id = fields.Many2one(
        "kobo.form", required=True, ondelete="cascade", index=True, kobo_system="create"
    )
    company_id = fields.Many2one(related="form_id.company_id", store=True, kobo_system=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer()
    xpath = fields.Char(
        string="XPath",
        required=True,
        help="The question's path in the form (group/sub/name): the key of its "
        "answer in a submission.",
    )
    name = fields.Char(required=True)
    type = fields.Char(required=True)
    label = fields.Char()
    label_translations = fields.Text(string="Labels by Language")
    hint = fields.Char()
    appearance = fields.Char(help="The question's XLSForm appearance, e.g. numbers, multiline.")
    constraint = fields.Char(help="The question's XLSForm constraint, e.g. a regex().")
    required = fields.Boolean()
    is_group = fields.Boolean(string="Group")
    is_repeat = fields.Boolean(string="Repeat Group")
    is_metadata = fields.Boolean(string="Metadata")
    is_system = fields.Boolean(
        string="KoBo System Field",
        help="A field KoBo adds to every submission (_id, _uuid, _submission_time, "
        "_submitted_by): mappable like a question, not part of the form.",
    )
    group_xpath = fields.Char(string="In Group")
    repeat_xpath = fields.Char(string="In Repeat")
    parent_id = fields.Many2one("kobo.form.question", string="Parent Group", ondelete="set null")
    child_ids = fields.One2many("kobo.form.question", "parent_id", string="Contents")
    list_name = fields.Char(string="Choice List")
    choice_ids = fields.One2many("kobo.form.choice", "question_id", string="Choices")

    _sql_constraints = [
        ("xpath_uniq", "unique(form_id, xpath)", "A form has one question per XPath."),
    ]

    @api.depends("label", "xpath")
    def _compute_display_name(self):
        for question in self:
            question.display_name = (
                f"{question.label} ({question.xpath})"
                if question.label and question.label != question.name
                else question.xpath
            )


class KoboFormChoice(models.Model):
    _name = "kobo.form.choice"
    _description = "KoBo Question Choice"
    _inherit = ["kobo.system.mixin"]
    _order = "question_id, sequence, id"

    question_id = fields.Many2one(
        "kobo.form.question", required=True, ondelete="cascade", index=True, kobo_system="create"
    )
    sequence = fields.Integer()
    name = fields.Char(required=True, help="The value stored in submissions.")
    label = fields.Char()
    label_translations = fields.Text(string="Labels by Language")
