import io
import json
import logging
from collections import defaultdict

import psycopg2

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..kobo_kpi.conditions import failing as conditions_failing
from ..kobo_kpi.submission import ConversionError, Lines, Lookup, SubmissionRef, location
from .kobo_mapping_condition import condition_words
from .kobo_mapping_value import like_escaped
from .kobo_submission_link import _record_names

_logger = logging.getLogger(__name__)

STATES = [
    ("error", "Error"),
    ("pending", "Pending"),
    ("waiting", "Waiting for Approval"),
    ("imported", "Imported"),
    ("skipped", "Skipped"),
    ("deleted", "Deleted on KoBo"),
    ("ignored", "Ignored"),
]
STATE_RANK = {state: rank for rank, (state, _label) in enumerate(STATES)}
# what a page that cannot be stored as a whole is retried for, one by one
# (errors of the data; transient ones — locks, timeouts — fail the step instead)
STORAGE_ERRORS = (psycopg2.DataError, psycopg2.IntegrityError, ValueError, RecursionError)
# identity of a submission, kept when the rest cannot be stored
IDENTITY_KEYS = (
    "_id",
    "_uuid",
    "meta/rootUuid",
    "meta/instanceID",
    "meta/deprecatedID",
    "_submission_time",
    "_submitted_by",
    "__version__",
)
# KoBo's validation statuses (the approval gate)
APPROVED = "validation_status_approved"
NOT_APPROVED = "validation_status_not_approved"
# the stored submissions of a form among some KoBo ids: one probe of the
# (form_id, kobo_id) index per id (a LATERAL ... LIMIT 1 is never turned into a
# join), so a page costs the same whatever the table's size and however stale
# its statistics: with ``kobo_id = ANY(...)`` (or a join), PostgreSQL read every
# stored submission of the form for each page (1.9 s a page at 450,000 stored)
STORED_ROWS = (
    "SELECT s.* FROM unnest(%s::int[]) AS k(kobo_id), "
    "LATERAL (SELECT kobo_id, id, uuid, state, validation_status FROM kobo_submission "
    "WHERE form_id = %s AND kobo_id = k.kobo_id LIMIT 1) s"
)
# context of the records an import creates: no chatter noise per record
IMPORT_CONTEXT = {"mail_create_nolog": True, "mail_create_nosubscribe": True, "mail_notrack": True}


def _has_files(Model, lines):
    """Whether compiled ``lines`` (and their repeats') fill a binary field."""
    for line in lines:
        field = Model._fields[line.field]
        if field.type in ("binary", "image"):
            return True
        if line.children and _has_files(Model.env[field.comodel_name], line.children):
            return True
    return False


class MissingRecord(Exception):
    """A many2one/many2many answer names no record."""


class KoboSubmission(models.Model):
    """A raw KoBo submission, kept as received, and what became of it."""

    _name = "kobo.submission"
    _description = "KoBo Submission"
    _inherit = ["kobo.system.mixin"]
    _order = "state_rank, submission_time desc, id desc"
    _rec_name = "kobo_id"

    form_id = fields.Many2one(
        "kobo.form", required=True, readonly=True, ondelete="restrict", index=True, kobo_system=True
    )
    company_id = fields.Many2one(related="form_id.company_id", store=True, kobo_system=True)
    kobo_id = fields.Integer(
        string="KoBo ID", required=True, readonly=True, aggregator=None, kobo_system=True
    )
    uuid = fields.Char(
        string="UUID", readonly=True, help="Current _uuid: changes on every edit.", kobo_system=True
    )
    root_uuid = fields.Char(string="Root UUID", readonly=True, index=True, kobo_system=True)
    submission_time = fields.Datetime(readonly=True, kobo_system=True)
    submitted_by = fields.Char(readonly=True, kobo_system=True)
    form_version = fields.Char(readonly=True, kobo_system=True)
    validation_status = fields.Char(readonly=True, kobo_system=True)
    payload = fields.Json(readonly=True, prefetch=False, kobo_system=True)
    payload_text = fields.Text(string="Raw Submission", compute="_compute_payload_text")
    state = fields.Selection(
        STATES, default="pending", required=True, readonly=True, kobo_system=True
    )
    state_rank = fields.Integer(readonly=True, default=STATE_RANK["pending"], kobo_system=True)
    error_message = fields.Text(readonly=True, kobo_system=True)
    res_model = fields.Char(string="Record Model", readonly=True, kobo_system=True)
    res_id = fields.Many2oneReference(
        string="Record ID", model_field="res_model", readonly=True, kobo_system=True
    )
    record_name = fields.Char(string="Record", compute="_compute_record_name")
    link_ids = fields.One2many(
        "kobo.submission.link",
        "submission_id",
        string="Records",
        readonly=True,
        kobo_system=True,
    )
    link_count = fields.Integer(string="Records Made", compute="_compute_link_count")

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
        names = _record_names(self.env, [(sub.res_model, sub.res_id) for sub in self])
        for sub in self:
            sub.record_name = names.get((sub.res_model, sub.res_id), False)

    @api.depends("link_ids")
    def _compute_link_count(self):
        for sub in self:
            sub.link_count = len(sub.link_ids)

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
        self.form_id.check_access("write")
        # sudo: submissions are the engine's (no user writes them); the caller may write
        # their forms (checked above); the records are written as the import user
        todo = self.sudo().filtered(lambda s: s.state in ("error", "pending", "skipped", "ignored"))
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

    def action_ignore(self):
        """Keep the selected submissions out of the import: reconcile and
        edits leave them alone (Reprocess takes them back)."""
        self.form_id.check_access("write")
        # sudo: the outcome is the engine's to write; the caller may write the forms (checked)
        todo = self.sudo().filtered(lambda s: s.state != "deleted")
        todo._update_outcomes({sub.id: ("ignored", False, False) for sub in todo})
        return True

    # ------------------------------------------------------------------
    # Importing a page of KoBo's answer
    # ------------------------------------------------------------------
    @api.model
    def _import_page(self, form, results, stalled=False):
        """Store and map one page of raw submissions: new ones are written
        once, with their outcome, in the transaction that maps them; stored
        ones whose ``_uuid`` changed (edits) are updated and mapped again.
        A submission that KoBo repeats on the page counts once; a page that
        cannot be stored as a whole is stored one by one, and a submission
        that still cannot be is kept as its identity, in error: the page and
        the cursor go on. ``stalled``: why the page is stored unmapped, its
        submissions in error. Return counts {new, updated, errors}."""
        page = {}
        for data in results:  # KoBo repeating a submission: its last copy counts
            page[int(data["_id"])] = data
        results = list(page.values())
        if not results:
            return {}
        # a mapping that cannot compile stops the form, not its submissions
        plans = form._compile_mappings()
        try:
            with self.env.cr.savepoint():
                return self._import_subs(form, results, plans, stalled)
        except STORAGE_ERRORS as exc:
            _logger.info("KoBo import: page failed (%s), one by one", type(exc).__name__)
        counts = defaultdict(int)
        for data in results:
            try:
                with self.env.cr.savepoint():
                    done = self._import_subs(form, [data], plans, stalled)
            except STORAGE_ERRORS as exc:
                done = self._store_identity(form, data, exc)
            for key, value in done.items():
                counts[key] += value
        return counts

    @api.model
    def _store_identity(self, form, data, exc):
        """Keep a submission that cannot be stored as it came: its identity,
        in error, with why."""
        ident = {
            key: _no_nul(data[key])
            for key in IDENTITY_KEYS
            if isinstance(data.get(key), str | int) and not isinstance(data.get(key), bool)
        }
        try:
            ref = SubmissionRef.from_json(ident)
        except ValueError:  # its system fields are the trouble: the key alone
            ident = {key: ident[key] for key in ("_id", "_uuid") if key in ident}
            ref = SubmissionRef.from_json(ident)
        message = self.env._(
            "KoBo sent this submission in a shape that cannot be stored (%(error)s): only its "
            "identity is kept here; see it on KoBo.",
            error=_error_text(exc)[:300],
        )
        known = self.search([("form_id", "=", form.id), ("kobo_id", "=", ref.kobo_id)])
        if known:
            known._update_outcomes({known.id: ("error", message, False)})
        else:
            item = _Item(("new", ref.kobo_id), ident, ref=ref)
            self._insert(form, [item], {item.id: ("error", message, False)}, None)
        return {"errors": 1}

    @api.model
    def _stored_rows(self, form_id, kobo_ids):
        """(kobo id, id, uuid, state, validation status) of the form's stored
        submissions among these."""
        self.env.cr.execute(STORED_ROWS, (list(kobo_ids), form_id))
        return self.env.cr.fetchall()

    @api.model
    def _import_subs(self, form, results, plans, stalled=False):
        rows = self._stored_rows(form.id, [r["_id"] for r in results])
        known = {row[0]: row[1:] for row in rows}
        gated = form.import_gate == "approved"
        items, edited, poisoned = [], self.browse(), {}
        for data in results:
            ref = SubmissionRef.from_json(data)
            if _has_nul(data):  # PostgreSQL stores no NUL character: replaced, and said
                data = _no_nul(data)
                poisoned[ref.kobo_id] = self.env._(
                    "An answer contains a NUL character, which cannot be stored: it was "
                    "replaced by \ufffd. Check the submission, then Reprocess it."
                )
            if stalled:  # this page stopped the import before: stored, not mapped
                poisoned[ref.kobo_id] = stalled
            if ref.kobo_id not in known:
                items.append(_Item(("new", ref.kobo_id), data, ref=ref))
            elif known[ref.kobo_id][2] == "ignored":
                continue
            elif (
                known[ref.kobo_id][1] != ref.uuid
                or known[ref.kobo_id][2] == "deleted"
                # gated: a new validation status (approved, not approved) is news
                or (gated and (known[ref.kobo_id][3] or "") != ref.validation_status)
            ):
                sub = self.browse(known[ref.kobo_id][0])
                lat, lon = location(data, form._location_xpath())
                sub.write(
                    {
                        "latitude": lat or False,
                        "longitude": lon or False,
                        "uuid": ref.uuid,
                        "root_uuid": ref.root_uuid,
                        "form_version": ref.version or False,
                        "validation_status": ref.validation_status or False,
                        "payload": data,
                    }
                )
                edited |= sub
        items += edited._items()
        done = [i for i in items if (i.ref.kobo_id if i.ref else i.kobo_id) not in poisoned]
        counts = self._process_items(form, done, plans=plans) if done else {}
        if len(done) < len(items):
            poison = [i for i in items if i not in done]
            outcomes = {
                i.id: ("error", poisoned[i.ref.kobo_id if i.ref else i.kobo_id], False)
                for i in poison
            }
            self._set_outcomes(form, poison, outcomes)
            counts = dict(counts, errors=counts.get("errors", 0) + len(poison))
        return counts

    def _items(self):
        return [
            _Item(sub.id, sub.payload or {}, state=sub.state, kobo_id=sub.kobo_id) for sub in self
        ]

    @api.model
    def _insert(self, form, items, outcomes, res_model, made=None):
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
        xpath = form._location_xpath()
        for item in items:
            state, message, res_id = outcomes[item.id]
            ref = item.ref
            lat, lon = location(item.payload, xpath)
            row = [
                *fixed,
                state,
                str(STATE_RANK[state]),
                _copy_text(message),
                _copy_text(_model_of(res_model, item.id)) if res_id else NULL,
                str(res_id) if res_id else NULL,
                str(ref.kobo_id),
                _copy_text(ref.uuid),
                _copy_text(ref.root_uuid),
                fields.Datetime.to_string(ref.submission_time) if ref.submission_time else NULL,
                _copy_text(ref.submitted_by),
                _copy_text(ref.version),
                _copy_text(ref.validation_status),
                _copy_text(json.dumps(item.payload, ensure_ascii=False)),
                NULL if lat is None else repr(lat),
                NULL if lon is None else repr(lon),
            ]
            rows.write("\t".join(row))
            rows.write("\n")
        rows.seek(0)
        self.env.cr.copy_expert(
            "COPY kobo_submission (form_id, company_id, create_uid, write_uid, create_date, "
            "write_date, state, state_rank, error_message, res_model, res_id, kobo_id, uuid, "
            "root_uuid, submission_time, submitted_by, form_version, validation_status, payload, "
            "latitude, longitude) "
            "FROM STDIN",
            rows,
        )
        rows = self._stored_rows(form.id, [item.ref.kobo_id for item in items])
        ids = {row[0]: row[1] for row in rows}
        for item in items:
            item.sub_id = ids[item.ref.kobo_id]

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
    def _process_items(self, form, items, plans=None):
        """Map submissions (``_Item``) through the form's enabled mappings, in
        their order: each mapping whose conditions hold makes (or updates) its
        record, and a submission gets all of its records or none. The page
        is mapped as one batch; a submission that fails after an earlier
        mapping wrote for it makes the batch run again without it (then one
        by one), so that none of its records exist. Each submission ends
        imported, skipped (no mapping applies), waiting for approval (gated
        form) or in error naming the mapping; one never stops the others."""
        if plans is None:
            plans = form._compile_mappings()  # the policy again, as the import user
        if not plans:
            message = self.env._("The form %(form)s has no enabled mapping.", form=form.name)
            self._set_outcomes(form, items, {item.id: ("error", message, False) for item in items})
            return {"errors": len(items)}
        if len(items) > 1 and any(
            _has_files(plan.env[plan.model], plan.lines) for _mapping, plan in plans
        ):
            # files for binary fields are held in memory: one submission at a time
            counts = defaultdict(int)
            for item in items:
                for key, value in self._process_items(form, [item], plans).items():
                    counts[key] += value
            return dict(counts)
        outcomes = {}
        every = items
        items = self._gate(form, items, outcomes)
        self._load_links(items)
        failed = {}
        run = None
        for _attempt in range(3):
            todo = [item for item in items if item.id not in failed]
            try:
                with self.env.cr.savepoint():
                    run = self._run_mappings(plans, todo)
                    dirty = {k: v for k, v in run.failures.items() if k in run.wrote}
                    if dirty:
                        raise _Redo(dirty)
                break
            except _Redo as redo:
                failed.update(redo.failures)
                run = None
        if run is None:  # still failing as a batch: one by one
            run = _Run()
            for item in items:
                if item.id in failed:
                    continue
                try:
                    with self.env.cr.savepoint():
                        one = self._run_mappings(plans, [item])
                        if item.id in one.failures and item.id in one.wrote:
                            raise _Redo(one.failures)
                except _Redo as redo:
                    failed.update(redo.failures)
                else:
                    run.merge(one)
        failed.update(run.failures)
        counts = {"new": 0, "updated": 0}
        res_models = {}
        for item in items:
            if item.id in outcomes:  # waiting for approval, or kept as it is
                continue
            if item.id in failed:
                outcomes[item.id] = ("error", failed[item.id], False)
                continue
            keys = [(item.id, m.id) for m, _p in plans if (item.id, m.id) in run.made]
            if not keys:
                outcomes[item.id] = ("skipped", self._skip_reason(run.skipped[item.id]), False)
                continue
            main_model, main_id, _lines = run.made[keys[0]]
            res_models[item.id] = main_model
            note = "\n".join(run.notes.get(item.id, ())) or False
            outcomes[item.id] = ("imported", note, main_id)
            if keys[0] in run.created:
                counts["new"] += 1
            elif item.id in run.changed:
                counts["updated"] += 1
        counts["errors"] = sum(1 for state, _e, _r in outcomes.values() if state == "error")
        self._set_outcomes(form, every, outcomes, res_models)
        self._write_links(form, items, run, outcomes)
        return counts

    @api.model
    def _gate(self, form, items, outcomes):
        """The approval gate: on a gated form only submissions approved on
        KoBo are mapped; the others wait. One imported earlier and no longer
        approved keeps its records (said on the submission). Return the
        items to map."""
        if form.import_gate != "approved":
            return items
        todo = []
        for item in items:
            status = (item.payload.get("_validation_status") or {}).get("uid")
            if status == APPROVED:
                todo.append(item)
            elif item.state == "imported":
                note = (
                    self.env._("Not approved on KoBo after its import: its records are kept.")
                    if status == NOT_APPROVED
                    else False
                )
                outcomes[item.id] = ("imported", note, False)
            else:
                outcomes[item.id] = ("waiting", False, False)
        return todo

    def _load_links(self, items):
        """Give each stored item the records its mappings made before."""
        stored = {item.id: item for item in items if isinstance(item.id, int)}
        for item in items:
            item.links = {}
        if not stored:
            return
        self.env.cr.execute(
            "SELECT submission_id, mapping_id, res_model, res_id, import_lines "
            "FROM kobo_submission_link WHERE submission_id = ANY(%s)",
            (list(stored),),
        )
        for sub_id, mapping_id, res_model, res_id, lines in self.env.cr.fetchall():
            stored[sub_id].links[mapping_id] = (res_model, res_id, lines)

    def _run_mappings(self, plans, items):
        """Apply each plan, in order, to the items (no rollback here):
        a ``_Run`` of what was made, what failed and why, what was skipped."""
        run = _Run()
        words = condition_words(self.env)
        for mapping, plan in plans:
            this = self.with_context(kobo_mapping_id=mapping.id)
            Model = plan.env[plan.model].with_context(**IMPORT_CONTEXT)
            outcomes, todo, made = {}, [], {}
            for item in items:
                if item.id in run.failures:
                    continue
                link = item.links.get(mapping.id)
                if link and link[0] != plan.model:  # the mapping's model changed since
                    link = None
                failing = conditions_failing(plan.conditions, item.payload)
                if failing:
                    if link:  # an edit made it false: the earlier record stays, and says so
                        run.made[item.id, mapping.id] = link
                        run.notes[item.id].append(
                            self.env._(
                                "%(mapping)s no longer applies (%(why)s): the record it made "
                                "earlier is left as it is.",
                                mapping=mapping.name,
                                why=failing.describe(negate=True, words=words),
                            )
                        )
                    else:
                        run.skipped[item.id].append(failing.describe(negate=True, words=words))
                    continue
                if link and item.state == "imported" and mapping.edit_policy == "ignore":
                    run.made[item.id, mapping.id] = link
                    continue
                target = _Target(item, link)
                try:
                    vals = plan.values(item.payload)
                    self._fill_refs(Model, plan, vals, run.made, item.id)
                    todo.append((target, vals))
                except (ConversionError, MissingRecord) as exc:
                    run.fail(item.id, self._mapping_error(mapping, str(exc)))
            todo = this._resolve_relations(plan, todo, outcomes)
            created = set()
            for batch in this._key_rounds(Model, plan, todo):
                creates, writes = this._targets(Model, plan, batch)
                this._create_records(Model, creates, outcomes, made)
                created.update(target.id for target, _vals in creates)
                this._write_records(Model, writes, outcomes, made)
            for item_id, (state, message, res_id) in outcomes.items():
                if state == "error":
                    run.fail(item_id, self._mapping_error(mapping, message))
                    continue
                key = (item_id, mapping.id)
                run.made[key] = (plan.model, res_id, made.get(item_id))
                run.changed[item_id].append(mapping.id)
                run.wrote.add(item_id)
                if item_id in created:
                    run.created.add(key)
                if message:
                    run.notes[item_id].append(message)
        return run

    def _fill_refs(self, Model, plan, vals, made, item_id):
        """Lines taking "the record made by mapping X for this submission":
        empty when X did not apply (a required field then fails, saying why)."""
        for name, mapping_id in plan.refs.items():
            record = made.get((item_id, mapping_id))
            vals[name] = record[1] if record else False
            if not record and Model._fields[name].required:
                raise MissingRecord(
                    self.env._(
                        "%(field)s is required, and %(mapping)s, which gives it, did not apply "
                        "to this submission.",
                        field=Model._fields[name].string,
                        # sudo: the import user may not read mappings; their name only
                        mapping=self.env["kobo.mapping"].sudo().browse(mapping_id).name,
                    )
                )

    def _mapping_error(self, mapping, message):
        """The error of a submission, naming the mapping when the form has several."""
        if len(mapping.form_id._enabled_mappings()) < 2:
            return message
        return self.env._("%(mapping)s: %(error)s", mapping=mapping.name, error=message)

    def _skip_reason(self, reasons):
        return self.env._(
            "No mapping applies: %(reasons)s.", reasons=self.env._("; ").join(reasons)
        )

    def _write_links(self, form, items, run, outcomes):
        """Upsert the links of the records made (one statement)."""
        rows = []
        for item in items:
            if outcomes.get(item.id, ("",))[0] != "imported":
                continue
            for mapping_id in run.changed.get(item.id, ()):
                res_model, res_id, lines = run.made[item.id, mapping_id]
                rows.append((item.sub_id, mapping_id, res_model, res_id, lines))
        if not rows:
            return
        self.env.cr.execute(
            """
            INSERT INTO kobo_submission_link (submission_id, mapping_id, res_model, res_id,
                   import_lines, company_id, create_uid, write_uid, create_date, write_date)
            SELECT v.sid, v.mid, v.model, v.rid, v.lines::jsonb, %s, %s, %s,
                   now() at time zone 'UTC', now() at time zone 'UTC'
              FROM unnest(%s::int[], %s::int[], %s::varchar[], %s::int[], %s::text[])
                   AS v(sid, mid, model, rid, lines)
            ON CONFLICT (submission_id, mapping_id) DO UPDATE
               SET res_model = EXCLUDED.res_model,
                   res_id = EXCLUDED.res_id,
                   import_lines = COALESCE(EXCLUDED.import_lines, kobo_submission_link.import_lines),
                   write_uid = EXCLUDED.write_uid,
                   write_date = EXCLUDED.write_date
            """,
            (
                form.company_id.id or None,
                self.env.uid,
                self.env.uid,
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
                [json.dumps(r[4]) if r[4] is not None else None for r in rows],
            ),
        )
        self.env["kobo.submission.link"].invalidate_model()

    def _key_value(self, Model, plan, sub, vals):
        """The typed key of a submission ("same key" matching): the value its
        mapping line gives the key field, else the answer converted to the
        field's type. None when empty or not convertible."""
        name = plan.key_field
        if name in vals and not isinstance(vals[name], list | tuple):
            value = vals[name]
        else:
            raw = sub.payload.get(plan.key_path)
            if raw in (None, "", []):
                return None
            try:
                value = Model._fields[name].convert_to_cache(raw, Model)
            except (TypeError, ValueError):
                return None
        return _typed_key(value)

    def _key_rounds(self, Model, plan, todo):
        """Batches of ``todo`` in which no key appears twice: the second
        submission with a key goes to a later batch, so it updates the record
        that the first one made."""
        if not plan.key_field:
            yield todo
            return
        rounds, seen = [], defaultdict(int)
        for sub, vals in todo:
            key = self._key_value(Model, plan, sub, vals)
            index = seen[key] if key is not None else 0
            if key is not None:
                seen[key] += 1
            while len(rounds) <= index:
                rounds.append([])
            rounds[index].append((sub, vals))
        yield from rounds

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
                record_id = Model.search(
                    [(field_name, "=ilike", like_escaped(candidate))], limit=1
                ).id
            result[name] = record_id or None
        return result

    def _targets(self, Model, plan, todo):
        """Split into records to create and records to update: the record a
        submission made before (if it still exists), or the one with the
        same key when the mapping matches by key."""

        previous = {sub.res_id for sub, _v in todo if sub.res_model == Model._name and sub.res_id}
        alive = set(Model.browse(previous).exists().ids)
        by_key, keys = {}, {}
        if plan.key_field:
            keys = {sub.id: self._key_value(Model, plan, sub, vals) for sub, vals in todo}
            wanted = {key for key in keys.values() if key is not None}
            if wanted:
                Model.flush_model([plan.key_field])
                for record in Model.search_fetch(
                    [(plan.key_field, "in", list(wanted)), *self._match_scope(Model)],
                    [plan.key_field],
                ):
                    by_key.setdefault(_typed_key(record[plan.key_field]), record.id)
        creates, writes = [], []
        for sub, vals in todo:
            target = sub.res_id if sub.res_id in alive and sub.res_model == Model._name else None
            if target is None and plan.key_field:
                target = by_key.get(keys[sub.id])
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

    def _create_records(self, Model, creates, outcomes, made):
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
                    _track_lines(made, sub, record, vals)
                    created += 1
            return created
        for (sub, vals), record in zip(creates, records, strict=True):
            outcomes[sub.id] = ("imported", False, record.id)
            _track_lines(made, sub, record, vals)
        return len(records)

    def _write_records(self, Model, writes, outcomes, made):
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
            kept = {}
            for name, value in vals.items():
                if Model._fields[name].type == "one2many":
                    # the edit's lines replace those the import made; lines added in Odoo stay
                    ours = _import_made(sub, record, name)
                    kept[name] = set((record[name] - ours).ids)
                    vals[name] = [Command.delete(line.id) for line in ours] + (value or [])
            try:
                with self.env.cr.savepoint():
                    record.write(vals)
            except Exception as exc:
                outcomes[sub.id] = ("error", _error_text(exc), False)
            else:
                outcomes[sub.id] = ("imported", False, record_id)
                _track_lines(made, sub, record, vals, kept)
                updated += 1
        return updated

    @api.model
    def _set_outcomes(self, form, items, outcomes, res_model=None, made=None):
        """Write every submission's outcome: new ones inserted with it (one
        COPY), stored ones in one UPDATE (never one query per row)."""
        new = [item for item in items if item.ref is not None]
        if new:
            self._insert(form, new, outcomes, res_model, made)
        stored = {key: outcome for key, outcome in outcomes.items() if isinstance(key, int)}
        if stored:
            self.browse(stored)._update_outcomes(stored, res_model, made)

    def _update_outcomes(self, outcomes, res_model=None, made=None):
        """``res_model``: the model of the records (or {submission id: model})."""
        ids, states, ranks, messages, res_ids, res_models = [], [], [], [], [], []
        for sub_id, (state, message, res_id) in outcomes.items():
            ids.append(sub_id)
            states.append(state)
            ranks.append(STATE_RANK[state])
            messages.append(message or None)
            res_ids.append(res_id or None)
            res_models.append(_model_of(res_model, sub_id) if res_id else None)
        self.env.flush_all()
        self.env.cr.execute(
            """
            UPDATE kobo_submission s
               SET state = v.state,
                   state_rank = v.rank,
                   error_message = v.message,
                   res_id = COALESCE(v.res_id, s.res_id),
                   res_model = CASE WHEN v.res_id IS NULL THEN s.res_model ELSE v.res_model END,
                   write_uid = %s,
                   write_date = (now() at time zone 'UTC')
              FROM unnest(%s::int[], %s::varchar[], %s::int[], %s::text[], %s::int[],
                          %s::varchar[])
                   AS v(id, state, rank, message, res_id, res_model)
             WHERE s.id = v.id
            """,
            (self.env.uid, ids, states, ranks, messages, res_ids, res_models),
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

    __slots__ = ("id", "kobo_id", "links", "payload", "ref", "state", "sub_id")

    def __init__(self, key, payload, *, ref=None, state="pending", kobo_id=None):
        self.id = key
        self.payload = payload
        self.ref = ref
        self.state = state
        self.kobo_id = kobo_id
        self.links = {}  # {mapping id: (model, record id, lines made)} made before
        self.sub_id = key if isinstance(key, int) else None  # its kobo.submission id


class _Target:
    """A submission as one mapping sees it: the record that mapping made
    for it before (``res_model``/``res_id``) and the lines it made."""

    __slots__ = ("id", "lines", "payload", "res_id", "res_model", "state")

    def __init__(self, item, link):
        self.id = item.id
        self.payload = item.payload
        self.state = item.state
        # made nothing yet: {}; stored before lines were tracked: None
        self.res_model, self.res_id, self.lines = link or (False, 0, {})


class _Run:
    """What applying the mappings to a batch did."""

    def __init__(self):
        self.made = {}  # {(item id, mapping id): (model, record id, lines made)}
        self.changed = defaultdict(list)  # {item id: [mapping ids whose record was written]}
        self.created = set()  # (item id, mapping id) whose record was created
        self.wrote = set()  # item ids with a record written in this run
        self.failures = {}  # {item id: message}
        self.notes = defaultdict(list)
        self.skipped = defaultdict(list)  # {item id: [why a mapping did not apply]}

    def fail(self, item_id, message):
        self.failures.setdefault(item_id, message)

    def merge(self, other):
        self.made.update(other.made)
        self.created |= other.created
        self.wrote |= other.wrote
        self.failures.update(other.failures)
        for attr in ("changed", "notes", "skipped"):
            for key, values in getattr(other, attr).items():
                getattr(self, attr)[key].extend(values)


class _Redo(Exception):
    """A batch to run again without these submissions ({item id: message})."""

    def __init__(self, failures):
        super().__init__(failures)
        self.failures = failures


NULL = r"\N"  # COPY's NULL


def _copy_text(value):
    """A value in PostgreSQL's COPY text format (None and '' are NULL)."""
    if not value:
        return NULL
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _model_of(res_model, key):
    return res_model.get(key) if isinstance(res_model, dict) else res_model


def _error_text(exc):
    """A readable one-line message for an error raised by create/write."""
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    return text.strip()[:2000] or type(exc).__name__


def _typed_key(value):
    """A key comparable across the answer and the record: records by id,
    empty as None, numbers and strings as they are (never as text)."""
    if isinstance(value, models.BaseModel):
        return value.id or None
    if value is None or value is False or value == "":
        return None
    return value


def _import_made(sub, record, name):
    """The lines of ``record[name]`` that the import made. Submissions
    stored before lines were tracked: the lines created with the record."""
    lines = record[name]
    if sub.lines is None:
        return lines.filtered(lambda line: line.create_date == record.create_date)
    ids = set((sub.lines or {}).get(name, []))
    return lines.filtered(lambda line: line.id in ids)


def _track_lines(made, sub, record, vals, kept=None):
    """Remember which one2many lines of ``record`` the import made."""
    names = [n for n in vals if record._fields[n].type == "one2many"]
    kept = kept or {}
    made[sub.id] = {
        **(sub.lines or {}),
        **{n: [i for i in record[n].ids if i not in kept.get(n, ())] for n in names},
    }


def _has_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _no_nul(value):
    """``value`` with every NUL character replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_no_nul(k): _no_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    return value
