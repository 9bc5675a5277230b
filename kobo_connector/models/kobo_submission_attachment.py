"""Photos and files of submissions, and the after-import cron.

A submission's ``_attachments`` (matched to their question by XPath;
``is_deleted`` entries, files deleted on KoBo, are skipped; a file an edit
replaced is no longer listed) are downloaded with the
server's token, streamed to a temporary file, size limited, and stored as
``ir.attachment`` on the record the submission produced. One
``kobo.submission.attachment`` row per KoBo file makes a re-import free (a
file already downloaded is not downloaded again) and an edit that replaces
a file replaces the Odoo attachment too.

Downloads run in the after-import cron, never in the import step: the page
is committed and the form's lock released first; each submission is its
own small transaction. A failed download leaves the record imported, marks
the submission (``attachment_state = 'error'``) and is retried by the next
run. The same cron writes validation statuses back to KoBo (forms that
asked for it), in bulk calls, and runs the after-import actions.
"""

import logging
import tempfile

from odoo import api, fields, models
from odoo.tools import SQL

from ..kobo_kpi import errors
from .kobo_form_push import WRITE_BACK_BATCH

_logger = logging.getLogger(__name__)

DEFAULT_MAX_MB = 25
DOWNLOAD_BATCH = 20  # submissions per cron call
ATTACHMENT_STATES = [
    ("none", "No Files"),
    ("todo", "To Download"),
    ("done", "Downloaded"),
    ("error", "Download Failed"),
]
HAS_FILES = SQL(
    "jsonb_typeof(payload->'_attachments') = 'array' "
    "AND jsonb_array_length(payload->'_attachments') > 0"
)


class FileTooLarge(Exception):
    """The file is over the configured size limit."""


class _Limited:  # a file object, not an Odoo model
    """A file object that refuses to grow over ``max_bytes``."""

    def __init__(self, fileobj, max_bytes):
        self.fileobj, self.max_bytes, self.size = fileobj, max_bytes, 0

    def write(self, chunk):  # pylint: disable=method-required-super
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise FileTooLarge()
        return self.fileobj.write(chunk)


class KoboSubmissionAttachment(models.Model):
    _name = "kobo.submission.attachment"
    _description = "KoBo Submission File"
    _inherit = ["kobo.system.mixin"]
    _order = "submission_id, question_xpath, id"

    submission_id = fields.Many2one(
        "kobo.submission",
        required=True,
        readonly=True,
        ondelete="cascade",
        index=True,
        kobo_system=True,
    )
    form_id = fields.Many2one(related="submission_id.form_id", store=True)
    kobo_uid = fields.Char(string="KoBo File", required=True, readonly=True, kobo_system=True)
    question_xpath = fields.Char(string="Question XPath", readonly=True, kobo_system=True)
    question_id = fields.Many2one(
        "kobo.form.question", readonly=True, ondelete="set null", kobo_system=True
    )
    filename = fields.Char(readonly=True, kobo_system=True)
    mimetype = fields.Char(readonly=True, kobo_system=True)
    state = fields.Selection(
        [("done", "Downloaded"), ("error", "Failed"), ("too_large", "Too Large")],
        readonly=True,
        required=True,
        kobo_system=True,
    )
    error_message = fields.Char(readonly=True, kobo_system=True)
    attachment_id = fields.Many2one(
        "ir.attachment", string="File", readonly=True, ondelete="set null", kobo_system=True
    )
    file_size = fields.Integer(related="attachment_id.file_size")

    _sql_constraints = [
        (
            "file_uniq",
            "unique(submission_id, kobo_uid)",
            "A KoBo file is stored once per submission.",
        ),
    ]

    def action_open_file(self):
        self.ensure_one()
        if not self.attachment_id:
            return False
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self.attachment_id.id}?download=true",
            "target": "new",
        }


class KoboSubmission(models.Model):
    _inherit = "kobo.submission"

    attachment_ids = fields.One2many(
        "kobo.submission.attachment", "submission_id", string="Files", readonly=True
    )
    attachment_state = fields.Selection(
        ATTACHMENT_STATES, string="Files Status", readonly=True, kobo_system=True
    )
    attachment_error = fields.Text(string="File Problems", readonly=True, kobo_system=True)
    validation_written = fields.Char(
        readonly=True,
        copy=False,
        help="The outcome (imported / error) whose validation status was written to KoBo.",
        kobo_system=True,
    )

    def init(self):
        res = super().init()
        # the after-import cron reads only what is left to do
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS kobo_submission_files_todo_idx ON kobo_submission (id) "
            "WHERE attachment_state IS NULL OR attachment_state IN ('todo', 'error')"
        )
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS kobo_submission_writeback_idx "
            "ON kobo_submission (form_id, id) "
            "WHERE state IN ('imported', 'error') AND validation_written IS DISTINCT FROM state"
        )
        return res

    def write(self, vals):
        if "payload" in vals and "attachment_state" not in vals:
            vals = dict(vals, attachment_state="todo")  # an edit may change its files
        return super().write(vals)

    @api.model
    def _set_outcomes(self, form, items, outcomes, res_model=None, made=None):
        res = super()._set_outcomes(form, items, outcomes, res_model, made)
        if items:
            # files and validation statuses follow in their own step, once this page is committed
            # sudo: the import user may not read scheduled actions
            self.env.ref("kobo_connector.ir_cron_kobo_after_import").sudo()._trigger()
        return res

    # ------------------------------------------------------------------
    # The after-import cron
    # ------------------------------------------------------------------
    @api.model
    def _cron_after_import(self, limit=DOWNLOAD_BATCH):
        """Write validation statuses back, then download the files of at most
        ``limit`` submissions; tell the cron what remains."""
        Form = self.env["kobo.form"]
        for form in Form.search(
            [
                ("validation_writeback", "=", True),
                ("gone_from_kobo", "=", False),
                # gated forms: the reviewers on KoBo decide the status
                ("import_gate", "=", "all"),
            ]
        ):
            try:
                with form.server_id._get_client() as client, self.env.cr.savepoint():
                    for _batch in range(10):  # bounded: the rest at the next call
                        if form._write_back_statuses(client) < WRITE_BACK_BATCH:
                            break
                    form.validation_writeback_error = False
            except errors.KoboError as exc:
                form._write_back_failed(exc)
            form._kobo_commit()
        self._run_after_import_actions()
        done = self._download_pending_files(limit)
        remaining = self._files_todo_count()
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done, remaining

    @api.model
    def _files_todo_count(self):
        self.env.cr.execute(
            SQL(
                "SELECT count(*) FROM kobo_submission WHERE state = 'imported' "
                "AND (attachment_state IS NULL OR attachment_state = 'todo') AND %s",
                HAS_FILES,
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _download_pending_files(self, limit):
        self.env.flush_all()
        cr = self.env.cr
        # submissions without files are settled in one statement
        cr.execute(
            SQL(
                "UPDATE kobo_submission SET attachment_state = 'none' "
                "WHERE attachment_state IS NULL AND state = 'imported' AND NOT (%s)",
                HAS_FILES,
            )
        )
        cr.execute(
            SQL(
                "SELECT id FROM kobo_submission WHERE state = 'imported' AND res_id IS NOT NULL "
                "AND (attachment_state IS NULL OR attachment_state IN ('todo', 'error')) "
                "AND %s ORDER BY attachment_state = 'error', id LIMIT %s",
                HAS_FILES,
                limit,
            )
        )
        subs = self.browse([row[0] for row in cr.fetchall()])
        self.invalidate_model(["attachment_state"])
        clients = {}
        try:
            for sub in subs:
                server = sub.form_id.server_id
                try:
                    if server not in clients:
                        clients[server] = server._get_client()
                    with self.env.cr.savepoint():
                        sub._fetch_files(clients[server], self._max_file_bytes())
                except Exception as exc:  # one submission never stops the others
                    _logger.warning(
                        "KoBo submission %s: files not downloaded", sub.id, exc_info=True
                    )
                    sub.write({"attachment_state": "error", "attachment_error": str(exc)[:2000]})
                sub.form_id._kobo_commit()
        finally:
            for client in clients.values():
                client.close()
        return len(subs)

    @api.model
    def _max_file_bytes(self):
        # sudo: system parameters are readable by administrators only
        value = self.env["ir.config_parameter"].sudo().get_param("kobo_connector.attachment_max_mb")
        try:
            return int(float(value) * 1024 * 1024)
        except (TypeError, ValueError):
            return DEFAULT_MAX_MB * 1024 * 1024

    def _file_owners(self):
        """{file question: the record of the mapping that maps it}: a file
        goes to the record whose mapping names its question (the main record
        otherwise)."""
        owners = {}
        for link in self.link_ids.sorted(lambda link: (link.sequence, link.id)):
            # sudo: the lines of the mappings that made this submission's records, read to route
            for line in link.mapping_id.sudo().line_ids:
                record = self.env[link.res_model].browse(link.res_id).exists()
                if line.question_path and record:
                    owners.setdefault(line.question_path, record)
        return owners

    def _fetch_files(self, client, max_bytes):
        """Download the files of this submission that Odoo does not have yet,
        onto the record it produced; drop those an edit replaced."""
        self.ensure_one()
        record = self._record()
        if record is None:
            self.write({"attachment_state": "none", "attachment_error": False})
            return
        form = self.form_id
        live = [
            att
            for att in (self.payload or {}).get("_attachments") or []
            if isinstance(att, dict)
            and not att.get("is_deleted")
            and (att.get("uid") or att.get("id"))
        ]
        live_uids = {str(att.get("uid") or att.get("id")) for att in live}
        rows = {row.kobo_uid: row for row in self.attachment_ids}
        # files an edit replaced (is_deleted, or gone from the list): their copy goes too
        replaced = self.attachment_ids.filtered(lambda r: r.kobo_uid not in live_uids)
        replaced.attachment_id.sudo().unlink()  # sudo: our own files, on a record the import wrote
        replaced.unlink()
        questions = {q.xpath: q.id for q in form.question_ids}
        owners = self._file_owners()
        Attachment = form._import_env()["ir.attachment"]
        for att in live:
            uid = str(att.get("uid") or att.get("id"))
            row = rows.get(uid)
            if row and row.state in ("done", "too_large"):
                continue  # already downloaded (or known to be over the limit): not again
            xpath = att.get("question_xpath") or ""
            name = att.get("media_file_basename") or (att.get("filename") or uid).rsplit("/", 1)[-1]
            vals = {
                "submission_id": self.id,
                "kobo_uid": uid,
                "question_xpath": xpath,
                "question_id": questions.get(xpath, False),
                "filename": name,
                "mimetype": att.get("mimetype") or False,
            }
            try:
                with tempfile.TemporaryFile() as tmp:
                    limited = _Limited(tmp, max_bytes)
                    # built from the form's uid, the submission's _id and the file's uid:
                    # never the download_url KoBo (or a stored payload) lists
                    ctype, _name, _size = client.download_attachment(
                        form.asset_uid, self.kobo_id, uid, limited
                    )
                    tmp.seek(0)
                    file = Attachment.create(
                        {
                            "name": name,
                            "raw": tmp.read(),
                            "mimetype": att.get("mimetype") or ctype,
                            "res_model": owners.get(xpath, record)._name,
                            "res_id": owners.get(xpath, record).id,
                            "description": self.env._(
                                "KoBo %(form)s #%(id)s, question %(question)s",
                                form=form.name,
                                id=self.kobo_id,
                                question=xpath or "-",
                            ),
                        }
                    )
                vals.update(state="done", attachment_id=file.id, error_message=False)
            except FileTooLarge:
                message = self.env._(
                    "%(file)s is larger than %(mb)s MB: not downloaded.",
                    file=name,
                    mb=round(max_bytes / 1024 / 1024, 1),
                )
                vals.update(state="too_large", error_message=message)
            except (errors.KoboError, KeyError) as exc:
                message = self.env._(
                    "%(file)s could not be downloaded: %(reason)s",
                    file=name,
                    reason=form.server_id._kobo_error_message(exc)
                    if isinstance(exc, errors.KoboError)
                    else self.env._("KoBo gave no download address"),
                )
                vals.update(state="error", error_message=message)
            if row:
                row.write(vals)
            else:
                self.env["kobo.submission.attachment"].create(vals)
        failed = any(r.state == "error" for r in self.attachment_ids)
        self.write(
            {
                "attachment_state": "error" if failed else "done",
                "attachment_error": "\n".join(
                    r.error_message for r in self.attachment_ids if r.error_message
                )
                or False,
            }
        )
