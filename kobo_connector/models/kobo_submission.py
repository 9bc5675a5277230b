import io
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
    payload = fields.Json(readonly=True, prefetch=False)
    payload_text = fields.Text(string="Raw Submission", compute="_compute_payload_text")
    state = fields.Selection(STATES, default="pending", required=True, readonly=True)
    state_rank = fields.Integer(readonly=True, default=STATE_RANK["pending"])
    error_message = fields.Text(readonly=True)
    res_model = fields.Char(string="Record Model", readonly=True)
    res_id = fields.Many2oneReference(string="Record ID", model_field="res_model", readonly=True)
    record_name = fields.Char(string="Record", compute="_compute_record_name")

    _sql_constraints = [
        ("kobo_id_uniq", "unique(form_id, kobo_id)", "A KoBo submission is stored once per form."),
    ]

    def init(self):
        # room in each page for the outcome written right after the insert:
        # with no indexed column changed, PostgreSQL updates the row in place (HOT)
        self.env.cr.execute("ALTER TABLE kobo_submission SET (fillfactor = 60)")

    @api.depends("payload")
    def _compute_payload_text(self):
        for sub in self:
            sub.payload_text = json.dumps(sub.payload, indent=2, ensure_ascii=False)

    @api.depends("res_model", "res_id")
    def _compute_record_name(self):
        """One search per model, within what the reader may read: a record
        the reader cannot see has no name here (and no AccessError)."""
        ids_by_model = defaultdict(set)
        for sub in self:
            if sub.res_model and sub.res_id and sub.res_model in self.env:
                ids_by_model[sub.res_model].add(sub.res_id)
        names = {}
        for model, ids in ids_by_model.items():
            Model = self.env[model].with_context(active_test=False)
            if not Model.has_access("read"):
                continue
            for record in Model.search([("id", "in", list(ids))]):
                names[model, record.id] = record.display_name
        for sub in self:
            sub.record_name = names.get((sub.res_model, sub.res_id), False)

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
        for form in todo.form_id:
            if not form._try_lock():  # the form's sync lock: never map alongside a sync
                raise UserError(
                    self.env._(
                        "A sync of %(form)s is running: reprocess again in a moment.",
                        form=form.name,
                    )
                )
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
    # Importing a page of KoBo's answer
    # ------------------------------------------------------------------
    @api.model
    def _import_page(self, form, results):
        """Store and map one page of raw submissions: new ones are written
        once, with their outcome, in the transaction that maps them; stored
        ones whose ``_uuid`` changed (edits) are updated and mapped again.
        Return counts {new, updated, errors}."""
        if not results:
            return {}
        self.env.cr.execute(
            "SELECT kobo_id, id, uuid FROM kobo_submission WHERE form_id = %s AND kobo_id = ANY(%s)",
            (form.id, [r["_id"] for r in results]),
        )
        known = {kobo_id: (sub_id, uuid) for kobo_id, sub_id, uuid in self.env.cr.fetchall()}
        items, edited = [], self.browse()
        for data in results:
            ref = SubmissionRef.from_json(data)
            if ref.kobo_id not in known:
                items.append(_Item(("new", ref.kobo_id), data, ref=ref))
            elif known[ref.kobo_id][1] != ref.uuid:  # an edit: rare, through the ORM
                sub = self.browse(known[ref.kobo_id][0])
                sub.write(
                    {
                        "uuid": ref.uuid,
                        "root_uuid": ref.root_uuid,
                        "form_version": ref.version or False,
                        "validation_status": ref.validation_status or False,
                        "payload": data,
                    }
                )
                edited |= sub
        return self._process_items(form, items + edited._items())

    def _items(self):
        return [
            _Item(
                sub.id,
                sub.payload or {},
                res_model=sub.res_model,
                res_id=sub.res_id,
                state=sub.state,
            )
            for sub in self
        ]

    @api.model
    def _insert(self, form, items, outcomes, res_model):
        """Store new submissions with their outcome in one COPY (the hot
        path: no ORM create, no SQL literal of megabytes). The unique
        (form, kobo_id) constraint still holds."""
        self.env.flush_all()
        now = fields.Datetime.to_string(fields.Datetime.now())
        fixed = [
            str(form.id),
            str(form.company_id.id) if form.company_id else NULL,
            str(self.env.uid),
            str(self.env.uid),
            now,
            now,
        ]
        rows = io.StringIO()
        for item in items:
            state, message, res_id = outcomes[item.id]
            ref = item.ref
            row = [
                *fixed,
                state,
                str(STATE_RANK[state]),
                _copy_text(message),
                _copy_text(res_model) if res_id else NULL,
                str(res_id) if res_id else NULL,
                str(ref.kobo_id),
                _copy_text(ref.uuid),
                _copy_text(ref.root_uuid),
                fields.Datetime.to_string(ref.submission_time) if ref.submission_time else NULL,
                _copy_text(ref.submitted_by),
                _copy_text(ref.version),
                _copy_text(ref.validation_status),
                _copy_text(json.dumps(item.payload, ensure_ascii=False)),
            ]
            rows.write("\t".join(row))
            rows.write("\n")
        rows.seek(0)
        self.env.cr.copy_expert(
            "COPY kobo_submission (form_id, company_id, create_uid, write_uid, create_date, "
            "write_date, state, state_rank, error_message, res_model, res_id, kobo_id, uuid, "
            "root_uuid, submission_time, submitted_by, form_version, validation_status, payload) "
            "FROM STDIN",
            rows,
        )

    # ------------------------------------------------------------------
    # Mapping submissions into records
    # ------------------------------------------------------------------
    def _process(self):
        """Map these stored submissions again through their form's enabled
        mapping. Return counts {new, updated, errors}."""
        counts = defaultdict(int)
        for form in self.form_id:
            subs = self.filtered(lambda s, f=form: s.form_id == f)
            for key, value in self._process_items(form, subs._items()).items():
                counts[key] += value
        return counts

    @api.model
    def _process_items(self, form, items):
        """Map submissions (``_Item``) into records through the form's enabled
        mapping. Each ends imported or in error, in isolation; one bad
        submission never stops the others."""
        mapping = form.mapping_id
        if not mapping:
            message = self.env._("The form %(form)s has no enabled mapping.", form=form.name)
            self._set_outcomes(form, items, {item.id: ("error", message, False) for item in items})
            return {"errors": len(items)}
        try:
            plan = mapping._compile()  # the policy again, as the import user
        except UserError as exc:
            message = exc.args[0]
            self._set_outcomes(form, items, {item.id: ("error", message, False) for item in items})
            return {"errors": len(items)}
        # as the form's import user (never sudo): its rights are the final guard
        Model = plan.env[plan.model].with_context(**IMPORT_CONTEXT)
        outcomes = {}
        todo = []
        for item in items:
            if item.state == "imported" and item.res_id and mapping.edit_policy == "ignore":
                outcomes[item.id] = ("imported", False, item.res_id)
                continue
            try:
                todo.append((item, plan.values(item.payload)))
            except ConversionError as exc:
                outcomes[item.id] = ("error", str(exc), False)
        todo = self._resolve_relations(plan, todo, outcomes)
        creates, writes = self._targets(Model, plan, todo)
        counts = {
            "new": self._create_records(Model, creates, outcomes),
            "updated": self._write_records(Model, writes, outcomes),
        }
        counts["errors"] = sum(1 for state, _e, _r in outcomes.values() if state == "error")
        self._set_outcomes(form, items, outcomes, plan.model)
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
            model: self.with_env(plan.env)._find_by_names(model, names, plan.aliases.get(model, {}))
            for model, names in wanted.items()
        }

        def substitute(vals, model):
            result = {}
            for name, value in vals.items():
                if isinstance(value, Lookup):
                    ids = []
                    for record_name in value.names:
                        if not found[value.model].get(record_name):
                            raise MissingRecord(
                                self.env._(
                                    'Question "%(question)s": no %(model)s named "%(name)s" '
                                    "(field %(field)s).",
                                    question=value.question_path,
                                    model=self.env[value.model]._description,
                                    name=record_name,
                                    field=self.env[model]._fields[name].string,
                                )
                            )
                        ids.append(found[value.model][record_name])
                    value = [Command.set(ids)] if value.many else ids[0]
                elif isinstance(value, Lines):
                    value = [Command.create(substitute(item, value.model)) for item in value.items]
                result[name] = value
            return result

        resolved = []
        for sub, vals in todo:
            try:
                resolved.append((sub, substitute(vals, plan.model)))
            except MissingRecord as exc:
                outcomes[sub.id] = ("error", exc.args[0], False)
        return resolved

    def _find_by_names(self, model, names, aliases):
        """{name: record id or None}: exact name (or choice label), then
        case-insensitive."""
        Model = self.env[model].with_context(active_test=True)  # the import user's env
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
            keys = {sub.payload.get(plan.key_path) for sub, _v in todo} - {None, ""}
            if keys:
                for record in Model.search_fetch(
                    [(plan.key_field, "in", list(keys)), *self._match_scope(Model)],
                    [plan.key_field],
                ):
                    by_key.setdefault(str(record[plan.key_field]), record.id)
        creates, writes = [], []
        for sub, vals in todo:
            target = sub.res_id if sub.res_id in alive and sub.res_model == Model._name else None
            if target is None and plan.key_field:
                target = by_key.get(sub.payload.get(plan.key_path))
            if target:
                writes.append((sub, target, vals))
            else:
                creates.append((sub, vals))
        return creates, writes

    def _match_scope(self, Model):
        """What "same key" may match: the form's company (or shared) records,
        never one an Odoo user or company points to (a user's partner)."""
        domain = []
        company_field = Model._fields.get("company_id")
        if company_field is not None and company_field.store:
            domain.append(("company_id", "in", [Model.env.company.id, False]))
        protected = self.env["kobo.allowed.model"]._protected_ids(Model._name)
        if protected:
            domain.append(("id", "not in", list(protected)))
        return domain

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
        protected = self.env["kobo.allowed.model"]._protected_ids(Model._name) if writes else ()
        for sub, record_id, vals in writes:
            if record_id in protected:  # became a user's partner since: never overwritten
                message = self.env._(
                    "The record is now linked to an Odoo user or company: "
                    "KoBo imports do not update it."
                )
                outcomes[sub.id] = ("error", message, False)
                continue
            record = Model.browse(record_id)
            for name, value in vals.items():
                if Model._fields[name].type == "one2many":  # the edit's lines replace the old ones
                    vals[name] = [Command.delete(line.id) for line in record[name]] + (value or [])
            try:
                with self.env.cr.savepoint():
                    record.write(vals)
            except Exception as exc:
                outcomes[sub.id] = ("error", _error_text(exc), False)
            else:
                outcomes[sub.id] = ("imported", False, record_id)
                updated += 1
        return updated

    @api.model
    def _set_outcomes(self, form, items, outcomes, res_model=None):
        """Write every submission's outcome: new ones inserted with it (one
        COPY), stored ones in one UPDATE (never one query per row)."""
        new = [item for item in items if item.ref is not None]
        if new:
            self._insert(form, new, outcomes, res_model)
        stored = {key: outcome for key, outcome in outcomes.items() if isinstance(key, int)}
        if stored:
            self.browse(stored)._update_outcomes(stored, res_model)

    def _update_outcomes(self, outcomes, res_model=None):
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


class _Item:
    """A submission being mapped: a stored one (``id`` its record id) or a
    new one of the page (``id`` a ("new", kobo id) key, ``ref`` its identity),
    stored with its outcome."""

    __slots__ = ("id", "payload", "ref", "res_id", "res_model", "state")

    def __init__(self, key, payload, *, ref=None, res_model=False, res_id=0, state="pending"):
        self.id = key
        self.payload = payload
        self.ref = ref
        self.res_model = res_model
        self.res_id = res_id
        self.state = state


NULL = r"\N"  # COPY's NULL


def _copy_text(value):
    """A value in PostgreSQL's COPY text format (None and '' are NULL)."""
    if not value:
        return NULL
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _error_text(exc):
    """A readable one-line message for an error raised by create/write."""
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    return text.strip()[:2000] or type(exc).__name__
