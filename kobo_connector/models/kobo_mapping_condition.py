"""Conditions of a mapping, built without code from the form's questions:
the mapping applies to a submission only when all of them hold."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..kobo_kpi.conditions import NO_VALUE, Condition, comparable

OPERATORS = [
    ("is", "is"),
    ("is_not", "is not"),
    ("in", "is one of"),
    ("contains", "contains"),
    ("set", "is answered"),
    ("not_set", "is not answered"),
    ("gt", "is greater than"),
    ("lt", "is less than"),
]
CHOICE_OPERATORS = ("in", "contains")


def condition_words(env):
    """The operators' words (holds, does not hold) in the user's language."""
    _ = env._
    return {
        "is": (_("is"), _("is not")),
        "is_not": (_("is not"), _("is")),
        "in": (_("is one of"), _("is none of")),
        "contains": (_("contains"), _("does not contain")),
        "set": (_("is answered"), _("is not answered")),
        "not_set": (_("is not answered"), _("is answered")),
        "gt": (_("is greater than"), _("is not greater than")),
        "lt": (_("is less than"), _("is not less than")),
    }


class KoboMappingCondition(models.Model):
    _name = "kobo.mapping.condition"
    _description = "KoBo Mapping Condition"
    _inherit = ["kobo.system.mixin"]
    _order = "mapping_id, sequence, id"

    mapping_id = fields.Many2one(
        "kobo.mapping", required=True, ondelete="cascade", index=True, kobo_system="create"
    )
    company_id = fields.Many2one(related="mapping_id.company_id", store=True, kobo_system=True)
    form_id = fields.Many2one(related="mapping_id.form_id")
    sequence = fields.Integer(default=10)
    question_path = fields.Char(string="Question XPath")
    question_id = fields.Many2one(
        "kobo.form.question",
        string="Question",
        compute="_compute_question_id",
        inverse="_inverse_question_id",
        domain="[('form_id', '=', form_id), ('is_group', '=', False), "
        "('repeat_xpath', '=', False)]",
        help="A question of the form, or KoBo's Submitted by / Submission time.",
    )
    question_type = fields.Char(compute="_compute_question_type")
    has_choices = fields.Boolean(compute="_compute_question_type")
    operator = fields.Selection(OPERATORS, required=True, default="is")
    value = fields.Char(help="The answer compared with (a number or a date for greater/less).")
    choice_ids = fields.Many2many(
        "kobo.form.choice",
        string="Choices",
        domain="[('question_id', '=', question_id)]",
        help="The question's choices, under their labels.",
    )
    description = fields.Char(compute="_compute_description")

    @api.model_create_multi
    def create(self, vals_list):
        return super().create([self._picked_question(vals) for vals in vals_list])

    def write(self, vals):
        return super().write(self._picked_question(vals))

    def _picked_question(self, vals):
        """The picked question's XPath set with the rest (checked with it)."""
        if "question_id" in vals:
            vals = dict(vals)
            question = self.env["kobo.form.question"].browse(vals.pop("question_id") or [])
            vals["question_path"] = question.exists().xpath or False
        return vals

    @api.depends("question_path", "mapping_id.form_id")
    def _compute_question_id(self):
        Question = self.env["kobo.form.question"].with_context(active_test=False)
        for cond in self:
            cond.question_id = cond.question_path and Question.search(
                [("form_id", "=", cond.mapping_id.form_id.id), ("xpath", "=", cond.question_path)],
                limit=1,
            )

    @api.depends("question_id")
    def _compute_question_type(self):
        for cond in self:
            cond.question_type = cond.question_id.type
            cond.has_choices = bool(cond.question_id.choice_ids)

    def _inverse_question_id(self):
        for cond in self:
            cond.question_path = cond.question_id.xpath

    @api.depends("question_path", "operator", "value", "choice_ids")
    def _compute_description(self):
        for cond in self:
            words = condition_words(self.env)
            cond.description = cond._condition().describe(words=words) if cond.question_path else ""

    @api.constrains("question_path", "operator", "value", "choice_ids", "mapping_id")
    def _check_condition(self):
        for cond in self:
            if not cond.question_path:
                raise ValidationError(self.env._("Choose the question of each condition."))
            if cond.operator in NO_VALUE:
                continue
            if cond.choice_ids and cond.choice_ids.question_id != cond.question_id:
                raise ValidationError(
                    self.env._("Pick the choices of the condition's own question.")
                )
            if cond.operator in CHOICE_OPERATORS and not (cond.choice_ids or cond.value):
                raise ValidationError(
                    self.env._(
                        "Condition on %(question)s: pick the choices.",
                        question=cond.question_path,
                    )
                )
            if cond.operator not in CHOICE_OPERATORS and not (cond.value or cond.choice_ids):
                raise ValidationError(
                    self.env._(
                        "Condition on %(question)s: give the value.", question=cond.question_path
                    )
                )
            if (
                cond.operator in ("gt", "lt")
                and comparable(cond.value, cond.question_type or "") is None
            ):
                raise ValidationError(self.env._("Compare with a number or a date."))

    def _condition(self):
        """The pure condition this record stands for."""
        self.ensure_one()
        question = self.question_id
        choices = self.choice_ids
        if choices:
            values = tuple(choices.mapped("name"))
            labels = tuple(c.label or c.name for c in choices)
        else:
            values = (self.value,) if self.value else ()
            labels = ()
            if question.choice_ids and self.value:  # a choice typed by its name
                choice = question.choice_ids.filtered(lambda c: c.name == self.value)[:1]
                labels = (choice.label,) if choice.label else ()
        if self.operator not in CHOICE_OPERATORS and len(values) > 1:
            values, labels = values[:1], labels[:1]
        return Condition(
            path=self.question_path,
            operator=self.operator,
            values=values,
            question_type=question.type or "",
            question_label=question.label or self.question_path,
            value_labels=labels,
        )


class KoboMapping(models.Model):
    _inherit = "kobo.mapping"

    condition_ids = fields.One2many(
        "kobo.mapping.condition", "mapping_id", string="Conditions", copy=True
    )
    conditions_text = fields.Char(
        string="Applies", compute="_compute_conditions_text", help="When the mapping applies."
    )

    @api.depends("condition_ids.description")
    def _compute_conditions_text(self):
        for mapping in self:
            parts = [c.description for c in mapping.condition_ids if c.description]
            mapping.conditions_text = (
                self.env._("when %(conditions)s", conditions=self.env._(" and ").join(parts))
                if parts
                else self.env._("always")
            )

    record_count = fields.Integer(
        string="Records", compute="_compute_record_count", help="Records this mapping made."
    )

    def _compute_record_count(self):
        counts = dict(
            self.env["kobo.submission.link"]._read_group(
                [("mapping_id", "in", self.ids)], ["mapping_id"], ["__count"]
            )
        )
        for mapping in self:
            mapping.record_count = counts.get(mapping, 0)

    def _conditions(self):
        return [cond._condition() for cond in self.condition_ids]
