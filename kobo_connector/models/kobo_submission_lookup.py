"""Relations found by a chosen field (code, reference, barcode, email, XML
id) and created when missing, before the core's by-name resolution."""

import base64
import io
from collections import defaultdict

from odoo import Command, models

from ..kobo_kpi.errors import KoboError
from ..kobo_kpi.submission import FileRef, Lines, Lookup, SubmissionRef

MAX_FILE_BYTES = 25 * 1024 * 1024

# never created from a form answer, whatever the rights
NEVER_CREATED = ("res.users", "res.groups", "res.company")


class KoboSubmission(models.Model):
    _inherit = "kobo.submission"

    def _resolve_relations(self, plan, todo, outcomes):
        todo = self._kobo_download_files(todo, outcomes)
        wanted = defaultdict(set)

        def special(value):
            return isinstance(value, Lookup) and (value.by or value.create or value.ids)

        def collect(vals):
            for value in vals.values():
                if special(value):
                    wanted[value.model, value.by, value.create].update(value.names)
                elif isinstance(value, Lines):
                    for item in value.items:
                        collect(item)

        for _sub, vals in todo:
            collect(vals)
        if not wanted:
            return super()._resolve_relations(plan, todo, outcomes)
        finder = self.with_env(plan.env)  # as the import user: what it may see, in the company
        if "kobo_preview_would_create" in self.env.context:  # a preview: nothing is created
            finder = finder.with_context(
                kobo_preview_would_create=self.env.context["kobo_preview_would_create"]
            )
        found = {
            key: finder._kobo_find_by_field(*key, names, plan.aliases.get(key[0], {}))
            for key, names in wanted.items()
        }

        def substitute(vals):
            result = {}
            for name, value in vals.items():
                if special(value):
                    ids = list(value.ids)
                    table = found[value.model, value.by, value.create]
                    for record_name in value.names:
                        record_id = table.get(record_name)
                        if not record_id:
                            raise _Missing(self._kobo_missing_text(value, record_name))
                        ids.append(record_id)
                    value = [Command.set(ids)] if value.many else ids[0]
                elif isinstance(value, Lines):
                    value = Lines(value.model, [substitute(item) for item in value.items])
                result[name] = value
            return result

        kept = []
        for sub, vals in todo:
            try:
                kept.append((sub, substitute(vals)))
            except _Missing as exc:
                outcomes[sub.id] = ("error", exc.args[0], False)
        return super()._resolve_relations(plan, kept, outcomes)

    def _kobo_download_files(self, todo, outcomes):
        """Replace the file answers (FileRef) by the files' content, fetched
        with the KPI client's attachment download (one client, opened on the
        first file)."""
        clients = []

        def get_client():
            if not clients:
                mapping = self.env["kobo.mapping"].browse(self.env.context.get("kobo_mapping_id"))
                clients.append(mapping.form_id.server_id._get_client())
                clients.append(mapping.form_id.asset_uid)
            return clients[0], clients[1]

        kept = []
        try:
            for sub, vals in todo:
                try:
                    kept.append((sub, self._kobo_files_in(sub.payload, vals, get_client)))
                except _Missing as exc:
                    outcomes[sub.id] = ("error", exc.args[0], False)
        finally:
            for client in clients[:1]:
                client.close()
        return kept

    def _kobo_files_in(self, payload, vals, get_client):
        result = {}
        for name, value in vals.items():
            if isinstance(value, FileRef):
                ref = SubmissionRef.from_json(payload)
                att = ref.find_attachment(value.filename, value.question_path)
                if att is None or not att.uid:
                    raise _Missing(
                        self.env._(
                            'Question "%(question)s": the file %(file)s is not among the '
                            "submission's attachments.",
                            question=value.question_path,
                            file=value.filename,
                        )
                    )
                buffer = io.BytesIO()
                try:
                    client, form_uid = get_client()
                    client.download_attachment(
                        form_uid, ref.kobo_id, att.uid, buffer, max_bytes=MAX_FILE_BYTES
                    )
                except KoboError as exc:
                    raise _Missing(
                        self.env._(
                            'Question "%(question)s": the file %(file)s could not be downloaded '
                            "(%(error)s); sync again later.",
                            question=value.question_path,
                            file=value.filename,
                            error=exc,
                        )
                    ) from exc
                value = base64.b64encode(buffer.getvalue())
            elif isinstance(value, Lines):
                value = Lines(
                    value.model, [self._kobo_files_in(payload, i, get_client) for i in value.items]
                )
            result[name] = value
        return result

    def _kobo_missing_text(self, lookup, name):
        Model = self.env[lookup.model]
        by = Model._fields[lookup.by].string if lookup.by in Model._fields else lookup.by
        if lookup.create:
            return self.env._(
                'Question "%(question)s": no %(model)s "%(name)s", and the import may not '
                "create one.",
                question=lookup.question_path,
                model=Model._description,
                name=name,
            )
        return self.env._(
            'Question "%(question)s": no %(model)s with %(by)s "%(name)s".',
            question=lookup.question_path,
            model=Model._description,
            by=by or self.env._("name"),
            name=name,
        )

    def _kobo_find_by_field(self, model, by, create, names, aliases):
        """{name: record id or None}, by the field ``by`` (the name when
        empty), creating the missing ones with ``create`` where allowed."""
        env = self.env  # the import user's (see _resolve_relations)
        Model = env[model].with_context(active_test=True)
        if by == "xmlid":
            result = {}
            for name in names:
                res_model, res_id = (
                    # sudo: ir.model.data is admin-only; the record is then searched as the import user
                    env["ir.model.data"]
                    .sudo()
                    ._xmlid_to_res_model_res_id(name, raise_if_not_found=False)
                    if "." in name
                    else (None, None)
                )
                visible = res_model == model and Model.search([("id", "=", res_id)])
                result[name] = res_id if visible else None
        elif by:
            result = dict.fromkeys(names)
            for record in Model.search_fetch([(by, "in", list(names))], [by]):
                result[str(record[by])] = result.get(str(record[by])) or record.id
        else:
            result = self._find_by_names(model, names, aliases)
        missing = [name for name, record_id in result.items() if not record_id]
        would_create = self.env.context.get("kobo_preview_would_create")
        if create and missing and isinstance(would_create, list):  # a preview creates nothing
            would_create += [aliases.get(name) or name for name in missing]
            return result
        # create when missing obeys the floor and the allowlist, like any target
        if (
            create
            and missing
            and model not in NEVER_CREATED
            and not self.env["kobo.allowed.model"]._model_error(model)
        ):
            Creator = env[model].with_context(active_test=True)
            if Creator.has_access("create"):
                rec_name = Creator._rec_name or "name"
                vals = []
                for name in missing:
                    values = {rec_name: aliases.get(name) or name}
                    if by and by != "xmlid" and by in Creator._fields:
                        values[by] = name
                    vals.append(values)
                try:
                    with self.env.cr.savepoint():
                        records = Creator.create(vals)
                except Exception:  # left missing: each submission says so
                    records = Creator.browse()
                for name, record in zip(missing, records, strict=False):
                    result[name] = record.id
        return result


class _Missing(Exception):
    pass
