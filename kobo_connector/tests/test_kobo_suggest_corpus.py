"""Suggest on a corpus of realistic forms (tests/data/suggest_corpus/*.json):
household surveys, distributions, registrations with repeats, in two or
three languages, each with stored submissions and the mapping a person
would draw by hand (``expected``, ``expected_repeats``) and the lines no one
would draw (``never``). Suggest must propose at least the expected lines,
none of the others, and every submission must import through its lines."""

import json
from pathlib import Path

from odoo.tests import tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .common import KoboCase

CORPUS = Path(__file__).parent / "data" / "suggest_corpus"


def pairs(lines):
    return {(line.question_path, line.field_name) for line in lines}


@tagged("post_install", "-at_install")
class TestSuggestCorpus(KoboCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.corpus = {
            path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(CORPUS.glob("*.json"))
        }
        for key, form in cls.corpus.items():
            form["uid"] = cls.fake.create_asset(
                xlsform=build_xlsform(form["survey"], form["choices"], form["settings"]),
                name=key,
                deploy=True,
            )
            cls.fake.add_submissions(form["uid"], form["submissions"])
        cls.server.action_test_connection()
        cls.server.action_fetch_forms()
        # stored before any mapping (each waits, in error, for one)
        for form in cls.env["kobo.form"].search([("server_id", "=", cls.server.id)]):
            form._sync_step(1000)

    def _suggest(self, key):
        """The mapping Suggest builds for the corpus form ``key``, as a KoBo manager."""
        form = self.env["kobo.form"].search([("asset_uid", "=", self.corpus[key]["uid"])])
        mapping = (
            self.env["kobo.mapping"]
            .with_user(self.manager)
            .create({"form_id": form.id, "model_id": self.env["ir.model"]._get_id("res.partner")})
        )
        mapping.action_suggest()
        return form, mapping

    def test_corpus_is_realistic(self):
        self.assertGreaterEqual(len(self.corpus), 8)
        for key, form in self.corpus.items():
            languages = {k.split("::", 1)[1] for row in form["survey"] for k in row if "::" in k}
            self.assertGreaterEqual(len(languages), 2, key)
            self.assertGreaterEqual(len(form["submissions"]), 10, key)
        self.assertGreaterEqual(
            sum(
                any(r["type"] == "begin_repeat" for r in f["survey"]) for f in self.corpus.values()
            ),
            4,
        )

    def test_suggest_covers_the_expected_mappings_and_imports_everything(self):
        report = []
        totals = [0, 0, 0, 0]
        for key, spec in self.corpus.items():
            with self.subTest(form=key):
                form, mapping = self._suggest(key)
                top = mapping.line_ids
                children = {line.question_path: line.child_ids for line in top if line.child_ids}
                expected = {tuple(p) for p in spec["expected"]}
                expected_children = {
                    (repeat, tuple(p))
                    for repeat, lines in spec["expected_repeats"].items()
                    for p in lines
                }
                found = expected & pairs(top)
                found_children = {
                    (repeat, p)
                    for repeat, p in expected_children
                    if p in pairs(children.get(repeat, []))
                }
                covered = len(found) + len(found_children)
                wanted = len(expected) + len(expected_children)
                proposed = len(top) + sum(len(c) for c in children.values())
                self.assertEqual(expected - pairs(top), set(), "expected lines not proposed")
                self.assertEqual(expected_children - found_children, set())
                never = {tuple(p) for p in spec["never"]}
                self.assertFalse(never & pairs(top), "a line no one would draw")
                lines = mapping.sudo()._all_lines()
                self.assertTrue(all(lines.mapped("suggest_reason")), "each line says why")

                mapping.enabled = True
                subs = self.env["kobo.submission"].search([("form_id", "=", form.id)])
                self.assertEqual(len(subs), len(spec["submissions"]))
                subs.with_user(self.manager).action_reprocess()
                errors = subs.filtered(lambda s: s.state != "imported")
                self.assertFalse(
                    errors, "\n".join(errors.mapped(lambda s: f"#{s.kobo_id}: {s.error_message}"))
                )
                imported = len(subs) - len(errors)
                report.append(
                    f"{key:32} {covered:>2}/{wanted:<2} expected lines, {proposed:>2} proposed, "
                    f"{imported:>2}/{len(subs):<2} submissions imported"
                )
                for i, n in enumerate((covered, wanted, imported, len(subs))):
                    totals[i] += n
        report.append(
            f"{'corpus':32} {totals[0]:>2}/{totals[1]:<2} expected lines "
            f"({100 * totals[0] // max(totals[1], 1)}%), "
            f"{totals[2]}/{totals[3]} submissions imported"
        )
        print("\nSuggest coverage on the corpus\n" + "\n".join(report))
