"""Value maps (choice -> selection value, text or record) and lookup fields
(find related records by code, reference, barcode, email or XML id, and
optionally create the missing ones) of a mapping line."""

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..kobo_kpi.submission import (
    ConversionError,
    FieldSpec,
    suggest_value_map,
    with_lookup,
    with_value_map,
)

LOOKUP_FIELDS = [
    ("code", "Code"),
    ("default_code", "Internal Reference"),
    ("barcode", "Barcode"),
    ("email", "Email"),
    ("ref", "Reference"),
    ("xmlid", "XML ID"),
]
SELECT_TYPES = (
    "select_one",
    "select_multiple",
    "select_one_from_file",
    "select_multiple_from_file",
)


class KoboMappingValue(models.Model):
    _name = "kobo.mapping.value"
    _description = "KoBo Value Map Entry"
    _inherit = ["kobo.system.mixin"]
    _order = "line_id, sequence, id"

    line_id = fields.Many2one(
        "kobo.mapping.line", required=True, ondelete="cascade", index=True, kobo_system="create"
    )
    sequence = fields.Integer()
    choice = fields.Char(
        string="KoBo Choice", required=True, help="The choice's name in submissions."
    )
    choice_label = fields.Char(string="Choice Label")
    value = fields.Char(
        string="Odoo Value", help="The selection value or text written for this choice."
    )
    res_model = fields.Char(related="line_id.relation")
    res_id = fields.Many2oneReference(
        string="Odoo Record", model_field="res_model", help="The record this choice stands for."
    )

    _sql_constraints = [
        ("choice_uniq", "unique(line_id, choice)", "A choice is mapped once per line."),
    ]


class KoboMappingLine(models.Model):
    _inherit = "kobo.mapping.line"

    value_ids = fields.One2many("kobo.mapping.value", "line_id", string="Value Map", copy=True)
    relation = fields.Char(compute="_compute_relation", string="Related Model")
    lookup_field = fields.Selection(
        LOOKUP_FIELDS,
        string="Find Records By",
        help="How an answer finds its record; by name when empty.",
    )
    create_missing = fields.Boolean(
        help="Create the record, named after the answer, when none is found "
        "(only where the import may create such records)."
    )
    question_type = fields.Char(compute="_compute_question_type")
    value_language = fields.Char(
        string="Choice Language",
        help="The form language whose choice labels pre-fill the value map, "
        'e.g. "Français (fr)"; empty: any language.',
    )

    @api.depends("field_name", "mapping_id.model_name", "parent_id")
    def _compute_relation(self):
        for line in self:
            model = line._kobo_target_model()
            field = model._fields.get(line.field_name or "") if model is not None else None
            line.relation = field.comodel_name if field is not None and field.relational else False

    @api.depends("question_path", "mapping_id.form_id")
    def _compute_question_type(self):
        for line in self:
            line.question_type = line.question_id.type or False

    def _kobo_target_model(self):
        if self.parent_id:
            parent = self.parent_id._kobo_target_model()
            if parent is None:
                return None
            field = parent._fields.get(self.parent_id.field_name or "")
            return self.env[field.comodel_name] if field is not None else None
        name = self.mapping_id.model_name
        return self.env[name] if name and name in self.env else None

    @api.constrains("field_name", "question_path")
    def _check_file_line(self):
        for line in self.filtered(lambda line: line.field_type in ("binary", "image")):
            if not line.question_path:
                raise ValidationError(
                    self.env._("A file field is filled from a photo or file question: choose it.")
                )

    @api.constrains("lookup_field", "field_name")
    def _check_lookup_field(self):
        for line in self.filtered("lookup_field"):
            if not line.relation:
                raise ValidationError(self.env._("Only a relation field finds records by a field."))
            if (
                line.lookup_field != "xmlid"
                and line.lookup_field not in self.env[line.relation]._fields
            ):
                raise ValidationError(
                    self.env._(
                        "%(model)s has no field %(field)s to find records by.",
                        model=self.env[line.relation]._description,
                        field=dict(LOOKUP_FIELDS)[line.lookup_field],
                    )
                )

    def action_fill_value_map(self):
        """Add an entry per choice of the question not yet in the map,
        pre-filled where a code or label (in the chosen language) matches."""
        for line in self:
            question = line.question_id
            if not question or question.type not in SELECT_TYPES:
                raise UserError(self.env._("A value map needs a select question."))
            known = set(line.value_ids.mapped("choice"))
            choices = [
                (c.name, _labels(c.label, c.label_translations))
                for c in question.choice_ids
                if c.name not in known
            ]
            language = line.value_language or None
            if line.relation:
                targets = line._kobo_record_targets(choices)
                key = "res_id"
            else:
                model = line._kobo_target_model()
                field = model._fields[line.field_name]
                targets = (
                    field._description_selection(self.env) if field.type == "selection" else []
                )
                key = "value"
            suggested = suggest_value_map(choices, targets, language)
            labels = {c.name: c.label for c in question.choice_ids}
            self.env["kobo.mapping.value"].create(
                [
                    {
                        "line_id": line.id,
                        "sequence": seq,
                        "choice": name,
                        "choice_label": labels.get(name),
                        key: suggested.get(name) or False,
                    }
                    for seq, (name, _l) in enumerate(choices, len(known))
                ]
            )
        # the line's dialog stays open, its map filled in
        return self.action_open_line() if len(self) == 1 else True

    def _kobo_record_targets(self, choices):
        """[(id, name)] of the records whose name equals a choice's name or
        label (case-insensitive)."""
        Model = self.mapping_id._kobo_import_model().env[self.relation]
        rec_name = Model._rec_name or "name"
        if rec_name not in Model._fields or not Model._fields[rec_name].store:
            return []
        texts = {t for name, labels in choices for t in (name, *labels.values()) if t}
        targets = []
        for text in texts:
            pattern = like_escaped(text)
            for record in Model.search_fetch([(rec_name, "=ilike", pattern)], [rec_name], limit=1):
                targets.append((record.id, record[rec_name]))
        return targets

    def _compile(self, model, questions, tz, aliases):
        compiled = super()._compile(model, questions, tz, aliases)
        by_field = {line.field_name: line for line in self}
        fields_get = None
        for item in compiled:
            line = by_field.get(item.field)
            if not line or not (line.value_ids or line.lookup_field or line.create_missing):
                continue
            if fields_get is None:
                fields_get = model.fields_get(list(by_field))
            spec = FieldSpec.from_fields_get(item.field, fields_get[item.field])
            question = questions.get(line.question_path)
            qtype = question.type if question else None
            try:
                convert = with_lookup(
                    item.convert,
                    spec,
                    by=line.lookup_field or "",
                    create=line.create_missing,
                    fields=set(self.env[spec.relation]._fields) if spec.relation else None,
                )
                table = {}
                # every id goes through the import user's search (visibility, company)
                ids = [e.res_id for e in line.value_ids if e.res_id] if spec.relation else []
                Target = model.env[spec.relation].with_context(active_test=False) if ids else None
                visible = set(Target.search([("id", "in", ids)]).ids) if ids else set()
                for entry in line.value_ids:
                    if spec.relation:
                        if entry.res_id and entry.res_id not in visible:
                            raise ValidationError(
                                self.env._(
                                    "The value map of %(question)s names a record the import "
                                    "user cannot see (choice %(choice)s): choose another.",
                                    question=line.question_path,
                                    choice=entry.choice,
                                )
                            )
                        if entry.res_id:
                            table[entry.choice] = entry.res_id
                    elif entry.value:
                        table[entry.choice] = (
                            entry.value if spec.type == "selection" else item.convert(entry.value)
                        )
                item.convert = with_value_map(
                    convert, spec, table, question_type=qtype, question_path=line.question_path
                )
                if line.constant:
                    item.constant = item.convert(line.constant)
            except ConversionError as exc:
                raise ValidationError(str(exc)) from exc
        return compiled


def like_escaped(text):
    """``text`` as an exact (=ilike) pattern: its ``\\``, ``%`` and ``_`` escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _labels(label, translations):
    labels = {}
    for row in (translations or "").splitlines():
        language, _sep, text = row.partition(": ")
        if text:
            labels[language] = text
    if not labels and label:
        labels[""] = label
    return labels
