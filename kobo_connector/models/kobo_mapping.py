from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.sql import table_exists

from odoo.addons.base.models.ir_model import FIELD_TYPES

from ..kobo_kpi.submission import ConversionError, FieldSpec, make_converter
from .kobo_allowed_model import MAPPABLE_TYPES  # noqa: F401  (kept importable from here)


class KoboMapping(models.Model):
    """How the submissions of one KoBo form become records of one Odoo model.

    The target is kept as text (``model_name``; lines: ``field_name``), so the
    uninstall of the target's module disables the mapping instead of deleting
    it; ``model_id`` / ``field_id`` are the safe pickers' view of those names.
    What may be targeted is decided by ``kobo.allowed.model`` when a mapping or
    a line is saved, again when it is compiled, and at every import."""

    _name = "kobo.mapping"
    _description = "KoBo Mapping"
    _inherit = ["kobo.system.mixin"]
    _order = "form_id, sequence, id"

    sequence = fields.Integer(
        default=10, help="Mappings apply to each submission in this order (drag the handle)."
    )
    name = fields.Char(compute="_compute_name", store=True, readonly=False)
    form_id = fields.Many2one(
        "kobo.form", required=True, ondelete="cascade", index=True, kobo_system="create"
    )
    company_id = fields.Many2one(related="form_id.company_id", store=True, kobo_system=True)
    model_name = fields.Char(
        string="Model Name", index=True, help="The target model, e.g. res.partner."
    )
    model_id = fields.Many2one(
        "kobo.target.model",
        string="Creates",
        compute="_compute_model_id",
        inverse="_inverse_model_id",
        help="Only the models a system administrator allows (KoBoToolbox > Configuration > "
        "Allowed Models).",
    )
    enabled = fields.Boolean(
        copy=False,
        help="Submissions are imported through the form's enabled mappings, in their order: "
        "all of them or none.",
    )
    disabled_reason = fields.Char(readonly=True, copy=False, kobo_system=True)
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
    match_field_name = fields.Char(string="Key Field Name")
    match_field_id = fields.Many2one(
        "kobo.target.field",
        string="Key Field",
        compute="_compute_match_field_id",
        inverse="_inverse_match_field_id",
    )
    edit_policy = fields.Selection(
        [("update", "Update the record"), ("ignore", "Keep the record as first imported")],
        string="On KoBo Edits",
        default="update",
        required=True,
    )

    @api.model_create_multi
    def create(self, vals_list):
        return super().create(
            [_picked_names(self.env, vals, MAPPING_PICKERS) for vals in vals_list]
        )

    def write(self, vals):
        return super().write(_picked_names(self.env, vals, MAPPING_PICKERS))

    @api.depends("model_name")
    def _compute_model_id(self):
        Target = self.env["kobo.target.model"]
        names = set(self.mapped("model_name")) - {False}
        by_name = (
            {t.model: t for t in Target.search([("model", "in", list(names))])} if names else {}
        )
        for mapping in self:
            mapping.model_id = by_name.get(mapping.model_name, Target)

    @api.onchange("model_id")
    def _onchange_model_id(self):
        # the name at once in the form (e.g. for domains on model_name)
        self.model_name = self.model_id.model or False

    def _inverse_model_id(self):
        for mapping in self:
            name = _ir_name("ir.model", mapping.model_id, "model")
            if mapping.model_name != name:  # unchanged: the name given with it stays
                mapping.model_name = name

    @api.depends("model_name", "match_field_name")
    def _compute_match_field_id(self):
        for mapping in self:
            mapping.match_field_id = _target_field(
                self.env, mapping.model_name, mapping.match_field_name
            )

    def _inverse_match_field_id(self):
        for mapping in self:
            mapping.match_field_name = _ir_name("ir.model.fields", mapping.match_field_id, "name")

    @api.depends("form_id.name", "model_id", "model_name")
    def _compute_name(self):
        for mapping in self:
            # no dangling "Form →" while the model is still to be chosen
            target = mapping.model_id.name or mapping.model_name
            mapping.name = f"{mapping.form_id.name or ''} → {target}" if target else False

    @api.constrains("match_policy", "match_question_path", "match_field_name")
    def _check_match(self):
        Policy = self.env["kobo.allowed.model"]
        for mapping in self:
            if mapping.match_policy != "match":
                continue
            if not (mapping.match_question_path and mapping.match_field_name):
                raise ValidationError(
                    self.env._("To update existing records, choose the key question and field.")
                )
            error = Policy._field_error(mapping.model_name, mapping.match_field_name)
            if error:
                raise ValidationError(error)

    @api.constrains("model_name", "enabled", "form_id")
    def _check_target(self):
        """The model is allowed, every line still fits it, and the form's
        import user may create and write its records (and their lines)."""
        Policy = self.env["kobo.allowed.model"]
        for mapping in self:
            if not mapping.model_name:
                raise ValidationError(self.env._("Choose what the mapping creates."))
            error = Policy._model_error(mapping.model_name)
            if error:
                raise ValidationError(error)
            mapping._all_lines()._check_line()
            if mapping.enabled:
                mapping._check_import_rights()

    def _all_lines(self):
        return self.env["kobo.mapping.line"].search([("mapping_id", "in", self.ids)])

    def _check_import_rights(self):
        """Refuse, naming the missing right, a target the import user cannot write."""
        self.ensure_one()
        env = self.form_id._import_env()
        models_ = {self.model_name} | {
            line._target_model() for line in self._all_lines() if line.parent_id
        }
        for model_name in sorted(models_):
            for operation in ("create", "write"):
                if not env["ir.model.access"].check(model_name, operation, raise_exception=False):
                    raise ValidationError(
                        self.env._(
                            "The import user %(user)s may not %(operation)s %(model)s records: "
                            "a system administrator gives that right to the group "
                            "KoBoToolbox / Import (or chooses another import user for the form).",
                            user=env.user.name,
                            operation=operation,
                            model=self.env[model_name]._description,
                        )
                    )

    @api.model
    def _disable_gone(self, model_names=(), fields=(), reason="uninstall"):
        """Targets that disappear (a module uninstalled, a model taken off the
        allowlist): their mappings are kept, disabled, with the reason."""
        if not table_exists(self.env.cr, self._table):  # this module's own uninstall
            return
        # sudo: runs during an uninstall or an allowlist change, over all companies
        Mapping = self.sudo().with_context(active_test=False)
        mappings = Mapping.browse()
        if model_names:
            mappings |= Mapping.search([("model_name", "in", list(model_names))])
        keys = set(fields)
        if keys:
            names = list({name for _model, name in keys})
            lines = self.env["kobo.mapping.line"].sudo().search([("field_name", "in", names)])
            mappings |= lines.filtered(
                lambda line: (line._target_model(), line.field_name) in keys
            ).mapping_id
            mappings |= Mapping.search([("match_field_name", "in", names)]).filtered(
                lambda m: (m.model_name, m.match_field_name) in keys
            )
        message = (
            self.env._("Disabled: its target model was taken off the allowed models.")
            if reason == "allowlist"
            else self.env._("Disabled: its target model or field was uninstalled.")
        )
        for mapping in mappings.filtered("enabled"):
            mapping.write({"enabled": False, "disabled_reason": message})
            mapping.form_id.message_post(body=Markup("%s<br/>%s") % (mapping.name, message))

    # ------------------------------------------------------------------
    # Compilation: converters built once per batch, not per submission
    # ------------------------------------------------------------------
    def _compile(self):
        """The mapping, checked again against the policy and the import
        user's view of the fields (a field it may not see is not there),
        with the form's time zone."""
        self.ensure_one()
        if not self.model_name or self.model_name not in self.env:
            raise UserError(
                self.env._(
                    "The mapping %(mapping)s targets %(model)s, which is not installed.",
                    mapping=self.name,
                    model=self.model_name,
                )
            )
        self.env["kobo.allowed.model"]._check_target(self.model_name)
        env = self.form_id._import_env()
        questions = {q.xpath: q for q in self.form_id.with_context(active_test=False).question_ids}
        tz = env.context.get("tz") or "UTC"
        aliases = {}
        lines = self.line_ids._compile(env[self.model_name], questions, tz, aliases)
        plan = _Plan(self.model_name, lines, aliases)
        plan.conditions = self._conditions()
        plan.refs = {
            line.field_name: line.source_mapping_id.id
            for line in self.line_ids
            if line.source_mapping_id
        }
        # which mapping imports (bridges read its options): the import env's only addition
        plan.env = env(context=dict(env.context, kobo_mapping_id=self.id))
        if self.match_policy == "match":
            self.env["kobo.allowed.model"]._check_target(self.model_name, [self.match_field_name])
            plan.key_path = self.match_question_path
            plan.key_field = self.match_field_name
        return plan


# picker field -> (name field, ir model, its name field)
MAPPING_PICKERS = {
    "model_id": ("model_name", "ir.model", "model"),
    "match_field_id": ("match_field_name", "ir.model.fields", "name"),
}
LINE_PICKERS = {"field_id": ("field_name", "ir.model.fields", "name")}


def _picked_names(env, vals, pickers):
    """Values with the pickers' ids replaced by the names they stand for,
    so that the names are set (and checked) before anything else."""
    vals = dict(vals)
    for picker, (name_field, model, fname) in pickers.items():
        if picker in vals:
            picked = vals.pop(picker)
            if isinstance(picked, models.BaseModel):
                picked = picked.id
            # sudo: turns an id into a name only; the policy then checks that name
            vals[name_field] = (
                picked and env[model].sudo().browse(picked).exists()[fname]
            ) or False
    return vals


def _ir_name(model, picked, fname):
    """The technical name behind a picker's id (the pickers share the ids
    of ir.model / ir.model.fields, so an RPC may also pass those)."""
    if not picked:
        return False
    # sudo: turns an id into a name only; the policy then checks that name
    return picked.env[model].sudo().browse(picked.id).exists()[fname] or False


def _target_field(env, model_name, field_name):
    Target = env["kobo.target.field"]
    if not (model_name and field_name):
        return Target
    return Target.search([("model", "=", model_name), ("name", "=", field_name)], limit=1)


class KoboMappingLine(models.Model):
    _name = "kobo.mapping.line"
    _description = "KoBo Mapping Line"
    _inherit = ["kobo.system.mixin"]
    _order = "sequence, id"

    mapping_id = fields.Many2one(
        "kobo.mapping", required=True, ondelete="cascade", index=True, kobo_system="create"
    )
    parent_id = fields.Many2one(
        "kobo.mapping.line",
        string="Repeat Line",
        ondelete="cascade",
        index=True,
        help="For lines of a repeat group: the line mapping the repeat to a one2many field.",
        kobo_system="create",
    )
    child_ids = fields.One2many("kobo.mapping.line", "parent_id", string="Line Fields", copy=True)
    sequence = fields.Integer(default=10)
    question_path = fields.Char(
        string="Question XPath", help="XPath of the question; empty for a constant."
    )
    form_id = fields.Many2one(related="mapping_id.form_id", kobo_system="create")
    question_id = fields.Many2one(
        "kobo.form.question",
        string="KoBo Question",
        compute="_compute_question_id",
        inverse="_inverse_question_id",
        domain="[('form_id', '=', form_id), ('is_group', '=', False)]",
        help="Empty for a constant.",
    )
    field_name = fields.Char(string="Field Name", help="The technical name of the Odoo field.")
    target_model = fields.Char(compute="_compute_target_model", recursive=True)
    field_id = fields.Many2one(
        "kobo.target.field",
        string="Odoo Field",
        compute="_compute_field_id",
        inverse="_inverse_field_id",
    )
    field_type = fields.Selection(FIELD_TYPES, compute="_compute_field_type")
    field_relation = fields.Char(compute="_compute_field_type")
    constant = fields.Char(
        string="Constant / Default",
        help="Written when the question is empty, or always when no question is chosen.",
    )
    source_mapping_id = fields.Many2one(
        "kobo.mapping",
        string="Record Made By",
        ondelete="restrict",
        domain="[('form_id', '=', form_id), ('id', '!=', mapping_id)]",
        help="Instead of a question: the record that this (earlier) mapping made for the same "
        "submission, e.g. the picking's contact is the household's contact. Empty when that "
        "mapping did not apply.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        return super().create([_picked_names(self.env, vals, LINE_PICKERS) for vals in vals_list])

    def write(self, vals):
        return super().write(_picked_names(self.env, vals, LINE_PICKERS))

    @api.depends("mapping_id.model_name", "parent_id.field_name", "parent_id.target_model")
    def _compute_target_model(self):
        for line in self:
            line.target_model = line._target_model()

    def _target_model(self):
        """The model this line writes: the mapping's, or a repeat line's comodel."""
        self.ensure_one()
        if not self.parent_id:
            return self.mapping_id.model_name or False
        parent_model = self.parent_id._target_model()
        field = parent_model in self.env and self.env[parent_model]._fields.get(
            self.parent_id.field_name or ""
        )
        return field.comodel_name if field and field.type == "one2many" else False

    @api.depends("field_name", "target_model")
    def _compute_field_id(self):
        for line in self:
            line.field_id = _target_field(self.env, line.target_model, line.field_name)

    @api.depends("field_id")
    def _compute_field_type(self):
        for line in self:
            line.field_type = line.field_id.ttype
            line.field_relation = line.field_id.relation

    def _inverse_field_id(self):
        for line in self:
            line.field_name = _ir_name("ir.model.fields", line.field_id, "name")

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

    @api.constrains(
        "field_name",
        "question_path",
        "constant",
        "child_ids",
        "parent_id",
        "mapping_id",
        "source_mapping_id",
    )
    def _check_line(self):
        """When saved: the field belongs to the line's model, the policy
        allows it (stored, writable, not security-relevant), and the constant
        converts."""
        Policy = self.env["kobo.allowed.model"]
        for line in self:
            model_name = line._target_model()
            if line.parent_id and line.parent_id.mapping_id != line.mapping_id:
                raise ValidationError(
                    self.env._("A repeat's line belongs to its repeat's mapping.")
                )
            if not line.field_name:
                raise ValidationError(self.env._("Choose the Odoo field of each line."))
            error = Policy._model_error(
                model_name, line=bool(line.parent_id)
            ) or Policy._field_error(model_name, line.field_name)
            if error:
                raise ValidationError(error)
            field_type = self.env[model_name]._fields[line.field_name].type
            if field_type == "one2many" and not (line.question_path or line.child_ids):
                raise ValidationError(
                    self.env._(
                        "A one2many field is filled from a repeat group (choose it), or gets "
                        "one line from the fields mapped in it."
                    )
                )
            if line.constant:
                line._converter(self.env[model_name])  # raises if the constant does not convert
            if line.source_mapping_id:
                line._check_source(model_name)

    def _check_source(self, model_name):
        """A line taking an earlier mapping's record: a many2one of the line's
        own mapping to the model that mapping makes, from an earlier mapping
        of the same form."""
        source, mapping = self.source_mapping_id, self.mapping_id
        field = self.env[model_name]._fields[self.field_name]
        if self.parent_id or self.question_path or field.type != "many2one":
            raise ValidationError(
                self.env._(
                    "%(field)s: the record made by another mapping fills a many2one field of "
                    "the mapping's own record, instead of a question.",
                    field=field.string,
                )
            )
        if source.form_id != mapping.form_id or (source.sequence, source.id) >= (
            mapping.sequence,
            mapping.id,
        ):
            raise ValidationError(
                self.env._(
                    "%(field)s: %(earlier)s must be an earlier mapping of the same form "
                    "(mappings apply in their order).",
                    field=field.string,
                    earlier=source.name,
                )
            )
        if source.model_name != field.comodel_name:
            raise ValidationError(
                self.env._(
                    "%(field)s takes a %(model)s, and %(earlier)s makes a %(made)s.",
                    field=field.string,
                    model=self.env[field.comodel_name]._description,
                    earlier=source.name,
                    made=source.model_id.name or source.model_name,
                )
            )

    def _converter(self, model, questions=None, tz="UTC"):
        """(field spec, converter, converted constant) of this line."""
        fields_get = model.fields_get([self.field_name])
        if self.field_name not in fields_get:
            raise UserError(
                self.env._(
                    "The import user cannot see the field %(field)s of %(model)s.",
                    field=self.field_name,
                    model=model._name,
                )
            )
        spec = FieldSpec.from_fields_get(self.field_name, fields_get[self.field_name])
        if questions is None:
            question = self.question_id
        else:
            question = questions.get(self.question_path)
        conv = make_converter(
            spec,
            question.type if question else None,
            tz=tz,
            question_path=self.question_path or "",
        )
        constant = False
        if self.constant:
            try:
                constant = conv(self.constant)
            except ConversionError as exc:
                raise ValidationError(
                    self.env._("Constant of %(field)s: %(error)s", field=spec.label, error=exc)
                ) from exc
        return spec, conv, constant

    def _compile(self, model, questions, tz, aliases):
        """[(field name, question path, converter, constant value, child lines)]"""
        compiled = []
        Policy = self.env["kobo.allowed.model"]
        for line in self:
            Policy._check_target(model._name, [line.field_name], line=bool(line.parent_id))
            if line.source_mapping_id:  # filled by the engine (plan.refs)
                line._check_source(model._name)
                continue
            spec, conv, constant = line._converter(model, questions, tz)
            question = questions.get(line.question_path)
            children = []
            if spec.type == "one2many":
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

    def raw(self, data):
        """The answer; a one2many without a repeat group makes one line, of
        the submission's own answers and constants."""
        if self.path:
            return data.get(self.path)
        return [data] if self.children else None


class _Plan:
    """A compiled mapping: turns a submission (or a repeat item) into values,
    with relations still as markers (Lookup, Lines) for the ORM to resolve."""

    def __init__(self, model, lines, aliases):
        self.model = model
        self.lines = lines
        self.aliases = aliases  # {model: {choice name: choice label}}
        self.key_path = None
        self.key_field = None
        self.conditions = []  # all must hold for the mapping to apply (kobo_kpi.conditions)
        self.refs = {}  # {field: mapping id}: the record that mapping made for the submission
        self.env = None  # the import environment (kobo.form._import_env())

    def values(self, data, lines=None):
        vals = {}
        for line in self.lines if lines is None else lines:
            raw = line.raw(data)
            if raw in (None, "", []) and line.constant is not False:
                value = line.constant
            else:
                value = line.convert(raw)
            if line.children and value:
                value.items = [self.values(item, line.children) for item in value.items]
            vals[line.field] = value
        return vals
