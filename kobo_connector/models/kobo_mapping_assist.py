"""What helps a functional user finish a mapping alone: the fields the target
still needs before the mapping may be enabled, Suggest, and the hooks the
bridges (kobo_connector_stock) extend to fill what Odoo derives itself."""

import re
import unicodedata

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .kobo_allowed_model import MAPPABLE_TYPES

# question types and the field types that can take their answers
TEXT_TYPES = {"char", "text", "html"}
FIT = {
    "text": TEXT_TYPES | {"selection", "many2one", "many2many"},
    "integer": {"integer", "float", "monetary", "char", "text"},
    "decimal": {"float", "monetary", "char", "text"},
    "range": {"integer", "float", "char"},
    "date": {"date", "datetime", "char"},
    "datetime": {"datetime", "date", "char"},
    "start": {"datetime", "date", "char"},
    "end": {"datetime", "date", "char"},
    "today": {"date", "datetime", "char"},
    "time": {"float", "char"},
    "select_one": {"selection", "many2one", "boolean", "char", "text"},
    "select_one_from_file": {"selection", "many2one", "char", "text"},
    "select_multiple": {"many2many", "char", "text"},
    "select_multiple_from_file": {"many2many", "char", "text"},
    "acknowledge": {"boolean", "char"},
    "geopoint": {"float", "char", "text"},
    "image": {"binary", "image", "char"},
    "audio": {"binary", "char"},
    "video": {"binary", "char"},
    "file": {"binary", "char"},
    "begin_repeat": {"one2many"},
    "repeat": {"one2many"},
}
# never filled from a form
SKIP_FIELDS = {"id", "create_uid", "create_date", "write_uid", "write_date", "company_id"}


def field_fits(question_type, field_type):
    """Whether an answer of ``question_type`` can fill a field of ``field_type``."""
    return field_type in FIT.get(question_type, TEXT_TYPES)


def fitting_types(question_type):
    """[field type] a question of ``question_type`` ("select_one list" too)
    can fill, among the mappable ones; all of them without a question (a
    constant)."""
    base = (question_type or "").split()[0] if question_type else ""
    return [t for t in MAPPABLE_TYPES if not base or field_fits(base, t)]


def _words(text):
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("_", " ")))


class KoboMapping(models.Model):
    _inherit = "kobo.mapping"

    # ------------------------------------------------------------------
    # Hooks for bridges
    # ------------------------------------------------------------------
    def _kobo_derived_fields(self, model_name):
        """Fields of ``model_name`` the import fills itself when they are not
        mapped (a bridge adds, e.g., a stock move's description)."""
        return set()

    def _kobo_suggest_words(self, model_name):
        """{field name: [words]}: what questions filling a field of
        ``model_name`` are often called (bridges add theirs for Suggest)."""
        return {}

    def _kobo_complete_values(self, vals):
        """Complete the resolved values of one record to create (ORM
        commands included) with what Odoo would derive in its own forms.
        Raise UserError for what makes this submission unimportable."""
        return vals

    # ------------------------------------------------------------------
    # Enable check
    # ------------------------------------------------------------------
    def _kobo_required_fields(self, model_name, exclude=()):
        """Labels by name of the fields a record of ``model_name`` cannot be
        created without: stored, required (or a NOT NULL column), with no
        default and not computed."""
        Model = self.env[model_name]
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s AND is_nullable = 'NO'",
            (Model._table,),
        )
        not_null = {row[0] for row in self.env.cr.fetchall()}
        candidates = [
            name
            for name, field in Model._fields.items()
            if field.store
            and (field.required or name in not_null)
            and not field.compute
            and not field.related
            and name not in SKIP_FIELDS
            and name not in exclude
            and field.type not in ("boolean", "one2many")
        ]
        defaults = Model.default_get(candidates)
        return {
            name: Model._fields[name].string
            for name in candidates
            if defaults.get(name) in (None, False, "")
        }

    def _kobo_missing_required(self):
        """["Model: Field", ...] required by the target (and by the
        lines of its repeats) and neither mapped nor given a constant."""
        self.ensure_one()
        missing = []

        def check(model_name, lines, exclude=()):
            mapped = {line.field_name for line in lines if line.question_path or line.constant}
            required = self._kobo_required_fields(model_name, exclude)
            derived = self._kobo_derived_fields(model_name)
            description = self.env[model_name]._description
            missing.extend(
                f"{description}: {label}"
                for name, label in required.items()
                if name not in mapped and name not in derived
            )
            for line in lines:
                field = self.env[model_name]._fields.get(line.field_name)
                if field is not None and field.type == "one2many" and line.child_ids:
                    check(field.comodel_name, line.child_ids, {field.inverse_name})

        if self.model_name:
            check(self.model_name, self.line_ids)
        return missing

    @api.constrains("enabled")
    def _check_required_mapped(self):
        for mapping in self.filtered("enabled"):
            missing = mapping._kobo_missing_required()
            if missing:
                raise ValidationError(
                    self.env._(
                        "The mapping %(mapping)s cannot be enabled: map a question or give a "
                        "constant for these required fields: %(fields)s.",
                        mapping=mapping.name,
                        fields=", ".join(missing),
                    )
                )

    # ------------------------------------------------------------------
    # Suggest
    # ------------------------------------------------------------------
    def _kobo_field_choices(self, model_name, question_type):
        """{field name: label} of the fields of ``model_name`` a question of
        ``question_type`` can fill (stored, writable, fitting type)."""
        Model = self.env[model_name]
        return {
            name: field.string
            for name, field in Model._fields.items()
            if field.store
            and not field.readonly
            and name not in SKIP_FIELDS
            and not name.startswith("message_")
            and not name.startswith("activity_")
            and field_fits(question_type, field.type)
        }

    def _kobo_best_field(self, model_name, question, taken):
        """The field whose name or label matches the question's name or
        labels (any language), of a type that fits; None if none does."""
        choices = self._kobo_field_choices(model_name, question.type)
        labels = {_words(question.name), _words(question.label)}
        for text in (question.label_translations or "").splitlines():
            labels.add(_words(text.split(":", 1)[-1]))
        labels.discard("")
        for name, words in self._kobo_suggest_words(model_name).items():
            if name in choices and name not in taken and labels & {_words(w) for w in words}:
                return name
        for name, label in choices.items():
            if name in taken:
                continue
            if _words(name) in labels or _words(label) in labels:
                return name
        for name, label in choices.items():  # "head_name" -> "name", "product" -> "product_id"
            plain = _words(name.removesuffix("_id").removesuffix("_ids"))
            if name not in taken and any(
                plain == w or plain in w.split() or _words(label) in w.split() for w in labels
            ):
                return name
        return None

    def _kobo_line_vals(self, model_name, field_name, question_path):
        return {"question_path": question_path, "field_name": field_name}

    def action_suggest(self):
        """Add a line for each unmapped question whose name or label matches
        a field of the target (a repeat: its one2many, then its questions);
        existing lines are never changed."""
        for mapping in self:
            questions = mapping.form_id.with_context(active_test=True).question_ids
            mapping._kobo_suggest(mapping.model_name, mapping.line_ids, questions, False)
        return True

    def _kobo_suggest(self, model_name, lines, questions, repeat_path, parent=None):
        taken = {line.field_name for line in lines}
        used = {line.question_path for line in lines}
        new = []
        for question in questions:
            if (
                question.is_metadata
                or question.is_system
                or question.is_group
                or question.xpath in used
            ):
                continue
            if (question.repeat_xpath or False) != repeat_path:
                continue
            name = self._kobo_best_field(model_name, question, taken)
            if not name:
                continue
            taken.add(name)
            vals = self._kobo_line_vals(model_name, name, question.xpath)
            vals["mapping_id"] = self.id
            if parent:
                vals["parent_id"] = parent.id
            new.append((question, name, vals))
        Line = self.env["kobo.mapping.line"]
        for question, name, vals in new:
            line = Line.create(vals)
            if question.is_repeat:
                comodel = self.env[model_name]._fields[name].comodel_name
                self._kobo_suggest(comodel, line.child_ids, questions, question.xpath, line)


class KoboMappingLine(models.Model):
    _inherit = "kobo.mapping.line"

    fit_types = fields.Json(
        compute="_compute_fit_types",
        help="The field types the chosen question can fill: the Odoo Field picker's domain.",
    )

    @api.depends("question_id", "question_path")
    def _compute_fit_types(self):
        for line in self:
            line.fit_types = fitting_types(line.question_id.type)

    def _compile(self, model, questions, tz, aliases):
        """A required field that Odoo fills itself (a default, a computed
        value, or one a bridge derives) may stay unanswered."""
        compiled = super()._compile(model, questions, tz, aliases)
        mapping = self.mapping_id[:1]
        derived = mapping._kobo_derived_fields(model._name) if mapping else set()
        for line in compiled:
            field = model._fields[line.field]
            if field.required and (line.field in derived or field.compute or field.default):
                line.convert = _optional(line.convert)
        return compiled


def _optional(convert):
    def wrapped(value):
        if value is None or value == "" or value == []:
            return False
        return convert(value)

    return wrapped
