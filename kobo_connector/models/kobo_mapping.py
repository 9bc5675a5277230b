from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..kobo_kpi.submission import SUPPORTED_TYPES, ConversionError, FieldSpec, make_converter

# binary/image need the attachment download of a later stage
MAPPABLE_TYPES = sorted(SUPPORTED_TYPES - {"binary", "image"})


class KoboMapping(models.Model):
    """How the submissions of one KoBo form become records of one Odoo model."""

    _name = "kobo.mapping"
    _description = "KoBo Mapping"
    _order = "form_id, id"

    name = fields.Char(compute="_compute_name", store=True, readonly=False)
    form_id = fields.Many2one("kobo.form", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="form_id.company_id", store=True)
    model_id = fields.Many2one(
        "ir.model",
        string="Creates",
        required=True,
        ondelete="cascade",
        domain=[("transient", "=", False)],
    )
    model_name = fields.Char(related="model_id.model", string="Model Name")
    enabled = fields.Boolean(
        copy=False, help="Submissions are imported only through an enabled mapping (one per form)."
    )
    line_ids = fields.One2many(
        "kobo.mapping.line",
        "mapping_id",
        string="Fields",
        domain=[("parent_id", "=", False)],
        copy=True,
    )
    match_policy = fields.Selection(
        [
            ("create", "Always create a new record"),
            ("match", "Update the record with the same key"),
        ],
        string="Existing Records",
        default="create",
        required=True,
    )
    match_question_path = fields.Char(
        string="Key Question", help="XPath of the question whose answer identifies the record."
    )
    match_field_id = fields.Many2one(
        "ir.model.fields",
        string="Key Field",
        ondelete="cascade",
        domain="[('model_id', '=', model_id), ('store', '=', True)]",
    )
    edit_policy = fields.Selection(
        [("update", "Update the record"), ("ignore", "Keep the record as first imported")],
        string="On KoBo Edits",
        default="update",
        required=True,
    )

    @api.depends("form_id.name", "model_id.name")
    def _compute_name(self):
        for mapping in self:
            # no dangling "Form →" while the model is still to be chosen
            mapping.name = (
                f"{mapping.form_id.name or ''} → {mapping.model_id.name}"
                if mapping.model_id
                else False
            )

    def init(self):
        # at most one enabled mapping per form, in the database too
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS kobo_mapping_one_enabled_per_form "
            "ON kobo_mapping (form_id) WHERE enabled"
        )

    @api.constrains("enabled", "form_id")
    def _check_one_enabled(self):
        for mapping in self.filtered("enabled"):
            if (
                self.search_count([("form_id", "=", mapping.form_id.id), ("enabled", "=", True)])
                > 1
            ):
                raise ValidationError(
                    self.env._(
                        "The form %(form)s already has an enabled mapping: disable it first.",
                        form=mapping.form_id.name,
                    )
                )

    @api.constrains("match_policy", "match_question_path", "match_field_id")
    def _check_match(self):
        for mapping in self:
            if mapping.match_policy == "match" and not (
                mapping.match_question_path and mapping.match_field_id
            ):
                raise ValidationError(
                    self.env._("To update existing records, choose the key question and field.")
                )

    # ------------------------------------------------------------------
    # Compilation: converters built once per batch, not per submission
    # ------------------------------------------------------------------
    def _compile(self):
        self.ensure_one()
        questions = {q.xpath: q for q in self.form_id.with_context(active_test=False).question_ids}
        tz = self.env.user.tz or self.form_id.company_id.partner_id.tz or "UTC"
        aliases = {}
        lines = self.line_ids._compile(self.env[self.model_name], questions, tz, aliases)
        plan = _Plan(self.model_name, lines, aliases)
        if self.match_policy == "match":
            plan.key_path = self.match_question_path
            plan.key_field = self.match_field_id.name
        return plan


class KoboMappingLine(models.Model):
    _name = "kobo.mapping.line"
    _description = "KoBo Mapping Line"
    _order = "sequence, id"

    mapping_id = fields.Many2one("kobo.mapping", required=True, ondelete="cascade", index=True)
    parent_id = fields.Many2one(
        "kobo.mapping.line",
        string="Repeat Line",
        ondelete="cascade",
        index=True,
        help="For lines of a repeat group: the line mapping the repeat to a one2many field.",
    )
    child_ids = fields.One2many("kobo.mapping.line", "parent_id", string="Line Fields", copy=True)
    sequence = fields.Integer(default=10)
    question_path = fields.Char(
        string="Question XPath", help="XPath of the question; empty for a constant."
    )
    form_id = fields.Many2one(related="mapping_id.form_id")
    question_id = fields.Many2one(
        "kobo.form.question",
        string="KoBo Question",
        compute="_compute_question_id",
        inverse="_inverse_question_id",
        domain="[('form_id', '=', form_id), ('is_group', '=', False)]",
        help="Empty for a constant.",
    )
    field_id = fields.Many2one(
        "ir.model.fields", string="Odoo Field", required=True, ondelete="cascade"
    )
    field_name = fields.Char(related="field_id.name")
    field_type = fields.Selection(related="field_id.ttype")
    constant = fields.Char(
        string="Constant / Default",
        help="Written when the question is empty, or always when no question is chosen.",
    )

    @api.depends("question_path", "mapping_id.form_id")
    def _compute_question_id(self):
        Question = self.env["kobo.form.question"].with_context(active_test=False)
        for line in self:
            line.question_id = line.question_path and Question.search(
                [("form_id", "=", line.mapping_id.form_id.id), ("xpath", "=", line.question_path)],
                limit=1,
            )

    def _inverse_question_id(self):
        for line in self:
            line.question_path = line.question_id.xpath

    def action_open_line(self):
        """A repeat line: its own fields, mapped in a dialog."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Lines of %(repeat)s", repeat=self.question_path),
            "res_model": "kobo.mapping.line",
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.constrains("field_id", "question_path", "constant", "child_ids")
    def _check_line(self):
        for line in self:
            if line.field_type not in MAPPABLE_TYPES:
                raise ValidationError(
                    self.env._(
                        "The field %(field)s (%(type)s) cannot be filled from KoBo.",
                        field=line.field_id.field_description,
                        type=line.field_type,
                    )
                )
            if line.field_type == "one2many" and not line.question_path:
                raise ValidationError(
                    self.env._("A one2many field is filled from a repeat group: choose it.")
                )

    def _compile(self, model, questions, tz, aliases):
        """[(field name, question path, converter, constant value, child lines)]"""
        compiled = []
        fields_get = model.fields_get(self.mapped("field_name"))
        for line in self:
            spec = FieldSpec.from_fields_get(line.field_name, fields_get[line.field_name])
            question = questions.get(line.question_path)
            conv = make_converter(
                spec,
                question.type if question else None,
                tz=tz,
                question_path=line.question_path or "",
            )
            constant = False
            if line.constant:
                try:
                    constant = conv(line.constant)
                except ConversionError as exc:
                    raise ValidationError(
                        self.env._("Constant of %(field)s: %(error)s", field=spec.label, error=exc)
                    ) from exc
            children = []
            if line.field_type == "one2many":
                children = line.child_ids._compile(model.env[spec.relation], questions, tz, aliases)
            if spec.relation and question and question.choice_ids:
                # a select answer is a choice name: its label may be the record's name
                aliases.setdefault(spec.relation, {}).update(
                    (c.name, c.label) for c in question.choice_ids if c.label
                )
            compiled.append(_Line(line.field_name, line.question_path, conv, constant, children))
        return compiled


class _Line:
    __slots__ = ("children", "constant", "convert", "field", "path")

    def __init__(self, field, path, convert, constant, children):
        self.field = field
        self.path = path
        self.convert = convert
        self.constant = constant
        self.children = children


class _Plan:
    """A compiled mapping: turns a submission (or a repeat item) into values,
    with relations still as markers (Lookup, Lines) for the ORM to resolve."""

    def __init__(self, model, lines, aliases):
        self.model = model
        self.lines = lines
        self.aliases = aliases  # {model: {choice name: choice label}}
        self.key_path = None
        self.key_field = None

    def values(self, data, lines=None):
        vals = {}
        for line in self.lines if lines is None else lines:
            raw = data.get(line.path) if line.path else None
            if raw in (None, "", []) and line.constant is not False:
                value = line.constant
            else:
                value = line.convert(raw)
            if line.children and value:
                value.items = [self.values(item, line.children) for item in value.items]
            vals[line.field] = value
        return vals
