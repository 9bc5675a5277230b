"""After-import actions: approved server actions only, run after the import."""

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .test_kobo_import import ImportCase, person


@tagged("post_install", "-at_install")
class TestAfterImportAction(ImportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Action = cls.env["ir.actions.server"]
        partner_model = cls.env["ir.model"]._get("res.partner")
        cls.tag = cls.env["res.partner.category"].create({"name": "Welcomed"})
        cls.welcome = Action.create(
            {
                "name": "Welcome new contact",
                "model_id": partner_model.id,
                "state": "code",
                "code": f"record.write({{'category_id': [(4, {cls.tag.id})]}})",
                "kobo_approved": True,
            }
        )
        cls.failing = Action.create(
            {
                "name": "Fail on Person 2",
                "model_id": partner_model.id,
                "state": "code",
                "code": "if record.name == 'Person 2':\n    raise UserError('no welcome for you')\n"
                f"record.write({{'category_id': [(4, {cls.tag.id})]}})",
                "kobo_approved": True,
            }
        )
        cls.unapproved = Action.create(
            {
                "name": "Not approved",
                "model_id": partner_model.id,
                "state": "code",
                "code": "record.unlink()",
            }
        )

    def _picker(self, action):
        return self.env["kobo.import.action"].browse(action.id)

    def _after_import(self):
        with mute_logger("odoo.addons.kobo_connector.models.kobo_import_action"):
            self.env["kobo.submission"]._cron_after_import()

    def test_action_runs_once_on_created_records(self):
        self.fake.add_submissions(self.uid, [person(1)])
        self._sync_all()  # imported before the action was chosen: left alone
        self.mapping.with_user(self.manager).after_import_action_id = self._picker(self.welcome)
        self.fake.add_submissions(self.uid, [person(2), person(3)])
        self._sync_all()
        self.assertFalse(self._partners().category_id, "never inside the import")
        self._after_import()
        welcomed = self._partners().filtered(lambda p: self.tag in p.category_id)
        self.assertEqual(welcomed.mapped("name"), ["Person 2", "Person 3"])
        self.assertEqual(
            self._subs().sorted("kobo_id").mapped("action_state"), ["none", "done", "done"]
        )
        self.tag.unlink()
        self._after_import()  # not again
        self.assertEqual(
            self._subs().sorted("kobo_id").mapped("action_state")[1:], ["done", "done"]
        )

    def test_withdrawn_approval_stops_the_action(self):
        self.mapping.with_user(self.manager).after_import_action_id = self._picker(self.welcome)
        self.fake.add_submissions(self.uid, [person(1)])
        self._sync_all()
        self.welcome.kobo_approved = False  # a system administrator withdraws it
        self._after_import()
        self.assertFalse(self._partners().category_id, "the action did not run")
        sub = self._subs()
        self.assertEqual(sub.action_state, "error")
        self.assertIn("not approved", sub.action_error)

    def test_action_failure_is_written_and_import_kept(self):
        self.mapping.after_import_action_id = self._picker(self.failing)
        self.fake.add_submissions(self.uid, [person(1), person(2)])
        self._sync_all()
        self._after_import()
        subs = self._subs().sorted("kobo_id")
        self.assertEqual(subs.mapped("state"), ["imported", "imported"])
        self.assertEqual(subs.mapped("action_state"), ["done", "error"])
        self.assertIn("no welcome for you", subs[1].action_error)
        self.assertTrue(subs[1]._record().exists(), "the import is not undone")
        self.assertEqual(subs[0]._record().category_id, self.tag)

    def test_only_approved_actions_of_the_mapping_model(self):
        mapping = self.mapping.with_user(self.manager)
        pickable = self.env["kobo.import.action"].with_user(self.manager).search([])
        self.assertIn(self.welcome.id, pickable.ids)
        self.assertNotIn(self.unapproved.id, pickable.ids)
        # over RPC any id can be sent: refused on the server
        with self.assertRaises(ValidationError):
            mapping.write({"after_import_action_id": self.unapproved.id})
        other = self.env["ir.actions.server"].create(
            {
                "name": "On users",
                "model_id": self.env["ir.model"]._get("res.users").id,
                "state": "code",
                "code": "pass",
                "kobo_approved": True,
            }
        )
        with self.assertRaises(ValidationError):
            mapping.write({"after_import_action_id": other.id})
        # a KoBo manager cannot approve an action, nor read server actions
        with self.assertRaises(AccessError):
            self.unapproved.with_user(self.manager).write({"kobo_approved": True})
        with self.assertRaises(AccessError):
            self.unapproved.with_user(self.manager).read(["code"])
