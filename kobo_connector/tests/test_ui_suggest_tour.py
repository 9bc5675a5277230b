"""Browser tour: Suggest, as a KoBo Manager, on a bilingual form of the
Suggest corpus (a repeat of members, a geopoint) whose submissions are
already stored; then Preview, then the import of every stored submission."""

import json
from unittest.mock import patch

from odoo.tests import new_test_user, tagged

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .test_kobo_suggest_corpus import CORPUS
from .test_ui_tours import KoboTourCase


@tagged("post_install", "-at_install")
class TestSuggestTour(KoboTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # tests never commit: the import's commit seam does nothing here
        Form = type(cls.env["kobo.form"])
        cls.startClassPatcher(patch.object(Form, "_kobo_commit", lambda self: None))
        cls.startClassPatcher(patch.object(Form, "_kobo_rollback", lambda self: None))
        cls.spec = json.loads((CORPUS / "household_survey_en_fr.json").read_text("utf-8"))
        cls.uid = cls.fake.create_asset(
            xlsform=build_xlsform(cls.spec["survey"], cls.spec["choices"], cls.spec["settings"]),
            deploy=True,
        )
        cls.fake.add_submissions(cls.uid, cls.spec["submissions"])
        cls.server = cls._connected_server()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        cls.form._sync_step(1000)  # stored before any mapping: each waits for one
        cls.manager = new_test_user(
            cls.env,
            login="tour_suggest_kobo_manager",
            groups="base.group_user,kobo_connector.group_kobo_manager",
        )

    def test_suggest_tour(self):
        subs = self.env["kobo.submission"].search([("form_id", "=", self.form.id)])
        self.assertEqual(set(subs.mapped("state")), {"error"}, "no mapping yet")
        self.assertFalse(self.manager._is_admin())
        latest = subs.sorted(lambda s: (s.submission_time, s.id))[-1]
        self._start_kobo_tour(
            "kobo_connector_suggest_tour",
            {
                "form": self.form.name,
                "head": "Head of household",
                "repeat": "Household members",
                "heldBack": "Food type → Address Type",
                "previewName": latest.payload["household/hh_head"],
                "created": len(subs),
            },
            login=self.manager.login,
        )
        self.env.invalidate_all()
        mapping = self.form.mapping_id
        pairs = {(line.question_path, line.field_name) for line in mapping.line_ids}
        self.assertLessEqual({tuple(p) for p in self.spec["expected"]}, pairs)
        self.assertEqual(set(subs.mapped("state")), {"imported"}, subs.mapped("error_message"))
        partners = self.env["res.partner"].browse(subs.mapped("res_id"))
        located = partners.filtered("partner_latitude")
        self.assertTrue(located and all(-2 < p.partner_latitude < -1 for p in located))
        self.assertTrue(partners.child_ids, "members as child contacts")
