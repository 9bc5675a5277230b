"""A page of the import costs the page, not the form: looking up which of a
page's KoBo ids are already stored reads those ids only, however many
submissions the form has and however stale the table's statistics (as
after a large import that autovacuum has not analysed yet)."""

import json

from odoo.addons.kobo_connector.models.kobo_submission import STORED_ROWS

from .common import KoboCase

STORED = 30_000


class TestStoredLookupScale(KoboCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.form = cls.env["kobo.form"].create(
            {"server_id": cls.server.id, "asset_uid": "aScaleScaleScaleScale1", "name": "Scale"}
        )
        cls.env.flush_all()
        cls.env.cr.execute(  # a large form, stored without the statistics catching up
            "INSERT INTO kobo_submission (form_id, kobo_id, uuid, state) "
            "SELECT %s, g, 'u' || g, 'imported' FROM generate_series(1, %s) g",
            (cls.form.id, STORED),
        )

    def _rows_read(self, kobo_ids):
        """(the most rows a step of the lookup's plan read from kobo_submission, the plan)"""
        self.env.cr.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + STORED_ROWS, (kobo_ids, self.form.id)
        )
        plan = self.env.cr.fetchone()[0]
        plan = plan[0]["Plan"] if isinstance(plan, list) else json.loads(plan)[0]["Plan"]
        most, todo = 0, [plan]
        while todo:
            node = todo.pop()
            todo.extend(node.get("Plans", []))
            on_table = node.get("Relation Name") == "kobo_submission" or str(
                node.get("Index Name", "")
            ).startswith("kobo_submission")
            if on_table:
                read = node["Actual Rows"] * node["Actual Loops"]
                read += node.get("Rows Removed by Filter", 0)
                read += node.get("Rows Removed by Index Recheck", 0)
                most = max(most, read)
        return most, plan

    def test_a_new_page_reads_the_page(self):
        page = list(range(STORED + 1, STORED + 1001))
        read, plan = self._rows_read(page)
        self.assertLessEqual(read, len(page), plan)

    def test_scattered_ids_read_those_ids(self):
        ids = list(range(7, STORED, 31))
        read, plan = self._rows_read(ids)
        self.assertLessEqual(read, len(ids), plan)

    def test_the_stored_ones_among_the_ids(self):
        Submission = self.env["kobo.submission"]
        rows = Submission._stored_rows(self.form.id, [5, STORED, STORED + 1, 5])
        self.assertEqual(
            sorted({(k, u, s) for k, _id, u, s, _status in rows}),
            [
                (5, "u5", "imported"),
                (STORED, f"u{STORED}", "imported"),
            ],
        )
