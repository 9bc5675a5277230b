"""Production shape (issue 19): the push receiver's own concurrency, the
pushes' own scheduled action, calls that fit Odoo's prefork limits, and
pages fetched side by side."""

import json
import time
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.kobo_connector.models import kobo_form_sync
from odoo.addons.kobo_connector.models.kobo_form_sync import PAGES_IN_FLIGHT, PREFETCH

from .test_kobo_import import ImportCase, person
from .test_kobo_push import PushCase

SERIALIZATION_FAILURE = (
    "DO $$ BEGIN RAISE EXCEPTION 'could not serialize access due to concurrent update' "
    "USING ERRCODE = 'serialization_failure'; END $$"
)


def data_pages(requests, uid):
    """(query, start) of each ``/data/`` GET of asset ``uid``."""
    out = []
    for method, path in requests:
        if method == "GET" and "/data/" in path and uid in path:
            params = parse_qs(urlsplit(path).query)
            start = int(params["start"][0]) if "start" in params else None
            out.append((json.loads(params["query"][0]), start))
    return out


@tagged("post_install", "-at_install")
class TestPushUnderLoad(PushCase):
    """Run as KoBo would post: over real HTTP, without a session."""

    def _cron(self, xmlid):
        return self.env.ref(f"kobo_connector.{xmlid}")

    def _triggers(self, xmlid):
        return self.env["ir.cron.trigger"].search_count([("cron_id", "=", self._cron(xmlid).id)])

    def test_a_concurrent_update_is_tried_again_by_the_receiver(self):
        """Odoo's own retry of the request reads the consumed body again and
        answers 400, which KoBo never re-sends: the receiver retries itself."""
        sub = self.fake.add_submission(self.uid, person(1))
        Pending = type(self.env["kobo.pending.push"])
        record = Pending._record
        calls = []

        def concurrent_once(pending, form_id, kobo_id):
            calls.append(kobo_id)
            if len(calls) == 1:  # a real 40001, as a concurrent duplicate push gives
                pending.env.cr.execute(SERIALIZATION_FAILURE)
            return record(pending, form_id, kobo_id)

        with patch.object(Pending, "_record", concurrent_once), mute_logger("odoo.sql_db"):
            resp = self._post(sub)
        self.assertEqual(resp.status_code, 202, resp.text)
        self.assertEqual(calls, [sub["_id"], sub["_id"]])
        self.assertEqual(self._pending().mapped("kobo_id"), [sub["_id"]])

    def test_a_lasting_conflict_answers_503_with_retry_after(self):
        sub = self.fake.add_submission(self.uid, person(1))
        Pending = type(self.env["kobo.pending.push"])

        def always_concurrent(pending, form_id, kobo_id):
            pending.env.cr.execute(SERIALIZATION_FAILURE)

        with (
            patch.object(Pending, "_record", always_concurrent),
            mute_logger("odoo.sql_db", "odoo.addons.kobo_connector.controllers.push"),
        ):
            resp = self._post(sub)
        self.assertEqual(resp.status_code, 503, "KoBo re-sends 503, never 400 or 500")
        self.assertTrue(resp.headers.get("Retry-After"))
        self.assertFalse(self._pending())

    def test_pushes_of_a_form_within_a_second_wake_the_import_once(self):
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(5)])
        before = self._triggers("ir_cron_kobo_import_pushed")
        for sub in subs:
            self.assertEqual(self._post(sub).status_code, 202)
        self.assertEqual(self._triggers("ir_cron_kobo_import_pushed"), before + 1)
        self.assertEqual(len(self._pending()), 5)
        # a second later, the next push wakes it again
        self.env.cr.execute(
            "UPDATE kobo_pending_push SET received_on = received_on - interval '2 seconds'"
        )
        late = self.fake.add_submission(self.uid, person(9))
        self.assertEqual(self._post(late).status_code, 202)
        self.assertEqual(self._triggers("ir_cron_kobo_import_pushed"), before + 2)

    def test_pushed_forms_are_served_by_their_own_scheduled_action(self):
        """Only the pushed submissions, read side by side with one request
        per form, not the pull's pages of the backlog."""
        backlog = self.fake.add_submissions(self.uid, [person(i) for i in range(30)])
        pushed = backlog[-2:]
        for sub in pushed:
            self.assertEqual(self._post(sub).status_code, 202)
        self.fake.reset_requests()
        done, remaining = self.env["kobo.form"]._cron_import_pushed()
        self.assertEqual((done, remaining), (2, 0))
        self.assertEqual(sorted(self._subs().mapped("kobo_id")), [s["_id"] for s in pushed])
        self.assertEqual(sorted(self._partners().mapped("name")), ["Person 28", "Person 29"])
        self.assertFalse(self._pending())
        self.assertEqual(
            data_pages(self.fake.requests, self.uid),
            [({"_id": {"$in": [s["_id"] for s in pushed]}}, None)],
        )
        # the pull goes on behind, without duplicates
        self._sync_all()
        self.assertEqual(len(self._subs()), 30)
        self.assertEqual(len(self._partners()), 30)

    def test_pending_pushes_of_a_form_that_cannot_import_end_with_a_message(self):
        sub = self.fake.add_submission(self.uid, person(1))
        self.assertEqual(self._post(sub).status_code, 202)
        self.mapping.enabled = False  # after the push
        self.env["kobo.form"]._cron_import_pushed()
        self.assertFalse(self._pending(), "not left pending for ever")
        note = self.form.message_ids[:1].body
        self.assertIn("1 submission(s) pushed by KoBo were not imported now", note)
        self.assertIn("no enabled mapping", note)
        self.mapping.enabled = True
        self._sync_all()
        self.assertEqual(self._subs().state, "imported", "the pull brings it")


@tagged("post_install", "-at_install")
class TestPreforkCalls(ImportCase):
    def _progress(self, cron):
        return self.env["ir.cron.progress"].create({"cron_id": cron.id})

    def test_a_call_that_worked_ends_its_job_and_triggers_it_again(self):
        """A prefork cron worker runs every ready job, each up to ten calls,
        under one limit_time_real: a call that worked ends its job, so the
        next call is a new unit of work."""
        cron = self.env.ref("kobo_connector.ir_cron_kobo_import")
        self.fake.add_submissions(self.uid, [person(i) for i in range(30)])
        spent = iter([False, True])  # the budget runs out after the first step
        progress = self._progress(cron)
        Form = self.env["kobo.form"].with_context(cron_id=cron.id, ir_cron_progress_id=progress.id)
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        self.fake.page_latency = 1.0  # the call works more than a second
        self.addCleanup(setattr, self.fake, "page_latency", 0.0)
        with patch.object(kobo_form_sync, "_call_spent", lambda *a: next(spent, True)):
            done, remaining = Form._cron_import(limit=10)
        self.assertEqual((done, remaining), (10, 20))
        self.assertEqual(progress.remaining, 0, "Odoo does not call again in this unit of work")
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            triggers + 1,
            "the job is triggered again: a new unit of work",
        )

    def test_a_short_call_lets_odoo_call_again(self):
        cron = self.env.ref("kobo_connector.ir_cron_kobo_import")
        progress = self._progress(cron)
        Form = self.env["kobo.form"].with_context(cron_id=cron.id, ir_cron_progress_id=progress.id)
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        Form._cron_progress(5, 3, time.monotonic())
        self.assertEqual((progress.done, progress.remaining), (5, 3))
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers
        )

    def test_pages_fetched_side_by_side_while_mapping(self):
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(35)])
        ids = [s["_id"] for s in subs]
        self.addCleanup(setattr, self.fake, "page_size_max", self.fake.page_size_max)
        self.fake.page_size_max = 10  # KoBo's cap (1,000), at the page size here
        self.fake.reset_requests()
        self.assertEqual(self.form._step_new(10), (10, 25))
        self.assertEqual(PREFETCH.pending(), PAGES_IN_FLIGHT, "several pages on their way")
        self.assertEqual(self.form._step_new(10), (10, 15))
        self.assertEqual(self.form._step_new(10), (9, 6))  # one of ten is the overlap
        self.assertEqual(self.form._step_new(10), (6, 0))
        self.assertEqual(
            sorted(data_pages(self.fake.requests, self.uid), key=lambda p: (p[1] or 0, str(p[0]))),
            [
                ({"_id": {"$gt": 0}}, None),
                ({"_id": {"$gt": ids[9]}}, None),
                ({"_id": {"$gt": ids[9]}}, 9),  # from the last of the page before
                ({"_id": {"$gt": ids[9]}}, 18),
            ],
            "each page asked once, side by side",
        )
        self.assertEqual(self._subs().sorted("kobo_id").mapped("kobo_id"), ids)
        self.assertEqual(len(self._partners()), 35)

    def test_pages_shifted_by_a_deletion_are_fetched_again(self):
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(35)])
        ids = [s["_id"] for s in subs]
        # the second page fetched ahead is answered after a deletion before it
        self.fake.fail(r"start=9", kind="slow", delay=0.5)
        self.form._step_new(10)
        self.fake.delete_submission(self.uid, ids[12])
        self._sync_all(limit=10)
        stored = set(self._subs().mapped("kobo_id"))
        self.assertEqual(stored - {ids[12]}, set(ids) - {ids[12]}, "nothing lost")
        self.assertEqual(len(self._subs()), len(stored), "no duplicate")
