"""Odoo data to the field: choice lists (form media CSV files) built from
Odoo records and kept in sync on KoBo.

A list reads an allowed model (the safe-imports policy) with the rights of
the user who published it (``publisher_id``), builds the CSV in the pure
layer (``kobo_kpi.media``) and publishes it to each target form: delete the
file of the same name, upload, then redeploy the deployed version so that
KoBo syncs it to collectors. A form with undeployed changes is skipped (a
redeploy would publish them behind its manager's back); a draft form only
gets the upload. The scheduled action republishes the lists whose records
changed (write dates, then a content hash).
"""

import logging
from ast import literal_eval

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression

from ..kobo_kpi import errors
from ..kobo_kpi.media import MediaError, build_csv, content_hash, csv_file_name, preview_rows
from .kobo_allowed_model import (
    SECURITY_FIELD_PARTS,
    SECURITY_FIELD_PREFIXES,
    SECURITY_FIELDS,
    SECURITY_MODEL_PREFIXES,
)
from .kobo_mapping_value import LOOKUP_FIELDS

_logger = logging.getLogger(__name__)

# field types a column can carry (many2one: the record's name)
COLUMN_TYPES = (
    "char",
    "text",
    "html",
    "integer",
    "float",
    "monetary",
    "boolean",
    "date",
    "datetime",
    "selection",
    "many2one",
)
FROM_FILE_TYPES = ("select_one_from_file", "select_multiple_from_file")
PREVIEW_ROWS = 10
CRON_LISTS = 20  # lists per run of the scheduled action
UP_TO_DATE = ("published", "uploaded")
# what a list publishes: who changes it becomes its publisher
SHAPING = {"model_name", "model_id", "domain", "column_ids", "company_id", "target_ids"}


class KoboMediaList(models.Model):
    _name = "kobo.media.list"
    _description = "KoBo Media List"
    _inherit = ["mail.thread", "kobo.system.mixin"]
    _order = "name, id"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    file_name = fields.Char(
        string="File Name",
        required=True,
        default="products.csv",
        tracking=True,
        help="The CSV file the XLSForm reads: products.csv for "
        "'select_one_from_file products.csv' or pulldata('products', …).",
    )
    model_name = fields.Char(string="Model Name", tracking=True)
    model_id = fields.Many2one(
        "kobo.target.model",
        string="Records Of",
        compute="_compute_model_id",
        inverse="_inverse_model_id",
        help="Only the models a system administrator allows (KoBoToolbox > Configuration > "
        "Allowed Models).",
    )
    domain = fields.Char(default="[]", help="Which records become rows of the list.")
    column_ids = fields.One2many("kobo.media.list.column", "list_id", string="Columns", copy=True)
    target_ids = fields.One2many("kobo.media.list.target", "list_id", string="Forms")
    auto_publish = fields.Boolean(
        string="Keep in Sync",
        default=True,
        help="The scheduled action republishes the list when its records change.",
    )
    publisher_id = fields.Many2one(
        "res.users",
        string="Published By",
        readonly=True,
        copy=False,
        help="The records are always read with this user's rights: when they leave or lose "
        "the right, publishing stops rather than shows what they could not see.",
        kobo_system=True,
    )
    date_published = fields.Datetime(
        string="Last Published", readonly=True, copy=False, kobo_system=True
    )
    published_hash = fields.Char(readonly=True, copy=False, kobo_system=True)
    records_stamp = fields.Char(
        readonly=True,
        copy=False,
        help="Count and last write date of the published records.",
        kobo_system=True,
    )
    row_count = fields.Integer(compute="_compute_preview", string="Rows")
    preview = fields.Html(compute="_compute_preview", sanitize=False)
    preview_error = fields.Char(compute="_compute_preview")

    @api.model_create_multi
    def create(self, vals_list):
        lists = super().create(vals_list)
        lists._shaped()
        return lists

    def write(self, vals):
        self._kobo_check_company_move(vals, "target_ids")
        res = super().write(vals)
        if SHAPING & vals.keys():
            self._shaped()
        return res

    def _shaped(self):
        """Whoever changes what a list publishes (model, domain, columns,
        company, forms) publishes it with their own rights from then on: the
        server sets the publisher on that write, never the client."""
        if self.env.su:  # the engine (cron, upgrade) shapes nothing
            return
        # sudo: publisher_id is a system field (kobo_system); this write is its only source
        self.sudo().publisher_id = self.env.user

    # ------------------------------------------------------------------
    # Model and columns (the safe pickers and the policy)
    # ------------------------------------------------------------------
    @api.depends("model_name")
    def _compute_model_id(self):
        Target = self.env["kobo.target.model"]
        for media in self:
            media.model_id = (
                Target.search([("model", "=", media.model_name)], limit=1)
                if media.model_name
                else Target
            )

    def _inverse_model_id(self):
        for media in self:
            media.model_name = _picked(media.model_id, "ir.model", "model")

    @api.onchange("model_id")
    def _onchange_model_id(self):
        self.model_name = self.model_id.model or False

    @api.constrains("file_name")
    def _check_file_name(self):
        for media in self:
            try:
                csv_file_name(media.file_name)
            except MediaError as exc:
                raise ValidationError(str(exc)) from exc

    @api.constrains("model_name", "domain", "column_ids")
    def _check_model(self):
        Policy = self.env["kobo.allowed.model"]
        for media in self.filtered("model_name"):
            error = Policy._model_error(media.model_name)
            if error:
                raise ValidationError(error)
            domain = media._parsed_domain()
            try:
                # sudo: only checks that the domain's fields exist; nothing is read
                self.env[media.model_name].sudo()._search(domain)
            except ValueError as exc:
                raise ValidationError(
                    self.env._("The domain of %(list)s: %(error)s", list=media.name, error=exc)
                ) from exc
            for column in media.column_ids:
                column._check_field()
            name = media.column_ids.filtered(lambda c: c.column == "name")
            if name and name.field_name not in media._code_fields():
                raise ValidationError(
                    self.env._(
                        "The 'name' column holds the code stored in submissions, found again "
                        "at import: use one of %(fields)s.",
                        fields=", ".join(media._code_fields()),
                    )
                )

    def _code_fields(self):
        """Fields of the model that can be the ``name`` column: those a
        mapping finds records by (lookup fields), or the record's name."""
        Model = self.env[self.model_name]
        found = [f for f, _label in LOOKUP_FIELDS if f != "xmlid" and f in Model._fields]
        if Model._rec_name and Model._rec_name not in found:
            found.append(Model._rec_name)
        return found

    def _parsed_domain(self):
        try:
            domain = literal_eval(self.domain or "[]")
            expression.normalize_domain(domain)
        except (ValueError, SyntaxError, TypeError, AssertionError) as exc:
            raise ValidationError(
                self.env._(
                    "The domain of %(list)s is not valid: %(error)s", list=self.name, error=exc
                )
            ) from exc
        if not isinstance(domain, list):
            raise ValidationError(self.env._("The domain must be a list."))
        return domain

    # ------------------------------------------------------------------
    # Reading the records (always with one user's rights)
    # ------------------------------------------------------------------
    def _reader(self, user):
        """The model as ``user`` in the list's company; an error when the
        user may not (or no longer) read it."""
        self.ensure_one()
        if not self.model_name:
            raise UserError(self.env._("%(list)s: choose the records to publish.", list=self.name))
        error = self.env["kobo.allowed.model"]._model_error(self.model_name)
        if error:
            raise UserError(error)
        if not user or not user.active or not user.has_group("kobo_connector.group_kobo_manager"):
            raise UserError(
                self.env._(
                    "%(list)s is read with the rights of %(user)s, who is no longer an active "
                    "KoBo manager: a KoBo manager must publish it again (it then reads with "
                    "their rights).",
                    list=self.name,
                    user=user.name or self.env._("nobody"),
                )
            )
        if self.company_id not in user.company_ids:
            raise UserError(
                self.env._(
                    "%(user)s no longer works in %(company)s: a KoBo manager of that company "
                    "must publish %(list)s again.",
                    user=user.name,
                    company=self.company_id.name,
                    list=self.name,
                )
            )
        Model = self.env[self.model_name].with_user(user)
        Model = Model.with_context(allowed_company_ids=[self.company_id.id], active_test=True)
        if not Model.has_access("read"):
            raise UserError(
                self.env._(
                    "%(user)s may not read %(model)s records: %(list)s cannot be published "
                    "with their rights.",
                    user=user.name,
                    model=Model._description,
                    list=self.name,
                )
            )
        return Model

    def _columns(self):
        columns = self.column_ids.sorted("sequence")
        if not columns:
            raise UserError(self.env._("%(list)s has no columns.", list=self.name))
        for column in columns:
            column._check_field()
        return columns

    def _stamp(self, Model):
        """The write dates that tell whether the file may have changed: count
        and last write date of the records, and the last write date of the
        records their columns read through a relation (a product's name is
        its template's, a unit's name the unit's)."""
        domain = self._parsed_domain()
        ((count, last),) = Model._read_group(domain, [], ["__count", "write_date:max"])
        parts = [str(count), str(last or "")]
        hops = sorted({h for h in (_hop(Model, c.field_name) for c in self.column_ids) if h})
        if hops and count:
            records = Model.search(domain)
            for hop in hops:
                linked = records.mapped(hop)
                if linked:
                    ((latest,),) = linked._read_group(
                        [("id", "in", linked.ids)], [], ["write_date:max"]
                    )
                    parts.append(f"{hop}={latest}")
        return ":".join(parts)

    def _rows(self, user):
        """``(CSV bytes, records stamp)`` read as ``user``."""
        Model = self._reader(user)
        columns = self._columns()
        try:
            records = Model.search(self._parsed_domain(), order="id")
            stamp = self._stamp(Model)
            values = {}
            for lang in set(columns.mapped("lang")):
                here = columns.filtered(lambda c, lang=lang: c.lang == lang)
                fnames = list(set(here.mapped("field_name")))
                recs = records.with_context(lang=lang) if lang else records
                described = recs.fields_get(fnames, ["type", "selection"])
                for row in recs.read(fnames):
                    for column in here:
                        values.setdefault(row["id"], {})[column.column] = _text(
                            row[column.field_name], described[column.field_name]
                        )
        except (AccessError, ValueError) as exc:
            raise UserError(
                self.env._(
                    "%(list)s cannot be read with the rights of %(user)s: %(error)s",
                    list=self.name,
                    user=user.name,
                    error=exc.args[0],
                )
            ) from exc
        try:
            data = build_csv(columns.mapped("column"), [values[r.id] for r in records])
        except MediaError as exc:
            raise UserError(self.env._("%(list)s: %(error)s", list=self.name, error=exc)) from exc
        return data, stamp

    @api.depends("model_name", "domain", "column_ids", "column_ids.field_name", "column_ids.column")
    @api.depends_context("uid")
    def _compute_preview(self):
        for media in self:
            media.preview = media.preview_error = False
            media.row_count = 0
            if not (media.model_name and media.column_ids):
                continue
            try:
                # the preview shows what the current user would publish
                data, _stamp = media._rows(self.env.user)
            except (UserError, ValidationError) as exc:
                media.preview_error = exc.args[0]
                continue
            header, rows, count = preview_rows(data, PREVIEW_ROWS)
            media.row_count = count
            media.preview = _table(header, rows)

    # ------------------------------------------------------------------
    # Publishing
    # ------------------------------------------------------------------
    def _check_manager(self):
        if not self.env.user.has_group("kobo_connector.group_kobo_manager"):
            raise AccessError(self.env._("Only KoBo managers may publish lists to KoBo."))
        self.check_access("write")

    def action_publish(self):
        """Publish to KoBo (button, RPC): the current manager becomes the
        publisher; every form gets the file again, changed or not."""
        self._check_manager()
        # sudo: the publisher and the publication's outcome are system fields; checked above.
        # The records are read with the publisher's rights (_reader), never sudo's
        self.sudo().publisher_id = self.env.user
        done = self.sudo()._publish(force=True)
        return self.env["kobo.server"]._notify(
            self.env._("Publish to KoBo"),
            "\n".join(done),
            "warning" if any(t.state != "published" for t in self.target_ids) else "success",
            sticky=True,
        )

    def _publish(self, force=False):
        """Publish each list to its forms; return one sentence per form. A
        KoBo error on one form is recorded on it and does not stop the others."""
        report = []
        for media in self:
            lines = []
            try:
                data, stamp = media._rows(media.publisher_id)
            except UserError as exc:
                media.target_ids.write({"state": "error", "message": exc.args[0]})
                media.message_post(body=exc.args[0])
                report.append(exc.args[0])
                continue
            digest = content_hash(data)
            for target in media.target_ids:
                if not force and target._up_to_date(digest):
                    continue
                refused = target._publisher_refused(media.publisher_id)
                if refused:
                    target.write({"state": "error", "message": refused})
                else:
                    target._publish(data, digest)
                lines.append(f"{target.form_id.display_name}: {target.message}")
            media.write(
                {
                    "records_stamp": stamp,
                    "published_hash": digest,
                    "date_published": fields.Datetime.now(),
                }
            )
            media._set_lookups()
            if lines:
                media.message_post(body=Markup("<br/>").join(escape(line) for line in lines))
            report += lines
        return report

    def _set_lookups(self):
        """Import side: the mapping lines of the target forms fed by a
        question reading this file find their records by the ``name``
        column's field (the lookup field of the mapping)."""
        name = self.column_ids.filtered(lambda c: c.column == "name")[:1]
        if not name:
            return
        Model = self.env[self.model_name]
        by = False if name.field_name == Model._rec_name else name.field_name
        if by and by not in dict(LOOKUP_FIELDS):
            return
        lines = self.env["kobo.mapping.line"].search(
            [("mapping_id.form_id", "in", self.target_ids.form_id.ids)]
        )
        for line in lines:
            question = line.question_id
            if (
                question.type in FROM_FILE_TYPES
                and question.list_name == self.file_name
                and line.relation == self.model_name
                and line.lookup_field != by
            ):
                line.lookup_field = by

    @api.model
    def _cron_publish(self, limit=CRON_LISTS):
        """Republish, bounded per run, the lists kept in sync whose records
        changed since their publication (count and write dates first, then
        the file's hash: no upload when the file is the same)."""
        lists = self.search(
            [
                ("auto_publish", "=", True),
                ("publisher_id", "!=", False),
                ("target_ids", "!=", False),
            ],
            order="date_published asc, id",
        )
        due = self.browse()
        for media in lists:
            if len(due) >= limit:
                break
            try:
                stamp = media._stamp(media._reader(media.publisher_id))
            except (UserError, ValueError):
                stamp = None  # publishing says why, on the list
            pending = media.target_ids.filtered(lambda t: t.state not in UP_TO_DATE)
            if stamp != media.records_stamp or pending:
                due |= media
        for media in due:
            media._publish()
            self.env["kobo.form"]._kobo_commit()
        self.env["ir.cron"]._notify_progress(done=len(due), remaining=0)
        return due


class KoboMediaListPart(models.AbstractModel):
    """A column or a form of a list: changing one shapes the list."""

    _name = "kobo.media.list.part"
    _description = "KoBo Media List Part"

    @api.model_create_multi
    def create(self, vals_list):
        parts = super().create(vals_list)
        parts.list_id._shaped()
        return parts

    def write(self, vals):
        res = super().write(vals)
        self.list_id._shaped()
        return res

    def unlink(self):
        lists = self.list_id
        res = super().unlink()
        lists.exists()._shaped()
        return res


class KoboMediaListColumn(models.Model):
    _name = "kobo.media.list.column"
    _description = "KoBo Media List Column"
    _inherit = ["kobo.system.mixin", "kobo.media.list.part"]
    _order = "list_id, sequence, id"

    list_id = fields.Many2one(
        "kobo.media.list", required=True, ondelete="cascade", index=True, kobo_system="create"
    )
    company_id = fields.Many2one(related="list_id.company_id", store=True, kobo_system=True)
    sequence = fields.Integer(default=10)
    column = fields.Char(
        required=True,
        default="label",
        help="The CSV column: 'name' (the code stored in submissions), 'label', "
        "'label::English (en)' (one per form language), or a pulldata() column.",
    )
    model_name = fields.Char(related="list_id.model_name")
    field_name = fields.Char(string="Field Name")
    field_id = fields.Many2one(
        "kobo.media.field",
        string="Odoo Field",
        compute="_compute_field_id",
        inverse="_inverse_field_id",
        domain="[('model', '=', model_name)]",
    )
    lang = fields.Selection(
        "_lang_selection",
        string="Language",
        help="Read the field in this language (translated names), e.g. for 'label::Français (fr)'.",
    )

    @api.model
    def _lang_selection(self):
        return self.env["res.lang"].get_installed()

    @api.depends("field_name", "list_id.model_name")
    def _compute_field_id(self):
        Target = self.env["kobo.media.field"]
        for column in self:
            column.field_id = (
                Target.search(
                    [("model", "=", column.model_name), ("name", "=", column.field_name)], limit=1
                )
                if column.model_name and column.field_name
                else Target
            )

    def _inverse_field_id(self):
        for column in self:
            column.field_name = _picked(column.field_id, "ir.model.fields", "name")

    @api.onchange("field_id")
    def _onchange_field_id(self):
        self.field_name = self.field_id.name or False

    @api.constrains("column", "field_name")
    def _check_column(self):
        self.list_id._check_model()

    def _check_field(self):
        """The policy's check of the column's field, on the server."""
        model_name = self.list_id.model_name
        if not self.field_name:
            raise ValidationError(
                self.env._("The column %(column)s has no field.", column=self.column)
            )
        error = _column_error(self.env, model_name, self.field_name)
        if error:
            raise ValidationError(error)


class KoboMediaListTarget(models.Model):
    _name = "kobo.media.list.target"
    _description = "KoBo Media List Form"
    _inherit = ["kobo.system.mixin", "kobo.media.list.part"]
    _order = "list_id, id"

    list_id = fields.Many2one(
        "kobo.media.list", required=True, ondelete="cascade", index=True, kobo_system="create"
    )
    company_id = fields.Many2one(related="list_id.company_id", store=True, kobo_system=True)
    form_id = fields.Many2one(
        "kobo.form",
        required=True,
        ondelete="cascade",
        domain="[('company_id', 'in', [company_id, False])]",
    )
    state = fields.Selection(
        [
            ("new", "Not Published"),
            ("published", "Published"),
            ("uploaded", "Uploaded, Form Not Deployed"),
            ("blocked", "Skipped: Undeployed Changes"),
            ("error", "Failed"),
        ],
        default="new",
        required=True,
        readonly=True,
        kobo_system=True,
    )
    message = fields.Char(readonly=True, kobo_system=True)
    published_hash = fields.Char(readonly=True, copy=False, kobo_system=True)
    file_uid = fields.Char(string="File on KoBo", readonly=True, copy=False, kobo_system=True)
    date_published = fields.Datetime(string="Published On", readonly=True, kobo_system=True)

    _sql_constraints = [
        ("form_uniq", "unique(list_id, form_id)", "A list is published once to a form."),
    ]

    @api.constrains("form_id", "list_id")
    def _check_one_file(self):
        for target in self:
            if target.form_id.company_id != target.list_id.company_id:
                raise ValidationError(
                    self.env._(
                        "%(form)s belongs to another company than %(list)s.",
                        form=target.form_id.display_name,
                        list=target.list_id.name,
                    )
                )
            clash = self.search(
                [
                    ("id", "!=", target.id),
                    ("form_id", "=", target.form_id.id),
                    ("list_id.file_name", "=", target.list_id.file_name),
                ],
                limit=1,
            )
            if clash:
                raise ValidationError(
                    self.env._(
                        "%(list)s already publishes %(file)s to %(form)s.",
                        list=clash.list_id.name,
                        file=target.list_id.file_name,
                        form=target.form_id.display_name,
                    )
                )

    def _publisher_refused(self, user):
        """Why ``user`` may not (or no longer) change this target's form, or False."""
        form = self.form_id.with_user(user).with_context(
            allowed_company_ids=self.list_id.company_id.ids
        )
        if form.has_access("write"):
            return False
        return self.env._(
            "%(user)s may not change %(form)s: a KoBo manager who may must publish %(list)s again.",
            user=user.name,
            form=self.form_id.display_name,
            list=self.list_id.name,
        )

    def _up_to_date(self, digest):
        return self.state in UP_TO_DATE and self.published_hash == digest

    def _publish(self, data, digest):
        """Replace the file on the form (delete then upload), then redeploy
        the deployed version so that KoBo syncs it to collectors."""
        self.ensure_one()
        media, form = self.list_id, self.form_id
        server = form.server_id
        try:
            with server._get_client() as client:
                asset = client.get_asset(form.asset_uid, exclude=("content", "analysis_form_json"))
                deployed = bool(asset.get("has_deployment"))
                if deployed and asset.get("version_id") != asset.get("deployed_version_id"):
                    self.write(
                        {
                            "state": "blocked",
                            "message": self.env._(
                                "Skipped: the form has changes that are not deployed. Deploy "
                                "them (Redeploy) and publish again: publishing the list would "
                                "deploy them too."
                            ),
                        }
                    )
                    return
                for old in client.list_media(form.asset_uid):
                    if (old.get("metadata") or {}).get("filename") == media.file_name:
                        client.delete_media(form.asset_uid, old["uid"])
                # from here until the upload succeeds the file is not on KoBo: a
                # failure leaves the target unpublished, so that the next run uploads
                self.write({"file_uid": False, "published_hash": False})
                uploaded = client.upload_media(
                    form.asset_uid,
                    media.file_name,
                    data,
                    self.env._("%(list)s (from Odoo)", list=media.name),
                )
                self.write({"file_uid": uploaded.get("uid"), "published_hash": digest})
                if not deployed:
                    self.write(
                        {
                            "state": "uploaded",
                            "date_published": fields.Datetime.now(),
                            "message": self.env._(
                                "Uploaded. The form is not deployed yet: collectors get the "
                                "list when it is deployed."
                            ),
                        }
                    )
                    return
                answer = client.redeploy_media(form.asset_uid)
                form._refresh_from_kobo(client, asset=(answer or {}).get("asset"))
        except errors.KoboError as exc:
            self.write({"state": "error", "message": server._kobo_error_message(exc)})
            return
        except UserError as exc:
            self.write({"state": "error", "message": exc.args[0]})
            return
        self.write(
            {
                "state": "published",
                "date_published": fields.Datetime.now(),
                "message": self.env._(
                    "Published and redeployed: collectors get the list at their next form update."
                ),
            }
        )


class KoboMediaField(models.Model):
    """Safe picker: the fields of the allowed models that may be a column of
    a media list. Reading is not writing: a related field (a product's name)
    may be a column; groups-restricted and security-relevant fields may not."""

    _name = "kobo.media.field"
    _inherit = "kobo.field.picker"
    _description = "KoBo Media List Field (picker)"
    _auto = False
    _order = "field_description, name"
    _rec_name = "field_description"
    _rec_names_search = ["field_description", "name"]

    def _picked(self, model_name):
        return [
            name
            for name in self.env[model_name]._fields
            if not _column_error(self.env, model_name, name)
        ]


def _column_error(env, model_name, field_name):
    """Why the field may not be a column of a media list (None if it may)."""
    if not model_name or model_name not in env:
        return env._("The model %(model)s does not exist.", model=model_name)
    field = env[model_name]._fields.get(field_name or "")
    if field is None:
        return env._(
            "The model %(model)s has no field %(field)s.", model=model_name, field=field_name
        )

    def refuse(reason):
        return env._(
            "The field %(field)s of %(model)s cannot be a column of a list: %(reason)s.",
            field=field.string or field.name,
            model=model_name,
            reason=reason,
        )

    name = field.name
    if field.groups:
        return refuse(env._("it is restricted to some groups"))
    if (
        (name in SECURITY_FIELDS and name != "id")
        or name.startswith(SECURITY_FIELD_PREFIXES)
        or any(part in name for part in SECURITY_FIELD_PARTS)
        or (field.relational and field.comodel_name.startswith(SECURITY_MODEL_PREFIXES))
    ):
        return refuse(env._("it is security-relevant"))
    if field.type not in COLUMN_TYPES:
        return refuse(env._("its type (%(type)s) is not supported", type=field.type))
    if not (field.store or field.related):
        return refuse(env._("it is computed"))
    return None


def _hop(Model, field_name):
    """The many2one a column reads through (``product_tmpl_id`` for a
    product's name, ``uom_id`` for its unit), or None."""
    field = Model._fields.get(field_name or "")
    if field is None:
        return None
    if field.related:
        path = field.related.split(".") if isinstance(field.related, str) else field.related
        first = Model._fields.get(path[0])
        return path[0] if first is not None and first.type == "many2one" else None
    return field_name if field.type == "many2one" else None


def _picked(picked, model, fname):
    if not picked:
        return False
    # sudo: turns a picker id (same ids as ir.model*) into a name; the policy then checks it
    return picked.env[model].sudo().browse(picked.id).exists()[fname] or False


def _text(value, described):
    """A read() value as the text of a cell."""
    if value is False or value is None:
        return "" if described["type"] != "boolean" else "0"
    if described["type"] == "many2one":
        return value[1]
    if described["type"] == "selection":
        return dict(described.get("selection") or ()).get(value, value)
    if described["type"] in ("date", "datetime"):
        return fields.Datetime.to_string(value) if described["type"] == "datetime" else str(value)
    return value


def _table(header, rows):
    head = Markup("").join(Markup("<th>%s</th>") % h for h in header)
    body = Markup("").join(
        Markup("<tr>%s</tr>") % Markup("").join(Markup("<td>%s</td>") % c for c in row)
        for row in rows
    )
    return Markup(
        '<table class="table table-sm o_kobo_media_preview"><thead><tr>%s</tr></thead>'
        "<tbody>%s</tbody></table>"
    ) % (head, body)
