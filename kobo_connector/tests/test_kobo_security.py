"""Issue 8: safe imports — who may map what, and as whom.

Every escalation is attempted by a KoBo Manager who is NOT an Odoo admin,
over RPC (``/web/dataset/call_kw`` accepts any method and any value), and
must be refused on the server; imports run as the import user, inside the
form's company, and never overwrite what an Odoo user or company points to.
"""

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.sql_db import db_connect
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from odoo.addons.kobo_connector.models.kobo_form_sync import LOCK_NAMESPACE

from .common import StubHttp
from .test_kobo_import import ImportCase, person

SECRET = "s3cret-password"


class RpcCase(HttpCase):
    """A form on a (fake-less) server, a non-admin KoBo Manager and KoBo User
    who talk to Odoo over JSON-RPC like a browser or a script does."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param("kobo_connector.allow_private_urls", "1")
        cls.server = cls.env["kobo.server"].create(
            {"name": "Public KoBo", "url": "http://127.0.0.1:9", "token": "t" * 40}
        )
        cls.form = cls.env["kobo.form"].create(
            {
                "name": "Public form",
                "server_id": cls.server.id,
                "asset_uid": "aPublicForm",
                "deployment_status": "deployed",
            }
        )
        cls.manager = new_test_user(
            cls.env,
            login="sec_manager",
            password="sec_manager_pw",
            groups="base.group_user,kobo_connector.group_kobo_manager",
        )
        cls.kobo_user = new_test_user(
            cls.env,
            login="sec_user",
            password="sec_user_pw",
            groups="base.group_user,kobo_connector.group_kobo_user",
        )

    def call(self, model, method, *args, **kwargs):
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def assertRefused(self, model, method, *args, error="ValidationError", **kwargs):
        with mute_logger("odoo.http"), self.assertRaises(JsonRpcException) as caught:
            self.call(model, method, *args, **kwargs)
        self.assertIn(error, str(caught.exception))
        return caught.exception

    def new_mapping(self, **vals):
        return self.call(
            "kobo.mapping", "create", {"form_id": self.form.id, "model_name": "res.partner", **vals}
        )


@tagged("post_install", "-at_install")
class TestMappingEscalations(RpcCase):
    def setUp(self):
        super().setUp()
        self.authenticate("sec_manager", "sec_manager_pw")

    def test_manager_is_not_an_admin(self):
        self.assertFalse(self.manager._is_admin())
        self.assertFalse(self.manager.has_group("base.group_system"))
        # in Odoo 18 reading ir.model needs admin rights: hence the safe pickers
        self.assertRefused("ir.model", "search_read", [], ["model"], error="AccessError")

    def test_mapping_into_security_models_refused(self):
        for model in ("res.users", "res.groups", "ir.config_parameter", "ir.cron", "ir.rule"):
            with self.subTest(model=model):
                self.assertRefused(
                    "kobo.mapping",
                    "create",
                    {"form_id": self.form.id, "model_name": model, "enabled": True},
                )
                # through the picker's id too (the ids of ir.model)
                self.assertRefused(
                    "kobo.mapping",
                    "create",
                    {"form_id": self.form.id, "model_id": self.env["ir.model"]._get_id(model)},
                )
        self.assertFalse(self.env["kobo.mapping"].search([("form_id", "=", self.form.id)]))

    def test_the_readme_escalation_refused(self):
        """A mapping into res.users with the Settings group and a password."""
        self.assertRefused(
            "kobo.mapping",
            "create",
            {
                "form_id": self.form.id,
                "model_name": "res.users",
                "enabled": True,
                "line_ids": [
                    (0, 0, {"question_path": "name", "field_name": "login"}),
                    (0, 0, {"field_name": "password", "constant": "x"}),
                    (
                        0,
                        0,
                        {
                            "field_name": "groups_id",
                            "constant": str(self.env.ref("base.group_system").id),
                        },
                    ),
                ],
            },
        )
        # nor by switching an allowed mapping's model afterwards
        mapping_id = self.new_mapping(
            line_ids=[(0, 0, {"question_path": "name", "field_name": "name"})]
        )
        self.assertRefused("kobo.mapping", "write", [mapping_id], {"model_name": "res.users"})
        self.assertEqual(self.env["kobo.mapping"].browse(mapping_id).model_name, "res.partner")

    def test_forbidden_fields_refused(self):
        mapping_id = self.new_mapping()
        fields_ = {
            "user_ids": "security-relevant",  # the partner's users
            "user_id": "security-relevant",  # many2one to res.users
            "company_id": "security-relevant",
            "signup_type": "restricted to some groups",  # groups="base.group_erp_manager"
            "commercial_partner_id": "computed",  # read-only computed
            "email_normalized": "computed",
            "channel_ids": "security-relevant",  # membership of discuss channels
            "create_uid": "security-relevant",
            "no_such_field": "has no field",
        }
        for name, reason in fields_.items():
            with self.subTest(field=name):
                self.assertRefused(
                    "kobo.mapping.line",
                    "create",
                    {"mapping_id": mapping_id, "question_path": "name", "field_name": name},
                )
                with self.assertRaises(ValidationError) as caught:
                    self.env["kobo.mapping.line"].with_user(self.manager).create(
                        {"mapping_id": mapping_id, "question_path": "name", "field_name": name}
                    )
                self.assertIn(reason, caught.exception.args[0])
        # a valid line cannot be turned into a forbidden one either
        line_id = self.call(
            "kobo.mapping.line",
            "create",
            {"mapping_id": mapping_id, "question_path": "name", "field_name": "name"},
        )
        self.assertRefused("kobo.mapping.line", "write", [line_id], {"field_name": "user_ids"})
        self.assertRefused(
            "kobo.mapping.line",
            "write",
            [line_id],
            {"field_id": self.env["ir.model.fields"]._get("res.users", "password").id},
        )

    def test_key_field_and_constants_checked_when_saved(self):
        self.assertRefused(
            "kobo.mapping",
            "create",
            {
                "form_id": self.form.id,
                "model_name": "res.partner",
                "match_policy": "match",
                "match_question_path": "email",
                "match_field_name": "user_ids",
            },
        )
        mapping_id = self.new_mapping()
        exc = self.assertRefused(
            "kobo.mapping.line",
            "create",
            {"mapping_id": mapping_id, "field_name": "color", "constant": "not a number"},
        )
        self.assertIn("ValidationError", str(exc))

    def test_lines_of_a_repeat_stay_under_the_floor(self):
        mapping_id = self.new_mapping()
        repeat_id = self.call(
            "kobo.mapping.line",
            "create",
            {"mapping_id": mapping_id, "question_path": "members", "field_name": "child_ids"},
        )
        self.call(
            "kobo.mapping.line",
            "create",
            {"mapping_id": mapping_id, "parent_id": repeat_id, "field_name": "name"},
        )
        self.assertRefused(
            "kobo.mapping.line",
            "create",
            {"mapping_id": mapping_id, "parent_id": repeat_id, "field_name": "user_ids"},
        )
        # a line cannot hang under another mapping's repeat
        other_id = self.call(
            "kobo.mapping", "create", {"form_id": self.form.id, "model_name": "res.partner"}
        )
        self.assertRefused(
            "kobo.mapping.line",
            "create",
            {"mapping_id": other_id, "parent_id": repeat_id, "field_name": "name"},
        )

    def test_manager_cannot_choose_the_import_user_nor_the_allowlist(self):
        self.assertRefused(
            "kobo.form",
            "write",
            [self.form.id],
            {"import_user_id": self.kobo_user.id},
            error="AccessError",
        )
        self.assertEqual(self.form.import_user_id, self.env.ref("kobo_connector.user_kobo_import"))
        self.assertRefused(
            "kobo.allowed.model",
            "create",
            {"name": "Users", "model": "res.users"},
            error="AccessError",
        )
        # and an administrator cannot lift the floor either
        with self.assertRaises(ValidationError):
            self.env["kobo.allowed.model"].create({"name": "Users", "model": "res.users"})
        with self.assertRaises(ValidationError):
            self.env["kobo.allowed.model"].create({"name": "Cron", "model": "ir.cron"})
        # nor make the superuser or an administrator a form's import user
        with self.assertRaises(ValidationError):
            self.form.import_user_id = self.env.ref("base.user_root")
        with self.assertRaises(ValidationError):
            self.form.import_user_id = self.env.ref("base.user_admin")

    def test_safe_pickers_show_only_what_is_allowed(self):
        models_ = self.call("kobo.target.model", "search_read", [], ["model", "name"])
        # exactly the allowlist: contacts, their tags, and what installed bridges add (pickings)
        allowed = self.env["kobo.allowed.model"].search([]).mapped("model")
        self.assertEqual(sorted(m["model"] for m in models_), sorted(allowed))
        self.assertIn("res.partner", allowed)
        self.assertLessEqual(set(allowed), {"res.partner", "res.partner.category", "stock.picking"})
        partner = next(m["id"] for m in models_ if m["model"] == "res.partner")
        self.assertEqual(partner, self.env["ir.model"]._get_id("res.partner"), "ir.model's ids")
        found = self.call(
            "kobo.target.field",
            "name_search",
            "Email",
            [("model_id", "=", partner)],
            limit=50,
        )
        self.assertIn("Email", [name for _id, name in found])
        names = {
            f["name"]
            for f in self.call(
                "kobo.target.field", "search_read", [("model", "=", "res.partner")], ["name"]
            )
        }
        self.assertTrue({"name", "email", "phone", "city", "child_ids"} <= names)
        self.assertFalse(
            names & {"user_ids", "company_id", "signup_type", "commercial_partner_id", "user_id"}
        )
        # the lines of a repeat: the models the allowlist names (child contacts), never
        # whatever else a one2many reaches (bank accounts)
        pickable = {
            f["model"] for f in self.call("kobo.target.field", "search_read", [], ["model"])
        }
        self.assertNotIn("res.partner.bank", pickable)

    def test_target_the_import_user_cannot_write_refused_on_enable(self):
        self.env["kobo.allowed.model"].create({"name": "Industry", "model": "res.partner.industry"})
        mapping_id = self.call(
            "kobo.mapping",
            "create",
            {
                "form_id": self.form.id,
                "model_name": "res.partner.industry",
                "line_ids": [(0, 0, {"question_path": "name", "field_name": "name"})],
            },
        )
        with self.assertRaises(ValidationError) as caught:
            self.env["kobo.mapping"].with_user(self.manager).browse(mapping_id).enabled = True
        self.assertIn("may not create", caught.exception.args[0])
        self.assertIn("KoBo Import", caught.exception.args[0])
        self.assertRefused("kobo.mapping", "write", [mapping_id], {"enabled": True})


@tagged("post_install", "-at_install")
class TestKoboUserAndTokenWizard(RpcCase):
    def test_kobo_user_lists_submissions_of_unreadable_records(self):
        other_company = self.env["res.company"].create({"name": "Other company"})
        hidden = self.env["res.partner"].create(
            {"name": "Other company's partner", "company_id": other_company.id}
        )
        visible = self.env["res.partner"].create([{"name": f"Visible {i}"} for i in range(5)])
        param = self.env["ir.config_parameter"].search([], limit=1)
        targets = [("res.partner", hidden.id), ("ir.config_parameter", param.id)] + [
            ("res.partner", p.id) for p in visible
        ]
        subs = self.env["kobo.submission"].create(
            [
                {"form_id": self.form.id, "kobo_id": i + 1, "state": "imported"}
                for i in range(len(targets))
            ]
        )
        for sub, (model, res_id) in zip(subs, targets, strict=True):
            sub.write({"res_model": model, "res_id": res_id})
        self.authenticate("sec_user", "sec_user_pw")
        rows = self.call(
            "kobo.submission",
            "web_search_read",
            domain=[("form_id", "=", self.form.id)],
            specification={"kobo_id": {}, "record_name": {}},
        )["records"]
        names = {row["kobo_id"]: row["record_name"] for row in rows}
        self.assertEqual(len(names), len(targets))
        self.assertFalse(names[1], "another company's partner: no name, no error")
        self.assertFalse(names[2], "a model the user cannot read: no name, no error")
        self.assertEqual(names[3], "Visible 0")
        # one query per model, not one per row
        Sub = self.env["kobo.submission"].with_user(self.kobo_user)
        few, many = Sub.browse(subs[2:4].ids), Sub.browse(subs[2:].ids)
        counts = []
        for batch in (few, many):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            batch.mapped("record_name")
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[0], counts[1])

    def test_failed_token_attempt_leaves_no_password(self):
        stub = StubHttp(
            {"/token/": (401, "application/json", {"detail": "Invalid username/password."})}
        )
        self.addCleanup(stub.close)
        self.server.url = stub.url
        self.authenticate("sec_manager", "sec_manager_pw")
        # what the dialog does: save the record, then call the button
        saved = self.call(
            "kobo.server.token.wizard",
            "web_save",
            [],
            {"server_id": self.server.id, "username": "someone", "password": SECRET},
            specification={},
        )
        wizard_id = saved[0]["id"]
        action = self.call("kobo.server.token.wizard", "action_get_token", [wizard_id])
        self.assertEqual(action["res_id"], wizard_id, "the dialog reopens with the reason")
        self.env.cr.execute(
            "SELECT count(*) FROM kobo_server_token_wizard WHERE password IS NOT NULL"
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0, "no password row left behind")
        wizard = self.env["kobo.server.token.wizard"].browse(wizard_id)
        self.assertTrue(wizard.error)
        self.assertEqual(self.server.token, "t" * 40, "the token is unchanged")


@tagged("post_install", "-at_install")
class TestImportAsImportUser(ImportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.import_user = cls.env.ref("kobo_connector.user_kobo_import")

    def test_the_import_user(self):
        user = self.import_user
        self.assertFalse(user.active, "archived like OdooBot: no login, no licence seat")
        self.assertFalse(user._is_superuser())
        self.assertFalse(user._is_admin())
        self.assertTrue(user.has_group("kobo_connector.group_kobo_import"))
        self.assertFalse(user.has_group("kobo_connector.group_kobo_manager"))
        env = self.form._import_env()
        self.assertEqual(env.uid, user.id)
        self.assertFalse(env.su)
        self.assertEqual(env.context["allowed_company_ids"], [self.form.company_id.id])
        self.assertIn(self.form.company_id, user.company_ids)

    def test_records_are_created_and_updated_as_the_import_user(self):
        sub = self.fake.add_submission(self.uid, person(1))
        self._sync_all()  # the cron runs as OdooBot in production, as admin here
        partner = self._partners()
        self.assertEqual(partner.create_uid, self.import_user)
        self.fake.edit_submission(self.uid, sub["_id"], {"name": "Person One"})
        self._sync_all()
        self.assertEqual(partner.name, "Person One")
        self.assertEqual(partner.write_uid, self.import_user)

    def test_import_rechecks_the_policy(self):
        """A mapping line that slipped past (written in SQL): every import refuses it."""
        line = self.mapping.line_ids.filtered(lambda line: line.field_name == "email")
        self.env.cr.execute(
            "UPDATE kobo_mapping_line SET field_name = 'user_ids' WHERE id = %s", (line.id,)
        )
        self.env.invalidate_all()
        self.fake.add_submission(self.uid, person(1))
        with mute_logger("odoo.addons.kobo_connector.models.kobo_form_sync"):
            self.env["kobo.form"]._cron_import()
        self.assertIn("security-relevant", self.form.sync_error)
        self.assertFalse(self._subs().filtered(lambda s: s.state == "imported"))
        self.assertFalse(self._partners())

    def test_match_on_key_stays_in_the_company_and_off_users(self):
        other_company = self.env["res.company"].create({"name": "Other company"})
        theirs = self.env["res.partner"].create(
            {"name": "Theirs", "email": "p7@example.org", "company_id": other_company.id}
        )
        admin = self.env.ref("base.user_admin")
        admin.partner_id.email = "p8@example.org"
        admin_name = admin.partner_id.name
        self.mapping.write(
            {
                "match_policy": "match",
                "match_question_path": "email",
                "match_field_name": "email",
            }
        )
        self.fake.add_submissions(self.uid, [person(7), person(8)])
        self._sync_all()
        self.assertEqual(theirs.name, "Theirs", "another company's partner is not touched")
        self.assertEqual(admin.partner_id.email, "p8@example.org")
        self.assertEqual(admin.partner_id.name, admin_name)
        self.assertEqual(len(self._partners()), 4, "two new contacts, of this form")
        created = self._subs().mapped("res_id")
        self.assertNotIn(theirs.id, created)
        self.assertNotIn(admin.partner_id.id, created)

    def test_a_record_turned_into_a_users_partner_is_not_overwritten(self):
        sub = self.fake.add_submission(self.uid, person(1))
        self._sync_all()
        partner = self._partners()
        new_test_user(self.env, login="became_user", partner_id=partner.id)
        email = partner.email
        self.fake.edit_submission(self.uid, sub["_id"], {"email": "attacker@example.org"})
        self._sync_all()
        self.assertEqual(partner.email, email)
        self.assertEqual(self._subs().state, "error")

    def test_import_timezone_is_the_forms(self):
        self.form.company_id.partner_id.tz = "Africa/Nairobi"
        self.assertEqual(self.form._import_env().context["tz"], "Africa/Nairobi")
        self.form.tz = "Africa/Kinshasa"
        self.assertEqual(self.form._import_env().context["tz"], "Africa/Kinshasa")
        self.assertEqual(
            self.form.with_context(tz="Pacific/Auckland")._import_env().context["tz"],
            "Africa/Kinshasa",
            "not the time zone of whoever runs it",
        )

    def test_reprocess_takes_the_forms_lock(self):
        # (not imported by a sync: its lock would be held by this test's transaction)
        errors = self.env["kobo.submission"].create(
            {"form_id": self.form.id, "kobo_id": 1, "payload": person(1)}
        )
        errors.write({"state": "error"})
        with db_connect(self.env.cr.dbname).cursor() as other:
            other.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, self.form.id))
            try:
                with self.assertRaises(UserError):
                    errors.with_user(self.manager).action_reprocess()
            finally:
                other.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, self.form.id))
        errors.with_user(self.manager).action_reprocess()
        self.assertEqual(errors.state, "imported")
        self.assertEqual(
            errors._record().create_uid, self.env.ref("kobo_connector.user_kobo_import")
        )

    def test_allowlist_removal_disables_mappings_with_a_message(self):
        self.env.ref("kobo_connector.kobo_allowed_model_res_partner").unlink()
        self.assertFalse(self.mapping.enabled)
        self.assertIn("allowed models", self.mapping.disabled_reason)
        self.assertIn("allowed models", self.form.message_ids[0].body)
        self.assertEqual(self.mapping.model_name, "res.partner", "the mapping is kept")

    def test_uninstalled_target_field_disables_the_mapping(self):
        """What a module's uninstall does to its fields (ir.model.fields unlink)."""
        self.env["ir.model.fields"].create(
            {
                "name": "x_kobo_source",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "ttype": "char",
                "field_description": "KoBo source",
            }
        )
        self.mapping.line_ids = [(0, 0, {"question_path": "name", "field_name": "x_kobo_source"})]
        self.env["ir.model.fields"]._get("res.partner", "x_kobo_source").unlink()
        self.assertFalse(self.mapping.enabled)
        self.assertTrue(self.mapping.exists(), "kept, not cascade-deleted")

    def test_access_rules_of_lines_choices_and_requests(self):
        other_company = self.env["res.company"].create({"name": "Other company"})
        stranger = new_test_user(
            self.env,
            login="other_manager",
            groups="base.group_user,kobo_connector.group_kobo_manager",
            company_id=other_company.id,
            company_ids=[(6, 0, other_company.ids)],
        )
        self.form.action_sync()
        env = self.env(user=stranger)
        self.assertFalse(env["kobo.mapping.line"].search([("mapping_id", "=", self.mapping.id)]))
        self.assertFalse(
            env["kobo.form.choice"].search([("question_id.form_id", "=", self.form.id)])
        )
        self.assertFalse(env["kobo.sync.request"].search([("form_id", "=", self.form.id)]))
        with self.assertRaises(AccessError):
            env["kobo.mapping.line"].browse(self.mapping.line_ids[0].id).field_name  # noqa: B018
