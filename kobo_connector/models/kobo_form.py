import json
import logging
from datetime import datetime, timedelta, timezone

from markupsafe import Markup

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..kobo_kpi import errors
from ..kobo_kpi.content import DEFAULT_LANGUAGE, parse_content
from .kobo_form_hook import masked_url
from .kobo_form_question import SYSTEM_QUESTIONS, SYSTEM_SEQUENCE

_logger = logging.getLogger(__name__)
TRASH_DAYS = 7  # KPI's default retention of deleted projects in its trash


def kobo_datetime(value):
    """KPI's ISO 8601 UTC timestamp (``...Z``, or naive) -> naive UTC datetime."""
    if not value or not isinstance(value, str):
        return False
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    if parsed.tzinfo:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


class KoboForm(models.Model):
    _name = "kobo.form"
    _description = "KoBo Form"
    _inherit = ["mail.thread", "kobo.system.mixin"]
    _order = "date_modified_kobo desc, id desc"

    name = fields.Char(
        required=True,
        readonly=True,
        tracking=True,
        help="The form's name on KoBo. Change it with Rename, so that Odoo and KoBo agree.",
    )
    server_id = fields.Many2one(
        "kobo.server",
        required=True,
        readonly=True,
        ondelete="restrict",
        index=True,
        kobo_system="create",
    )
    company_id = fields.Many2one(related="server_id.company_id", store=True, kobo_system=True)
    asset_uid = fields.Char(
        string="KoBo UID", required=True, readonly=True, copy=False, index=True, kobo_system=True
    )
    active = fields.Boolean(default=True)
    owner_username = fields.Char(string="Owner on KoBo", readonly=True, kobo_system=True)
    deployment_status = fields.Selection(
        [("draft", "Draft"), ("deployed", "Deployed"), ("archived", "Archived on KoBo")],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
        kobo_system=True,
    )
    version_id = fields.Char(string="Latest Version", readonly=True, kobo_system=True)
    deployed_version_id = fields.Char(
        string="Deployed Version", readonly=True, tracking=True, kobo_system=True
    )
    needs_redeploy = fields.Boolean(
        compute="_compute_needs_redeploy",
        store=True,
        help="The form was changed on KoBo (content or name) since it was deployed: "
        "data collectors still get the deployed version until it is redeployed.",
    )
    submission_count = fields.Integer(string="Submissions on KoBo", readonly=True, kobo_system=True)
    date_modified_kobo = fields.Datetime(string="Modified on KoBo", readonly=True, kobo_system=True)
    date_deployed = fields.Datetime(string="Deployed on", readonly=True, kobo_system=True)
    enketo_url = fields.Char(string="Data Entry Link", readonly=True, kobo_system=True)
    xls_url = fields.Char(string="XLSForm Download", readonly=True, kobo_system=True)
    gone_from_kobo = fields.Boolean(
        readonly=True,
        tracking=True,
        help="The form is no longer on KoBo (deleted there, or no longer shared "
        "with this server's account). It is kept because Odoo records refer to it.",
        kobo_system=True,
    )
    languages = fields.Char(readonly=True, kobo_system=True)
    catalogue_version_id = fields.Char(
        string="Questions of Version",
        readonly=True,
        help="The KoBo version the questions were read from: the deployed one "
        "(that is what submissions follow), or the latest one of a draft.",
        kobo_system=True,
    )
    question_ids = fields.One2many("kobo.form.question", "form_id", string="Questions")
    question_count = fields.Integer(compute="_compute_question_count")
    last_refresh = fields.Datetime(string="Last Refreshed", readonly=True, kobo_system=True)
    assignment_ids = fields.One2many("kobo.form.assignment", "form_id", string="Sharing")
    hook_ids = fields.One2many("kobo.form.hook", "form_id", string="REST Services")
    remote_lists_error = fields.Char(
        readonly=True,
        help="Why the sharing or REST services could not be read from KoBo.",
        kobo_system=True,
    )

    _sql_constraints = [
        (
            "asset_uid_uniq",
            "unique(server_id, asset_uid)",
            "This KoBo form is already in Odoo for this server.",
        ),
    ]

    @api.depends("version_id", "deployed_version_id", "deployment_status")
    def _compute_needs_redeploy(self):
        for form in self:
            form.needs_redeploy = bool(
                form.deployment_status != "draft"
                and form.deployed_version_id
                and form.version_id != form.deployed_version_id
            )

    def _compute_question_count(self):
        counts = dict(
            self.env["kobo.form.question"]._read_group(
                [
                    ("form_id", "in", self.ids),
                    ("is_group", "=", False),
                    ("is_repeat", "=", False),
                    ("is_system", "=", False),
                ],
                ["form_id"],
                ["__count"],
            )
        )
        for form in self:
            form.question_count = counts.get(form, 0)

    # ------------------------------------------------------------------
    # Reading KoBo
    # ------------------------------------------------------------------
    @api.model
    def _values_from_asset(self, asset):
        """Field values from an asset of KPI's list or detail answer."""
        status = asset.get("deployment_status")
        vals = {
            "name": asset.get("name") or asset["uid"],
            "owner_username": asset.get("owner__username") or False,
            "deployment_status": status if status in ("deployed", "archived") else "draft",
            "version_id": asset.get("version_id") or False,
            "deployed_version_id": asset.get("deployed_version_id") or False,
            "submission_count": asset.get("deployment__submission_count") or 0,
            "date_modified_kobo": kobo_datetime(asset.get("date_modified")),
            "date_deployed": kobo_datetime(asset.get("date_deployed")),
            "xls_url": next(
                (d.get("url") for d in asset.get("downloads") or () if d.get("format") == "xls"),
                False,
            ),
            "gone_from_kobo": False,
        }
        if "deployment__links" in asset:  # detail only
            links = asset.get("deployment__links") or {}
            vals["enketo_url"] = links.get("offline_url") or links.get("url") or False
        return vals

    def _refresh_from_kobo(self, client, asset=None, force=False):
        """Read the asset's detail (or use ``asset``) and rebuild the question
        catalogue when the version it follows changed."""
        self.ensure_one()
        self.check_access("write")
        # sudo: what KoBo answered is the engine's to write (no user writes it); checked above
        self = self.sudo()
        if asset is None or "content" not in asset:
            asset = client.get_asset(self.asset_uid)
        vals = self._values_from_asset(asset)
        vals["last_refresh"] = fields.Datetime.now()
        self.write(vals)
        # submissions follow the deployed version; a draft has only the latest
        version = self.deployed_version_id or self.version_id
        if force or version != self.catalogue_version_id or not self.question_ids:
            if version == asset.get("version_id") or not self.deployed_version_id:
                content = asset.get("content") or {}
            else:
                content = client.get_version(self.asset_uid, version).get("content") or {}
            self._build_catalogue(content, version)

    def _build_catalogue(self, content, version):
        """Sync the question records with ``content``, by XPath, so that
        records referring to a question keep it across versions."""
        self.ensure_one()
        catalogue = parse_content(content)
        Question = self.env["kobo.form.question"]
        existing = {q.xpath: q for q in self.with_context(active_test=False).question_ids}
        by_xpath, to_create = {}, []
        for node in catalogue.nodes:
            vals = {
                "sequence": node.sequence,
                "name": node.name,
                "type": node.type,
                "label": node.label(),
                "label_translations": _translations(node.labels, catalogue.languages),
                "hint": node.hint(),
                "appearance": node.appearance or False,
                "constraint": node.constraint or False,
                "required": node.required,
                "is_group": node.is_group,
                "is_repeat": node.is_repeat,
                "is_metadata": node.is_metadata,
                "group_xpath": node.group_xpath,
                "repeat_xpath": node.repeat_xpath,
                "list_name": node.list_name,
                "choice_ids": [Command.clear()]
                + [
                    Command.create(
                        {
                            "sequence": seq,
                            "name": choice.name,
                            "label": choice.label(),
                            "label_translations": _translations(choice.labels, catalogue.languages),
                        }
                    )
                    for seq, choice in enumerate(node.choices)
                ],
                "active": True,
            }
            question = existing.pop(node.xpath, None)
            if question:
                question.write(vals)
                by_xpath[node.xpath] = question
            else:
                to_create.append(dict(vals, form_id=self.id, xpath=node.xpath))
        # KoBo's system fields, in every form's catalogue: mappable like questions
        for seq, (xpath, (qtype, label)) in enumerate(SYSTEM_QUESTIONS.items()):
            vals = {
                "sequence": SYSTEM_SEQUENCE + seq,
                "name": xpath,
                "type": qtype,
                "label": label,
                "is_system": True,
                "active": True,
            }
            question = existing.pop(xpath, None)
            if question:
                question.write(vals)
            else:
                to_create.append(dict(vals, form_id=self.id, xpath=xpath))
        for question in Question.create(to_create):
            by_xpath[question.xpath] = question
        for question in by_xpath.values():
            parent = by_xpath.get(question.group_xpath, Question)
            if question.parent_id != parent:
                question.parent_id = parent
        # questions gone from this version: kept (mappings may name them), archived
        Question.union(*existing.values()).write({"active": False})
        self.write(
            {
                "catalogue_version_id": version,
                # an untranslated form has one unnamed language: nothing to show
                "languages": ", ".join(
                    lang for lang in catalogue.languages if lang != DEFAULT_LANGUAGE
                )
                or False,
            }
        )

    # ------------------------------------------------------------------
    # Remote actions
    # ------------------------------------------------------------------
    def _kobo_run(self, title, operation, done_message):
        """Run ``operation(form, client)`` on KoBo for each form, then refresh
        the form from KoBo. One form: a KoBo error becomes a UserError. A
        selection: every form is reported (chatter and notification), one
        failure does not stop the others and leaves its form unchanged."""
        self.check_access("write")
        clients = {}
        succeeded, failures = [], []
        try:
            for form in self:
                server = form.server_id
                try:
                    with self.env.cr.savepoint():
                        if server not in clients:
                            clients[server] = server._get_client()
                        asset = operation(form, clients[server])
                        form._refresh_from_kobo(clients[server], asset=asset)
                except (errors.KoboError, UserError) as exc:
                    if isinstance(exc, errors.KoboError):
                        reason = server._kobo_error_message(exc)
                    else:
                        reason = exc.args[0]
                    if len(self) == 1:
                        raise UserError(
                            self.env._("%(action)s: %(reason)s", action=title, reason=reason)
                        ) from exc
                    _logger.info("KoBo form %s: %s failed", form.asset_uid, title)
                    if isinstance(exc, errors.KoboNotFound):
                        form.sudo().gone_from_kobo = True  # sudo: KoBo's answer, write checked
                    form.message_post(
                        body=Markup("%s<br/>%s")
                        % (self.env._("%(action)s failed.", action=title), reason)
                    )
                    failures.append((form, reason))
                else:
                    form.message_post(
                        body=done_message(form) if callable(done_message) else done_message
                    )
                    succeeded.append(form)
        finally:
            for client in clients.values():
                client.close()
        return self._kobo_report(title, succeeded, failures)

    def _kobo_report(self, title, succeeded, failures):
        lines = []
        if succeeded:
            lines.append(
                self.env._("Done: %(forms)s.", forms=", ".join(f.display_name for f in succeeded))
            )
        lines += [
            self.env._("Failed: %(form)s — %(reason)s", form=form.display_name, reason=reason)
            for form, reason in failures
        ]
        return self.env["kobo.server"]._notify(
            title,
            "\n".join(lines),
            "warning" if failures else "success",
            sticky=bool(failures),
        )

    def action_deploy(self):
        def deploy(form, client):
            if form.deployment_status != "draft":
                raise UserError(
                    self.env._("%(form)s is already deployed: use Redeploy.", form=form.name)
                )
            return client.deploy(form.asset_uid).get("asset")

        return self._kobo_run(
            self.env._("Deploy"), deploy, self.env._("Deployed on KoBo: data collection is open.")
        )

    def action_redeploy(self):
        def redeploy(form, client):
            if form.deployment_status == "draft":
                raise UserError(
                    self.env._("%(form)s was never deployed: use Deploy.", form=form.name)
                )
            if form.deployment_status == "archived":
                raise UserError(
                    self.env._("%(form)s is archived on KoBo: Unarchive it first.", form=form.name)
                )
            asset = client.get_asset(form.asset_uid, exclude=("content", "analysis_form_json"))
            if asset.get("version_id") == asset.get("deployed_version_id"):
                raise UserError(
                    self.env._(
                        "Nothing to redeploy: %(form)s has no change since its deployment.",
                        form=form.name,
                    )
                )
            return client.redeploy(form.asset_uid).get("asset")

        return self._kobo_run(
            self.env._("Redeploy"),
            redeploy,
            self.env._("Redeployed on KoBo: data collectors get the latest version."),
        )

    def action_archive_on_kobo(self):
        def archive(form, client):
            if form.deployment_status != "deployed":
                raise UserError(
                    self.env._("%(form)s is not deployed and active on KoBo.", form=form.name)
                )
            return client.archive(form.asset_uid).get("asset")

        return self._kobo_run(
            self.env._("Archive on KoBo"),
            archive,
            self.env._("Archived on KoBo: it no longer accepts submissions."),
        )

    def action_unarchive_on_kobo(self):
        def unarchive(form, client):
            if form.deployment_status != "archived":
                raise UserError(self.env._("%(form)s is not archived on KoBo.", form=form.name))
            return client.unarchive(form.asset_uid).get("asset")

        return self._kobo_run(
            self.env._("Unarchive on KoBo"),
            unarchive,
            self.env._("Unarchived on KoBo: it accepts submissions again."),
        )

    def action_refresh_from_kobo(self):
        def refresh(form, client):
            asset = client.get_asset(form.asset_uid)
            form._refresh_remote_lists(client)
            return asset

        return self._kobo_run(
            self.env._("Refresh from KoBo"), refresh, self.env._("Refreshed from KoBo.")
        )

    def _kobo_rename(self, name):
        return self._kobo_run(
            self.env._("Rename"),
            lambda form, client: client.rename(form.asset_uid, name),
            self.env._("Renamed on KoBo to %(name)s.", name=name),
        )

    def action_open_rename_wizard(self):
        self.ensure_one()
        self.check_access("write")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Rename on KoBo"),
            "res_model": "kobo.form.rename.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_form_id": self.id, "default_name": self.name},
        }

    def action_open_questions(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Questions of %(form)s", form=self.name),
            "res_model": "kobo.form.question",
            "view_mode": "list,form",
            "domain": [("form_id", "=", self.id)],
            "context": {"default_form_id": self.id, "search_default_answers": 1},
        }

    # ------------------------------------------------------------------
    # Sharing, REST services and the rest of the life cycle (managers only)
    # ------------------------------------------------------------------
    def _check_kobo_manager(self):
        """Every action that changes KoBo is for KoBo managers: checked here,
        on the server (RPC reaches any public method), not only by views."""
        if not self.env.user.has_group("kobo_connector.group_kobo_manager"):
            raise AccessError(self.env._("Only KoBo managers may change forms on KoBo."))
        self.check_access("write")

    def _kobo_call(self, title, call):
        """``call()`` on KoBo; a KoBo error becomes a UserError with KoBo's message."""
        try:
            return call()
        except errors.KoboError as exc:
            reason = self.server_id[:1]._kobo_error_message(exc)
            raise UserError(
                self.env._("%(action)s: %(reason)s", action=title, reason=reason)
            ) from exc

    def _refresh_remote_lists(self, client):
        self._refresh_sharing(client)
        self._refresh_hooks(client)

    def _refresh_sharing(self, client):
        """Rebuild the Sharing tab from KoBo's permission assignments."""
        self.ensure_one()
        self.check_access("write")
        # sudo: the assignments are KoBo's, mirrored by the engine; the caller may write the form
        self = self.sudo()
        rows = client.permission_assignments(self.asset_uid)
        owner = self.owner_username
        labels = {p.codename: p.name for p in self.env["kobo.permission"].search([])}
        vals = []
        for row in rows if isinstance(rows, list) else []:
            username = _last_part(row.get("user"))
            label = row.get("label")
            vals.append(
                {
                    "form_id": self.id,
                    "url": row.get("url"),
                    "username": username,
                    "codename": _last_part(row.get("permission")),
                    "label": label.get("default") if isinstance(label, dict) else label,
                    "partial_filter": _partial_text(row.get("partial_permissions"), labels),
                    "is_owner": bool(owner) and username == owner,
                }
            )
        self._sync_lines(self.assignment_ids, "url", vals)

    def _refresh_hooks(self, client):
        """Rebuild the REST Services tab from KoBo: counts as KoBo keeps them,
        the last failure's message from one log read per failing hook. The
        hooks' ``settings`` (passwords, headers) are never copied."""
        self.ensure_one()
        self.check_access("write")
        # sudo: the hooks are KoBo's, mirrored by the engine; the caller may write the form
        self = self.sudo()
        try:
            hooks = client.list_hooks(self.asset_uid)
        except (errors.KoboForbidden, errors.KoboNotFound) as exc:
            # REST services need "Edit form" and "View submissions" on KoBo
            self.hook_ids.unlink()
            self.remote_lists_error = self.env._(
                "KoBo does not show this form's REST services to this server's account (%(reason)s).",
                reason=exc.message,
            )
            return
        vals = []
        for hook in hooks:
            failure = False
            if hook.get("failed_count"):
                log = client.last_hook_failure(self.asset_uid, hook["uid"])
                if log:
                    code = log.get("status_code")
                    text = (log.get("message") or "").strip()[:500]
                    failure = f"HTTP {code}: {text}" if code else text
            vals.append(
                {
                    "form_id": self.id,
                    "hook_uid": hook["uid"],
                    "name": hook.get("name") or hook["uid"],
                    # the push secret stays in the manager-only push fields
                    "endpoint": masked_url(hook.get("endpoint")) or False,
                    "active_on_kobo": bool(hook.get("active")),
                    "export_type": hook.get("export_type")
                    if hook.get("export_type") in ("json", "xml")
                    else False,
                    "auth_level": hook.get("auth_level")
                    if hook.get("auth_level") in ("no_auth", "basic_auth")
                    else False,
                    "subset_fields": ", ".join(hook.get("subset_fields") or []) or False,
                    "success_count": hook.get("success_count") or 0,
                    "failed_count": hook.get("failed_count") or 0,
                    "pending_count": hook.get("pending_count") or 0,
                    "last_failure": failure,
                }
            )
        self._sync_lines(self.hook_ids, "hook_uid", vals)
        self.remote_lists_error = False

    def _sync_lines(self, lines, key, vals_list):
        """Make ``lines`` match ``vals_list`` (KoBo's list), by ``key``:
        update the known ones in place, create the new, drop the gone."""
        known = {line[key]: line for line in lines}
        to_create = []
        for vals in vals_list:
            line = known.pop(vals[key], None)
            if line:
                line.write(vals)
            else:
                to_create.append(vals)
        lines.browse([line.id for line in known.values()]).unlink()
        lines.create(to_create)

    def action_refresh_remote_lists(self):
        """Refresh the Sharing and REST Services tabs from KoBo."""
        self.ensure_one()
        self._check_kobo_manager()
        title = self.env._("Refresh from KoBo")
        with self.server_id._get_client() as client:
            self._kobo_call(title, lambda: self._refresh_remote_lists(client))
        return self.server_id._notify(
            title, self.env._("Sharing and REST services read from KoBo."), "success"
        )

    def _kobo_share(self, username, permissions, submitted_by=()):
        """Give ``username`` the ``permissions`` (kobo.permission records) on
        every form of ``self``; with ``submitted_by`` (usernames), the
        submission permissions cover only those users' submissions (one
        ``partial_submissions`` assignment). The user is looked up on each
        KoBo server before anything is assigned. Each form is reported."""
        self._check_kobo_manager()
        username = (username or "").strip()
        title = self.env._("Share on KoBo")
        if not username or not permissions:
            raise UserError(self.env._("Enter a KoBo username and choose at least one permission."))
        for server in self.server_id:
            with server._get_client() as client:
                try:
                    client.get_user(username)
                except errors.KoboNotFound as exc:
                    raise UserError(
                        self.env._(
                            "There is no KoBo user named %(user)s on %(server)s.",
                            user=username,
                            server=server.name,
                        )
                    ) from exc
                except errors.KoboError as exc:
                    raise UserError(server._kobo_error_message(exc)) from exc
        labels = {p.codename: p.name for p in permissions}
        submitted_by = [u for u in dict.fromkeys(u.strip() for u in submitted_by) if u]
        partial = [
            p.codename
            for p in permissions
            if submitted_by and p.on_submissions and p.codename != "add_submissions"
        ]
        direct = [c for c in labels if c not in partial]
        notes = {}

        def share(form, client):
            asset = client.get_asset(form.asset_uid, exclude=("content", "analysis_form_json"))
            assignable = {
                _last_part(p.get("url")) for p in asset.get("assignable_permissions") or ()
            }
            wanted = direct + (["partial_submissions"] if partial else [])
            refused = [labels.get(c, c) for c in wanted if c not in assignable]
            if refused:
                raise UserError(
                    self.env._(
                        "KoBo does not let %(permissions)s be given on %(form)s.",
                        permissions=", ".join(refused),
                        form=form.name,
                    )
                )
            current = {
                _last_part(r.get("permission"))
                for r in client.permission_assignments(form.asset_uid)
                if _last_part(r.get("user")) == username
            }
            given, had = [], []
            for code in direct:
                if code in current:
                    had.append(labels[code])
                    continue
                client.assign_permission(form.asset_uid, username, code)
                given.append(labels[code])
            if partial:
                client.assign_partial_submissions(form.asset_uid, username, partial, submitted_by)
                given.append(
                    self.env._(
                        "%(permissions)s only on the submissions of %(users)s",
                        permissions=", ".join(labels[c] for c in partial),
                        users=", ".join(submitted_by),
                    )
                )
            form._refresh_sharing(client)
            lines = []
            if given:
                lines.append(
                    self.env._(
                        "Shared on KoBo with %(user)s: %(permissions)s.",
                        user=username,
                        permissions="; ".join(given),
                    )
                )
            if had:
                lines.append(
                    self.env._(
                        "%(user)s already had: %(permissions)s.",
                        user=username,
                        permissions=", ".join(had),
                    )
                )
            notes[form.id] = " ".join(lines)
            return None

        return self._kobo_run(title, share, lambda form: notes[form.id])

    def _kobo_add_hook(
        self,
        name,
        endpoint,
        *,
        export_type="json",
        auth=None,
        subset_fields=None,
        custom_headers=None,
        active=True,
    ):
        """Add a REST service to this form on KoBo and return its
        ``kobo.form.hook``. ``auth`` is ``(username, password)``: the password
        (like ``custom_headers``) goes to KoBo only, Odoo keeps no copy of it,
        nor of KoBo's answer, which echoes it in clear."""
        self.ensure_one()
        self._check_kobo_manager()
        title = self.env._("Add REST service")
        with self.server_id._get_client() as client:
            answer = self._kobo_call(
                title,
                lambda: client.create_hook(
                    self.asset_uid,
                    name,
                    endpoint,
                    export_type=export_type,
                    auth=auth,
                    subset_fields=subset_fields,
                    custom_headers=custom_headers,
                    active=active,
                ),
            )
            hook_uid = answer["uid"]
            del answer  # holds the password in clear
            self._kobo_call(title, lambda: self._refresh_hooks(client))
            self._kobo_call(title, lambda: self._refresh_from_kobo(client))
        self.message_post(
            body=self.env._(
                "REST service %(name)s added on KoBo: %(format)s to %(endpoint)s.",
                name=name,
                format=export_type.upper(),
                endpoint=masked_url(endpoint),
            )
        )
        return self.hook_ids.filtered(lambda h: h.hook_uid == hook_uid)

    @api.model
    def _kobo_form_from_uid(self, server, client, uid):
        """The kobo.form of ``uid`` on ``server`` (created if new), read from KoBo."""
        form = self.with_context(active_test=False).search(
            [("server_id", "=", server.id), ("asset_uid", "=", uid)], limit=1
        )
        asset = client.get_asset(uid)
        if not form:
            self.check_access("create")
            # sudo: a form is created from KoBo's answer (its uid, its status), checked above
            form = self.sudo().create(
                dict(self._values_from_asset(asset), server_id=server.id, asset_uid=uid)
            )
        form._refresh_from_kobo(client, asset=asset)
        form._refresh_remote_lists(client)
        return form

    @api.model
    def _kobo_upload_xlsform(self, server, data, filename, name=None):
        """Import an XLSForm on ``server`` as a new KoBo form (the import polled
        to its end) and return its kobo.form, read from KoBo."""
        self._check_kobo_manager()
        title = self.env._("Upload XLSForm")
        with server._get_client() as client:
            uid = self._kobo_call(
                title, lambda: client.import_xlsform(data, filename, name=name, poll_interval=0.5)
            )
            form = self._kobo_call(title, lambda: self._kobo_form_from_uid(server, client, uid))
        form.message_post(
            body=self.env._("Uploaded to KoBo from %(file)s (not deployed yet).", file=filename)
        )
        return form

    def _replace_impact(self, questions):
        """Mapping lines whose question disappears from, or changes type in,
        ``questions`` (XPath → type, from the local XLSForm check): one line
        of text each."""
        self.ensure_one()
        catalogue = {q.xpath: q.type for q in self.with_context(active_test=False).question_ids}
        lines = self.env["kobo.mapping.line"].search(
            [("mapping_id.form_id", "=", self.id), ("question_path", "!=", False)]
        )
        out = []
        for line in lines:
            path, new = line.question_path, questions.get(line.question_path)
            if path in SYSTEM_QUESTIONS:  # in every submission, whatever the form
                continue
            field = line.field_id.field_description or ""
            if new is None:
                out.append(
                    self.env._(
                        "%(question)s → %(field)s: the question disappears",
                        question=path,
                        field=field,
                    )
                )
            elif catalogue.get(path) and catalogue[path].split()[0] != new:
                out.append(
                    self.env._(
                        "%(question)s → %(field)s: its type changes from %(old)s to %(new)s",
                        question=path,
                        field=field,
                        old=catalogue[path],
                        new=new,
                    )
                )
        return out

    def _kobo_replace(self, data, filename, redeploy=False):
        """Replace the form's content on KoBo from an XLSForm (same form,
        submissions kept); redeploy it when asked and deployed."""
        self.ensure_one()
        self._check_kobo_manager()
        title = self.env._("Replace from XLSForm")
        with self.server_id._get_client() as client:
            self._kobo_call(
                title,
                lambda: client.import_xlsform(
                    data, filename, destination_uid=self.asset_uid, poll_interval=0.5
                ),
            )
            self._kobo_call(title, lambda: self._refresh_from_kobo(client))
        self.message_post(
            body=self.env._(
                "Content replaced on KoBo from %(file)s; submissions kept.", file=filename
            )
        )
        if redeploy and self.needs_redeploy and self.deployment_status == "deployed":
            return self.action_redeploy()
        message = self.env._("%(form)s has the new content on KoBo.", form=self.name)
        if self.needs_redeploy:
            message += " " + self.env._("Data collectors get it after Redeploy.")
        return self.server_id._notify(title, message, "success")

    def _kobo_clone(self, name):
        """Clone the form on KoBo (latest version) as a new, undeployed form."""
        self.ensure_one()
        self._check_kobo_manager()
        title = self.env._("Clone")
        with self.server_id._get_client() as client:
            clone = self._kobo_call(title, lambda: client.clone(self.asset_uid, name))
            new = self._kobo_call(
                title, lambda: self._kobo_form_from_uid(self.server_id, client, clone["uid"])
            )
        self.message_post(body=self.env._("Cloned on KoBo as %(name)s (not deployed).", name=name))
        new.message_post(body=self.env._("Cloned on KoBo from %(form)s.", form=self.name))
        return new

    def _kobo_delete(self):
        """Delete the form on KoBo: KPI moves it and its submissions to its
        trash (purged after its retention, 7 days by default). The Odoo form
        is archived; records imported from it are untouched."""
        self.ensure_one()
        self._check_kobo_manager()
        title = self.env._("Delete on KoBo")
        with self.server_id._get_client() as client:
            self._kobo_call(title, lambda: client.delete_asset(self.asset_uid))
        purge = fields.Date.context_today(self) + timedelta(days=TRASH_DAYS)
        message = self.env._(
            "Deleted on KoBo with its %(count)s submissions: KoBo keeps them in its trash, where "
            "a KoBo administrator can restore them, and purges them after its retention period "
            "(%(days)s days by default: around %(date)s). Records imported into Odoo are untouched.",
            count=self.submission_count,
            days=TRASH_DAYS,
            date=fields.Date.to_string(purge),
        )
        self.message_post(body=message)
        # sudo: gone from KoBo is the engine's to say; the caller is a manager (checked)
        self.sudo().write({"active": False, "gone_from_kobo": True})
        return self.server_id._notify(title, message, "success", sticky=True)

    def _open_wizard(self, model, name, context=None):
        self._check_kobo_manager()
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "view_mode": "form",
            "target": "new",
            "context": dict(context or {}),
        }

    def action_open_share_wizard(self):
        return self._open_wizard(
            "kobo.form.share.wizard",
            self.env._("Share on KoBo"),
            {"default_form_ids": self.ids},
        )

    @api.model
    def _action_open_upload_wizard(self, server=None):
        """Upload XLSForm (menu entry, and the servers' Actions menu)."""
        server = server or self.env["kobo.server"].search([], limit=1)
        return self._open_wizard(
            "kobo.form.upload.wizard",
            self.env._("Upload XLSForm"),
            {"default_server_id": server.id},
        )

    def action_open_replace_wizard(self):
        self.ensure_one()
        return self._open_wizard(
            "kobo.form.upload.wizard",
            self.env._("Replace from XLSForm"),
            {"default_form_id": self.id, "default_server_id": self.server_id.id},
        )

    def action_open_clone_wizard(self):
        self.ensure_one()
        return self._open_wizard(
            "kobo.form.clone.wizard",
            self.env._("Clone on KoBo"),
            {
                "default_form_id": self.id,
                "default_name": self.env._("Copy of %(name)s", name=self.name),
            },
        )

    def action_open_delete_wizard(self):
        self.ensure_one()
        return self._open_wizard(
            "kobo.form.delete.wizard", self.env._("Delete on KoBo"), {"default_form_id": self.id}
        )

    def action_open_hook_wizard(self):
        self.ensure_one()
        return self._open_wizard(
            "kobo.form.hook.wizard", self.env._("Add a REST service"), {"default_form_id": self.id}
        )


def _last_part(url):
    """``alice`` from ``…/api/v2/users/alice/`` (a codename from a permission URL)."""
    return (url or "").rstrip("/").rsplit("/", 1)[-1]


def _partial_text(partials, labels):
    """KoBo's partial permissions as one line: ``View submissions: alice, bob``."""
    out = []
    for partial in partials or ():
        users = []
        for flt in partial.get("filters") or ():
            value = flt.get("_submitted_by") if isinstance(flt, dict) else None
            if isinstance(value, str):
                users.append(value)
            elif isinstance(value, dict) and isinstance(value.get("$in"), list):
                users += [str(u) for u in value["$in"]]
            else:
                users.append(json.dumps(flt))
        code = _last_part(partial.get("url"))
        out.append(f"{labels.get(code, code)}: {', '.join(users)}")
    return "; ".join(out) or False


def _translations(labels, languages):
    if len(languages) < 2:
        return False
    return "\n".join(f"{lang}: {labels[lang]}" for lang in languages if labels.get(lang))
