"""KoBo media lists: Odoo records published as a form's choice file (CSV
form media), kept in sync, read with the publisher's rights."""

import csv
import io

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from odoo.addons.kobo_connector.kobo_kpi.fake import build_xlsform

from .common import KoboCase

COMPANIES_FORM = build_xlsform(
    [
        {"type": "text", "name": "full_name", "label": "Name"},
        {"type": "select_one_from_file companies.csv", "name": "company", "label": "Company"},
    ]
)


def rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


class MediaCase(KoboCase):
    """Companies (res.partner with a reference) published as companies.csv
    to a deployed form and a draft one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.action_test_connection()
        cls.companies = cls.env["res.partner"].create(
            [
                {"name": "Acme, Inc.", "ref": "C-001", "is_company": True},
                {"name": "Société Générale du Sénégal", "ref": "C-002", "is_company": True},
            ]
        )
        cls.env["res.partner"].create({"name": "No code", "is_company": True})

    def setUp(self):
        super().setUp()
        # new forms for each test: the fake KoBo outlives each test's rollback
        self.deployed_uid = self.fake.create_asset(
            xlsform=COMPANIES_FORM, name="Staff", deploy=True
        )
        self.draft_uid = self.fake.create_asset(xlsform=COMPANIES_FORM, name="Staff draft")
        self.server.action_fetch_forms()
        Form = self.env["kobo.form"]
        self.form = Form.search([("asset_uid", "=", self.deployed_uid)])
        self.draft = Form.search([("asset_uid", "=", self.draft_uid)])
        self.fake.reset_requests()

    def _list(self, *forms, user=None, **vals):
        env = self.env(user=user or self.manager)
        Field = env["kobo.media.field"]

        def column(name, field, **extra):
            picked = Field.search([("model", "=", "res.partner"), ("name", "=", field)])
            return (0, 0, {"column": name, "field_id": picked.id, **extra})

        return env["kobo.media.list"].create(
            {
                "name": "Companies",
                "file_name": "companies.csv",
                "model_id": env["kobo.target.model"].search([("model", "=", "res.partner")]).id,
                "domain": "[('is_company', '=', True), ('ref', 'like', 'C-')]",
                "column_ids": [column("name", "ref"), column("label", "name")],
                "target_ids": [(0, 0, {"form_id": form.id}) for form in forms],
                **vals,
            }
        )

    def _touch(self, records, **vals):
        """Write as a later transaction would: its write date is later
        (within a test everything shares the transaction's timestamp)."""
        self.env.flush_all()
        self.env.cr.execute(f"SELECT max(write_date) FROM {records._table}")
        (latest,) = self.env.cr.fetchone()
        records.write(vals)
        self.env.flush_all()
        self.env.cr.execute(
            f"UPDATE {records._table} SET write_date = %s + interval '1 minute' WHERE id IN %s",
            [latest, tuple(records.ids)],
        )
        records.invalidate_recordset(["write_date"])

    def _files(self, uid):
        return list(self.fake.store.assets[uid].media.values())

    def _calls(self, needle):
        return [(m, p) for m, p in self.fake.requests if needle in p]


@tagged("post_install", "-at_install")
class TestMediaListPublish(MediaCase):
    def test_preview_and_publish(self):
        media = self._list(self.form)
        self.assertEqual(media.model_name, "res.partner")
        self.assertEqual(media.row_count, 2)
        self.assertIn("Société Générale du Sénégal", media.preview)
        self.assertFalse(media.preview_error)
        media.with_user(self.manager).action_publish()
        self.assertEqual(media.publisher_id, self.manager)
        target = media.target_ids
        self.assertEqual(target.state, "published", target.message)
        (file,) = self._files(self.deployed_uid)
        self.assertEqual(file["filename"], "companies.csv")
        self.assertEqual(
            rows(file["data"]),
            [["name", "label"], ["C-001", "Acme, Inc."], ["C-002", "Société Générale du Sénégal"]],
        )
        self.assertEqual(target.file_uid, file["uid"])
        self.assertEqual(file["description"], "Companies (from Odoo)")
        # redeployed (same version): what collectors' manifest now carries
        with self.server._get_client() as client:
            manifest = client.collector_media(self.deployed_uid)
        self.assertEqual([m["filename"] for m in manifest], ["companies.csv"])
        self.assertEqual(manifest[0]["hash"], target.published_hash)
        self.assertFalse(self.form.needs_redeploy)

    def test_republish_only_on_change(self):
        media = self._list(self.form)
        media.with_user(self.manager).action_publish()
        first = self._files(self.deployed_uid)[0]["uid"]
        self.fake.reset_requests()
        Lists = self.env["kobo.media.list"]
        self.assertFalse(Lists._cron_publish(), "nothing changed: not even read again")
        self.assertFalse(self._calls("/files/"))
        # a change that does not reach the file: read again, nothing uploaded
        self._touch(self.companies[0], comment="A note")
        self.assertEqual(Lists._cron_publish(), media)
        self.assertFalse(self._calls("/files/"))
        self.assertEqual(self._files(self.deployed_uid)[0]["uid"], first)
        # a renamed company is republished (replace: delete, upload, redeploy)
        self._touch(self.companies[0], name="Acme Worldwide")
        self.assertEqual(Lists._cron_publish(), media)
        methods = [m for m, _p in self._calls(f"/assets/{self.deployed_uid}/")]
        self.assertEqual(methods.count("DELETE"), 1)
        self.assertEqual(methods.count("POST"), 1)
        self.assertEqual(methods.count("PATCH"), 1, "one redeploy")
        (file,) = self._files(self.deployed_uid)
        self.assertNotEqual(file["uid"], first)
        self.assertIn(["C-001", "Acme Worldwide"], rows(file["data"]))
        self.assertEqual(media.target_ids.state, "published")

    def test_replace_keeps_one_file(self):
        media = self._list(self.form)
        media.with_user(self.manager).action_publish()
        media.with_user(self.manager).action_publish()
        self.assertEqual(len(self._files(self.deployed_uid)), 1)
        self.assertEqual(len(self.fake.store.assets[self.deployed_uid].deployed_media), 1)

    def test_form_not_deployed_gets_the_upload_only(self):
        media = self._list(self.draft)
        self.fake.reset_requests()
        media.with_user(self.manager).action_publish()
        target = media.target_ids
        self.assertEqual(target.state, "uploaded")
        self.assertIn("not deployed yet", target.message)
        self.assertEqual(len(self._files(self.draft_uid)), 1)
        self.assertFalse([p for m, p in self.fake.requests if "/deployment/" in p])
        self.assertFalse(self.fake.store.assets[self.draft_uid].has_deployment)
        # unchanged: the scheduled action leaves it alone
        self.fake.reset_requests()
        self.assertFalse(self.env["kobo.media.list"]._cron_publish())

    def test_form_with_undeployed_changes_is_skipped(self):
        with self.server._get_client() as client:
            client.rename(self.deployed_uid, "Staff (renamed, not redeployed)")
        before = self.fake.store.assets[self.deployed_uid].deployed_version_id
        media = self._list(self.form, self.draft)
        self.fake.reset_requests()
        media.with_user(self.manager).action_publish()
        blocked = media.target_ids.filtered(lambda t: t.form_id == self.form)
        self.assertEqual(blocked.state, "blocked")
        self.assertIn("not deployed", blocked.message)
        self.assertFalse(self._files(self.deployed_uid), "nothing uploaded")
        self.assertFalse(self._calls(f"/assets/{self.deployed_uid}/deployment/"))
        self.assertEqual(self.fake.store.assets[self.deployed_uid].deployed_version_id, before)
        self.assertEqual((media.target_ids - blocked).state, "uploaded", "the others go on")

    def test_kobo_error_between_delete_and_upload(self):
        media = self._list(self.form)
        media.with_user(self.manager).action_publish()
        self._touch(self.companies[1], name="SGS")
        self.fake.fail(rf"/api/v2/assets/{self.deployed_uid}/files/$", 500, method="POST")
        self.env["kobo.media.list"]._cron_publish()
        target = media.target_ids
        self.assertEqual(target.state, "error")
        self.assertTrue(target.message)
        self.assertFalse(self._files(self.deployed_uid), "deleted, not uploaded")
        self.assertEqual(
            len(self.fake.store.assets[self.deployed_uid].deployed_media),
            1,
            "no redeploy: collectors keep the list they had",
        )
        # the next run uploads again, although the records did not change since
        self.assertEqual(self.env["kobo.media.list"]._cron_publish(), media)
        self.assertEqual(target.state, "published", target.message)
        (file,) = self._files(self.deployed_uid)
        self.assertIn(["C-002", "SGS"], rows(file["data"]))

    def test_publisher_archived_or_demoted(self):
        media = self._list(self.form)
        media.with_user(self.manager).action_publish()
        self._touch(self.companies[0], name="Acme again")
        self.manager.active = False
        self.fake.reset_requests()
        self.env["kobo.media.list"]._cron_publish()
        self.assertEqual(media.target_ids.state, "error")
        self.assertIn("no longer an active KoBo manager", media.target_ids.message)
        self.assertFalse(self._calls("/files/"), "nothing read, nothing sent")
        self.manager.active = True
        self.manager.groups_id -= self.env.ref("kobo_connector.group_kobo_manager")
        self.env["kobo.media.list"]._cron_publish()
        self.assertIn("no longer an active KoBo manager", media.target_ids.message)
        self.assertFalse(self._calls("/files/"))

    def test_publisher_rights_decide_the_rows(self):
        """Records the publisher cannot read are not published: a company
        of another company stays out, as in the publisher's own views."""
        other = self.env["res.company"].create({"name": "Other company"})
        self.env["res.partner"].create(
            {"name": "Hidden Ltd", "ref": "C-999", "is_company": True, "company_id": other.id}
        )
        media = self._list(self.form)
        media.with_user(self.manager).action_publish()
        data = self._files(self.deployed_uid)[0]["data"]
        self.assertNotIn(b"C-999", data)
        self.assertEqual(len(rows(data)), 3)

    def test_kobo_user_may_not_publish(self):
        media = self._list(self.form)
        with self.assertRaises(AccessError):
            media.with_user(self.user).action_publish()
        with self.assertRaises(AccessError):
            self.env["kobo.media.list"].with_user(self.user).search([])

    def test_bad_configuration_refused(self):
        media = self._list(self.form)
        Manager = media.with_user(self.manager)
        with self.assertRaises(ValidationError):
            Manager.file_name = "../companies.csv"
        name_column = Manager.column_ids.filtered(lambda c: c.column == "name")
        with self.assertRaisesRegex(ValidationError, "code stored in submissions"):
            name_column.field_name = "comment"
        with self.assertRaisesRegex(ValidationError, "restricted to some groups"):
            name_column.field_name = "signup_type"
        with self.assertRaisesRegex(ValidationError, "already publishes"):
            self._list(self.form, name="Companies again")
        with self.assertRaisesRegex(ValidationError, "never write res.users"):
            Manager.model_name = "res.users"

    def test_bad_domain_and_duplicate_codes_are_clear(self):
        media = self._list(self.form)
        self.companies[1].ref = "C-001"
        media.with_user(self.manager).action_publish()
        self.assertEqual(media.target_ids.state, "error")
        self.assertIn("'C-001' appears on two rows", media.target_ids.message)
        self.assertFalse(self._files(self.deployed_uid))
        with self.assertRaises(ValidationError):
            media.domain = "[('is_company', '=', True"
        with self.assertRaisesRegex(ValidationError, "no_such_field"):
            media.domain = "[('no_such_field', '=', 1)]"
        other = self.env["res.company"].create({"name": "Elsewhere"})
        self.manager.company_ids |= other
        self.server.company_id = other
        with self.assertRaisesRegex(ValidationError, "another company"):
            self._list(self.form, name="Other company's form", file_name="other.csv")


@tagged("post_install", "-at_install")
class TestMediaListImport(MediaCase):
    def test_import_finds_records_by_the_list_codes(self):
        """The loop closed: a mapping line fed by the file's question finds
        its record by the list's 'name' column (here the reference)."""
        Field = self.env["kobo.target.field"]
        mapping = self.env["kobo.mapping"].create(
            {
                "form_id": self.form.id,
                "model_id": self.env["kobo.target.model"]
                .search([("model", "=", "res.partner")])
                .id,
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "question_path": path,
                            "field_id": Field.search(
                                [("model", "=", "res.partner"), ("name", "=", name)]
                            ).id,
                        },
                    )
                    for path, name in (("full_name", "name"), ("company", "parent_id"))
                ],
            }
        )
        mapping.enabled = True
        line = mapping.line_ids.filtered(lambda li: li.question_path == "company")
        self.assertFalse(line.lookup_field)
        self._list(self.form).with_user(self.manager).action_publish()
        self.assertEqual(line.lookup_field, "ref")
        self.fake.add_submission(self.deployed_uid, {"full_name": "Awa Ndiaye", "company": "C-002"})
        self.fake.add_submission(self.deployed_uid, {"full_name": "Bob", "company": "C-404"})
        self.env["kobo.form"]._cron_import(limit=1000)
        subs = self.env["kobo.submission"].search([("form_id", "=", self.form.id)], order="kobo_id")
        self.assertEqual(subs.mapped("state"), ["imported", "error"], subs.mapped("error_message"))
        person = self.env["res.partner"].browse(subs[0].res_id)
        self.assertEqual(person.parent_id, self.companies[1])
        self.assertIn("C-404", subs[1].error_message)


@tagged("post_install", "-at_install")
class TestMediaListRpc(HttpCase):
    """Over JSON-RPC, as a browser or a script: the checks are the server's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="media_manager",
            password="media_manager_pw",
            groups="base.group_user,kobo_connector.group_kobo_manager",
        )
        new_test_user(
            cls.env,
            login="media_user",
            password="media_user_pw",
            groups="base.group_user,kobo_connector.group_kobo_user",
        )
        cls.media = cls.env["kobo.media.list"].create(
            {"name": "Contacts", "file_name": "contacts.csv", "model_name": "res.partner"}
        )

    def call(self, model, method, *args, **kwargs):
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def refused(self, error, model, method, *args, **kwargs):
        with mute_logger("odoo.http"), self.assertRaises(JsonRpcException) as caught:
            self.call(model, method, *args, **kwargs)
        self.assertIn(error, str(caught.exception))

    def test_kobo_user_refused(self):
        self.authenticate("media_user", "media_user_pw")
        self.refused("AccessError", "kobo.media.list", "action_publish", [self.media.id])
        self.refused("AccessError", "kobo.media.list", "_cron_publish")
        self.refused("AccessError", "kobo.media.list", "read", [self.media.id], ["name"])

    def test_manager_cannot_publish_what_the_policy_refuses(self):
        self.authenticate("media_manager", "media_manager_pw")
        self.refused(
            "ValidationError",
            "kobo.media.list",
            "write",
            [self.media.id],
            {"model_name": "res.users"},
        )
        self.refused(
            "ValidationError",
            "kobo.media.list.column",
            "create",
            [{"list_id": self.media.id, "column": "label", "field_name": "signup_type"}],
        )
        self.refused(
            "ValidationError",
            "kobo.media.list.column",
            "create",
            [{"list_id": self.media.id, "column": "label", "field_name": "password"}],
        )
        # the private method is not reachable over RPC
        self.refused("AccessError", "kobo.media.list", "_publish", [self.media.id])

    def test_kobo_user_has_no_preview_nor_raw_rows(self):
        self.authenticate("media_user", "media_user_pw")
        self.refused("AccessError", "kobo.media.list", "_rows", [self.media.id], 2)
        self.assertRaises(UserError, self.media._reader, self.env.ref("base.public_user"))
