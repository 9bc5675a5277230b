"""Issue 20 on a real KoBo: the coordinates KPI gives (``_geolocation``) and
the dashboard of a form synced from it."""

import json
import uuid

from odoo import Command

from .test_live_kobo import LiveKoboCase

SURVEY = [
    {"type": "text", "name": "name", "label": "Name"},
    {"type": "geopoint", "name": "home", "label": "Home"},
]


class TestLiveDashboard(LiveKoboCase):
    def test_coordinates_and_dashboard(self):
        tag = uuid.uuid4().hex[:8]
        uid = self._new_asset(f"Live map {tag}", SURVEY, deploy=True)
        form = self._odoo_form(uid)
        self.env["kobo.mapping"].create(
            {
                "form_id": form.id,
                "model_id": self.env["ir.model"]._get("res.partner").id,
                "enabled": True,
                "line_ids": [
                    Command.create(
                        {
                            "question_path": "name",
                            "field_id": self.env["ir.model.fields"]._get("res.partner", "name").id,
                        }
                    )
                ],
            }
        )
        self._submit(uid, {"name": f"Amina {tag}", "home": "-1.2626156 36.7923571 1700 5"})
        self._submit(uid, {"name": f"Joseph {tag}"})
        self.server.action_test_connection()
        Form = self.env["kobo.form"]
        for _ in range(5):
            if not Form._cron_import()[1]:
                break
        subs = self.env["kobo.submission"].search([("form_id", "=", form.id)], order="kobo_id")
        self.assertEqual(len(subs), 2)
        self.assertAlmostEqual(subs[0].latitude, -1.2626156, places=6)
        self.assertAlmostEqual(subs[0].longitude, 36.7923571, places=6)
        self.assertEqual((subs[1].latitude, subs[1].longitude), (0, 0))
        self.env.invalidate_all()
        card = form.read(["dashboard_counts", "dashboard_graph", "sync_total"])[0]
        self.assertEqual(card["dashboard_counts"], {"imported": 2})
        self.assertEqual(card["sync_total"], 2)
        graph = json.loads(card["dashboard_graph"])[0]
        self.assertEqual(sum(v["value"] for v in graph["values"]), 2)
