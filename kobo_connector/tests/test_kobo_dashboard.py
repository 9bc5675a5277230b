import json
from datetime import datetime, timedelta, timezone

from odoo.sql_db import db_connect
from odoo.tests import new_test_user, tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform
from odoo.addons.kobo_connector.models.kobo_form_sync import LOCK_NAMESPACE

from .test_kobo_import import CHOICES, SURVEY, ImportCase, person


def outsider(env, login):
    """A KoBo User of a company without KoBo."""
    company = env["res.company"].create({"name": f"Company of {login}"})
    return new_test_user(
        env,
        login=login,
        groups="base.group_user,kobo_connector.group_kobo_user",
        company_id=company.id,
        company_ids=[company.id],
    )


DASHBOARD_FIELDS = [
    "name",
    "deployment_status",
    "server_id",
    "dashboard_counts",
    "dashboard_graph",
    "sync_running",
    "last_sync_ago",
    "mapping_names",
    "imported_count",
    "sync_total",
    "record_count",
    "question_count",
]


@tagged("post_install", "-at_install")
class TestDashboard(ImportCase):
    def _card(self, form, user=None, tz="UTC"):
        self.env.invalidate_all()  # each screen is a new request
        Form = self.env["kobo.form"].with_user(user or self.user).with_context(tz=tz)
        return Form.browse(form.id).read(DASHBOARD_FIELDS)[0]

    def test_counts_by_state_open_their_submissions(self):
        """A card counts the form's submissions per state, and each number
        opens exactly those submissions (for a KoBo User)."""
        self.fake.add_submission(self.uid, person(1))
        self.fake.add_submission(self.uid, person(2, country="atlantis"))  # no such country
        self._sync_all()
        card = self._card(self.form)
        self.assertEqual(card["dashboard_counts"], {"imported": 1, "error": 1})
        Form = self.env["kobo.form"].with_user(self.user)
        for state in ("imported", "error"):
            action = Form.browse(self.form.id).with_context(kobo_state=state).action_open_state()
            subs = self.env["kobo.submission"].with_user(self.user).search(action["domain"])
            self.assertEqual(subs.mapped("state"), [state])
        self.assertEqual(card["mapping_names"], self.mapping.name)
        self.assertEqual(card["record_count"], 1)
        records = Form.browse(self.form.id).action_open_records()
        self.assertEqual(records["res_model"], "res.partner")
        self.assertEqual(self.env["res.partner"].search(records["domain"]).email, "p1@example.org")
        # KoBo's count at the start of the sync, against which the bar is drawn
        self.assertEqual(card["sync_total"], 2)
        self.assertTrue(card["last_sync_ago"])

    def test_graph_per_day_in_the_users_time_zone(self):
        """Submissions per day over 30 days, by ``_submission_time`` in the
        reader's time zone: 23:30 UTC is the next day in Nairobi (UTC+3)."""
        now = datetime.now(timezone.utc).replace(microsecond=0)
        late = (now - timedelta(days=2)).replace(hour=23, minute=30, second=0)
        self.fake.add_submission(self.uid, person(1), submission_time=late)
        self.fake.add_submission(self.uid, person(2), submission_time=late)
        self.fake.add_submission(self.uid, person(3), submission_time=now - timedelta(days=40))
        self._sync_all()
        for tz, day in (("UTC", late.date()), ("Africa/Nairobi", late.date() + timedelta(days=1))):
            graph = json.loads(self._card(self.form, tz=tz)["dashboard_graph"])
            self.assertEqual(len(graph), 1, "one series")
            self.assertFalse(graph[0]["is_sample_data"])
            values = graph[0]["values"]
            self.assertEqual(len(values), 30)
            self.assertEqual(sum(v["value"] for v in values), 2, "the 40-day-old one is out")
            self.assertEqual(
                [v["value"] for v in values if v["value"]], [2], f"one bar of 2 in {tz}"
            )
            index = next(n for n, v in enumerate(values) if v["value"])
            # the bars end with today in the user's time zone
            users_today = self.env["kobo.form"].with_context(tz=tz)._dashboard_days()[-1]
            self.assertEqual(users_today - timedelta(days=29 - index), day)

    def test_graph_never_empty(self):
        """A form with nothing in 30 days still has its one series: grey
        sample bars, flagged as such (the widget reads data[0])."""
        graph = json.loads(self._card(self.form)["dashboard_graph"])
        self.assertEqual(len(graph), 1)
        self.assertTrue(graph[0]["is_sample_data"])
        self.assertEqual(len(graph[0]["values"]), 30)
        self.assertEqual({v["type"] for v in graph[0]["values"]}, {"sample"})

    def test_running_from_the_advisory_lock(self):
        """A sync holding the form's lock (another transaction) shows the card
        running; no row of the form is written for it."""
        self.assertFalse(self._card(self.form)["sync_running"])
        write_date = self.form.write_date
        with db_connect(self.env.cr.dbname).cursor() as other:
            other.execute(
                "SELECT pg_try_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, self.form.id)
            )
            self.assertTrue(other.fetchone()[0])
            self.assertTrue(self._card(self.form)["sync_running"])
            other.rollback()
        self.assertFalse(self._card(self.form)["sync_running"])
        self.assertEqual(self.form.write_date, write_date)

    def test_query_count_same_for_1_and_50_forms(self):
        """The dashboard reads its cards with as many queries for 50 forms as for 1."""
        forms = self.form
        for n in range(49):
            uid = self.fake.create_asset(
                xlsform=build_xlsform(SURVEY, CHOICES), name=f"Form {n}", deploy=True
            )
            self.fake.add_submission(uid, person(n))
        self.fake.add_submission(self.uid, person(99))
        self.server.action_fetch_forms()
        forms = self.env["kobo.form"].search([("server_id", "=", self.server.id)])
        self.assertEqual(len(forms), 50)
        for form in forms - self.form:
            self.mapping.copy({"form_id": form.id, "enabled": True})
        self._sync_all()
        Form = self.env["kobo.form"].with_user(self.user)
        spec = {name: {} for name in DASHBOARD_FIELDS}
        spec["server_id"] = {"fields": {"display_name": {}}}

        def count(domain):
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            result = Form.web_search_read(domain, spec)
            return self.cr.sql_log_count - before, result

        count([("id", "=", forms[-1].id)])  # caches of the first screen (rules, language)
        one, result = count([("id", "=", self.form.id)])
        self.assertEqual(result["length"], 1)
        fifty, result = count([("id", "in", forms.ids)])
        self.assertEqual(result["length"], 50)
        self.assertEqual(sum(sum(r["dashboard_counts"].values()) for r in result["records"]), 50)
        self.assertEqual(one, fifty)

    def test_map_this_form_and_empty_help(self):
        """A form without mapping offers a new mapping of it; an empty
        dashboard without server says how to connect one."""
        action = self.form.with_user(self.manager).action_map_form()
        self.assertEqual(action["res_model"], "kobo.mapping")
        self.assertEqual(action["context"]["default_form_id"], self.form.id)
        lonely = outsider(self.env, "kobo_lonely")
        Form = self.env["kobo.form"].with_user(lonely)
        self.assertIn("Connect your KoBoToolbox account", Form.get_empty_list_help("<p>x</p>"))
        self.assertNotIn(
            "Connect your KoBoToolbox account",
            self.env["kobo.form"].with_user(self.user).get_empty_list_help("<p>x</p>"),
        )


@tagged("post_install", "-at_install")
class TestReports(ImportCase):
    def test_collectors_report(self):
        """Per collector: submissions, errors and the last submission, within
        the reader's companies only."""
        t1 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
        t2 = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
        self.fake.add_submission(self.uid, person(1), submitted_by="amina", submission_time=t1)
        self.fake.add_submission(
            self.uid, person(2, country="atlantis"), submitted_by="amina", submission_time=t2
        )
        self.fake.add_submission(self.uid, person(3), submitted_by="joseph", submission_time=t1)
        self._sync_all()
        self.env.flush_all()
        Report = self.env["kobo.collector.report"].with_user(self.user)
        rows = {
            r["submitted_by"]: r
            for r in Report.read_group(
                [],
                ["submission_count:sum", "error_count:sum", "last_submission:max"],
                ["submitted_by"],
            )
        }
        self.assertEqual(rows["amina"]["submission_count"], 2)
        self.assertEqual(rows["amina"]["error_count"], 1)
        self.assertEqual(rows["amina"]["last_submission"], t2.replace(tzinfo=None))
        self.assertEqual(rows["joseph"]["submission_count"], 1)
        self.assertEqual(rows["joseph"]["error_count"], 0)
        # a user of another company sees none of it
        other = outsider(self.env, "kobo_outsider")
        self.assertFalse(self.env["kobo.collector.report"].with_user(other).search([]))

    def test_graph_and_pivot_views_load(self):
        """The submissions' action offers graph and pivot, whose views a
        KoBo User can load and group (day by state, form by collector)."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kobo_connector.kobo_submission_action"
        )
        self.assertIn("graph", action["view_mode"])
        self.assertIn("pivot", action["view_mode"])
        self.fake.add_submission(self.uid, person(1), submitted_by="amina")
        self._sync_all()
        Sub = self.env["kobo.submission"].with_user(self.user)
        views = Sub.get_views([(False, "graph"), (False, "pivot"), (False, "search")])
        self.assertIn("this_week", views["views"]["search"]["arch"])
        groups = Sub.read_group(
            [("form_id", "=", self.form.id)],
            ["__count"],
            ["submission_time:day", "state"],
            lazy=False,
        )
        self.assertEqual(len(groups), 1)
        groups = Sub.read_group([], ["__count"], ["form_id", "submitted_by"], lazy=False)
        self.assertEqual(groups[0]["submitted_by"], "amina")


@tagged("post_install", "-at_install")
class TestProgress(ImportCase):
    def _progress(self, user):
        self.env.cr.precommit.run()  # the bus messages of the transaction
        channel = [self.env.cr.dbname, "res.partner", user.partner_id.id]
        return [
            json.loads(m.message)["payload"]
            for m in self.env["bus.bus"].sudo().search([], order="id")
            if json.loads(m.message)["type"] == "kobo_sync_progress"
            and json.loads(m.channel) == channel
        ]

    def test_requester_hears_progress_then_result(self):
        """A person's sync: "n of KoBo's count" while it runs (at most one
        message per few seconds), then the end; the cron path."""
        self.env["bus.bus"].sudo().search([]).unlink()
        for i in range(7):
            self.fake.add_submission(self.uid, person(i))
        self.form.with_user(self.user).action_sync()
        Form = self.env["kobo.form"]
        Form._cron_import(limit=2)  # 2 of 7
        Form._cron_import(limit=2)  # 4 of 7, within a few seconds: no message
        progress = self._progress(self.user)
        self.assertEqual([(p["done"], p["total"], p["final"]) for p in progress], [(2, 7, False)])
        self.form.sync_progress_date -= timedelta(seconds=10)  # a few seconds later
        self._sync_all(limit=2)
        progress = self._progress(self.user)
        # one message while it ran (how many a call imports depends on the paging), then the end
        self.assertEqual(
            [(p["done"] == 2, p["final"]) for p in progress],
            [(True, False), (False, False), (False, True)],
        )
        self.assertLess(2, progress[1]["done"])
        self.assertLess(progress[1]["done"], 7)
        self.assertEqual(progress[2]["done"], 7)
        self.assertFalse(self._progress(self.manager), "only the requester hears of it")
