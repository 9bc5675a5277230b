import importlib.util

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import file_path, mute_logger

from .test_kobo_import import ImportCase, person

MUTE = ("odoo.sql_db", "odoo.addons.kobo_connector.models.kobo_submission")


class MultiCase(ImportCase):
    """The contact mapping of ImportCase ("Household"), then a second
    mapping ("Member"): a contact named by the answer *email*, whose parent
    is the record the first mapping made, only when *tags* contains farmer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mapping.name = "Household"
        farmer = cls.form.question_ids.filtered(lambda q: q.xpath == "tags").choice_ids.filtered(
            lambda c: c.name == "farmer"
        )
        cls.member = cls.env["kobo.mapping"].create(
            {
                "name": "Member",
                "form_id": cls.form.id,
                "sequence": 20,
                "model_name": "res.partner",
                "line_ids": [
                    cls._line("email", "name"),
                    cls._line("", "comment", constant="member"),
                    cls._line("", "parent_id", source_mapping_id=cls.mapping.id),
                ],
                "condition_ids": [
                    (
                        0,
                        0,
                        {"question_path": "tags", "operator": "contains", "choice_ids": farmer.ids},
                    )
                ],
            }
        )
        cls.member.enabled = True

    def _members(self):
        return self.env["res.partner"].search([("comment", "=", "member")], order="id")

    def _links(self, sub):
        return {link.mapping_id: link for link in sub.link_ids}


@tagged("post_install", "-at_install")
class TestSeveralMappings(MultiCase):
    def test_records_linked_and_conditional(self):
        self.fake.add_submissions(
            self.uid, [person(1, tags="farmer"), person(2, tags="trader"), person(3)]
        )
        self._sync_all()
        subs = self._subs().sorted("kobo_id")
        self.assertEqual(subs.mapped("state"), ["imported"] * 3)
        households = self._partners()
        self.assertEqual(len(households), 3)
        member = self._members()
        self.assertEqual(member.name, "p1@example.org", "only the farmer has a member")
        self.assertEqual(member.parent_id, households[0], "the record made by Household")
        links = self._links(subs[0])
        self.assertEqual(set(links), {self.mapping, self.member})
        self.assertEqual(links[self.member].res_id, member.id)
        self.assertEqual((subs[0].res_model, subs[0].res_id), ("res.partner", households[0].id))
        self.assertEqual(subs[1].link_ids.mapping_id, self.mapping)
        self.assertEqual(self.form.last_sync_result, "3 new, 0 updated, 0 errors")
        # the record's smart button counts its submission
        self.assertEqual(member.kobo_submission_count, 1)
        self.assertEqual(households[1].kobo_submission_count, 1)

    def test_all_or_nothing_per_submission(self):
        """The member of submission 2 cannot be created (no name): none of
        its records exist, it is in error naming the mapping; the others
        import whole."""
        self.fake.add_submissions(
            self.uid,
            [
                person(1, tags="farmer"),
                person(2, tags="farmer", email=""),
                person(3, tags="farmer"),
            ],
        )
        with mute_logger(*MUTE):
            self._sync_all()
        subs = self._subs().sorted("kobo_id")
        self.assertEqual(subs.mapped("state"), ["imported", "error", "imported"])
        self.assertTrue(subs[1].error_message.startswith("Member: "), subs[1].error_message)
        self.assertFalse(subs[1].link_ids)
        self.assertFalse(
            self.env["res.partner"].search([("name", "=", "Person 2")]),
            "the household made by the first mapping was rolled back",
        )
        self.assertEqual(self._members().mapped("name"), ["p1@example.org", "p3@example.org"])
        self.assertEqual(len(self._partners()), 2)

    def test_required_link_when_the_source_did_not_apply(self):
        """A required many2one from a mapping that did not apply fails the
        submission, saying why."""
        kenya = self.form.question_ids.filtered(lambda q: q.xpath == "country").choice_ids[:1]
        self.mapping.condition_ids = [
            (0, 0, {"question_path": "country", "operator": "in", "choice_ids": kenya.ids})
        ]
        self.fake.add_submissions(self.uid, [person(1, tags="farmer", country="south_sudan")])
        required = type(self.env["res.partner"])._fields["parent_id"]
        self.patch(required, "required", True)
        with mute_logger(*MUTE):
            self._sync_all()
        sub = self._subs()
        self.assertEqual(sub.state, "error")
        self.assertIn("Household", sub.error_message)
        self.assertIn("did not apply", sub.error_message)

    def test_skipped_then_reprocessed_after_the_condition_changed(self):
        self.member.enabled = False
        kenya = self.form.question_ids.filtered(lambda q: q.xpath == "country").choice_ids.filtered(
            lambda c: c.name == "kenya"
        )
        condition = self.env["kobo.mapping.condition"].create(
            {
                "mapping_id": self.mapping.id,
                "question_path": "country",
                "operator": "in",
                "choice_ids": kenya.ids,
            }
        )
        self.assertEqual(self.mapping.conditions_text, "when Country is one of Kenya")
        self.fake.add_submissions(
            self.uid, [person(1, country="kenya"), person(2, country="south_sudan")]
        )
        self._sync_all()
        subs = self._subs().sorted("kobo_id")
        self.assertEqual(subs.mapped("state"), ["imported", "skipped"])
        self.assertEqual(subs[1].error_message, "No mapping applies: Country is none of Kenya.")
        self.assertEqual(self.form.skipped_count, 1)
        self.assertEqual(len(self._partners()), 1)
        condition.choice_ids = condition.choice_ids.question_id.choice_ids
        subs[1].with_user(self.manager).action_reprocess()
        self.assertEqual(subs[1].state, "imported")
        self.assertEqual(len(self._partners()), 2)

    def test_edits_update_each_mappings_record(self):
        sub = self.fake.add_submission(self.uid, person(1, tags="farmer"))
        self._sync_all()
        household, member = self._partners(), self._members()
        self.fake.edit_submission(
            self.uid, sub["_id"], {"name": "Person One", "email": "one@x.org"}
        )
        self._sync_all()
        self.assertEqual(self._members(), member, "updated, not duplicated")
        self.assertEqual(member.name, "one@x.org")
        self.assertEqual(household.name, "Person One")
        self.assertEqual(self.form.last_sync_result, "0 new, 1 updated, 0 errors")
        # Keep as first imported, for the member only
        self.member.edit_policy = "ignore"
        self.fake.edit_submission(
            self.uid, sub["_id"], {"name": "Person Uno", "email": "uno@x.org"}
        )
        self._sync_all()
        self.assertEqual(household.name, "Person Uno")
        self.assertEqual(member.name, "one@x.org")
        # an edit makes the member's condition false: its record stays, said on the submission
        self.member.edit_policy = "update"
        self.fake.edit_submission(self.uid, sub["_id"], {"tags": "trader", "email": "t@x.org"})
        self._sync_all()
        stored = self._subs()
        self.assertEqual(stored.state, "imported")
        self.assertEqual(member.name, "one@x.org")
        self.assertTrue(member.exists())
        self.assertIn(
            "Member no longer applies (Tags does not contain Farmer)", stored.error_message
        )
        self.assertEqual(len(stored.link_ids), 2)

    def test_reprocess_reruns_every_mapping(self):
        self.member.enabled = False
        self.fake.add_submissions(self.uid, [person(1, tags="farmer")])
        self._sync_all()
        self.assertFalse(self._members())
        self.member.enabled = True
        sub = self._subs()
        sub._update_outcomes({sub.id: ("error", "to redo", False)})
        sub.action_reprocess()
        self.assertEqual(sub.state, "imported")
        self.assertEqual(len(self._partners()), 1, "the household updated, not duplicated")
        self.assertEqual(self._members().parent_id, self._partners())

    def test_link_line_checked_when_saved(self):
        with self.assertRaisesRegex(Exception, "earlier mapping"):
            self.mapping.write(
                {"line_ids": [self._line("", "parent_id", source_mapping_id=self.member.id)]}
            )
        with self.assertRaisesRegex(Exception, "many2one"):
            self.member.write(
                {"line_ids": [self._line("", "comment", source_mapping_id=self.mapping.id)]}
            )

    def test_links_follow_the_submissions_company_rule(self):
        """A manager of another company sees neither the submissions nor
        their links."""
        self.fake.add_submissions(self.uid, [person(1, tags="farmer")])
        self._sync_all()
        other = self.env["res.company"].create({"name": "Other NGO"})
        links = self._subs().link_ids
        self.assertEqual(len(links), 2)
        self.assertTrue(self.form.company_id)
        self.assertEqual(links.company_id, self.form.company_id)
        self.assertEqual(links.with_user(self.manager).search([("id", "in", links.ids)]), links)
        stranger = self.manager.copy(
            {"login": "other_manager", "company_id": other.id, "company_ids": [(6, 0, other.ids)]}
        )
        Link = self.env["kobo.submission.link"].with_user(stranger)
        self.assertFalse(Link.search([]))
        with self.assertRaises(UserError):  # no access right, and the model refuses it
            self.env["kobo.submission.link"].with_user(self.manager).create(
                {
                    "submission_id": self._subs().id,
                    "mapping_id": self.mapping.id,
                    "res_model": "res.partner",
                    "res_id": 1,
                }
            )

    def test_migration_makes_links_of_old_records(self):
        """A database of the single-mapping version: res_model/res_id only."""
        self.member.enabled = False
        self.fake.add_submissions(self.uid, [person(1)])
        self._sync_all()
        sub = self._subs()
        self.env.cr.execute("DELETE FROM kobo_submission_link")
        self.env.cr.execute(
            "CREATE UNIQUE INDEX kobo_mapping_one_enabled_per_form ON kobo_mapping (form_id) "
            "WHERE enabled AND false"
        )
        path = file_path("kobo_connector/migrations/18.0.1.1.0/post-migrate.py")
        spec = importlib.util.spec_from_file_location("kobo_post_migrate_18", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.1.0.0")
        self.env["kobo.submission.link"].invalidate_model()
        sub.invalidate_recordset()
        self.assertEqual(sub.link_ids.mapping_id, self.mapping)
        self.assertEqual(sub.link_ids.res_id, sub.res_id)
        self.env.cr.execute(
            "SELECT 1 FROM pg_indexes WHERE indexname = 'kobo_mapping_one_enabled_per_form'"
        )
        self.assertFalse(self.env.cr.fetchall())
