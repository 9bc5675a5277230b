"""The forms' dashboard (the app's first screen) and the progress of a sync.

Every card of the kanban is computed for all the cards at once: one grouped
query for the counts by state, one for the submissions per day, one look at
``pg_locks`` for the syncs running: the number of queries does not grow with
the number of forms.
"""

import json
from datetime import datetime, time, timedelta

import pytz
from babel.dates import format_date, format_timedelta
from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools.misc import babel_locale_parse, get_lang

from .kobo_form_sync import LOCK_NAMESPACE

GRAPH_DAYS = 30
PROGRESS_SECONDS = 3  # a requester hears of a running sync at most this often
# the grey bars of a form with no submission in the period (Odoo's sample data)
SAMPLE_VALUES = (2, 3, 5, 4, 6, 5, 7, 6, 8, 7)


class KoboForm(models.Model):
    _inherit = "kobo.form"

    dashboard_counts = fields.Json(
        compute="_compute_dashboard", help="Stored submissions of the form by state."
    )
    dashboard_graph = fields.Text(compute="_compute_dashboard")
    sync_running = fields.Boolean(
        string="Sync Running",
        compute="_compute_dashboard",
        help="A sync of this form holds its lock right now.",
    )
    mapping_names = fields.Char(string="Mappings Fed", compute="_compute_dashboard")
    last_sync_ago = fields.Char(string="Last Sync (relative)", compute="_compute_dashboard")
    sync_total = fields.Integer(
        string="Submissions on KoBo at Last Sync",
        readonly=True,
        copy=False,
        help="How many submissions KoBo had when the last sync started.",
        kobo_system=True,
    )
    sync_progress_date = fields.Datetime(readonly=True, copy=False, kobo_system=True)
    record_count = fields.Integer(string="Records", compute="_compute_record_count")

    def _compute_dashboard(self):
        counts = {form.id: {} for form in self}
        for form, state, count in self.env["kobo.submission"]._read_group(
            [("form_id", "in", self.ids)], ["form_id", "state"], ["__count"]
        ):
            counts[form.id][state] = count
        days = self._dashboard_days()
        per_day = self._dashboard_per_day(days)
        running = self._locked_ids()
        lang = get_lang(self.env).code
        now = fields.Datetime.now()
        for form in self:
            form.dashboard_counts = counts.get(form.id, {})
            form.dashboard_graph = json.dumps(form._dashboard_series(days, per_day, lang))
            form.sync_running = form.id in running
            form.mapping_names = ", ".join(form.mapping_ids.filtered("enabled").mapped("name"))
            form.last_sync_ago = (
                format_timedelta(
                    form.last_sync - now, add_direction=True, locale=babel_locale_parse(lang)
                )
                if form.last_sync
                else False
            )

    def _dashboard_days(self):
        """The last ``GRAPH_DAYS`` days of the user's calendar, today last."""
        today = fields.Date.context_today(self)
        return [today - timedelta(days=n) for n in range(GRAPH_DAYS - 1, -1, -1)]

    def _dashboard_per_day(self, days):
        """{(form id, day): submissions} in the user's time zone, one query."""
        tz = pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")
        since = tz.localize(datetime.combine(days[0], time.min)).astimezone(pytz.utc)
        Submission = self.env["kobo.submission"].with_context(tz=tz.zone)
        return {
            (form.id, day.date() if isinstance(day, datetime) else day): count
            for form, day, count in Submission._read_group(
                [
                    ("form_id", "in", self.ids),
                    ("submission_time", ">=", since.replace(tzinfo=None)),
                ],
                ["form_id", "submission_time:day"],
                ["__count"],
            )
        }

    def _dashboard_series(self, days, per_day, lang):
        """The ``dashboard_graph`` widget's one series: a bar a day, today
        highlighted; grey sample bars when nothing came in the period."""
        locale = babel_locale_parse(lang)
        values = [per_day.get((self.id, day), 0) for day in days]
        sample = not any(values)
        if sample:
            values = [SAMPLE_VALUES[n % len(SAMPLE_VALUES)] for n in range(len(days))]
        return [
            {
                "key": self.env._("Submissions per day"),
                "values": [
                    {
                        "label": format_date(day, "d MMM", locale=locale),
                        "value": value,
                        "type": "sample"
                        if sample
                        else ("future" if n == len(days) - 1 else "past"),
                    }
                    for n, (day, value) in enumerate(zip(days, values, strict=True))
                ],
                "is_sample_data": sample,
            }
        ]

    def _locked_ids(self):
        """Ids of these forms whose sync lock (``_try_lock``) another
        transaction holds now."""
        if not self.ids:
            return set()
        self.env.cr.execute(
            """SELECT objid::integer FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND objsubid = 2
                  AND pid != pg_backend_pid()
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND classid = %s::oid AND objid = ANY(%s::oid[])""",
            (LOCK_NAMESPACE, self.ids),
        )
        return {form_id for (form_id,) in self.env.cr.fetchall()}

    def _compute_record_count(self):
        records = self._imported_records()
        for form in self:
            form.record_count = sum(len(ids) for ids in records.get(form.id, {}).values())

    def _imported_records(self):
        """{form id: {model: record ids}} of the submissions' records."""
        result = {form.id: {} for form in self}
        for form, model, ids in self.env["kobo.submission"]._read_group(
            [("form_id", "in", self.ids), ("res_model", "!=", False), ("res_id", "!=", False)],
            ["form_id", "res_model"],
            ["res_id:array_agg"],
        ):
            result[form.id][model] = sorted(set(ids))
        return result

    # ------------------------------------------------------------------
    # Actions of the card
    # ------------------------------------------------------------------
    def action_open_state(self):
        """The form's submissions in the state the card's number names
        (``kobo_state`` in the context)."""
        state = self.env.context.get("kobo_state")
        return self._open_submissions([("state", "=", state)] if state else [])

    def action_open_records(self):
        """The records the form's submissions became (one model: its list)."""
        self.ensure_one()
        by_model = {
            model: ids
            for model, ids in self._imported_records()[self.id].items()
            if model in self.env and self.env[model].has_access("read")
        }
        if len(by_model) != 1:
            return self._open_submissions([("res_id", "!=", False)])
        model, ids = next(iter(by_model.items()))
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Records of %(form)s", form=self.name),
            "res_model": model,
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", ids)],
            "context": {"create": False},
        }

    def action_map_form(self):
        """A new mapping of this form (its Suggest button fills the lines)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Map %(form)s", form=self.name),
            "res_model": "kobo.mapping",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
            "context": {"default_form_id": self.id, "default_name": self.name},
        }

    # ------------------------------------------------------------------
    # Progress of a sync a person asked for
    # ------------------------------------------------------------------
    def _do_new(self, client, limit):
        starting = not (self.run_new or self.run_updated or self.run_errors)
        done, remaining = super()._do_new(client, limit)
        if starting or self.sync_request_ids:
            stored = self._stored_count()
            if starting:
                self.sync_total = stored + remaining
            if self.sync_request_ids and remaining:
                self._send_progress(stored)
        return done, remaining

    def _stored_count(self):
        self.env["kobo.submission"].flush_model(["form_id", "state"])
        self.env.cr.execute(
            "SELECT count(*) FROM kobo_submission WHERE form_id = %s AND state != 'deleted'",
            (self.id,),
        )
        return self.env.cr.fetchone()[0]

    def _send_progress(self, stored, final=False):
        """Tell the requesters how far the sync is (at most once every
        ``PROGRESS_SECONDS``), and that it ended (closing what was shown)."""
        now = fields.Datetime.now()
        last = self.sync_progress_date
        if final and not last:
            return  # no progress shown: the result alone tells
        if not final and last and now - last < timedelta(seconds=PROGRESS_SECONDS):
            return
        self.sync_progress_date = False if final else now
        payload = {
            "form_id": self.id,
            "title": self.env._("KoBo sync: %(form)s", form=self.name),
            "message": self.env._(
                "%(done)s of %(total)s submissions imported",
                done=stored,
                total=max(self.sync_total, stored),
            ),
            "done": stored,
            "total": max(self.sync_total, stored),
            "final": final,
        }
        for user in self.sync_request_ids.user_id:
            user._bus_send("kobo_sync_progress", payload)

    def _finish_run(self):
        if self.sync_request_ids and self.sync_progress_date:
            self._send_progress(self._stored_count(), final=True)
        return super()._finish_run()

    def _sync_failed(self, exc):
        if self.sync_request_ids and self.sync_progress_date:
            self._send_progress(self._stored_count(), final=True)
        return super()._sync_failed(exc)

    @api.model
    def get_empty_list_help(self, help_message):
        """No server yet: how to connect one (or the sandbox), not how to fetch forms."""
        if self.env["kobo.server"].search_count([], limit=1):
            return super().get_empty_list_help(help_message)
        return super().get_empty_list_help(
            Markup(
                '<p class="o_view_nocontent_smiling_face">%s</p><p>%s</p><p>%s</p>'
                '<p class="text-muted">%s</p>'
            )
            % (
                self.env._("Connect your KoBoToolbox account"),
                self.env._(
                    "In KoBoToolbox > Configuration > Servers, create a server with your "
                    "KoBo address (e.g. https://kf.kobotoolbox.org) and its API token "
                    "(KoBo: Account Settings > Security), then press Test connection and "
                    "Fetch forms: your forms appear here."
                ),
                self.env._(
                    "No KoBo account at hand? The KoBo sandbox of the demo (docker compose "
                    "up) is a server you can connect at once: see the README."
                ),
                self.env._("Not a KoBo manager? Ask one to connect the server."),
            )
        )
