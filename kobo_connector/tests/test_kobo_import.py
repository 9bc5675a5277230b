from unittest.mock import patch

from psycopg2 import IntegrityError
from psycopg2.errors import SerializationFailure

from odoo.sql_db import db_connect
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform
from odoo.addons.kobo_connector.models.kobo_form_sync import LOCK_NAMESPACE, PREFETCH

from .common import KoboCase

SURVEY = [
    {"type": "text", "name": "name", "label": "Full name", "required": "yes"},
    {"type": "text", "name": "email", "label": "Email"},
    {"type": "integer", "name": "age", "label": "Age"},
    {"type": "select_one country", "name": "country", "label": "Country"},
    {"type": "select_multiple tags", "name": "tags", "label": "Tags"},
    {"type": "begin_repeat", "name": "members", "label": "Household members"},
    {"type": "text", "name": "member_name", "label": "Name"},
    {"type": "end_repeat", "name": ""},
]
CHOICES = [
    {"list_name": "country", "name": "kenya", "label": "Kenya"},
    {"list_name": "country", "name": "south_sudan", "label": "South Sudan"},
    {"list_name": "tags", "name": "farmer", "label": "Farmer"},
    {"list_name": "tags", "name": "trader", "label": "Trader"},
]
FORM_FIELD = "x_kobo_age"


class Killed(BaseException):
    """A simulated kill of the process: not an Exception, nothing catches it."""


def person(i, **extra):
    return {"name": f"Person {i}", "email": f"p{i}@example.org", "age": str(20 + i % 50), **extra}


class ImportCase(KoboCase):
    """A deployed contact-registration form on the fake KoBo, fetched into
    Odoo, with an enabled mapping to res.partner."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(
            xlsform=build_xlsform(SURVEY, CHOICES), name="Contact registration", deploy=True
        )
        cls.server.action_test_connection()
        cls.server.action_fetch_forms()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        Partner = cls.env["ir.model"]._get("res.partner")
        cls.mapping = cls.env["kobo.mapping"].create(
            {
                "form_id": cls.form.id,
                "model_id": Partner.id,
                "enabled": True,
                "line_ids": [
                    cls._line("name", "name"),
                    cls._line("email", "email"),
                    cls._line("country", "country_id"),
                    cls._line("tags", "category_id"),
                    cls._line("", "comment", constant="Registered with KoBo"),
                ],
            }
        )
        cls.env["res.partner.category"].create([{"name": "Farmer"}, {"name": "trader"}])

    def setUp(self):
        super().setUp()
        for sub in self.fake.submissions(self.uid):  # the fake outlives each test's rollback
            self.fake.delete_submission(self.uid, sub["_id"])
        PREFETCH.clear()  # so do pages fetched ahead

    @classmethod
    def _line(cls, path, field, **vals):
        field_id = cls.env["ir.model.fields"]._get("res.partner", field).id
        return (0, 0, {"question_path": path, "field_id": field_id, **vals})

    def _partners(self):
        return self.env["res.partner"].search([("email", "=like", "p%@example.org")], order="id")

    def _sync_all(self, limit=1000):
        Form = self.env["kobo.form"]
        for _ in range(100):
            _done, remaining = Form._cron_import(limit=limit)
            if not remaining:
                return
        self.fail("the import never caught up")

    def _subs(self):
        return self.env["kobo.submission"].search([("form_id", "=", self.form.id)])


@tagged("post_install", "-at_install")
class TestImport(ImportCase):
    def test_server_summary_updated_by_another_form_meanwhile(self):
        """Two forms of one server finishing at once (parallel job runners)
        both write the server's summary: the one refused by PostgreSQL does
        not fail its form's run."""
        Server = type(self.env["kobo.server"])
        write = Server.write
        refused = []

        def concurrent_write(server, vals):
            if "last_sync" in vals and not refused:
                refused.append(vals)
                raise SerializationFailure("could not serialize access due to concurrent update")
            return write(server, vals)

        self.fake.add_submission(self.uid, person(1))
        with patch.object(Server, "write", concurrent_write):
            _done, remaining = self.form._sync_step()  # the engine's step, as a job runs it
        self.assertEqual(remaining, 0)
        self.assertTrue(refused, "the server's summary was written (and refused)")
        self.assertFalse(self.form.sync_error)
        self.assertEqual(self._subs().state, "imported")
        self.assertEqual(len(self._partners()), 1)
        self.assertTrue(self.form.last_sync)

    def test_pages_then_nothing_new_costs_two_requests(self):
        self.fake.add_submissions(self.uid, [person(i) for i in range(2500)])
        self._sync_all()
        data_requests = [r for r in self.fake.requests if "/data/" in r[1]]
        self.assertEqual(
            len(data_requests), 4, "3 pages of new submissions, 1 for edits and the newest 1,000"
        )
        partners = self._partners()
        self.assertEqual(len(partners), 2500)
        subs = self._subs()
        self.assertEqual(set(subs.mapped("state")), {"imported"})
        self.assertEqual(sorted(subs.mapped("res_id")), sorted(partners.ids))
        self.assertEqual(self.form.sync_cursor, max(subs.mapped("kobo_id")))
        self.assertEqual(self.form.last_sync_result, "2500 new, 0 updated, 0 errors")

        self.fake.reset_requests()
        self._sync_all()
        self.assertLessEqual(len(self.fake.requests), 2)
        self.assertEqual(len(self._partners()), 2500)
        self.assertEqual(self.form.last_sync_result, "2500 new, 0 updated, 0 errors", "kept")

    def test_values_and_relations(self):
        self.fake.add_submission(
            self.uid,
            person(1, country="south_sudan", tags="farmer trader", members=[]),
        )
        self._sync_all()
        partner = self._partners()
        self.assertEqual(partner.name, "Person 1")
        self.assertEqual(partner.email, "p1@example.org")
        self.assertEqual(partner.country_id, self.env.ref("base.ss"), "found by choice label")
        self.assertEqual(partner.category_id.mapped("name"), ["Farmer", "trader"])

    def test_edit_updates_the_same_record(self):
        sub = self.fake.add_submission(self.uid, person(1))
        self._sync_all()
        partner = self._partners()
        self.fake.edit_submission(self.uid, sub["_id"], {"name": "Person One"})
        self.fake.reset_requests()
        self._sync_all()
        self.assertEqual(self._partners(), partner)
        self.assertEqual(partner.name, "Person One")
        stored = self._subs()
        self.assertEqual(stored.kobo_id, sub["_id"])
        self.assertNotEqual(stored.uuid, sub["_uuid"])
        self.assertEqual(self.form.last_sync_result, "0 new, 1 updated, 0 errors")

    def test_edit_ignored_by_policy(self):
        sub = self.fake.add_submission(self.uid, person(1))
        self._sync_all()
        self.mapping.edit_policy = "ignore"
        self.fake.edit_submission(self.uid, sub["_id"], {"name": "Person One"})
        self._sync_all()
        self.assertEqual(self._partners().name, "Person 1")
        self.assertEqual(self._subs().payload["name"], "Person One", "the raw edit is kept")

    def test_bad_submissions_are_isolated(self):
        self.fake.add_submissions(
            self.uid,
            [person(1), person(2, country="atlantis"), {"email": "noname@example.org"}, person(4)],
        )
        with mute_logger("odoo.sql_db", "odoo.addons.kobo_connector.models.kobo_submission"):
            self._sync_all()
        self.assertEqual(self._partners().mapped("name"), ["Person 1", "Person 4"])
        errors = self._subs().filtered(lambda s: s.state == "error").sorted("kobo_id")
        self.assertEqual(len(errors), 2)
        self.assertEqual(
            errors[0].error_message,
            'Question "country": no Country named "atlantis" (field Country).',
        )
        self.assertIn("name", errors[1].error_message)
        self.assertEqual(self.form.error_count, 2)
        # the mapping is fixed: reprocessing imports them
        self.env["res.country"].create({"name": "Atlantis", "code": "XA"})
        self.mapping.line_ids.filtered(
            lambda line: line.field_name == "name"
        ).constant = "Anonymous"
        errors.action_reprocess()
        self.assertEqual(set(errors.mapped("state")), {"imported"})
        self.assertEqual(len(self._partners()), 3)
        self.assertEqual(errors[1]._record().name, "Anonymous")

    def test_match_by_key_updates_existing(self):
        existing = self.env["res.partner"].create({"name": "Known", "email": "p7@example.org"})
        self.mapping.write(
            {
                "match_policy": "match",
                "match_question_path": "email",
                "match_field_id": self.env["ir.model.fields"]._get("res.partner", "email").id,
            }
        )
        self.fake.add_submissions(self.uid, [person(7), person(8)])
        self._sync_all()
        self.assertEqual(existing.name, "Person 7")
        self.assertEqual(self._subs().sorted("kobo_id")[0].res_id, existing.id)
        self.assertEqual(len(self._partners()), 2)

    def test_repeat_group_to_one2many(self):
        members = self.env["ir.model.fields"]._get("res.partner", "child_ids")
        self.mapping.line_ids = [
            (
                0,
                0,
                {
                    "question_path": "members",
                    "field_id": members.id,
                    "mapping_id": self.mapping.id,
                    "child_ids": [
                        (
                            0,
                            0,
                            {
                                "mapping_id": self.mapping.id,
                                "question_path": "members/member_name",
                                "field_id": self.env["ir.model.fields"]
                                ._get("res.partner", "name")
                                .id,
                            },
                        )
                    ],
                },
            )
        ]
        sub = self.fake.add_submission(
            self.uid,
            person(1, members=[{"members/member_name": "Ann"}, {"members/member_name": "Joe"}]),
        )
        self._sync_all()
        partner = self._partners()
        self.assertEqual(partner.child_ids.mapped("name"), ["Ann", "Joe"])
        self.fake.edit_submission(
            self.uid, sub["_id"], {"members": [{"members/member_name": "Eve"}]}
        )
        self._sync_all()
        self.assertEqual(partner.child_ids.mapped("name"), ["Eve"])
        self.assertFalse(
            self.env["res.partner"].search([("name", "in", ["Ann", "Joe"])]),
            "the edit's lines replace the old ones, which are deleted (not left as contacts)",
        )


@tagged("post_install", "-at_install")
class TestImportRobustness(ImportCase):
    def test_crash_between_batches_then_rerun(self):
        """Whatever was not committed is lost and redone; nothing twice."""
        self.fake.add_submissions(self.uid, [person(i) for i in range(250)])
        cr = self.env.cr
        cr.execute("SAVEPOINT kobo_committed")
        calls = []

        def commit(form):
            calls.append(form)
            if len(calls) == 2:
                raise Killed("killed")
            cr.execute("RELEASE SAVEPOINT kobo_committed")
            cr.execute("SAVEPOINT kobo_committed")

        Form = type(self.env["kobo.form"])
        with patch.object(Form, "_kobo_commit", commit):
            crashed = False
            try:  # (not assertRaises: its savepoint would be released by the fake commits)
                self._sync_all(limit=100)
            except Killed:
                crashed = True
            self.assertTrue(crashed, "the simulated crash did not happen")
        cr.execute("ROLLBACK TO SAVEPOINT kobo_committed")  # the crash loses the open batch
        self.env.invalidate_all()
        self.assertEqual(len(self._subs()), 100)
        self.assertEqual(self.form.sync_cursor, max(self._subs().mapped("kobo_id")))

        self._sync_all(limit=100)
        subs = self._subs()
        self.assertEqual(len(subs), 250)
        self.assertEqual(len(set(subs.mapped("kobo_id"))), 250)
        self.assertEqual(len(self._partners()), 250)
        self.assertEqual(sorted(subs.mapped("res_id")), sorted(self._partners().ids))

    def test_two_syncs_at_once(self):
        self.fake.add_submissions(self.uid, [person(i) for i in range(5)])
        with db_connect(self.env.cr.dbname).cursor() as other:
            other.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, self.form.id))
            try:
                self.assertEqual(self.form._sync_step(), (0, 1))
                self.assertFalse(self._subs())
            finally:
                other.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, self.form.id))
        self._sync_all()
        self.assertEqual(len(self._subs()), 5)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.env["kobo.submission"].create(
                {"form_id": self.form.id, "kobo_id": self._subs()[0].kobo_id}
            )

    def test_kobo_errors_mid_sync_then_recovery(self):
        self.fake.add_submissions(self.uid, [person(i) for i in range(250)])
        self.env["kobo.form"]._cron_import(limit=100)
        self.assertEqual(len(self._subs()), 100)
        PREFETCH.clear()  # KoBo fails from now on, also for the page fetched ahead
        self.fake.fail(r"/data/", status=500, times=None)
        with mute_logger("odoo.addons.kobo_connector.models.kobo_form_sync"):
            self.env["kobo.form"]._cron_import(limit=100)
        self.assertEqual(len(self._subs()), 100, "nothing half-imported")
        self.assertIn("500", self.form.sync_error)
        self.fake.clear_faults()
        self.fake.fail(r"/data/", status=429, times=1, headers={"Retry-After": "1"})
        self._sync_all(limit=100)  # the client waits and retries the 429
        self.assertEqual(len(self._subs()), 250)
        self.assertFalse(self.form.sync_error)
        self.assertEqual(len(self._partners()), 250)

    def test_reconcile_marks_deleted_and_pulls_missed_edits(self):
        subs = [self.fake.add_submission(self.uid, person(i)) for i in range(3)]
        self._sync_all()
        self.fake.delete_submission(self.uid, subs[0]["_id"])
        self.fake.edit_submission(self.uid, subs[1]["_id"], {"name": "Edited"})
        self.env["kobo.form"]._cron_reconcile()
        stored = self._subs().sorted("kobo_id")
        self.assertEqual(stored.mapped("state"), ["deleted", "imported", "imported"])
        self.assertEqual(stored[1]._record().name, "Edited")


@tagged("post_install", "-at_install")
class TestSyncButton(ImportCase):
    def test_sync_button_wakes_the_cron_and_notifies(self):
        self.fake.add_submissions(self.uid, [person(1), person(2)])
        cron = self.env.ref("kobo_connector.ir_cron_kobo_import")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        action = self.form.with_user(self.user).action_sync()
        self.assertEqual(action["params"]["type"], "info")
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers + 1
        )
        self.assertEqual(self.form.sync_request_ids.user_id, self.user)
        self.assertFalse(self._subs(), "nothing imported inside the request")

        self.env["bus.bus"].search([]).unlink()
        self._sync_all()
        self.assertFalse(self.form.sync_request_ids)
        self.env.cr.precommit.run()  # bus messages are stored at commit
        notes = self.env["bus.bus"].search(
            [("channel", "like", f'"res.partner",{self.user.partner_id.id}]')]
        )
        self.assertEqual(len(notes), 1)
        self.assertIn("2 new, 0 updated, 0 errors", notes.message)
        self.assertIn("2 new", self.form.message_ids[0].body)
        self.assertEqual(
            self.server.last_sync_result, "Contact registration: 2 new, 0 updated, 0 errors"
        )

    def test_sync_needs_an_enabled_mapping(self):
        self.mapping.enabled = False
        action = self.form.action_sync()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertFalse(self.form.sync_request_ids)
