import time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .test_kobo_import import ImportCase, person

APPROVED = "validation_status_approved"
NOT_APPROVED = "validation_status_not_approved"


@tagged("post_install", "-at_install")
class TestApprovalGate(ImportCase):
    def setUp(self):
        super().setUp()
        self.form.import_gate = "approved"

    def _approval_requests(self):
        return [r for r in self.fake.requests if "_validation_status.timestamp" in r[1]]

    def test_waiting_until_approved_on_kobo(self):
        first, _second, third = self.fake.add_submissions(
            self.uid, [person(1), person(2), person(3)]
        )
        self.fake.set_validation(self.uid, [third["_id"]], APPROVED)  # before Odoo saw it
        self._sync_all()
        subs = self._subs().sorted("kobo_id")
        self.assertEqual(subs.mapped("state"), ["waiting", "waiting", "imported"])
        self.assertEqual(self._partners().mapped("name"), ["Person 3"])
        self.assertEqual(self.form.waiting_count, 2)
        self.fake.set_validation(self.uid, [first["_id"]], APPROVED)
        self._sync_all()
        self.assertEqual(subs.mapped("state"), ["imported", "waiting", "imported"])
        self.assertEqual(sorted(self._partners().mapped("name")), ["Person 1", "Person 3"])
        self.assertEqual(subs[0].validation_status, APPROVED)

    def test_approval_long_after_submission_costs_what_it_brings(self):
        sub = self.fake.add_submission(self.uid, person(1))
        self._sync_all()
        for _poll in range(3):  # polls with nothing approved: one request each
            self.fake.reset_requests()
            self._sync_all()
            self.assertEqual(len(self._approval_requests()), 1)
        self.assertEqual(self._subs().state, "waiting")
        # approved days later (KPI's stamp, whole seconds)
        self.fake.set_validation(self.uid, [sub["_id"]], APPROVED, int(time.time()) + 3 * 86400)
        self.fake.reset_requests()
        self._sync_all()
        self.assertEqual(self._subs().state, "imported")
        self.assertEqual(len(self._approval_requests()), 1)
        self.assertEqual(self._partners().name, "Person 1")

    def test_bulk_approval_in_one_second_is_read_whole(self):
        """5,000 submissions approved in the same second, pages of 1,000:
        the (timestamp, _id) tie-break reads them all, in 5 requests, and
        the next poll costs one."""
        added = self.fake.add_submissions(self.uid, [person(i) for i in range(5000)])
        self._sync_all()
        self.assertEqual(self.form.waiting_count, 5000)
        stamp = int(time.time()) - 3600
        self.fake.set_validation(self.uid, [s["_id"] for s in added], APPROVED, stamp)
        self.fake.reset_requests()
        self._sync_all()
        self.assertEqual(len(self._approval_requests()), 5)
        self.assertEqual(self.form.imported_count, 5000)
        self.assertEqual(len(self._partners()), 5000)
        self.fake.reset_requests()
        self._sync_all()
        self.assertEqual(len(self._approval_requests()), 1)

    def test_approve_and_reject_from_odoo(self):
        one, two = self.fake.add_submissions(self.uid, [person(1), person(2)])
        self._sync_all()
        subs = self._subs().sorted("kobo_id")
        subs[0].with_user(self.manager).action_kobo_approve()
        self.assertEqual(subs[0].state, "imported")
        self.assertEqual(self._partners().name, "Person 1")
        stored = {s["_id"]: s for s in self.fake.submissions(self.uid)}
        self.assertEqual(stored[one["_id"]]["_validation_status"]["uid"], APPROVED)
        subs[1].with_user(self.manager).action_kobo_reject()
        self.assertEqual(subs[1].state, "waiting")
        self.assertEqual(subs[1].validation_status, NOT_APPROVED)
        stored = {s["_id"]: s for s in self.fake.submissions(self.uid)}
        self.assertEqual(stored[two["_id"]]["_validation_status"]["uid"], NOT_APPROVED)
        with self.assertRaises(UserError):  # a KoBo User may not
            subs[1].with_user(self.user).action_kobo_approve()

    def test_kobos_refusal_is_shown(self):
        self.fake.add_submissions(self.uid, [person(1)])
        self._sync_all()
        self.fake.fail(
            "validation_statuses",
            403,
            body={"detail": "You do not have permission to perform this action."},
        )
        with self.assertRaisesRegex(UserError, "permission"):
            self._subs().with_user(self.manager).action_kobo_approve()
        self.assertEqual(self._subs().state, "waiting")

    def test_not_approved_after_import_keeps_its_records(self):
        sub = self.fake.add_submission(self.uid, person(1))
        self.fake.set_validation(self.uid, [sub["_id"]], APPROVED)
        self._sync_all()
        partner = self._partners()
        self.assertTrue(partner)
        self.fake.set_validation(self.uid, [sub["_id"]], NOT_APPROVED, int(time.time()) + 5)
        self._sync_all()
        stored = self._subs()
        self.assertEqual(stored.state, "imported")
        self.assertTrue(partner.exists())
        self.assertIn("Not approved on KoBo after its import", stored.error_message)
        flagged = self.env["kobo.submission"].search(
            [("form_id", "=", self.form.id), *NOT_APPROVED_AFTER_IMPORT]
        )
        self.assertEqual(flagged, stored)

    def test_reconcile_catches_cleared_and_missed_statuses(self):
        approved, waiting = self.fake.add_submissions(self.uid, [person(1), person(2)])
        self.fake.set_validation(self.uid, [approved["_id"]], APPROVED)
        self._sync_all()
        # cleared on KoBo ({}): no timestamp query sees it
        self.fake.set_validation(self.uid, [approved["_id"]], None)
        # approved with a stamp behind the poll's cursor (a clock KoBo set back)
        self.fake.set_validation(self.uid, [waiting["_id"]], APPROVED, 1)
        self._sync_all()
        subs = self._subs().sorted("kobo_id")
        self.assertEqual(subs[0].validation_status, APPROVED, "the poll cannot see it")
        self.assertEqual(subs[1].state, "waiting", "the poll cannot see it")
        self.form._step_reconcile()
        self.assertFalse(subs[0].validation_status)
        self.assertEqual(subs[0].state, "imported", "its records stay")
        self.assertEqual(subs[1].state, "imported")

    def test_no_validation_write_back_on_a_gated_form(self):
        with self.assertRaises(ValidationError):
            self.form.validation_writeback = True


NOT_APPROVED_AFTER_IMPORT = [("state", "=", "imported"), ("validation_status", "=", NOT_APPROVED)]
