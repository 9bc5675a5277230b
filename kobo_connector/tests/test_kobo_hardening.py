import json
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.kobo_connector.kobo_kpi import errors
from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform
from odoo.addons.kobo_connector.models import kobo_form_sync

from .test_kobo_import import CHOICES, SURVEY, ImportCase, Killed, person

SYNC_LOG = "odoo.addons.kobo_connector.models.kobo_form_sync"
SUB_LOG = "odoo.addons.kobo_connector.models.kobo_submission"


def data_queries(requests, uid=None):
    """The decoded ``query`` of each ``/data/`` GET (of asset ``uid``)."""
    out = []
    for method, path in requests:
        if method != "GET" or "/data/" not in path or (uid and uid not in path):
            continue
        params = parse_qs(urlsplit(path).query)
        out.append(json.loads(params["query"][0]) if "query" in params else {})
    return out


class HardeningCase(ImportCase):
    def setUp(self):
        super().setUp()
        self.Form = self.env["kobo.form"]

    def _extra_form(self, name):
        """Another deployed form on the fake, with a name/email mapping."""
        uid = self.fake.create_asset(xlsform=build_xlsform(SURVEY, CHOICES), name=name, deploy=True)
        self.server.action_fetch_forms()
        form = self.Form.search([("asset_uid", "=", uid)])
        mapping = self.env["kobo.mapping"].create(
            {
                "form_id": form.id,
                "model_id": self.env["ir.model"]._get("res.partner").id,
                "enabled": True,
                "line_ids": [self._line("name", "name"), self._line("email", "email")],
            }
        )
        return uid, form, mapping

    def _reconcile_all(self, limit=1000):
        for _ in range(200):
            _done, remaining = self.Form._cron_reconcile(limit=limit)
            if not remaining:
                return
        self.fail("the reconciliation never ended")

    def _subs_of(self, form):
        return self.env["kobo.submission"].search([("form_id", "=", form.id)], order="kobo_id")


@tagged("post_install", "-at_install")
class TestIsolation(HardeningCase):
    def test_failing_forms_never_stop_a_healthy_one(self):
        bad_uids, bad_forms = [], self.Form
        for name in ("Validation", "Stale field", "Database"):
            uid, form, _mapping = self._extra_form(name)
            self.fake.add_submissions(uid, [person(100 + len(bad_uids))])
            bad_uids.append(uid)
            bad_forms |= form
        validation, stale, database = bad_forms
        # states that saving would refuse, as an older version or a database left them
        color = self.env["ir.model.fields"]._get("res.partner", "color")
        self.env["kobo.mapping.line"].create(
            {"mapping_id": validation.mapping_id.id, "field_id": color.id}
        )
        self.env.cr.execute(
            "UPDATE kobo_mapping_line SET constant = 'red' WHERE field_name = 'color' "
            "AND mapping_id = %s",
            (validation.mapping_id.id,),
        )
        # a field that is no longer there (e.g. its module uninstalled)
        self.env.cr.execute(
            "UPDATE kobo_mapping_line SET field_name = 'x_gone' WHERE mapping_id = %s "
            "AND question_path = 'email'",
            (stale.mapping_id.id,),
        )
        self.env.invalidate_all()
        Submission = type(self.env["kobo.submission"])
        import_page = Submission._import_page

        def failing_import_page(subs, form, results, **kw):
            if form == database:
                subs.env.cr.execute("SELECT 1 / 0")  # a real database error
            return import_page(subs, form, results, **kw)

        self.fake.add_submissions(self.uid, [person(1), person(2)])
        (bad_forms | self.form).with_user(self.user).action_sync()
        self.env["bus.bus"].search([]).unlink()
        with (
            patch.object(Submission, "_import_page", failing_import_page),
            mute_logger(SYNC_LOG),
        ):
            self._sync_all()
        self.assertEqual(self._partners().mapped("name"), ["Person 1", "Person 2"])
        self.assertEqual(self.form.last_sync_result, "2 new, 0 updated, 0 errors")
        self.assertFalse(self.form.sync_error)
        for form in bad_forms:
            self.assertTrue(form.sync_error, form.name)
            self.assertFalse(self._subs_of(form), "nothing half-imported")
            self.assertFalse(form.sync_request_ids, "the requester was answered")
            self.assertEqual(form.sync_cursor, 0)
        self.assertIn("red", validation.sync_error)
        self.assertIn("x_gone", stale.sync_error)
        self.assertIn("Database error", database.sync_error)
        self.assertIn("division by zero", database.sync_error)
        self.env.cr.execute("SELECT 1")  # the cursor is usable
        self.env.cr.precommit.run()
        notes = self.env["bus.bus"].search(
            [("channel", "like", f'"res.partner",{self.user.partner_id.id}]')]
        )
        self.assertEqual(len(notes.filtered(lambda n: "KoBo sync failed" in n.message)), 3)
        self.assertEqual(len(notes.filtered(lambda n: "KoBo sync done" in n.message)), 1)

    def test_a_failing_step_waits_before_the_next_try(self):
        self.env["ir.config_parameter"].set_param("kobo_connector.poll_interval", "10")
        self.fake.add_submissions(self.uid, [person(1)])
        self.fake.fail(r"/data/", status=500, times=None)
        with mute_logger(SYNC_LOG):
            self.assertEqual(self.Form._cron_import(), (0, 0))
        self.assertIn("500", self.form.sync_error)
        # a passing failure (5xx, network, an HTML page): tried again within a minute
        now = fields.Datetime.now()
        self.assertGreater(self.form.next_poll, now + timedelta(seconds=50))
        self.assertLessEqual(self.form.next_poll, now + timedelta(seconds=61))
        self.fake.reset_requests()
        self.Form._cron_import()
        self.assertFalse(self.fake.requests, "not polled again before then")
        # a failure that only a person can fix (a mapping): the poll interval
        self.form.next_poll = False
        self.form._sync_failed(KeyError("x_gone"))
        self.assertGreater(self.form.next_poll, fields.Datetime.now() + timedelta(minutes=9))

    def test_an_escaping_error_is_caught_by_the_cron(self):
        uid, other, _mapping = self._extra_form("Other")
        self.fake.add_submissions(uid, [person(5)])
        self.fake.add_submissions(self.uid, [person(6)])
        Form = type(self.Form)
        sync_step = Form._sync_step

        def broken(form, limit):
            if form == self.form:
                raise RuntimeError("a bug outside the step's guard")
            return sync_step(form, limit)

        with patch.object(Form, "_sync_step", broken), mute_logger(SYNC_LOG):
            self.Form._cron_import()
        self.assertEqual(self._subs_of(other).state, "imported")


@tagged("post_install", "-at_install")
class TestReconcile(HardeningCase):
    def test_keyset_pages_survive_a_deletion_between_pages(self):
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(25)])
        ids = [s["_id"] for s in subs]
        self._sync_all()
        self.fake.reset_requests()
        self.assertEqual(self.form._step_reconcile(10), (10, 15))
        self.assertEqual(self.form.reconcile_cursor, ids[9])
        # deleted between two pages: one already compared, one in the next page
        self.fake.delete_submission(self.uid, ids[3])
        self.fake.delete_submission(self.uid, ids[12])
        self._reconcile_all(limit=10)
        stored = self._subs().sorted("kobo_id")
        deleted = stored.filtered(lambda s: s.state == "deleted")
        self.assertEqual(deleted.mapped("kobo_id"), [ids[12]], "no live submission skipped")
        self.assertEqual(len(stored), 25)
        queries = data_queries(self.fake.requests, self.uid)
        self.assertIn({"_id": {"$gt": ids[9]}}, queries, "paged by key, not by offset")
        self.assertIn({"_id": {"$in": [ids[12]]}}, queries, "the deletion was confirmed")
        self.assertFalse(any("start=" in path for _m, path in self.fake.requests))
        self.assertFalse(self.form.reconcile_cursor)
        self.assertTrue(self.form.last_reconcile)
        # the next round (a day later) sees the other deletion
        self.form.last_reconcile -= timedelta(days=1)
        self._reconcile_all(limit=10)
        self.assertEqual(
            self._subs()
            .sorted("kobo_id")
            .filtered(lambda s: s.state == "deleted")
            .mapped("kobo_id"),
            sorted([ids[3], ids[12]]),
        )
        self.assertIn("deleted on KoBo", self.form.message_ids[0].body)

    def test_absent_from_one_listing_is_not_deleted(self):
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(5)])
        self._sync_all()
        first_page = kobo_form_sync._first_page

        def forgetful(client, uid, **kw):  # the listing misses one (KoBo hiccup)
            results, count = first_page(client, uid, **kw)
            if kw.get("fields") == ["_id", "_uuid"]:
                results = [r for r in results if r["_id"] != subs[2]["_id"]]
            return results, count

        with patch.object(kobo_form_sync, "_first_page", forgetful):
            self._reconcile_all()
        self.assertEqual(set(self._subs().mapped("state")), {"imported"})

    def test_reconcile_resumes_after_a_crash(self):
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(30)])
        ids = [s["_id"] for s in subs]
        self._sync_all()
        # missed on the way: an edit, a deletion, and a row lost (a gap)
        self.fake.edit_submission(self.uid, ids[5], {"name": "Edited"})
        self.fake.delete_submission(self.uid, ids[15])
        self._subs().filtered(lambda s: s.kobo_id == ids[25]).sudo().unlink()
        cr = self.env.cr
        cr.execute("SAVEPOINT kobo_committed")
        calls = []

        def commit(form):
            calls.append(form)
            if len(calls) == 2:
                raise Killed("killed")
            cr.execute("RELEASE SAVEPOINT kobo_committed")
            cr.execute("SAVEPOINT kobo_committed")

        with patch.object(type(self.Form), "_kobo_commit", commit):
            crashed = False
            try:
                self._reconcile_all(limit=10)
            except Killed:
                crashed = True
            self.assertTrue(crashed, "the simulated crash did not happen")
        cr.execute("ROLLBACK TO SAVEPOINT kobo_committed")
        self.env.invalidate_all()
        self.assertEqual(self.form.reconcile_cursor, ids[9], "the first step is kept")
        self.assertEqual(self._partners()[5].name, "Edited")
        self.fake.reset_requests()
        self._reconcile_all(limit=10)
        self.assertEqual(
            data_queries(self.fake.requests, self.uid)[0], {"_id": {"$gt": ids[9]}}, "resumed"
        )
        stored = self._subs()
        self.assertEqual(len(stored), 30)
        self.assertEqual(len(set(stored.mapped("kobo_id"))), 30)
        self.assertEqual(stored.filtered(lambda s: s.state == "deleted").kobo_id, ids[15])
        self.assertEqual(len(self._partners()), 31, "the lost row's submission made a record")
        self.assertFalse(self.form.reconcile_counts)

    def test_a_failed_reconcile_is_retried_after_its_back_off_not_a_day(self):
        self.env["ir.config_parameter"].set_param("kobo_connector.poll_interval", "10")
        self.fake.add_submissions(self.uid, [person(1)])
        self._sync_all()
        self.fake.fail(r"/data/", status=500, times=1)
        with mute_logger(SYNC_LOG):
            self._reconcile_all()
        self.assertIn("500", self.form.sync_error)
        self.assertFalse(self.form.last_reconcile, "not taken for a done reconciliation")
        self.assertTrue(self.form.reconcile_retry)
        self.assertNotIn(self.form, self.Form._forms_to_reconcile(), "waits for its back-off")
        self.form.reconcile_retry -= timedelta(minutes=2)
        self.assertIn(self.form, self.Form._forms_to_reconcile())
        self._reconcile_all()
        self.assertTrue(self.form.last_reconcile)
        self.assertFalse(self.form.reconcile_retry)
        self.assertNotIn(self.form, self.Form._forms_to_reconcile(), "done for the day")


@tagged("post_install", "-at_install")
class TestPolling(HardeningCase):
    def test_caught_up_forms_wait_for_the_interval(self):
        self.env["ir.config_parameter"].set_param("kobo_connector.poll_interval", "10")
        self.fake.add_submissions(self.uid, [person(1)])
        self._sync_all()
        self.assertGreater(self.form.next_poll, fields.Datetime.now() + timedelta(minutes=9))
        self.fake.add_submissions(self.uid, [person(2)])
        self.fake.reset_requests()
        self.Form._cron_import()
        self.assertFalse(self.fake.requests, "a caught-up form is not polled again")
        # a requested sync is never delayed
        self.form.with_user(self.user).action_sync()
        self._sync_all()
        self.assertEqual(len(self._partners()), 2)
        # nor a push
        (pushed,) = self.fake.add_submissions(self.uid, [person(3)])
        self.env["kobo.pending.push"]._record(self.form.id, pushed["_id"])
        self._sync_all()
        self.assertEqual(len(self._partners()), 3)
        # and the interval passed
        self.fake.add_submissions(self.uid, [person(4)])
        self.form.next_poll = fields.Datetime.now() - timedelta(seconds=1)
        self._sync_all()
        self.assertEqual(len(self._partners()), 4)

    def test_throttled_forms_back_off(self):
        self.fake.add_submissions(self.uid, [person(1)])
        self.fake.fail(r"/data/", status=429, times=None, headers={"Retry-After": "120"})
        with mute_logger(SYNC_LOG):
            self.Form._cron_import()
        now = fields.Datetime.now()
        self.assertIn("too many requests", self.form.sync_error.lower())
        self.assertGreaterEqual(self.form.next_poll, now + timedelta(seconds=115))
        self.assertEqual(self.form.throttle_count, 1)
        self.fake.reset_requests()
        self.Form._cron_import()
        self.form.with_user(self.user).action_sync()
        self.env["kobo.pending.push"]._record(self.form.id, 1)
        self.Form._cron_import()
        self.assertFalse(self.fake.requests, "KoBo's Retry-After is respected, even when asked")
        self.form.next_poll = now
        with mute_logger(SYNC_LOG):
            self.Form._cron_import()
        self.assertGreaterEqual(self.form.next_poll, now + timedelta(seconds=235), "doubled")
        self.fake.clear_faults()
        self.form.next_poll = now
        self._sync_all()
        self.assertEqual(len(self._partners()), 1)
        self.assertEqual(self.form.throttle_count, 0)
        self.assertFalse(self.form.sync_error)


@tagged("post_install", "-at_install")
class TestPaging(HardeningCase):
    def test_pull_ids_keeps_urls_short(self):
        self.fake.store.next_submission_id = max(self.fake.store.next_submission_id, 345_000_000)
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(1000)])
        ids = [s["_id"] for s in subs]
        client = self.server._get_client()
        self.addCleanup(client.close)
        with self.assertRaises(errors.KoboError) as caught:  # one GET: nginx refuses it
            list(client.iter_submissions(self.uid, query={"_id": {"$in": ids}}))
        self.assertEqual(caught.exception.status, 414)
        self.fake.reset_requests()
        counts = self.form._pull_ids(client, ids)
        self.assertEqual(counts["new"], 1000)
        gets = [path for method, path in self.fake.requests if method == "GET"]
        self.assertGreater(len(gets), 1)
        self.assertTrue(all(len(path) < 6000 for path in gets), max(map(len, gets)))
        self.assertEqual(len(self._partners()), 1000)

    def test_out_of_order_visibility(self):
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(4)])
        late = self.fake.hide_submission(self.uid, subs[1]["_id"])  # not yet visible
        self._sync_all()
        self.assertEqual(self.form.sync_cursor, subs[3]["_id"], "the cursor went past it")
        self.fake.reveal_submission(self.uid, late)
        self._sync_all()  # the re-read window behind the cursor finds it
        stored = self._subs().sorted("kobo_id")
        self.assertEqual(stored.mapped("kobo_id"), [s["_id"] for s in subs])
        self.assertEqual(len(self._partners()), 4)
        self._sync_all()
        self.assertEqual(len(self._subs()), 4, "no duplicate")
        self.assertEqual(len(self._partners()), 4)

    def test_out_of_order_without_window_left_to_reconcile(self):
        self.env["ir.config_parameter"].set_param("kobo_connector.recheck_window", "0")
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(3)])
        late = self.fake.hide_submission(self.uid, subs[1]["_id"])
        self._sync_all()
        self.fake.reveal_submission(self.uid, late)
        self._sync_all()
        self.assertEqual(len(self._subs()), 2, "without the window, the gap stays")
        self._reconcile_all()
        self.assertEqual(len(self._subs()), 3)
        self.assertEqual(len(self._partners()), 3)

    def test_a_stale_page_fetched_ahead_is_not_used(self):
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(15)])
        self.form._step_new(10)
        self.form.sync_cursor = subs[4]["_id"]  # e.g. rolled back: another cursor
        self.env.cr.execute(
            "DELETE FROM kobo_submission WHERE form_id = %s AND kobo_id > %s",
            (self.form.id, subs[4]["_id"]),
        )
        self.env.invalidate_all()
        self._sync_all()
        self.assertEqual(self._subs().sorted("kobo_id").mapped("kobo_id"), [s["_id"] for s in subs])


@tagged("post_install", "-at_install")
class TestSubmissionRules(HardeningCase):
    def test_ignored_and_manager_cannot_unlink(self):
        subs = self.fake.add_submissions(self.uid, [person(1), person(2)])
        self._sync_all()
        stored = self._subs().sorted("kobo_id")
        with self.assertRaises(AccessError):
            stored.with_user(self.manager).unlink()
        stored[0].with_user(self.manager).action_ignore()
        self.assertEqual(stored[0].state, "ignored")
        self.fake.edit_submission(self.uid, subs[0]["_id"], {"name": "Edited"})
        self._sync_all()
        self.form.last_reconcile = False
        self._reconcile_all()
        self.assertEqual(stored[0].state, "ignored", "left alone")
        self.assertEqual(self._partners()[0].name, "Person 1")
        self.assertEqual(len(self._subs()), 2, "not re-imported as a gap")
        with self.assertRaises(AccessError):
            stored[1].with_user(self.user).action_ignore()
        stored[0].with_user(self.manager).action_reprocess()
        self.assertEqual(stored[0].state, "imported")

    def test_same_key_twice_in_one_batch_makes_one_record(self):
        self.mapping.write(
            {
                "match_policy": "match",
                "match_question_path": "email",
                "match_field_id": self.env["ir.model.fields"]._get("res.partner", "email").id,
            }
        )
        self.fake.add_submissions(
            self.uid, [person(1), person(2), person(1, name="Person 1 again")]
        )
        self._sync_all()
        partners = self._partners()
        self.assertEqual(partners.mapped("name"), ["Person 1 again", "Person 2"])
        subs = self._subs()
        self.assertEqual(subs[0].res_id, subs[2].res_id)
        self.assertEqual(set(subs.mapped("state")), {"imported"})

    def test_same_key_compared_typed(self):
        existing = self.env["res.partner"].create({"name": "Known", "color": 7})
        self.mapping.write(
            {
                "match_policy": "match",
                "match_question_path": "age",
                "match_field_id": self.env["ir.model.fields"]._get("res.partner", "color").id,
            }
        )
        self.fake.add_submissions(self.uid, [person(1, age="07")])
        self._sync_all()
        self.assertEqual(existing.name, "Person 1", "07 is the integer 7")
        self.assertEqual(self._subs().res_id, existing.id)

    def test_repeat_edit_keeps_lines_added_in_odoo(self):
        members = self.env["ir.model.fields"]._get("res.partner", "child_ids")
        name = self.env["ir.model.fields"]._get("res.partner", "name")
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
                                "field_id": name.id,
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
        self.env["res.partner"].create({"name": "Added in Odoo", "parent_id": partner.id})
        self.fake.edit_submission(
            self.uid, sub["_id"], {"members": [{"members/member_name": "Eve"}]}
        )
        self._sync_all()
        self.assertCountEqual(partner.child_ids.mapped("name"), ["Eve", "Added in Odoo"])
        self.fake.edit_submission(
            self.uid, sub["_id"], {"members": [{"members/member_name": "Max"}]}
        )
        self._sync_all()
        self.assertCountEqual(partner.child_ids.mapped("name"), ["Max", "Added in Odoo"])
        self.assertFalse(self.env["res.partner"].search([("name", "in", ["Ann", "Joe", "Eve"])]))
        # matched by key into a record made in Odoo: its own lines are not the import's
        known = self.env["res.partner"].create(
            {"name": "Known", "email": "p2@example.org", "child_ids": [(0, 0, {"name": "Kid"})]}
        )
        self.mapping.write(
            {
                "match_policy": "match",
                "match_question_path": "email",
                "match_field_id": self.env["ir.model.fields"]._get("res.partner", "email").id,
            }
        )
        sub2 = self.fake.add_submission(
            self.uid, person(2, members=[{"members/member_name": "Zoe"}])
        )
        self._sync_all()
        self.assertCountEqual(known.child_ids.mapped("name"), ["Kid", "Zoe"])
        self.fake.edit_submission(self.uid, sub2["_id"], {"members": []})
        self._sync_all()
        self.assertEqual(known.child_ids.mapped("name"), ["Kid"])


@tagged("post_install", "-at_install")
class TestPoison(HardeningCase):
    def test_poison_submissions_never_stop_the_page(self):
        nested = {"members/member_name": "deep"}
        for _ in range(100):
            nested = {"members/member_name": "level", "members/inner": [nested]}
        subs = self.fake.add_submissions(
            self.uid,
            [
                person(1),
                person(2, name="Nul\x00byte"),
                person(3, notes="x" * (4 * 1024 * 1024)),
                person(4, members=[nested]),
                person(5),
                {"email": "p6@example.org"},  # no name: res.partner's SQL CHECK refuses it
                person(7),  # its _submission_time garbled on the way (below)
                person(8),
            ],
        )
        ids = [s["_id"] for s in subs]
        first_page = kobo_form_sync._first_page

        def repeating(client, uid, **kw):  # KoBo repeats a submission on the page
            results, count = first_page(client, uid, **kw)
            if results and not kw.get("fields"):
                results = [*results[:5], results[4], *results[5:]]
                results[7]["_submission_time"] = "yesterday"
            return results, count

        with (
            patch.object(kobo_form_sync, "_first_page", repeating),
            mute_logger("odoo.sql_db", SUB_LOG),
        ):
            self._sync_all()
        self.assertEqual(self.form.sync_cursor, ids[-1], "the cursor moved on")
        self.assertFalse(self.form.sync_error)
        stored = self._subs().sorted("kobo_id")
        self.assertEqual(stored.mapped("kobo_id"), ids, "each stored once")
        by_id = {s.kobo_id: s for s in stored}
        self.assertEqual(
            [by_id[i].state for i in ids],
            ["imported", "error", "imported", "imported", "imported", "error", "error", "imported"],
        )
        self.assertIn("NUL", by_id[ids[1]].error_message)
        self.assertEqual(by_id[ids[1]].payload["name"], "Nul\ufffdbyte")
        self.assertEqual(len(by_id[ids[2]].payload["notes"]), 4 * 1024 * 1024)
        self.assertEqual(by_id[ids[3]].payload["members"][0]["members/member_name"], "level")
        self.assertTrue(by_id[ids[5]].error_message)
        self.assertIn("identity", by_id[ids[6]].error_message)
        self.assertEqual(by_id[ids[6]].uuid, subs[6]["_uuid"])
        self.assertEqual(
            self._partners().mapped("name"),
            ["Person 1", "Person 3", "Person 4", "Person 5", "Person 8"],
        )
        self.assertEqual(self.form.last_sync_result, "5 new, 0 updated, 3 errors")


@tagged("post_install", "-at_install")
class TestCrashes(HardeningCase):
    def test_crash_in_the_changes_listing_then_rerun(self):
        """Edits pulled in steps of 5; killed after the second commit: what
        was committed stays, the rest is redone, nothing twice."""
        subs = self.fake.add_submissions(self.uid, [person(i) for i in range(20)])
        self._sync_all()
        for sub in subs[:15]:
            self.fake.edit_submission(self.uid, sub["_id"], {"name": f"Edited {sub['_id']}"})
        cr = self.env.cr
        cr.execute("SAVEPOINT kobo_committed")
        calls = []

        def commit(form):
            calls.append(form)
            if len(calls) == 3:  # new (nothing), edits page 1, then killed in page 2
                raise Killed("killed")
            cr.execute("RELEASE SAVEPOINT kobo_committed")
            cr.execute("SAVEPOINT kobo_committed")

        with patch.object(type(self.Form), "_kobo_commit", commit):
            crashed = False
            try:
                self._sync_all(limit=5)
            except Killed:
                crashed = True
            self.assertTrue(crashed, "the simulated crash did not happen")
        cr.execute("ROLLBACK TO SAVEPOINT kobo_committed")
        self.env.invalidate_all()
        edited = self._partners().filtered(lambda p: p.name.startswith("Edited"))
        self.assertEqual(len(edited), 5, "the first page of edits is kept")
        self.assertEqual(self.form.edit_cursor, subs[4]["_id"])
        self._sync_all(limit=5)
        partners = self._partners()
        self.assertEqual(len(partners), 20, "no duplicate")
        self.assertEqual(len(partners.filtered(lambda p: p.name.startswith("Edited"))), 15)
        self.assertEqual(self.form.last_sync_result, "0 new, 15 updated, 0 errors", "one run")
        self.assertFalse(self.form.edit_cursor)
