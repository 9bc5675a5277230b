"""Share, revoke, upload, replace, clone, delete and REST services of a form,
as a KoBo manager does them from Odoo, against the fake KoBo."""

import base64
import io
import re
from pathlib import Path

from openpyxl import Workbook

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .test_kobo_form import CHOICES, SURVEY, KoboFormCase

WRITES = ("POST", "PATCH", "PUT", "DELETE")
CORPUS = Path(__file__).resolve().parent / "xlsform_corpus"
# broken corpus forms the local check refuses (tests/test_xlsform_corpus.py
# checks each refusal's sheet, row and column)
REFUSED = (
    "no_survey_sheet",
    "survey_sheet_letter_case",
    "no_type_column",
    "group_never_closed",
    "end_without_begin",
    "end_repeat_closes_group",
    "list_nowhere",
    "list_other_case",
    "no_choices_sheet",
    "external_list_nowhere",
    "duplicate_name_same_level",
    "duplicate_name_other_group",
    "invalid_names",
    "named_row_without_type",
)


def b64(data):
    return base64.b64encode(data).decode()


def corpus(folder, name):
    return (CORPUS / folder / f"{name}.xlsx").read_bytes()


def bad_xlsx():
    """An XLSForm with an unknown type (a warning) and a missing list (a
    mistake: caught locally)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in (["type", "name", "label"], ["badtype", "q", "Q"], ["select_one nope", "s", "S"]):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class LifecycleCase(KoboFormCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake.add_user("alice", password="alice-pw")
        cls.fake.add_user("bob", password="bob-pw")
        cls.perm = {p.codename: p for p in cls.env["kobo.permission"].search([])}

    def _writes(self):
        return [(m, p) for m, p in self.fake.requests if m in WRITES]

    def _kobo_rows(self, uid, user):
        asset = self.fake.store.assets[uid]
        return {a["codename"]: a for a in asset.assignments if a["user"] == user}

    def _share(self, forms, username, codes, **vals):
        action = forms.action_open_share_wizard()
        self.assertEqual(action["res_model"], "kobo.form.share.wizard")
        wizard = (
            self.env["kobo.form.share.wizard"]
            .with_user(self.manager)
            .with_context(action["context"])
            .create(
                dict(
                    {
                        "username": username,
                        "permission_ids": [(6, 0, [self.perm[c].id for c in codes])],
                    },
                    **vals,
                )
            )
        )
        return wizard, wizard.action_share()


@tagged("post_install", "-at_install")
class TestKoboShare(LifecycleCase):
    def test_share_a_selection_then_again(self):
        one, two = self._form("Share one", deploy=True), self._form("Share two")
        forms = (one | two).with_user(self.manager)
        wizard, result = self._share(forms, "alice", ["view_submissions", "change_asset"])
        self.assertTrue(wizard.reveals_secrets)
        self.assertEqual(result["params"]["type"], "success")
        self.assertIn("Share one", result["params"]["message"])
        self.assertIn("Share two", result["params"]["message"])
        for form in (one, two):
            rows = self._kobo_rows(form.asset_uid, "alice")
            self.assertEqual(set(rows), {"view_asset", "view_submissions", "change_asset"})
            shared = form.assignment_ids.filtered(lambda a: a.username == "alice")
            self.assertEqual(
                set(shared.mapped("label")), {"View form", "View submissions", "Edit form"}
            )
            self.assertIn("Shared on KoBo with alice", self._last_note(form).body)
        self.assertTrue(one.assignment_ids.filtered(lambda a: a.is_owner))
        # twice: nothing new is assigned, each form says so
        self.fake.reset_requests()
        _wizard, result = self._share(one, "alice", ["view_submissions"])
        self.assertEqual(result["params"]["type"], "success")
        self.assertFalse([p for m, p in self._writes() if "permission-assignments" in p])
        self.assertIn("alice already had: View submissions", self._last_note(one).body)

    def test_partial_submissions(self):
        form = self._form("Partial share", deploy=True)
        wizard, _result = self._share(
            form,
            "alice",
            ["view_submissions", "change_submissions", "view_asset"],
            partial=True,
            submitted_by="alice, bob",
        )
        self.assertFalse(wizard.reveals_secrets)
        rows = self._kobo_rows(form.asset_uid, "alice")
        self.assertIn("partial_submissions", rows)
        self.assertNotIn("view_submissions", rows)  # KPI: contradictory with partial
        partial = rows["partial_submissions"]["partial"]
        self.assertEqual(
            {p["url"].rstrip("/").rsplit("/", 1)[-1] for p in partial},
            {"view_submissions", "change_submissions"},
        )
        self.assertTrue(
            all(p["filters"] == [{"_submitted_by": {"$in": ["alice", "bob"]}}] for p in partial)
        )
        row = form.assignment_ids.filtered(lambda a: a.codename == "partial_submissions")
        self.assertEqual(row.label, "Act on submissions only from specific users")
        self.assertIn("View submissions: alice, bob", row.partial_filter)
        # only the user's own submissions when nobody is listed
        other = self._form("Own submissions")
        self._share(other, "bob", ["view_submissions"], partial=True)
        partial = self._kobo_rows(other.asset_uid, "bob")["partial_submissions"]["partial"]
        self.assertEqual(partial[0]["filters"], [{"_submitted_by": "bob"}])

    def test_unknown_user_is_refused_before_anything(self):
        form = self._form("Unknown user")
        with self.assertRaisesRegex(UserError, "There is no KoBo user named zed"):
            self._share(form, "zed", ["view_asset"])
        self.assertFalse(self._writes())
        self.assertIn(("GET", "/api/v2/users/zed/"), self.fake.requests)

    def test_permission_not_assignable_on_the_form(self):
        discover = self.env["kobo.permission"].create(
            {"codename": "discover_asset", "name": "Discover asset"}
        )
        self.perm["discover_asset"] = discover
        form = self._form("Not assignable")
        with self.assertRaisesRegex(UserError, "KoBo does not let Discover asset be given"):
            self._share(form, "alice", ["discover_asset"])
        self.assertFalse(self._writes())

    def test_share_with_the_owner(self):
        """KoBo lists the owner's own rights: nothing to assign, and said so."""
        form = self._form("Owner share")
        self._share(form, "kobo_admin", ["view_submissions"])
        self.assertFalse([p for m, p in self._writes() if "permission-assignments" in p])
        self.assertIn("kobo_admin already had: View submissions", self._last_note(form).body)

    def test_revoke_and_revoke_the_owner(self):
        form = self._form("Revoke")
        self._share(form, "alice", ["view_submissions"])
        row = form.assignment_ids.filtered(
            lambda a: a.username == "alice" and a.codename == "view_submissions"
        )
        result = row.with_user(self.manager).action_revoke()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(set(self._kobo_rows(form.asset_uid, "alice")), {"view_asset"})
        self.assertEqual(
            form.assignment_ids.filtered(lambda a: a.username == "alice").mapped("codename"),
            ["view_asset"],
        )
        self.assertIn("alice no longer has View submissions", self._last_note(form).body)
        owner = form.assignment_ids.filtered("is_owner")[:1]
        with self.assertRaisesRegex(UserError, "Owner's permissions cannot be deleted"):
            owner.with_user(self.manager).action_revoke()

    def test_kobo_user_cannot_share(self):
        form = self._form("No rights").with_user(self.user)
        with self.assertRaises(AccessError):
            form.action_open_share_wizard()
        with self.assertRaises(AccessError):
            form._kobo_share("alice", self.perm["view_asset"])
        self.assertFalse(self._writes())


@tagged("post_install", "-at_install")
class TestKoboUpload(LifecycleCase):
    def _upload(self, data, **vals):
        action = (
            self.env["kobo.form"].with_user(self.manager)._action_open_upload_wizard(self.server)
        )
        Wizard = self.env["kobo.form.upload.wizard"].with_user(self.manager)
        return Wizard.with_context(action["context"]).create(
            dict({"file": b64(data), "filename": "form.xlsx"}, **vals)
        )

    def test_bad_file_is_caught_locally(self):
        wizard = self._upload(bad_xlsx())
        self.assertEqual(
            wizard.check_report,
            "survey, row 3, column type: the list 'nope' is used but the workbook has no "
            "'choices' sheet",
        )
        self.assertEqual(
            wizard.check_warnings, "survey, row 2, column type: unknown question type 'badtype'"
        )
        with self.assertRaisesRegex(UserError, "nothing was sent to KoBo"):
            wizard.action_upload()
        self.assertEqual(self.fake.requests, [])

    def test_refused_corpus_never_reaches_kobo(self):
        """Every broken form of the corpus that the check refuses: the wizard
        shows where, the upload and the replace send nothing to KoBo."""
        form = self._form("Replace target")
        self.fake.reset_requests()
        for name in REFUSED:
            with self.subTest(form=name):
                for wizard in (self._upload(corpus("broken", name)), self._replace(form, name)):
                    self.assertRegex(wizard.check_report, r"^survey(, row \d+, column \w+)?: ")
                    with self.assertRaisesRegex(UserError, "nothing was sent to KoBo"):
                        wizard.action_upload()
        self.assertEqual(self.fake.requests, [])

    def _replace(self, form, name):
        return (
            self.env["kobo.form.upload.wizard"]
            .with_user(self.manager)
            .create(
                {
                    "server_id": form.server_id.id,
                    "form_id": form.id,
                    "file": b64(corpus("broken", name)),
                    "filename": f"{name}.xlsx",
                }
            )
        )

    def test_warnings_only_the_manager_uploads(self):
        """Duplicate choice names with a choice_filter: a warning, and the
        file goes to KoBo, which imports it."""
        wizard = self._upload(corpus("good", "duplicate_choices_filter_no_setting"))
        self.assertFalse(wizard.check_report)
        self.assertIn("choices, row 5, column name: the choice 'king'", wizard.check_warnings)
        action = wizard.action_upload()
        form = self.env["kobo.form"].browse(action["res_id"])
        self.assertEqual(form.asset_uid and form.deployment_status, "draft")
        self.assertIn(form.asset_uid, self.fake.store.assets)

    def test_upload_opens_the_new_form(self):
        wizard = self._upload(build_xlsform(SURVEY, CHOICES), name="Uploaded v1.5")
        self.assertFalse(wizard.check_report)
        action = wizard.action_upload()
        form = self.env["kobo.form"].browse(action["res_id"])
        self.assertEqual(action["res_model"], "kobo.form")
        self.assertEqual(form.name, "Uploaded v1.5")
        self.assertEqual(form.deployment_status, "draft")
        self.assertEqual(form.question_count, 3)
        self.assertIn(form.asset_uid, self.fake.store.assets)
        self.assertIn("Uploaded to KoBo", self._last_note(form).body)

    def test_file_kobo_rejects(self):
        """A type the check does not know is only a warning: the file goes to
        KoBo, whose refusal (the real KPI's message) is shown as is."""
        wizard = self._upload(corpus("broken", "unknown_type"))
        self.assertFalse(wizard.check_report)  # no mistake locally...
        self.assertIn("unknown question type 'badtype'", wizard.check_warnings)  # ...a warning
        before = set(self.fake.store.assets)
        with self.assertRaisesRegex(UserError, r"Upload XLSForm: .*unknown type \['badtype'\]"):
            wizard.action_upload()
        self.assertEqual(set(self.fake.store.assets), before)
        self.assertIn("POST", [m for m, _p in self.fake.requests])

    def test_replace_then_redeploy(self):
        form = self._form("Replace me", deploy=True)
        self.fake.add_submission(form.asset_uid, {"full_name": "Kept", "age": "3"})
        Partner = self.env["ir.model"]._get("res.partner")
        field = self.env["ir.model.fields"]._get
        self.env["kobo.mapping"].create(
            {
                "form_id": form.id,
                "model_id": Partner.id,
                "line_ids": [
                    (
                        0,
                        0,
                        {"question_path": "full_name", "field_id": field("res.partner", "name").id},
                    ),
                    (
                        0,
                        0,
                        {"question_path": "age", "field_id": field("res.partner", "comment").id},
                    ),
                    (
                        0,
                        0,
                        {"question_path": "consent", "field_id": field("res.partner", "ref").id},
                    ),
                ],
            }
        )
        new_survey = [
            SURVEY[0],
            {"type": "text", "name": "age", "label": "Age (text)"},
            {"type": "text", "name": "city", "label": "City"},
        ]
        action = form.action_open_replace_wizard()
        wizard = (
            self.env["kobo.form.upload.wizard"]
            .with_user(self.manager)
            .with_context(action["context"])
            .create(
                {"file": b64(build_xlsform(new_survey)), "filename": "v2.xlsx", "redeploy": True}
            )
        )
        self.assertTrue(wizard.is_deployed)
        impact = wizard.mapping_impact.splitlines()
        self.assertEqual(len(impact), 2, impact)
        self.assertIn("age → Notes: its type changes from integer to text", impact)
        self.assertTrue(any(line.startswith("consent") and "disappears" in line for line in impact))
        old_version = form.deployed_version_id
        result = wizard.action_upload()
        self.assertEqual(result["params"]["type"], "success")
        asset = self.fake.store.assets[form.asset_uid]
        self.assertEqual(len(asset.submissions), 1)
        self.assertEqual(asset.deployed_version_id, asset.version_id)
        self.assertNotEqual(form.deployed_version_id, old_version)
        self.assertFalse(form.needs_redeploy)
        self.assertIn("city", form.question_ids.mapped("xpath"))
        self.assertTrue(any("Content replaced on KoBo" in b for b in self._messages(form)))

    def test_replace_without_redeploy(self):
        form = self._form("Replace later", deploy=True)
        wizard = (
            self.env["kobo.form.upload.wizard"]
            .with_user(self.manager)
            .with_context(form.action_open_replace_wizard()["context"])
            .create(
                {
                    "file": b64(
                        build_xlsform(
                            [*SURVEY, {"type": "note", "name": "n", "label": "N"}], CHOICES
                        )
                    )
                }
            )
        )
        self.assertFalse(wizard.mapping_impact)
        result = wizard.action_upload()
        self.assertIn("after Redeploy", result["params"]["message"])
        self.assertTrue(form.needs_redeploy)


@tagged("post_install", "-at_install")
class TestKoboCloneDelete(LifecycleCase):
    def test_clone(self):
        form = self._form("Original", deploy=True)
        action = form.action_open_clone_wizard()
        wizard = (
            self.env["kobo.form.clone.wizard"]
            .with_user(self.manager)
            .with_context(action["context"])
            .create({})
        )
        self.assertEqual(wizard.name, "Copy of Original")
        wizard.name = "Original (2027)"
        result = wizard.action_clone()
        clone = self.env["kobo.form"].browse(result["res_id"])
        self.assertNotEqual(clone, form)
        self.assertEqual(clone.name, "Original (2027)")
        self.assertEqual(clone.deployment_status, "draft")
        self.assertEqual(clone.question_count, 3)
        self.assertFalse(self.fake.store.assets[clone.asset_uid].has_deployment)
        self.assertIn("Cloned on KoBo as Original (2027)", self._last_note(form).body)

    def test_delete_asks_the_name(self):
        form = self._form("Delete me", deploy=True)
        self.fake.add_submission(form.asset_uid, {"full_name": "Gone"})
        form._refresh_from_kobo(self.server._get_client())
        action = form.action_open_delete_wizard()
        wizard = (
            self.env["kobo.form.delete.wizard"]
            .with_user(self.manager)
            .with_context(action["context"])
            .create({"confirm_name": "delete me"})
        )
        self.assertEqual(wizard.submission_count, 1)
        self.fake.reset_requests()
        with self.assertRaisesRegex(UserError, "does not match"):
            wizard.action_delete()
        self.assertFalse(self.fake.requests)
        self.assertIn(form.asset_uid, self.fake.store.assets)
        wizard.confirm_name = "Delete me"
        result = wizard.action_delete()
        self.assertEqual(result["params"]["type"], "success")
        self.assertNotIn(form.asset_uid, self.fake.store.assets)
        self.assertIn(form.asset_uid, self.fake.store.trash)
        self.assertFalse(form.active)
        self.assertTrue(form.gone_from_kobo)
        note = self._last_note(form).body
        self.assertIn("trash", note)
        self.assertTrue(re.search(r"around \d{4}-\d\d-\d\d", note))


@tagged("post_install", "-at_install")
class TestKoboHooks(LifecycleCase):
    def _add(self, form, **vals):
        Wizard = self.env["kobo.form.hook.wizard"].with_user(self.manager)
        action = form.action_open_hook_wizard()
        return Wizard.with_context(action["context"]).create(
            dict({"name": "Receiver", "endpoint": "http://127.0.0.1:9/none"}, **vals)
        )

    def test_add_with_password_kept_out_of_odoo(self):
        form = self._form("Hooked", deploy=True)
        wizard = self._add(
            form,
            export_type="xml",
            use_auth=True,
            auth_username="odoo",
            auth_password="s3cret-Pa55",
            subset_fields="full_name, age",
        )
        hook = wizard.hook_id
        self.assertEqual(hook, form.hook_ids)
        kobo = self.fake.store.assets[form.asset_uid].hooks[hook.hook_uid]
        self.assertEqual(kobo["settings"]["password"], "s3cret-Pa55")
        self.assertEqual(kobo["export_type"], "xml")
        self.assertEqual(kobo["subset_fields"], ["full_name", "age"])
        self.assertRecordValues(
            hook,
            [
                {
                    "name": "Receiver",
                    "export_type": "xml",
                    "auth_level": "basic_auth",
                    "active_on_kobo": True,
                }
            ],
        )
        self.env.flush_all()
        for table in ("kobo_form_hook_wizard", "kobo_form_hook", "mail_message"):
            self.env.cr.execute(SQL("SELECT * FROM %s", SQL.identifier(table)))
            self.assertNotIn("s3cret-Pa55", repr(self.env.cr.fetchall()), table)
        self.assertFalse(wizard.auth_password)

    def test_disable_retry_enable_remove(self):
        form = self._form("Hook life", deploy=True)
        hook = form._kobo_add_hook("Down", "http://127.0.0.1:9/down")  # nothing listens on 9
        self.fake.add_submission(form.asset_uid, {"full_name": "Undelivered"})
        self.assertTrue(self.fake.wait_hooks())
        form.with_user(self.manager).action_refresh_remote_lists()
        hook = form.hook_ids
        self.assertEqual((hook.failed_count, hook.success_count), (1, 0))
        self.assertTrue(hook.last_failure)
        hook.with_user(self.manager).action_toggle_active()
        self.assertFalse(form.hook_ids.active_on_kobo)
        kobo_hooks = self.fake.store.assets[form.asset_uid].hooks
        self.assertFalse(kobo_hooks[hook.hook_uid]["active"])
        with self.assertRaisesRegex(UserError, "Cannot retry on disabled hooks"):
            form.hook_ids.with_user(self.manager).action_retry_failed()
        form.hook_ids.with_user(self.manager).action_toggle_active()
        self.assertTrue(form.hook_ids.active_on_kobo)
        result = form.hook_ids.with_user(self.manager).action_retry_failed()
        self.assertIn("1 failed deliveries sent again", result["params"]["message"])
        self.assertTrue(self.fake.wait_hooks())
        self.assertEqual(kobo_hooks[hook.hook_uid]["logs"][0]["tries"], 2)
        form.hook_ids.with_user(self.manager).action_remove()
        self.assertFalse(form.hook_ids)
        self.assertFalse(self.fake.store.assets[form.asset_uid].hooks)
        self.assertIn("removed from KoBo", self._last_note(form).body)

    def test_kobo_refusal_is_shown(self):
        form = self._form("Bad endpoint")
        with self.assertRaisesRegex(UserError, "Enter a valid URL"):
            form._kobo_add_hook("Bad", "ftp://example.org/x")
        self.assertFalse(form.hook_ids)
