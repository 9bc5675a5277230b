import copy
import logging

import psycopg2
from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..kobo_kpi.conditions import failing as conditions_failing
from ..kobo_kpi.errors import KoboError
from ..kobo_kpi.submission import ConversionError, Lines, Lookup
from ..models.kobo_mapping_condition import condition_words

_logger = logging.getLogger(__name__)


class SequenceWanted(Exception):
    """A record created for a preview asked for a sequence number."""


class IrSequence(models.Model):
    _inherit = "ir.sequence"

    def _next(self, sequence_date=None):
        # the preview's trial insert never takes a number (next_by_id and
        # next_by_code both come here, before any nextval or no-gap update)
        if getattr(self.env.cr, "_kobo_preview_no_sequence", False):
            raise SequenceWanted(self.code or self.name)
        return super()._next(sequence_date=sequence_date)


class KoboMappingPreview(models.TransientModel):
    """What one stored submission would become through a mapping: built in
    memory with ``new()``, never created (nothing written, no sequence used);
    then, for what only the database judges (NOT NULL, CHECK), created in a
    savepoint that is rolled back, unless the model numbers its records."""

    _name = "kobo.mapping.preview"
    _description = "KoBo Mapping Preview"

    mapping_id = fields.Many2one("kobo.mapping", required=True, ondelete="cascade")
    form_id = fields.Many2one(related="mapping_id.form_id")
    submission_id = fields.Many2one(
        "kobo.submission",
        string="Submission",
        domain="[('form_id', '=', form_id)]",
        help="The latest submission by default; choose another to preview it.",
    )
    result = fields.Html(compute="_compute_result", sanitize=False)

    @api.model
    def default_get(self, fields_list):
        defaults = super().default_get(fields_list)
        mapping = self.env["kobo.mapping"].browse(defaults.get("mapping_id"))
        if mapping and not defaults.get("submission_id"):
            defaults["submission_id"] = (
                self.env["kobo.submission"]
                .search(
                    [("form_id", "=", mapping.form_id.id)],
                    order="submission_time desc, id desc",
                    limit=1,
                )
                .id
            )
        return defaults

    @api.depends("mapping_id", "submission_id")
    def _compute_result(self):
        for wizard in self:
            if not wizard.mapping_id:
                wizard.result = False
            elif wizard.submission_id:
                wizard.result = wizard.mapping_id._kobo_preview_all_html(
                    wizard.submission_id.payload or {}
                )
            else:
                wizard.result = wizard._kobo_preview_latest_on_kobo()

    def _kobo_preview_latest_on_kobo(self):
        """No submission stored yet: the latest one on KoBo, read, not stored."""
        form = self.mapping_id.form_id
        try:
            with form.server_id._get_client(max_retries=1) as client:
                payload = next(
                    iter(client.iter_submissions(form.asset_uid, sort={"_id": -1}, limit=1)), None
                )
        except (KoboError, UserError) as exc:
            return Markup('<div class="alert alert-warning">%s</div>') % self.env._(
                "No submission stored, and KoBo could not be asked for one: %(error)s", error=exc
            )
        if not payload:
            return Markup("<p>%s</p>") % self.env._("The form has no submission yet.")
        note = Markup('<p class="text-muted o_kobo_preview_from_kobo">%s</p>') % self.env._(
            "The latest submission on KoBo (#%(id)s), not stored in Odoo yet.",
            id=payload.get("_id"),
        )
        return note + self.mapping_id._kobo_preview_all_html(payload)


class KoboMapping(models.Model):
    _inherit = "kobo.mapping"

    def action_preview(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Preview of %(mapping)s", mapping=self.name),
            "res_model": "kobo.mapping.preview",
            "view_mode": "form",
            "target": "new",
            "context": {"default_mapping_id": self.id},
        }

    def _kobo_import_model(self):
        """The target model as the import user sees it."""
        return self.form_id._import_env()[self.model_name]

    def _kobo_preview(self, payload):
        """{"lines": [(label, path, answer, value or None, error or None)],
        "record": a new() record or None, "error": text or None}. Reads
        only: relations are searched, the record is built in memory."""
        self.ensure_one()
        try:
            plan = self._compile()
        except (ValidationError, ConversionError) as exc:
            return {"lines": [], "record": None, "error": str(exc.args[0] if exc.args else exc)}
        Model = self._kobo_import_model()
        rows = []

        def walk(lines, data, model, prefix=""):
            for line in lines:
                label = model._fields[line.field].string
                raw = line.raw(data)
                try:
                    if raw in (None, "", []) and line.constant is not False:
                        value = line.constant
                    else:
                        value = line.convert(raw)
                except ConversionError as exc:
                    rows.append((prefix + label, line.path, raw, None, str(exc)))
                    continue
                if isinstance(value, Lines):
                    rows.append(
                        (prefix + label, line.path, f"{len(value.items)} item(s)", "", None)
                    )
                    for index, item in enumerate(value.items, 1):
                        walk(line.children, item, model.env[value.model], f"{label} {index} / ")
                    continue
                rows.append((prefix + label, line.path, raw, value, None))

        walk(plan.lines, payload, Model)
        applied = self.env.context.get("kobo_preview_applied", ())
        for line in self.line_ids.filtered("source_mapping_id"):
            source = line.source_mapping_id
            made = (
                self.env._(
                    "the %(model)s made by %(mapping)s",
                    model=Model.env[source.model_name]._description,
                    mapping=source.name,
                )
                if source.id in applied
                else self.env._("empty: %(mapping)s does not apply", mapping=source.name)
            )
            label = Model._fields[line.field_name].string
            rows.append((label, f"← {source.name}", "", made, None))
        result = {"lines": rows, "record": None, "error": None}
        try:
            vals = plan.values(payload)
        except ConversionError as exc:
            result["error"] = str(exc)
            return result
        item = _PreviewItem(payload)
        outcomes = {}
        would_create = []
        Submission = (
            self.env["kobo.submission"]
            .with_env(Model.env)
            .with_context(kobo_mapping_id=self.id, kobo_preview_would_create=would_create)
        )
        resolved = Submission._resolve_relations(plan, [(item, vals)], outcomes)
        if not resolved:
            result["error"] = outcomes[item.id][1]
            if would_create:
                result["error"] = self.env._(
                    "Would be created when imported (a preview creates nothing): %(names)s.",
                    names=", ".join(dict.fromkeys(would_create)),
                )
            return result
        try:
            vals = self._kobo_complete_values(resolved[0][1])
        except UserError as exc:
            result["error"] = exc.args[0]
            return result
        # the savepoint's rollback clears the cache, where new() records live: first
        result["db_check"] = self._kobo_preview_db_check(Model, vals)
        result["record"] = Model.new(copy.deepcopy(vals))
        result["vals"] = vals
        return result

    def _kobo_preview_db_check(self, Model, vals):
        """(status, message): what the database says of these values, as the
        import user, in a savepoint always rolled back. "later" when creating
        would take a sequence number (then the savepoint stops before it)."""
        cr = self.env.cr
        postcommit = (
            list(cr.postcommit._funcs),
            {key: copy.copy(value) for key, value in cr.postcommit.data.items()},
        )
        status = message = None
        cr._kobo_preview_no_sequence = True
        try:
            with cr.savepoint():
                try:
                    Model.with_context(**PREVIEW_CONTEXT).create(copy.deepcopy(vals))
                    Model.env.flush_all()
                except SequenceWanted:
                    status = "later"
                except (psycopg2.Error, ValidationError, UserError, AccessError, ValueError) as exc:
                    status = "error"
                    message = _error_text(exc)
                else:
                    status = "ok"
                raise _RollBack()
        except _RollBack:
            _logger.debug("KoBo preview: the trial record was rolled back")
        finally:
            cr._kobo_preview_no_sequence = False
            # what the rolled-back insert asked to run after the commit: dropped
            cr.postcommit._funcs.clear()
            cr.postcommit._funcs.extend(postcommit[0])
            cr.postcommit.data.clear()
            cr.postcommit.data.update(postcommit[1])
        return status, message

    def _kobo_preview_all_html(self, payload):
        """The form's enabled mappings (and this one) in their order: whether
        each applies (why not), its lines and the record it would make."""
        mappings = (self.form_id._enabled_mappings() | self).sorted(lambda m: (m.sequence, m.id))
        if len(mappings) == 1 and not self.condition_ids:
            return self._kobo_preview_html(payload)
        _ = self.env._
        html, applied = Markup(), []
        for mapping in mappings:
            html += Markup('<h3 class="o_kobo_preview_mapping">%s</h3>') % mapping.name
            failing = conditions_failing(mapping._conditions(), payload)
            if failing:
                html += Markup(
                    '<div class="alert alert-secondary o_kobo_preview_skip">%s</div>'
                ) % _(
                    "Does not apply: %(why)s.",
                    why=failing.describe(negate=True, words=condition_words(self.env)),
                )
                continue
            applied.append(mapping.id)
            html += Markup('<p class="text-success o_kobo_preview_applies">%s</p>') % _(
                "Applies (%(when)s).", when=mapping.conditions_text
            )
            html += mapping.with_context(kobo_preview_applied=applied)._kobo_preview_html(payload)
        if not applied:
            html += Markup('<div class="alert alert-warning o_kobo_preview_none">%s</div>') % _(
                "No mapping applies: this submission would be Skipped."
            )
        return html

    def _kobo_preview_html(self, payload):
        preview = self._kobo_preview(payload)
        _ = self.env._
        html = Markup(
            '<table class="table table-sm o_kobo_preview_lines"><thead><tr>'
            "<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>"
        ) % (_("Field"), _("Question"), _("Answer"), _("Value"))
        for label, path, raw, value, error in preview["lines"]:
            shown = (
                Markup('<span class="text-danger">%s</span>') % error
                if error
                else _show_value(value)
            )
            html += Markup("<tr><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td></tr>") % (
                label,
                path or _("(constant)"),
                "" if raw is None else str(raw),
                shown,
            )
        html += Markup("</tbody></table>")
        if preview["error"]:
            html += (
                Markup('<div class="alert alert-danger o_kobo_preview_error">%s</div>')
                % preview["error"]
            )
        status, message = preview.get("db_check") or (None, None)
        if status == "ok":
            html += Markup('<div class="alert alert-success o_kobo_preview_db_ok">%s</div>') % _(
                "The database accepts this record (its NOT NULL and CHECK constraints were "
                "tried in a transaction rolled back at once)."
            )
        elif status == "error":
            html += Markup('<div class="alert alert-danger o_kobo_preview_db_error">%s</div>') % _(
                "The database refuses this record: %(error)s", error=message
            )
        elif status == "later":
            html += Markup('<div class="alert alert-info o_kobo_preview_db_later">%s</div>') % _(
                "Database constraints (NOT NULL, CHECK) are checked at import: %(model)s records "
                "take a sequence number when created, which a preview never does.",
                model=self.env[self.model_name]._description,
            )
        record = preview["record"]
        if record is not None:
            html += Markup("<h4>%s</h4>") % _(
                "The %(model)s as it would be created", model=record._description
            )
            html += _record_table(record, preview["vals"], self)
        return html


class _RollBack(Exception):
    """Ends the preview's savepoint: always rolled back."""


PREVIEW_CONTEXT = {
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "tracking_disable": True,
}


def _error_text(exc):
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    if isinstance(exc, psycopg2.Error) and exc.pgerror:
        text = exc.pgerror.splitlines()[0].removeprefix("ERROR:").strip()
    return text.strip()[:500] or type(exc).__name__


class _PreviewItem:
    __slots__ = ("id", "payload", "ref", "res_id", "res_model", "state")

    def __init__(self, payload):
        self.id = "preview"
        self.payload = payload
        self.ref = None
        self.res_id = 0
        self.res_model = False
        self.state = "pending"


def _show_value(value):
    if isinstance(value, Lookup):
        return ", ".join(value.names)
    if value is False or value is None:
        return ""
    return str(value)


def _field_text(record, name):
    field = record._fields[name]
    value = record[name]
    if field.type in ("many2one", "many2many"):
        return ", ".join(value.mapped("display_name"))
    if field.type == "selection":
        return dict(field._description_selection(record.env)).get(value, value or "")
    if field.type in ("binary", "image"):
        return "(file)" if value else ""
    return "" if value is False or value is None else str(value)


def _record_table(record, vals, mapping):
    names = [n for n in vals if n in record._fields]
    for name in sorted(mapping._kobo_derived_fields(record._name)):
        if name not in names and name in record._fields:
            names.append(name)
    html = Markup('<table class="table table-sm o_kobo_preview_record"><tbody>')
    for name in names:
        field = record._fields[name]
        if field.type == "one2many":
            lines = record[name]
            sub_vals = {}
            for command in vals.get(name) or ():
                if (
                    isinstance(command, (list, tuple))
                    and len(command) == 3
                    and isinstance(command[2], dict)
                ):
                    sub_vals.update(command[2])
            cols = [n for n in sub_vals if n in lines._fields]
            for extra in sorted(mapping._kobo_derived_fields(lines._name)):
                if extra not in cols and extra in lines._fields:
                    cols.append(extra)
            inner = Markup('<table class="table table-sm o_kobo_preview_o2m"><thead><tr>')
            for col in cols:
                inner += Markup("<th>%s</th>") % lines._fields[col].string
            inner += Markup("</tr></thead><tbody>")
            for line in lines:
                inner += Markup("<tr>")
                for col in cols:
                    inner += Markup("<td>%s</td>") % _field_text(line, col)
                inner += Markup("</tr>")
            inner += Markup("</tbody></table>")
            html += Markup("<tr><th>%s</th><td>%s</td></tr>") % (field.string, inner)
        else:
            html += Markup("<tr><th>%s</th><td>%s</td></tr>") % (
                field.string,
                escape(_field_text(record, name)),
            )
    return html + Markup("</tbody></table>")
