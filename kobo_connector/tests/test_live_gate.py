"""Several mappings, a condition and the approval gate against a REAL KoBo
(KPI): approvals set through KPI's validation status API and from Odoo.
Skipped unless ``KOBO_URL`` and ``KOBO_TOKEN`` are set."""

import uuid

from odoo import Command
from odoo.tests import tagged

from .test_live_kobo import CONTACT_CHOICES, CONTACTS, LiveKoboCase

APPROVED = "validation_status_approved"
NOT_APPROVED = "validation_status_not_approved"


@tagged("post_install", "-at_install")
class TestLiveGate(LiveKoboCase):
    def _line(self, path, field, **vals):
        field_id = self.env["ir.model.fields"]._get("res.partner", field).id
        return Command.create({"question_path": path, "field_id": field_id, **vals})

    def _sync_all(self):
        for _ in range(20):
            _done, remaining = self.env["kobo.form"]._cron_import()
            if not remaining:
                return
        self.fail("the import never caught up")

    def test_gated_two_mappings(self):
        self.server.action_test_connection()
        tag = uuid.uuid4().hex[:8]
        uid = self._new_asset(f"Live gate {tag}", CONTACTS, CONTACT_CHOICES, deploy=True)
        form = self._odoo_form(uid)
        form.sudo().import_gate = "approved"
        household = self.env["kobo.mapping"].create(
            {
                "name": "Household",
                "form_id": form.id,
                "model_name": "res.partner",
                "line_ids": [self._line("name", "name"), self._line("contact/email", "email")],
            }
        )
        kenya = self._q(form, "contact/country").choice_ids.filtered(lambda c: c.name == "kenya")
        member = self.env["kobo.mapping"].create(
            {
                "name": "Kenyan member",
                "form_id": form.id,
                "sequence": 20,
                "model_name": "res.partner",
                "line_ids": [
                    self._line("", "name", constant=f"Member {tag}"),
                    self._line("", "parent_id", source_mapping_id=household.id),
                ],
                "condition_ids": [
                    Command.create(
                        {
                            "question_path": "contact/country",
                            "operator": "in",
                            "choice_ids": kenya.ids,
                        }
                    )
                ],
            }
        )
        (household | member).write({"enabled": True})
        for i, country in enumerate(("kenya", "south_sudan", "kenya")):
            self._submit(
                uid,
                {
                    "name": f"Gate {i} {tag}",
                    "contact/email": f"g{i}.{tag}@example.org",
                    "contact/country": country,
                },
            )
        self._sync_all()
        subs = self.env["kobo.submission"].search([("form_id", "=", form.id)], order="kobo_id")
        self.assertEqual(subs.mapped("state"), ["waiting"] * 3)
        # a reviewer approves one on KoBo
        self.kobo.set_validation_status(uid, subs[0].kobo_id, APPROVED)
        self._sync_all()
        self.assertEqual(subs.mapped("state"), ["imported", "waiting", "waiting"])
        self.assertEqual(set(subs[0].link_ids.mapping_id), {household, member})
        made = self.env["res.partner"].browse(subs[0].res_id)
        self.assertEqual(made.child_ids.mapped("name"), [f"Member {tag}"])
        # a KoBo Manager approves one from Odoo: written to KoBo, imported at once
        subs[1].with_user(self.manager).action_kobo_approve()
        self.assertEqual(subs[1].state, "imported")
        self.assertEqual(subs[1].link_ids.mapping_id, household, "South Sudan: no member")
        self.assertEqual(self.kobo.get_validation_status(uid, subs[1].kobo_id)["uid"], APPROVED)
        # not approved after its import: the records stay, the submission says so
        self.kobo.set_validation_status(uid, subs[0].kobo_id, NOT_APPROVED)
        self._sync_all()
        self.assertEqual(subs[0].state, "imported")
        self.assertEqual(subs[0].validation_status, NOT_APPROVED)
        self.assertIn("Not approved on KoBo", subs[0].error_message)
        self.assertTrue(made.exists())
