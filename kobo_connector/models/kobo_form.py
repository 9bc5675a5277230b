import logging
from datetime import datetime, timezone

from markupsafe import Markup

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..kobo_kpi import errors
from ..kobo_kpi.content import DEFAULT_LANGUAGE, parse_content

_logger = logging.getLogger(__name__)


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
    _inherit = ["mail.thread"]
    _order = "date_modified_kobo desc, id desc"

    name = fields.Char(
        required=True,
        readonly=True,
        tracking=True,
        help="The form's name on KoBo. Change it with Rename, so that Odoo and KoBo agree.",
    )
    server_id = fields.Many2one(
        "kobo.server", required=True, readonly=True, ondelete="restrict", index=True
    )
    company_id = fields.Many2one(related="server_id.company_id", store=True)
    asset_uid = fields.Char(string="KoBo UID", required=True, readonly=True, copy=False, index=True)
    active = fields.Boolean(default=True)
    owner_username = fields.Char(string="Owner on KoBo", readonly=True)
    deployment_status = fields.Selection(
        [("draft", "Draft"), ("deployed", "Deployed"), ("archived", "Archived on KoBo")],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
    )
    version_id = fields.Char(string="Latest Version", readonly=True)
    deployed_version_id = fields.Char(string="Deployed Version", readonly=True, tracking=True)
    needs_redeploy = fields.Boolean(
        compute="_compute_needs_redeploy",
        store=True,
        help="The form was changed on KoBo (content or name) since it was deployed: "
        "data collectors still get the deployed version until it is redeployed.",
    )
    submission_count = fields.Integer(string="Submissions on KoBo", readonly=True)
    date_modified_kobo = fields.Datetime(string="Modified on KoBo", readonly=True)
    date_deployed = fields.Datetime(string="Deployed on", readonly=True)
    enketo_url = fields.Char(string="Data Entry Link", readonly=True)
    xls_url = fields.Char(string="XLSForm Download", readonly=True)
    gone_from_kobo = fields.Boolean(
        readonly=True,
        tracking=True,
        help="The form is no longer on KoBo (deleted there, or no longer shared "
        "with this server's account). It is kept because Odoo records refer to it.",
    )
    languages = fields.Char(readonly=True)
    catalogue_version_id = fields.Char(
        string="Questions of Version",
        readonly=True,
        help="The KoBo version the questions were read from: the deployed one "
        "(that is what submissions follow), or the latest one of a draft.",
    )
    question_ids = fields.One2many("kobo.form.question", "form_id", string="Questions")
    question_count = fields.Integer(compute="_compute_question_count")
    last_refresh = fields.Datetime(string="Last Refreshed", readonly=True)

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
                [("form_id", "in", self.ids), ("is_group", "=", False), ("is_repeat", "=", False)],
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
                        form.gone_from_kobo = True
                    form.message_post(
                        body=Markup("%s<br/>%s")
                        % (self.env._("%(action)s failed.", action=title), reason)
                    )
                    failures.append((form, reason))
                else:
                    form.message_post(body=done_message)
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
        return self._kobo_run(
            self.env._("Refresh from KoBo"),
            lambda form, client: client.get_asset(form.asset_uid),
            self.env._("Refreshed from KoBo."),
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


def _translations(labels, languages):
    if len(languages) < 2:
        return False
    return "\n".join(f"{lang}: {labels[lang]}" for lang in languages if labels.get(lang))
