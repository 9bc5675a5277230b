"""Issue 17: the KoBo Manager's boundary, closed by construction.

Each test acts as the non-admin actor (a KoBo Manager of company A or B, a
KoBo User of B, a hostile KoBo listing a loopback ``download_url``) over
RPC where a user would."""

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import StubHttp
from .test_kobo_files import QUIET, FilesCase
from .test_kobo_media_list import MediaCase
from .test_kobo_security import RpcCase

# fields the review wrote over RPC: each must be refused
REPORTED = {
    "kobo.submission": ["payload", "res_model", "res_id", "uuid", "state", "link_ids"],
    "kobo.submission.link": ["res_model", "res_id", "import_lines", "submission_id"],
    "kobo.media.list": ["publisher_id"],
    "kobo.form": ["company_id", "server_id", "deployment_status"],
    "kobo.server": ["state"],
    "kobo.mapping": ["form_id", "company_id"],
}
SAMPLE = {
    "char": "x",
    "text": "x",
    "integer": 7,
    "float": 1.5,
    "boolean": True,
    "datetime": "2020-01-01 00:00:00",
    "json": {"x": 1},
    "many2one_reference": 1,
}


@tagged("post_install", "-at_install")
class TestSystemFields(RpcCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        form = cls.form
        question = env["kobo.form.question"].create(
            {"form_id": form.id, "xpath": "color", "name": "color", "type": "select_one"}
        )
        choice = env["kobo.form.choice"].create({"question_id": question.id, "name": "red"})
        mapping = env["kobo.mapping"].create({"form_id": form.id, "model_name": "res.partner"})
        line = env["kobo.mapping.line"].create(
            {
                "mapping_id": mapping.id,
                "question_path": "color",
                "field_id": env["ir.model.fields"]._get("res.partner", "category_id").id,
            }
        )
        value = env["kobo.mapping.value"].create({"line_id": line.id, "choice": "red"})
        media = env["kobo.media.list"].create({"name": "Products", "file_name": "p.csv"})
        column = env["kobo.media.list.column"].create(
            {"list_id": media.id, "column": "name", "field_name": "name"}
        )
        target = env["kobo.media.list.target"].create({"list_id": media.id, "form_id": form.id})
        sub = env["kobo.submission"].create({"form_id": form.id, "kobo_id": 1, "payload": {}})
        cls.records = {
            "kobo.server": cls.server,
            "kobo.form": form,
            "kobo.form.question": question,
            "kobo.form.choice": choice,
            "kobo.mapping": mapping,
            "kobo.mapping.line": line,
            "kobo.mapping.value": value,
            "kobo.media.list": media,
            "kobo.media.list.column": column,
            "kobo.media.list.target": target,
            "kobo.submission": sub,
            "kobo.submission.attachment": env["kobo.submission.attachment"].create(
                {"submission_id": sub.id, "kobo_uid": "att1", "state": "done"}
            ),
            "kobo.pending.push": env["kobo.pending.push"].create(
                {"form_id": form.id, "kobo_id": 2}
            ),
            "kobo.form.hook": env["kobo.form.hook"].create(
                {"form_id": form.id, "hook_uid": "h1", "name": "Hook"}
            ),
            "kobo.form.assignment": env["kobo.form.assignment"].create(
                {"form_id": form.id, "url": "/a/", "username": "bob", "codename": "view_asset"}
            ),
            "kobo.permission": env["kobo.permission"].search([], limit=1),
            "kobo.submission.link": env["kobo.submission.link"].create(
                {
                    "submission_id": sub.id,
                    "mapping_id": mapping.id,
                    "res_model": "res.partner",
                    "res_id": env.user.partner_id.id,
                }
            ),
            "kobo.mapping.condition": env["kobo.mapping.condition"].create(
                {"mapping_id": mapping.id, "question_path": "color", "operator": "set"}
            ),
        }

    def _sample(self, record, name):
        field = record._fields[name]
        if field.type == "selection":
            return field._description_selection(self.env)[0][0]
        if field.type in ("one2many", "many2many"):
            return [Command.set([])]
        if field.type == "many2one":
            return record[name].id or self.env[field.comodel_name].search([], limit=1).id
        return SAMPLE[field.type]

    def test_every_system_field_refused_over_rpc(self):
        """Every kobo.* model, every field declared ``kobo_system``, over
        ``call_kw`` write and ``web_save``, as a KoBo Manager: refused."""
        self.authenticate("sec_manager", "sec_manager_pw")
        for model, names in REPORTED.items():
            self.assertLessEqual(set(names), self.env[model]._kobo_system_fields(), model)
        protected = {
            name: Model
            for name, Model in self.env.items()
            if name.startswith("kobo.")
            and not Model._abstract
            and name in self.env["kobo.system.mixin"]._inherit_children
            and Model._kobo_system_fields()
        }
        self.assertLessEqual(set(REPORTED), set(protected))
        for model in protected:
            record = self.records.get(model)
            self.assertTrue(record, f"{model}: add a record to this test")
            for name in sorted(self.env[model]._kobo_system_fields()):
                vals = {name: self._sample(record, name)}
                with self.subTest(model=model, field=name):
                    self.assertRefused(model, "write", [record.id], vals, error="AccessError")
                    self.assertRefused(
                        model, "web_save", [record.id], vals, specification={}, error="AccessError"
                    )
        # the engine's own write (superuser) still goes through
        self.records["kobo.submission"].sudo().write({"state": "error"})

    def test_no_context_key_opens_it(self):
        self.authenticate("sec_manager", "sec_manager_pw")
        self.assertRefused(
            "kobo.server",
            "create",
            {"name": "Mine", "url": "https://kobo.example.org"},
            context={"default_state": "connected"},
            error="AccessError",
        )
        media = self.records["kobo.media.list"]
        self.assertRefused(
            "kobo.media.list",
            "write",
            [media.id],
            {"publisher_id": self.env.ref("base.user_admin").id},
            context={"kobo_engine": True, "install_mode": True},
            error="AccessError",
        )

    def test_kobo_user_and_manager_do_not_write_engine_rows(self):
        self.authenticate("sec_manager", "sec_manager_pw")
        for model in ("kobo.submission", "kobo.form.hook", "kobo.form.assignment"):
            with self.subTest(model=model):
                self.assertRefused(model, "unlink", [self.records[model].id], error="AccessError")
        # permission labels are a system administrator's
        permission = self.records["kobo.permission"]
        self.assertRefused(
            "kobo.permission", "write", [permission.id], {"name": "Anything"}, error="AccessError"
        )


@tagged("post_install", "-at_install")
class TestOneCompanyPerChain(RpcCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.company_a = cls.server.company_id
        cls.company_b = env["res.company"].create({"name": "NGO B"})
        cls.manager_b = new_test_user(
            env,
            login="manager_b",
            password="manager_b_pw",
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
            groups="base.group_user,kobo_connector.group_kobo_manager",
        )
        cls.user_b = new_test_user(
            env,
            login="user_b",
            password="user_b_pw",
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
            groups="base.group_user,kobo_connector.group_kobo_user",
        )
        cls.server_b = env["kobo.server"].create(
            {"name": "B's KoBo", "url": "http://127.0.0.1:9", "company_id": cls.company_b.id}
        )
        cls.form_b = env["kobo.form"].create(
            {"name": "B form", "server_id": cls.server_b.id, "asset_uid": "aFormB"}
        )
        cls.mapping_b = env["kobo.mapping"].create(
            {"form_id": cls.form_b.id, "model_name": "res.partner"}
        )
        form = cls.form
        mapping = env["kobo.mapping"].create({"form_id": form.id, "model_name": "res.partner"})
        line = env["kobo.mapping.line"].create(
            {
                "mapping_id": mapping.id,
                "question_path": "who",
                "field_id": env["ir.model.fields"]._get("res.partner", "parent_id").id,
            }
        )
        sub = env["kobo.submission"].create({"form_id": form.id, "kobo_id": 1, "payload": {}})
        cls.a_rows = {
            "kobo.form.hook": env["kobo.form.hook"].create(
                {"form_id": form.id, "hook_uid": "h1", "name": "Hook"}
            ),
            "kobo.form.assignment": env["kobo.form.assignment"].create(
                {"form_id": form.id, "url": "/a/", "username": "bob", "codename": "view_asset"}
            ),
            "kobo.submission.attachment": env["kobo.submission.attachment"].create(
                {"submission_id": sub.id, "kobo_uid": "att1", "state": "done"}
            ),
            "kobo.pending.push": env["kobo.pending.push"].create(
                {"form_id": form.id, "kobo_id": 2}
            ),
            "kobo.mapping.value": env["kobo.mapping.value"].create(
                {"line_id": line.id, "choice": "boss"}
            ),
        }

    def test_company_b_sees_nothing_of_a(self):
        for login in ("user_b", "manager_b"):
            self.authenticate(login, f"{login}_pw")
            for model, record in self.a_rows.items():
                with self.subTest(login=login, model=model):
                    self.assertEqual(self.call(model, "search", [("id", "=", record.id)]), [])

    def test_manager_b_cannot_move_a_mapping_onto_as_form(self):
        self.authenticate("manager_b", "manager_b_pw")
        self.assertRefused(
            "kobo.mapping",
            "write",
            [self.mapping_b.id],
            {"form_id": self.form.id},
            error="AccessError",
        )
        self.assertEqual(self.mapping_b.form_id, self.form_b)

    def test_a_servers_company_does_not_change_under_its_forms(self):
        self.manager.write({"company_ids": [Command.link(self.company_b.id)]})
        self.authenticate("sec_manager", "sec_manager_pw")
        self.assertRefused(
            "kobo.server",
            "write",
            [self.server.id],
            {"company_id": self.company_b.id},
            error="UserError",
        )
        self.assertEqual(self.form.company_id, self.company_a)
        # a server without forms moves only to a company its manager works in
        self.authenticate("manager_b", "manager_b_pw")
        empty = self.call(
            "kobo.server", "create", {"name": "New", "url": "https://kobo.example.org"}
        )
        self.assertRefused(
            "kobo.server", "write", [empty], {"company_id": self.company_a.id}, error="UserError"
        )

    def test_import_user_gets_only_the_managers_companies(self):
        company_c = self.env["res.company"].create({"name": "NGO C"})
        server_c = self.env["kobo.server"].create(
            {"name": "C's KoBo", "url": "https://kobo.c.org", "company_id": company_c.id}
        )
        import_user = self.env.ref("kobo_connector.user_kobo_import")
        form_c = self.env["kobo.form"].create(
            {"name": "C", "server_id": server_c.id, "asset_uid": "aC"}
        )
        import_user.company_ids = [Command.unlink(company_c.id)]
        form_c.with_user(self.manager_b)._sync_import_user_companies()
        self.assertNotIn(company_c, import_user.company_ids)
        form_c._sync_import_user_companies()  # the engine (superuser) keeps it in step
        self.assertIn(company_c, import_user.company_ids)


@tagged("post_install", "-at_install")
class TestDownloadsOnlyFromKobo(FilesCase):
    def test_listed_download_url_is_never_fetched(self):
        """A hostile KoBo (or a rewritten payload) lists a download_url on a
        loopback service: Odoo fetches the file from the URL it builds."""
        seen = []
        stub = StubHttp({"/internal/secret/": (200, "text/plain", "internal secret")})
        self.addCleanup(stub.close)
        handler = stub.httpd.RequestHandlerClass
        do_get = handler.do_GET

        def spy(h):
            seen.append(h.path)
            return do_get(h)

        handler.do_GET = spy
        data = self._add("With photo", {"photo": ("a.jpg", b"\xff\xd8real", "image/jpeg")})
        self.env["kobo.form"]._cron_import()
        sub = self._sub(data["_id"])
        payload = dict(sub.payload)
        payload["_attachments"] = [
            dict(att, download_url=f"{stub.url}/internal/secret/")
            for att in payload["_attachments"]
        ]
        sub.payload = payload  # what a hostile KoBo lists
        with mute_logger(*QUIET):
            self.env["kobo.submission"]._cron_after_import()
        record = self._sub(data["_id"])._record()
        self.assertEqual([f.raw for f in self._files(record)], [b"\xff\xd8real"])
        self.assertEqual(seen, [], "the listed URL was not requested")

    def test_private_server_refused_unless_allowed(self):
        self.env["ir.config_parameter"].set_param("kobo_connector.allow_private_urls", "0")
        with self.assertRaisesRegex(Exception, "private or loopback"):
            self.server._get_client()
        self.env["ir.config_parameter"].set_param("kobo_connector.allow_private_urls", "1")
        self.server._get_client().close()


@tagged("post_install", "-at_install")
class TestSecretsStayPut(FilesCase):
    def test_mirrored_hooks_and_chatter_mask_credentials(self):
        endpoint = "https://bob:Pa55@odoo.example.org/kobo/push/12/Sup3rS3cret?token=abc"
        self.form.with_user(self.manager)._kobo_add_hook("Ours", endpoint)
        hook = self.form.hook_ids.filtered(lambda h: h.name == "Ours")
        self.assertEqual(hook.endpoint, "https://odoo.example.org/kobo/push/12/***?token=***")
        chatter = " ".join(self.form.message_ids.mapped("body"))
        for secret in ("Pa55", "Sup3rS3cret", "abc"):
            self.assertNotIn(secret, chatter + hook.endpoint)


@tagged("post_install", "-at_install")
class TestTokenWizardStoresNoPassword(RpcCase):
    def test_password_never_reaches_a_column(self):
        self.authenticate("sec_manager", "sec_manager_pw")
        self.call(
            "kobo.server.token.wizard",
            "web_save",
            [],
            {"server_id": self.server.id, "username": "someone", "password": "пароль-секрет"},
            specification={},
        )
        self.env.cr.execute(
            "SELECT count(*) FROM kobo_server_token_wizard WHERE password IS NOT NULL"
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)


@tagged("post_install", "-at_install")
class TestIdsThroughTheImportUser(RpcCase):
    def test_value_map_to_another_companys_record_refused(self):
        company_b = self.env["res.company"].create({"name": "NGO B"})
        theirs = self.env["res.partner"].create(
            {"name": "B's supplier", "company_id": company_b.id}
        )
        mapping = self.env["kobo.mapping"].create(
            {
                "form_id": self.form.id,
                "model_name": "res.partner",
                "line_ids": [
                    Command.create(
                        {
                            "question_path": "who",
                            "field_id": self.env["ir.model.fields"]
                            ._get("res.partner", "parent_id")
                            .id,
                        }
                    ),
                ],
            }
        )
        self.env["kobo.mapping.value"].create(
            {"line_id": mapping.line_ids.id, "choice": "boss", "res_id": theirs.id}
        )
        with self.assertRaisesRegex(ValidationError, "cannot see"):
            mapping._compile()

    def test_by_name_lookup_is_exact(self):
        self.env["res.partner"].create({"name": "Alice Smith"})
        Sub = self.env["kobo.submission"].with_user(self.env.ref("kobo_connector.user_kobo_import"))
        found = Sub._find_by_names("res.partner", ["Alice%", "alice smith"], {})
        self.assertFalse(found["Alice%"], "% is a character, not a wildcard")
        self.assertTrue(found["alice smith"])


@tagged("post_install", "-at_install")
class TestAllowedLines(RpcCase):
    def test_bank_accounts_are_never_lines_of_contacts(self):
        """Allowing Contacts allows its child contacts as lines, not the
        bank accounts a repeat (or a collector) would attach to a supplier."""
        self.authenticate("sec_manager", "sec_manager_pw")
        mapping_id = self.new_mapping()
        bank_id = self.call(
            "kobo.mapping.line",
            "create",
            {"mapping_id": mapping_id, "question_path": "banks", "field_name": "bank_ids"},
        )
        refused = self.assertRefused(
            "kobo.mapping.line",
            "create",
            {"mapping_id": mapping_id, "parent_id": bank_id, "field_name": "acc_number"},
        )
        self.assertEqual(str(refused), "odoo.exceptions.ValidationError")
        Policy = self.env["kobo.allowed.model"]
        self.assertIn("res.partner.bank", Policy._model_error("res.partner.bank", line=True))
        # child contacts stay allowed: test_kobo_security's repeat test

    def test_create_when_missing_obeys_the_allowlist(self):
        import_env = self.form._import_env()
        Sub = import_env["kobo.submission"]
        self.env["kobo.allowed.model"].search([("model", "=", "res.partner.category")]).unlink()
        found = Sub._kobo_find_by_field("res.partner.category", "", True, ["Brand new"], {})
        self.assertFalse(found["Brand new"], "not an allowed model: nothing created")
        self.assertFalse(self.env["res.partner.category"].search([("name", "=", "Brand new")]))


@tagged("post_install", "-at_install")
class TestListsPublishWithTheShapersRights(MediaCase):
    def test_who_shapes_a_list_publishes_it(self):
        """An administrator published the list; a manager who edits what it
        publishes (domain, columns, forms) becomes its publisher, set by the
        server: the cron then reads with the manager's rights, not the admin's."""
        admin = self.env.ref("base.user_admin")
        media = self._list(self.form, user=admin)
        media.with_user(admin).action_publish()
        self.assertEqual(media.publisher_id, admin)
        media.with_user(self.manager).domain = "[]"
        self.assertEqual(media.publisher_id, self.manager)
        media.with_user(admin).action_publish()
        media.column_ids[:1].with_user(self.manager).sequence = 99
        self.assertEqual(media.publisher_id, self.manager)
        media.with_user(admin).action_publish()
        media.target_ids.with_user(self.manager).unlink()
        self.assertEqual(media.publisher_id, self.manager)
