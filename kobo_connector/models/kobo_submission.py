import json
import logging
from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..kobo_kpi.submission import ConversionError, Lines, Lookup, SubmissionRef

_logger = logging.getLogger(__name__)

STATES = [
    ("error", "Error"),
    ("pending", "Pending"),
    ("imported", "Imported"),
    ("skipped", "Skipped"),
    ("deleted", "Deleted on KoBo"),
]
STATE_RANK = {state: rank for rank, (state, _label) in enumerate(STATES)}
# context of the records an import creates: no chatter noise per record
IMPORT_CONTEXT = {"mail_create_nolog": True, "mail_create_nosubscribe": True, "mail_notrack": True}


class MissingRecord(Exception):
    """A many2one/many2many answer names no record."""


class KoboSubmission(models.Model):
    """A raw KoBo submission, kept as received, and what became of it."""

    _name = "kobo.submission"
    _description = "KoBo Submission"
    _order = "state_rank, submission_time desc, id desc"
    _rec_name = "kobo_id"

    form_id = fields.Many2one(
        "kobo.form", required=True, readonly=True, ondelete="restrict", index=True
    )
    company_id = fields.Many2one(related="form_id.company_id", store=True)
    kobo_id = fields.Integer(string="KoBo ID", required=True, readonly=True, aggregator=None)
    uuid = fields.Char(string="UUID", readonly=True, help="Current _uuid: changes on every edit.")
    root_uuid = fields.Char(string="Root UUID", readonly=True, index=True)
    submission_time = fields.Datetime(readonly=True)
    submitted_by = fields.Char(readonly=True)
    form_version = fields.Char(readonly=True)
    validation_status = fields.Char(readonly=True)
    payload = fields.Json(readonly=True)
    payload_text = fields.Text(string="Raw Submission", compute="_compute_payload_text")
    state = fields.Selection(STATES, default="pending", required=True, readonly=True, index=True)
    state_rank = fields.Integer(readonly=True, default=STATE_RANK["pending"])
    error_message = fields.Text(readonly=True)
    res_model = fields.Char(string="Record Model", readonly=True, index=True)
    res_id = fields.Many2oneReference(string="Record ID", model_field="res_model", readonly=True)
    record_name = fields.Char(string="Record", compute="_compute_record_name")

    _sql_constraints = [
        ("kobo_id_uniq", "unique(form_id, kobo_id)", "A KoBo submission is stored once per form."),
    ]

    @api.depends("payload")
    def _compute_payload_text(self):
        for sub in self:
            sub.payload_text = json.dumps(sub.payload, indent=2, ensure_ascii=False)

    @api.depends("res_model", "res_id")
    def _compute_record_name(self):
        for sub in self:
            record = sub._record()
            sub.record_name = record.display_name if record else False

    def _compute_display_name(self):
        for sub in self:
            sub.display_name = f"{sub.form_id.name} #{sub.kobo_id}"

    def _record(self):
        self.ensure_one()
        if not (self.res_model and self.res_id and self.res_model in self.env):
            return None
        return self.env[self.res_model].browse(self.res_id).exists() or None

    def action_open_record(self):
        record = self._record()
        if not record:
            raise UserError(self.env._("This submission has no record in Odoo (any more)."))
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
        }

    def action_reprocess(self):
        """Map the selected submissions again (after the mapping was fixed)."""
        self.env["kobo.form"].check_access("write")
        todo = self.filtered(lambda s: s.state in ("error", "pending", "skipped"))
        counts = todo._process()
        return self.env["kobo.server"]._notify(
            self.env._("Reprocessed"),
            self.env._(
                "%(new)s created, %(updated)s updated, %(errors)s errors.",
                new=counts["new"],
                updated=counts["updated"],
                errors=counts["errors"],
            ),
            "warning" if counts["errors"] else "success",
        )

    # ------------------------------------------------------------------
    # Storing raw submissions
    # ------------------------------------------------------------------
    @api.model
    def _store(self, form, results):
        """Insert or update the raw submissions of one page of KoBo's answer.
        Return the submissions to map: new ones, and stored ones whose
        ``_uuid`` changed (edits)."""
        if not results:
            return self.browse()
        self.env.cr.execute(
            "SELECT kobo_id, id, uuid FROM kobo_submission WHERE form_id = %s AND kobo_id = ANY(%s)",
            (form.id, [r["_id"] for r in results]),
        )
        known = {kobo_id: (sub_id, uuid) for kobo_id, sub_id, uuid in self.env.cr.fetchall()}
        new_vals, changed = [], self.browse()
        for data in results:
            ref = SubmissionRef.from_json(data)
            vals = {
                "uuid": ref.uuid,
                "root_uuid": ref.root_uuid,
                "submission_time": ref.submission_time,
                "submitted_by": ref.submitted_by or False,
                "form_version": ref.version or False,
                "validation_status": ref.validation_status or False,
                "payload": data,
            }
            if ref.kobo_id not in known:
                new_vals.append(dict(vals, form_id=form.id, kobo_id=ref.kobo_id))
            elif known[ref.kobo_id][1] != ref.uuid:
                sub = self.browse(known[ref.kobo_id][0])
                sub.write(vals)
                changed |= sub
        return self.create(new_vals) | changed

    # ------------------------------------------------------------------
    # Mapping submissions into records
    # ------------------------------------------------------------------
    def _process(self):
        """Map these submissions into records through their form's enabled
        mapping. Each submission ends imported, skipped or in error, in
        isolation. Return counts {new, updated, errors}."""
        counts = defaultdict(int)
        for form in self.form_id:
            subs = self.filtered(lambda s, f=form: s.form_id == f)
            for key, value in subs._process_form(form).items():
                counts[key] += value
        return counts

    def _process_form(self, form):
        mapping = form.mapping_id
        if not mapping:
            message = self.env._("The form %(form)s has no enabled mapping.", form=form.name)
            self._set_outcomes({sub.id: ("error", message, False) for sub in self})
            return {"errors": len(self)}
        plan = mapping._compile()
        Model = (
            self.env[plan.model]
            .sudo()
            .with_company(form.company_id or self.env.company)
            .with_context(**IMPORT_CONTEXT)
        )
        outcomes = {}
        todo = []
        for sub in self:
            if sub.state == "imported" and sub.res_id and mapping.edit_policy == "ignore":
                outcomes[sub.id] = ("imported", False, sub.res_id)
                continue
            try:
                todo.append((sub, plan.values(sub.payload or {})))
            except ConversionError as exc:
                outcomes[sub.id] = ("error", str(exc), False)
        todo = self._resolve_relations(plan, todo, outcomes)
        creates, writes = self._targets(Model, plan, todo)
        counts = {"new": 0, "updated": 0, "errors": 0}
        counts["new"] = self._create_records(Model, creates, outcomes)
        counts["updated"] = self._write_records(Model, writes, outcomes)
        counts["errors"] = sum(1 for state, _e, _r in outcomes.values() if state == "error")
        self._set_outcomes(outcomes, plan.model)
        return counts

    def _resolve_relations(self, plan, todo, outcomes):
        """Replace Lookup and Lines markers by ORM commands, with one search
        per related model for the whole batch."""
        wanted = defaultdict(set)

        def collect(vals):
            for value in vals.values():
                if isinstance(value, Lookup):
                    wanted[value.model].update(value.names)
                elif isinstance(value, Lines):
                    for item in value.items:
                        collect(item)

        for _sub, vals in todo:
            collect(vals)
        found = {
            model: self._find_by_names(model, names, plan.aliases.get(model, {}))
            for model, names in wanted.items()
        }

        def substitute(vals, update):
            result = {}
            for name, value in vals.items():
                if isinstance(value, Lookup):
                    ids = []
                    for record_name in value.names:
                        if not found[value.model].get(record_name):
                            raise MissingRecord(
                                self.env._(
                                    'No %(model)s named "%(name)s" (field %(field)s).',
                                    model=self.env[value.model]._description,
                                    name=record_name,
                                    field=name,
                                )
                            )
                        ids.append(found[value.model][record_name])
                    value = [Command.set(ids)] if value.many else ids[0]
                elif isinstance(value, Lines):
                    value = ([Command.clear()] if update else []) + [
                        Command.create(substitute(item, False)) for item in value.items
                    ]
                result[name] = value
            return result

        resolved = []
        for sub, vals in todo:
            try:
                resolved.append((sub, substitute(vals, bool(sub.res_id))))
            except MissingRecord as exc:
                outcomes[sub.id] = ("error", exc.args[0], False)
        return resolved

    def _find_by_names(self, model, names, aliases):
        """{name: record id or None}: exact name (or choice label), then
        case-insensitive."""
        Model = self.env[model].sudo().with_context(active_test=True)
        rec_name = Model._rec_name or "name"
        field = Model._fields.get(rec_name)
        by_name = {}
        if field is not None and field.store:
            candidates = set(names) | {aliases[n] for n in names if n in aliases}
            for record in Model.search_fetch([(rec_name, "in", list(candidates))], [rec_name]):
                by_name.setdefault(record[rec_name], record.id)
        field_name = rec_name if field is not None and field.store else "display_name"
        result = {}
        for name in names:
            record_id = by_name.get(name) or by_name.get(aliases.get(name))
            for candidate in (name, aliases.get(name)):
                if record_id or not candidate:
                    break
                record_id = Model.search([(field_name, "=ilike", candidate)], limit=1).id
            result[name] = record_id or None
        return result

    def _targets(self, Model, plan, todo):
        """Split into records to create and records to update: the record a
        submission made before (if it still exists), or the one with the
        same key when the mapping matches by key."""
        previous = {sub.res_id for sub, _v in todo if sub.res_model == Model._name and sub.res_id}
        alive = set(Model.browse(previous).exists().ids)
        by_key = {}
        if plan.key_field:
            keys = {(sub.payload or {}).get(plan.key_path) for sub, _v in todo} - {None, ""}
            if keys:
                for record in Model.search_fetch(
                    [(plan.key_field, "in", list(keys))], [plan.key_field]
                ):
                    by_key.setdefault(str(record[plan.key_field]), record.id)
        creates, writes = [], []
        for sub, vals in todo:
            target = sub.res_id if sub.res_id in alive and sub.res_model == Model._name else None
            if target is None and plan.key_field:
                target = by_key.get((sub.payload or {}).get(plan.key_path))
            if target:
                writes.append((sub, target, vals))
            else:
                creates.append((sub, vals))
        return creates, writes

    def _create_records(self, Model, creates, outcomes):
        """One batched create; if it fails, one by one to isolate the culprit."""
        if not creates:
            return 0
        try:
            with self.env.cr.savepoint():
                records = Model.create([vals for _sub, vals in creates])
        except Exception:
            _logger.info("KoBo import: batch of %s failed, retrying one by one", len(creates))
            created = 0
            for sub, vals in creates:
                try:
                    with self.env.cr.savepoint():
                        record = Model.create(vals)
                except Exception as exc:
                    outcomes[sub.id] = ("error", _error_text(exc), False)
                else:
                    outcomes[sub.id] = ("imported", False, record.id)
                    created += 1
            return created
        for (sub, _vals), record in zip(creates, records, strict=True):
            outcomes[sub.id] = ("imported", False, record.id)
        return len(records)

    def _write_records(self, Model, writes, outcomes):
        updated = 0
        for sub, record_id, vals in writes:
            try:
                with self.env.cr.savepoint():
                    Model.browse(record_id).write(vals)
            except Exception as exc:
                outcomes[sub.id] = ("error", _error_text(exc), False)
            else:
                outcomes[sub.id] = ("imported", False, record_id)
                updated += 1
        return updated

    def _set_outcomes(self, outcomes, res_model=None):
        """Write every submission's outcome in one query (not one per row)."""
        if not outcomes:
            return
        ids, states, ranks, messages, res_ids = [], [], [], [], []
        for sub_id, (state, message, res_id) in outcomes.items():
            ids.append(sub_id)
            states.append(state)
            ranks.append(STATE_RANK[state])
            messages.append(message or None)
            res_ids.append(res_id or None)
        self.env.flush_all()
        self.env.cr.execute(
            """
            UPDATE kobo_submission s
               SET state = v.state,
                   state_rank = v.rank,
                   error_message = v.message,
                   res_id = COALESCE(v.res_id, s.res_id),
                   res_model = CASE WHEN v.res_id IS NULL THEN s.res_model ELSE %s END,
                   write_uid = %s,
                   write_date = (now() at time zone 'UTC')
              FROM unnest(%s::int[], %s::varchar[], %s::int[], %s::text[], %s::int[])
                   AS v(id, state, rank, message, res_id)
             WHERE s.id = v.id
            """,
            (res_model, self.env.uid, ids, states, ranks, messages, res_ids),
        )
        self.invalidate_model(
            [
                "state",
                "state_rank",
                "error_message",
                "res_id",
                "res_model",
                "write_date",
                "write_uid",
            ]
        )


def _error_text(exc):
    """A readable one-line message for an error raised by create/write."""
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    return text.strip()[:2000] or type(exc).__name__
