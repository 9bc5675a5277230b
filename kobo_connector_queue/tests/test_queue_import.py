import json
from datetime import timedelta
from unittest.mock import patch

from odoo import SUPERUSER_ID
from odoo.sql_db import db_connect
from odoo.tests import common as odoo_test_common
from odoo.tests import tagged

from odoo.addons.kobo_connector.kobo_kpi.client import KpiClient
from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform
from odoo.addons.kobo_connector.models.kobo_form_sync import LOCK_NAMESPACE
from odoo.addons.kobo_connector.tests.common import KoboCase
from odoo.addons.queue_job.exception import FailedJobError, RetryableJobError
from odoo.addons.queue_job.job import identity_exact

if not hasattr(odoo_test_common, "SETATTR_SOURCES"):
    # Odoo 18 builds before mid-2025 lack the registry that queue_job's test
    # helpers append to (it only silences a warning about patched methods)
    odoo_test_common.SETATTR_SOURCES = {}
from odoo.addons.queue_job.tests.common import trap_jobs

SURVEY = [
    {"type": "text", "name": "name", "label": "Name"},
    {"type": "text", "name": "email", "label": "Email"},
]


def person(i):
    return {"name": f"Person {i}", "email": f"q{i}@example.org"}


@tagged("post_install", "-at_install")
class TestQueueImport(KoboCase):
    """Two deployed forms with a mapping to contacts, imported through queue jobs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uids = [
            cls.fake.create_asset(xlsform=build_xlsform(SURVEY), name=f"Queue {n}", deploy=True)
            for n in (1, 2)
        ]
        cls.server.action_test_connection()
        cls.server.action_fetch_forms()
        Form = cls.env["kobo.form"]
        cls.forms = Form.search([("asset_uid", "in", cls.uids)], order="id")
        Form.search([("id", "not in", cls.forms.ids)]).active = False
        field = cls.env["ir.model.fields"]._get
        for form in cls.forms:
            cls.env["kobo.mapping"].create(
                {
                    "form_id": form.id,
                    "model_id": cls.env["ir.model"]._get("res.partner").id,
                    "enabled": True,
                    "line_ids": [
                        (0, 0, {"question_path": q, "field_id": field("res.partner", q).id})
                        for q in ("name", "email")
                    ],
                }
            )
        cls.uid0 = cls.uids[0]
        cls.form = cls.forms.filtered(lambda f: f.asset_uid == cls.uid0)

    def setUp(self):
        super().setUp()
        for uid in self.uids:  # the fake outlives each test's rollback
            for sub in self.fake.submissions(uid):
                self.fake.delete_submission(uid, sub["_id"])

    def _subs(self, form=None):
        return self.env["kobo.submission"].search([("form_id", "=", (form or self.form).id)])

    def _partners(self):
        return self.env["res.partner"].search([("email", "=like", "q%@example.org")])

    def _run_jobs(self, trap, max_jobs=20):
        """Perform the trapped jobs, and the jobs they enqueue, in order, in
        the test's transaction (``Job.perform()`` would open a cursor of its
        own for a job function that commits, which sees nothing of a test)."""
        done = 0
        while trap.enqueued_jobs:
            job = trap.enqueued_jobs.pop(0)
            trap.calls.pop(0)
            job.func(*job.args, **job.kwargs)
            done += 1
            self.assertLess(done, max_jobs, "the jobs never stopped enqueuing")
        return done

    def _job_raises(self, exc_type, step="import"):
        """Run a job step that must raise ``exc_type`` and return the error
        (not assertRaises: its savepoint would undo what the job commits)."""
        try:
            self.form.with_user(SUPERUSER_ID)._kobo_job_step(step)
        except exc_type as exc:
            return exc
        self.fail(f"the job did not raise {exc_type.__name__}")

    def assert_step_job(self, trap, form, step="import"):
        trap.assert_enqueued_job(
            form._kobo_job_step,
            args=(step,),
            properties={"channel": "root.kobo", "identity_key": identity_exact},
        )

    # ------------------------------------------------------------------
    def test_cron_enqueues_one_job_per_form_as_odoobot(self):
        with trap_jobs() as trap:
            self.assertEqual(self.env["kobo.form"]._cron_import(), (0, 0))
            trap.assert_jobs_count(2)
            for form in self.forms:
                self.assert_step_job(trap, form)
            for job in trap.enqueued_jobs:
                self.assertEqual(job.recordset.env.uid, SUPERUSER_ID)
        self.assertFalse(
            [r for r in self.fake.requests if "/data/" in r[1]], "the cron imports nothing itself"
        )
        with trap_jobs() as trap:
            self.env["kobo.form"]._cron_reconcile()
            for form in self.forms:
                self.assert_step_job(trap, form, "reconcile")

    def test_sync_from_kobo_enqueues_the_form_as_odoobot(self):
        with trap_jobs() as trap:
            self.form.with_user(self.user).action_sync()
            trap.assert_jobs_count(1)
            self.assert_step_job(trap, self.form)
            self.assertEqual(trap.enqueued_jobs[0].recordset.env.uid, SUPERUSER_ID)
        self.assertEqual(self.form.sync_request_ids.user_id, self.user)

    def test_steps_chain_until_caught_up_then_notify(self):
        self.fake.add_submissions(self.uid0, [person(i) for i in range(2500)])
        self.form.with_user(self.user).action_sync()  # (outside the trap: a real job row)
        with trap_jobs() as trap:
            self.form.with_user(SUPERUSER_ID)._kobo_job_step("import")
            trap.assert_jobs_count(1)  # 1000 done, 1500 left: the next step
            self.assertEqual(len(self._subs()), 1000)
            self.assertEqual(self._run_jobs(trap), 2)
        subs = self._subs()
        self.assertEqual(len(subs), 2500)
        self.assertEqual(set(subs.mapped("state")), {"imported"})
        self.assertEqual(len(self._partners()), 2500)
        import_user = self.env.ref("kobo_connector.user_kobo_import")
        self.assertEqual(self._partners().create_uid, import_user, "written as the import user")
        self.assertEqual(self.form.last_sync_result, "2500 new, 0 updated, 0 errors")
        self.assertFalse(self.form.sync_request_ids, "the requester was told, request done")

    def test_429_retries_the_job_after_retry_after(self):
        self.fake.add_submissions(self.uid0, [person(i) for i in range(3)])
        # longer than a job's client waits by itself: the job, not the worker, waits
        self.fake.fail("/data/", 429, headers={"Retry-After": "30"}, times=None)
        with trap_jobs() as trap:
            error = self._job_raises(RetryableJobError)
        trap.assert_jobs_count(0)
        self.assertEqual(error.seconds, 30)
        self.assertEqual(len(self.fake.requests), 1, "no waiting in the worker")
        self.assertFalse(self._subs(), "nothing half-done")
        self.assertIn("30", self.form.sync_error)
        self.fake.clear_faults()
        with trap_jobs() as trap:
            self.form.with_user(SUPERUSER_ID)._kobo_job_step("import")
        self.assertEqual(len(self._subs()), 3)
        self.assertFalse(self.form.sync_error)

    def test_5xx_retries_with_the_job_functions_pattern(self):
        self.fake.fail("/data/", 500, times=None)
        with patch.object(KpiClient, "_backoff", lambda self, attempt: 0.0):
            error = self._job_raises(RetryableJobError)
        self.assertIsNone(error.seconds)
        self.assertTrue(self.form.sync_error)
        function = self.env.ref("kobo_connector_queue.job_function_kobo_form_step")
        self.assertTrue(function.allow_commit)
        self.assertEqual(function.channel, "root.kobo")

    def test_permanent_error_ends_the_job_with_the_forms_message(self):
        self.form.with_user(self.user).action_sync()
        self.fake.fail("/data/", 404, times=None)
        with trap_jobs() as trap:
            error = self._job_raises(FailedJobError)
        trap.assert_jobs_count(0)
        self.assertTrue(self.form.sync_error)
        self.assertEqual(str(error), self.form.sync_error)
        self.assertFalse(self.form.sync_request_ids, "the requester was told it failed")

    def test_job_killed_at_a_commit_then_rerun(self):
        """Whatever the killed job had not committed is redone; nothing twice."""
        self.fake.add_submissions(self.uid0, [person(i) for i in range(2500)])
        cr = self.env.cr
        cr.execute("SAVEPOINT kobo_committed")
        calls = []

        def commit(form):
            calls.append(form)
            if len(calls) == 2:
                raise RuntimeError("killed")
            cr.execute("RELEASE SAVEPOINT kobo_committed")
            cr.execute("SAVEPOINT kobo_committed")

        Form = type(self.env["kobo.form"])
        with trap_jobs() as trap, patch.object(Form, "_kobo_commit", commit):
            killed = False
            try:  # (not assertRaises: its savepoint would be released by the fake commits)
                self.form.with_user(SUPERUSER_ID)._kobo_job_step("import")
                self._run_jobs(trap)
            except RuntimeError:
                killed = True
            self.assertTrue(killed, "the simulated kill did not happen")
        cr.execute("ROLLBACK TO SAVEPOINT kobo_committed")  # the kill loses the open page
        self.env.invalidate_all()
        self.assertEqual(len(self._subs()), 1000)
        # queue_job requeues the dead worker's job: it runs again from the cursor
        with trap_jobs() as trap:
            self.form.with_user(SUPERUSER_ID)._kobo_job_step("import")
            self._run_jobs(trap)
        subs = self._subs()
        self.assertEqual(len(subs), 2500)
        self.assertEqual(len(set(subs.mapped("kobo_id"))), 2500)
        self.assertEqual(sorted(subs.mapped("res_id")), sorted(self._partners().ids))

    def test_job_while_a_cron_step_holds_the_form(self):
        """A job and a cron step on one form at once: the job ends quietly
        and asks KoBo nothing; the step's holder imports each submission once."""
        self.fake.add_submissions(self.uid0, [person(i) for i in range(5)])
        with db_connect(self.env.cr.dbname).cursor() as other:
            other.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, self.form.id))
            try:
                self.fake.reset_requests()
                with trap_jobs() as trap:
                    result = self.form.with_user(SUPERUSER_ID)._kobo_job_step("import")
                trap.assert_jobs_count(0)
                self.assertIn("running", result)
                self.assertFalse(self.fake.requests)
                self.assertFalse(self._subs())
            finally:
                other.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, self.form.id))
        # the cron's own step (engine): the 5 new ones, then the edits listing
        # (which, on a first sync, sees them again and changes nothing)
        _done, remaining = self.form._sync_step()
        self.assertEqual(remaining, 0)
        self.assertEqual(len(self._subs()), 5)
        with trap_jobs() as trap:
            self.form.with_user(SUPERUSER_ID)._kobo_job_step("import")
        self.assertEqual(len(self._subs()), 5)
        self.assertEqual(len(self._partners()), 5)

    def test_reconcile_job(self):
        self.fake.add_submissions(self.uid0, [person(i) for i in range(3)])
        with trap_jobs():
            self.form.with_user(SUPERUSER_ID)._kobo_job_step("import")
        gone = self.fake.submissions(self.uid0)[0]["_id"]
        self.fake.delete_submission(self.uid0, gone)
        with trap_jobs() as trap:
            self.form.with_user(SUPERUSER_ID)._kobo_job_step("reconcile")
        trap.assert_jobs_count(0)
        self.assertEqual(self._subs().filtered(lambda s: s.kobo_id == gone).state, "deleted")

    def test_unknown_step_and_archived_form(self):
        with self.assertRaises(FailedJobError):
            self.form._kobo_job_step("drop_everything")
        self.form.active = False
        self.fake.reset_requests()
        self.assertIn("Not importable", self.form._kobo_job_step("import"))
        self.assertFalse(self.fake.requests)

    def test_progress_of_a_requested_sync_in_jobs(self):
        """The person who asked hears "n of KoBo's count" while the jobs run
        (issue 20), then the end, as with the scheduled action."""
        self.fake.add_submissions(self.uid0, [person(i) for i in range(2500)])
        self.form.with_user(self.user).action_sync()
        self.env["bus.bus"].sudo().search([]).unlink()
        with trap_jobs() as trap:
            self.form.with_user(SUPERUSER_ID)._kobo_job_step("import")
            self.form.sync_progress_date -= timedelta(seconds=10)  # a few seconds later
            self._run_jobs(trap)
        self.env.cr.precommit.run()  # the bus messages of the transaction
        channel = [self.env.cr.dbname, "res.partner", self.user.partner_id.id]
        progress = [
            (payload["done"], payload["total"], payload["final"])
            for m in self.env["bus.bus"].sudo().search([], order="id")
            for payload in [json.loads(m.message)["payload"]]
            if json.loads(m.message)["type"] == "kobo_sync_progress"
            and json.loads(m.channel) == channel
        ]
        self.assertEqual(progress, [(1000, 2500, False), (2000, 2500, False), (2500, 2500, True)])
