"""A KoBo media list published to a REAL KoBo (KPI): the file is uploaded,
the deployed form redeployed, and the collectors' manifest carries it.
Skipped without ``KOBO_URL``/``KOBO_TOKEN``. KPI syncs form media to the
deployed form asynchronously (a celery task): the manifest is polled for
``KOBO_MEDIA_SYNC_WAIT`` seconds (default 120). Everything created on KoBo
is deleted afterwards."""

import csv
import io
import os
import time

from odoo.tests import tagged

from .test_live_kobo import LiveKoboCase

SURVEY = [
    {"type": "text", "name": "full_name", "label": "Name"},
    {"type": "select_one_from_file companies.csv", "name": "company", "label": "Company"},
]


@tagged("post_install", "-at_install")
class TestLiveMediaList(LiveKoboCase):
    def test_publish_reaches_the_manifest(self):
        wait = float(os.environ.get("KOBO_MEDIA_SYNC_WAIT", "120"))
        uid = self._new_asset("kobo_connector live media list", SURVEY, deploy=True)
        form = self._odoo_form(uid)
        companies = self.env["res.partner"].create(
            [
                {"name": "Acme, Inc.", "ref": "LIVE-001", "is_company": True},
                {"name": "Société Générale", "ref": "LIVE-002", "is_company": True},
            ]
        )
        env = self.env(user=self.manager)
        Field = env["kobo.media.field"]
        media = env["kobo.media.list"].create(
            {
                "name": "Live companies",
                "file_name": "companies.csv",
                "model_id": env["kobo.target.model"].search([("model", "=", "res.partner")]).id,
                "domain": "[('ref', '=like', 'LIVE-%')]",
                "column_ids": [
                    (
                        0,
                        0,
                        {
                            "column": column,
                            "field_id": Field.search(
                                [("model", "=", "res.partner"), ("name", "=", field)]
                            ).id,
                        },
                    )
                    for column, field in (("name", "ref"), ("label", "name"))
                ],
                "target_ids": [(0, 0, {"form_id": form.id})],
            }
        )
        media.action_publish()
        target = media.target_ids
        self.assertEqual(target.state, "published", target.message)
        files = self.kobo.list_media(uid)
        self.assertEqual([f["metadata"]["filename"] for f in files], ["companies.csv"])
        self.assertEqual(files[0]["uid"], target.file_uid)
        data = self.kobo.media_content(uid, target.file_uid)
        rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
        self.assertEqual(
            rows, [["name", "label"], ["LIVE-001", "Acme, Inc."], ["LIVE-002", "Société Générale"]]
        )
        asset = self._asset(uid)
        self.assertEqual(asset["deployed_version_id"], asset["version_id"], "same version")
        deadline = time.monotonic() + wait
        listed = []
        while time.monotonic() < deadline:
            listed = self.kobo.collector_media(uid) or []
            if listed:
                break
            time.sleep(2)
        self.assertEqual(
            [m["filename"] for m in listed],
            ["companies.csv"],
            f"KoBo did not list the file in the form's manifest within {wait:.0f} s "
            "(KPI syncs form media in a celery task: is its worker running?)",
        )
        self.assertEqual(listed[0]["hash"], target.published_hash)
        # republished after a change: the file is replaced, one file stays
        companies[0].name = "Acme Worldwide"
        media.action_publish()
        files = self.kobo.list_media(uid)
        self.assertEqual(len(files), 1)
        self.assertIn(b"Acme Worldwide", self.kobo.media_content(uid, files[0]["uid"]))
        # clean up the file itself too (the form is deleted by the cleanup)
        self.kobo.delete_media(uid, files[0]["uid"])
        self.assertEqual(self.kobo.list_media(uid), [])
