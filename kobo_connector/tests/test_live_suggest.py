"""Suggest on forms of its corpus deployed on a REAL KoBo (KPI), their
submissions posted through OpenRosa: the catalogue and the submissions as
KoBo really gives them. Skipped without ``KOBO_URL``/``KOBO_TOKEN``."""

import json

from odoo.tests import tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .test_kobo_suggest_corpus import CORPUS, pairs
from .test_live_kobo import LiveKoboCase

# a group, a repeat, a geopoint; Arabic; a repeat whose lines are matched by type
FORMS = ("household_survey_en_fr", "food_distribution_en_ar", "school_assessment_en_fr")


@tagged("post_install", "-at_install")
class TestLiveSuggest(LiveKoboCase):
    def test_suggest_on_real_kobo(self):
        for key in FORMS:
            with self.subTest(form=key):
                spec = json.loads((CORPUS / f"{key}.json").read_text("utf-8"))
                uid = self.kobo.import_xlsform(
                    build_xlsform(spec["survey"], spec["choices"], spec["settings"]),
                    "form.xlsx",
                    name=f"Suggest {key}",
                    poll_interval=0.2,
                )
                self.addCleanup(self._delete_asset, uid)
                self.kobo.deploy(uid)
                for answers in spec["submissions"]:
                    self._submit(uid, answers)
                form = self._odoo_form(uid)
                form.sudo()._sync_step(1000)  # stored before any mapping
                subs = self.env["kobo.submission"].search([("form_id", "=", form.id)])
                self.assertEqual(len(subs), len(spec["submissions"]))

                mapping = (
                    self.env["kobo.mapping"]
                    .with_user(self.manager)
                    .create(
                        {
                            "form_id": form.id,
                            "model_id": self.env["ir.model"]._get_id("res.partner"),
                        }
                    )
                )
                mapping.action_suggest()
                self.assertLessEqual({tuple(p) for p in spec["expected"]}, pairs(mapping.line_ids))
                for repeat, lines in spec["expected_repeats"].items():
                    line = mapping.line_ids.filtered(lambda line, r=repeat: line.question_path == r)
                    self.assertLessEqual({tuple(p) for p in lines}, pairs(line.child_ids))
                self.assertFalse({tuple(p) for p in spec["never"]} & pairs(mapping.line_ids))

                mapping.enabled = True
                subs.with_user(self.manager).action_reprocess()
                self.assertEqual(
                    set(subs.mapped("state")), {"imported"}, set(subs.mapped("error_message"))
                )
