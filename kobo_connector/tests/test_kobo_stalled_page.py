"""A page whose mapping kills the worker (memory, time limit) is not
retried forever: each attempt is counted in a transaction of its own, and
from the third on its submissions are stored in Error, unmapped, and the
import goes on (issue 17)."""

from unittest.mock import patch

from odoo.tests import tagged

from .test_kobo_import import ImportCase, Killed, person


@tagged("post_install", "-at_install")
class TestStalledPage(ImportCase):
    def setUp(self):
        super().setUp()
        self.addCleanup(self._forget_attempts)

    def _forget_attempts(self):
        with self.env.registry.cursor() as cr:  # committed by the engine, outside the test
            cr.execute("DELETE FROM kobo_page_attempt WHERE form_id = %s", (self.form.id,))

    def _attempt(self):
        """One scheduled call whose mapping kills the worker: what it wrote
        in the test's transaction is lost, as a killed worker's would be."""
        cr = self.env.cr
        cr.execute("SAVEPOINT kobo_killed")
        Submission = type(self.env["kobo.submission"])
        killed = False
        with patch.object(Submission, "_process_items", side_effect=Killed("killed")):
            try:  # (not assertRaises: the kill passes through every handler)
                self.form._step_new()
            except Killed:
                killed = True
        cr.execute("ROLLBACK TO SAVEPOINT kobo_killed")
        self.env.invalidate_all()
        return killed

    def test_a_page_that_kills_the_worker_ends_in_error(self):
        self.fake.add_submissions(self.uid, [person(1), person(2)])
        self.assertTrue(self._attempt())
        self.assertTrue(self._attempt())
        self.assertFalse(self._subs(), "a killed worker stores nothing")
        # the third attempt stores the page without mapping it, and the import goes on
        with patch.object(
            type(self.env["kobo.submission"]), "_process_items", side_effect=Killed("killed")
        ):
            self.form._step_new()
        subs = self._subs()
        self.assertEqual(subs.mapped("state"), ["error", "error"])
        self.assertIn("stopped the import 2 times", subs[0].error_message)
        self.assertEqual(self.form.sync_cursor, max(subs.mapped("kobo_id")))
        self.assertFalse(self._partners())
        # once the cause is found, Reprocess maps them
        subs.with_user(self.manager).action_reprocess()
        self.assertEqual(subs.mapped("state"), ["imported", "imported"])
        self.assertEqual(len(self._partners()), 2)

    def test_the_count_starts_again_with_each_page(self):
        """Attempts are counted per page: pages that each failed once, then
        went through, are all mapped."""
        for i in range(3):
            self.fake.add_submissions(self.uid, [person(i)])
            self.assertTrue(self._attempt())
            self._sync_all()  # the second attempt at this page: mapped
        self.assertEqual(self._subs().mapped("state"), ["imported"] * 3)
        self.assertEqual(len(self._partners()), 3)
