from types import SimpleNamespace

from lxml import etree

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .common import EN, FR, KoboCase, row
from .test_kobo_import import ImportCase, person


@tagged("post_install", "-at_install")
class TestMappingAssist(ImportCase):
    def _line_of(self, field_name, mapping=None):
        return (mapping or self.mapping).line_ids.filtered(
            lambda line: line.field_name == field_name
        )

    def test_enable_check_names_the_required_fields(self):
        self.mapping.enabled = False
        Tag = self.env["res.partner.category"]
        # contact tags are an allowed target (created when missing)
        self.assertTrue(self.env["kobo.allowed.model"].search([("model", "=", Tag._name)]))
        mapping = self.env["kobo.mapping"].create(
            {"form_id": self.form.id, "model_name": Tag._name}
        )
        with self.assertRaises(ValidationError) as caught:
            mapping.enabled = True
        message = caught.exception.args[0]
        self.assertIn(f"{Tag._description}: {Tag._fields['name'].string}", message)
        self.assertNotIn("Color", message, "a field with a default is not required")
        mapping.line_ids = [self._line("", "name", constant="From KoBo")]
        mapping.enabled = True
        self.assertTrue(mapping.enabled)

    def test_suggest_fills_unmapped_questions_only(self):
        self.mapping.enabled = False
        mapping = self.env["kobo.mapping"].create(
            {
                "form_id": self.form.id,
                "model_id": self.env["ir.model"]._get("res.partner").id,
                "line_ids": [self._line("email", "comment")],
            }
        )
        mapping.action_suggest()
        pairs = {(line.question_path, line.field_name) for line in mapping.line_ids}
        self.assertEqual(
            pairs,
            {
                ("email", "comment"),
                ("name", "name"),
                ("country", "country_id"),
                ("tags", "category_id"),
                ("members", "child_ids"),
            },
        )
        self.assertEqual(
            {(line.question_path, line.field_name) for line in mapping.line_ids.child_ids},
            {("members/member_name", "name")},
        )
        mapping.action_suggest()
        self.assertEqual(len(mapping.line_ids), 5, "nothing added twice")
        self.assertEqual(len(mapping.line_ids.child_ids), 1)

    def test_preview_writes_nothing(self):
        self.fake.add_submission(self.uid, person(7, country="kenya", tags="farmer"))
        self._sync_all()
        partners = self.env["res.partner"].search_count([])
        self.mapping.line_ids = [self._line("", "ref", constant="KOBO")]
        action = self.mapping.action_preview()
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create({})
        html = str(wizard.result)
        self.assertIn("Person 7", html)
        self.assertIn("Kenya", html, "the related record found")
        self.assertIn("KOBO", html)
        self.assertIn("o_kobo_preview_record", html)
        self.assertIn("o_kobo_preview_db_ok", html, "tried in the database, rolled back")
        self.assertEqual(self.env["res.partner"].search_count([]), partners)

    def test_preview_creates_nothing_when_missing(self):
        tags = self._line_of("category_id")
        tags.create_missing = True
        self.fake.add_submission(self.uid, person(8, tags="beekeeper"))
        self._sync_all()
        Tag = self.env["res.partner.category"]
        Tag.search([("name", "=ilike", "beekeeper")]).unlink()
        action = self.mapping.action_preview()
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create({})
        html = str(wizard.result)
        self.assertIn("Would be created", html)
        self.assertIn("beekeeper", html)
        self.assertFalse(Tag.search([("name", "=ilike", "beekeeper")]), "nothing created")

    def test_preview_shows_what_only_the_database_refuses(self):
        """A contact without a name passes new() but not the CHECK constraint
        res_partner_check_name: Preview says so, and writes nothing."""
        self.fake.add_submission(self.uid, person(9, name=""))
        self._sync_all()
        partners = self.env["res.partner"].search_count([])
        action = self.mapping.with_user(self.manager).action_preview()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.manager)
            .with_context(**action["context"])
            .create({})
        )
        html = str(wizard.result)
        self.assertIn("o_kobo_preview_record", html, "new() built it")
        self.assertIn("o_kobo_preview_db_error", html)
        self.assertIn("check_name", html)
        self.assertNotIn("o_kobo_preview_db_ok", html)
        self.assertEqual(self.env["res.partner"].search_count([]), partners)

    def test_preview_shows_conversion_errors(self):
        self.fake.add_submission(self.uid, person(8, age="old"))
        self._sync_all()
        self.mapping.line_ids = [self._line("age", "color")]
        action = self.mapping.action_preview()
        html = str(
            self.env[action["res_model"]].with_context(**action["context"]).create({}).result
        )
        self.assertIn("not a whole number", html)

    def test_value_map_filled_from_choice_labels(self):
        country = self._line_of("country_id")
        country.action_fill_value_map()
        values = {v.choice: v.res_id for v in country.value_ids}
        self.assertEqual(
            values, {"kenya": self.env.ref("base.ke").id, "south_sudan": self.env.ref("base.ss").id}
        )
        country.value_ids.filtered(lambda v: v.choice == "kenya").res_id = self.env.ref("base.ug")
        country.action_fill_value_map()
        self.assertEqual(len(country.value_ids), 2, "never overwritten nor doubled")
        self.fake.add_submission(self.uid, person(1, country="kenya"))
        self._sync_all()
        self.assertEqual(self._partners().country_id, self.env.ref("base.ug"), "the edited map")

    def test_lookup_by_xml_id_and_create_missing(self):
        country = self._line_of("country_id")
        country.write({"question_path": False, "constant": "base.ke", "lookup_field": "xmlid"})
        tags = self._line_of("category_id")
        tags.create_missing = True
        self.fake.add_submission(self.uid, person(1, tags="farmer fisher"))
        self._sync_all()
        partner = self._partners()
        self.assertEqual(partner.country_id, self.env.ref("base.ke"))
        self.assertEqual(sorted(partner.category_id.mapped("name")), ["Farmer", "fisher"])
        with self.assertRaises(ValidationError):
            tags.lookup_field = "barcode"

    def test_lookup_by_field_without_create_is_an_error(self):
        tags = self._line_of("category_id")
        tags.lookup_field = "xmlid"
        self.fake.add_submission(self.uid, person(1, tags="farmer"))
        self._sync_all()
        sub = self._subs()
        self.assertEqual(sub.state, "error")
        self.assertIn('"farmer"', sub.error_message)

    def test_system_fields_are_picked_like_questions(self):
        """Picked in the question picker (not typed as a path), offered only
        the fields their type fits, and imported."""
        Question = self.env["kobo.form.question"].with_user(self.manager)
        domain = self.env["kobo.mapping.line"]._fields["question_id"].domain
        picker = Question.search(safe_eval(domain, {"form_id": self.form.id}))
        self.assertLessEqual(
            {"_id", "_uuid", "_submission_time", "_submitted_by"}, set(picker.mapped("xpath"))
        )
        by_path = {q.xpath: q for q in picker}
        mapping = self.mapping.with_user(self.manager)
        ref = self.env["ir.model.fields"]._get("res.partner", "ref")
        function = self.env["ir.model.fields"]._get("res.partner", "function")
        mapping.line_ids = [
            (0, 0, {"question_id": by_path["_id"].id, "field_id": ref.id}),
            (0, 0, {"question_id": by_path["_submission_time"].id, "field_id": function.id}),
        ]
        kobo_id, time = self._line_of("ref", mapping), self._line_of("function", mapping)
        self.assertEqual((kobo_id.question_path, time.question_path), ("_id", "_submission_time"))
        self.assertIn("integer", kobo_id.fit_types)
        self.assertNotIn("many2one", kobo_id.fit_types, "a KoBo ID names no record")
        self.assertLessEqual({"date", "datetime", "char"}, set(time.fit_types))
        self.assertNotIn("integer", time.fit_types)
        sub = self.fake.add_submission(self.uid, person(4))
        self._sync_all()
        partner = self._partners()
        self.assertEqual(partner.ref, str(sub["_id"]))
        self.assertIn(sub["_submission_time"][:10], partner.function)

    def test_system_fields_map_like_questions(self):
        self.mapping.line_ids = [self._line("_id", "ref"), self._line("_uuid", "function")]
        sub = self.fake.add_submission(self.uid, person(3))
        self._sync_all()
        partner = self._partners()
        self.assertEqual(partner.ref, str(sub["_id"]))
        self.assertEqual(partner.function, sub["_uuid"])

    # ------------------------------------------------------------------
    # The Odoo Field picker offers the fields that fit the question
    # ------------------------------------------------------------------
    def _picker_domain(self, model, xpath):
        """The domain the web client gives the field picker at ``xpath`` of
        ``model``'s form view, as the KoBo manager gets it."""
        arch = self.env[model].with_user(self.manager).get_views([(False, "form")])
        node = etree.fromstring(arch["views"]["form"]["arch"]).xpath(xpath)
        self.assertEqual(len(node), 1, xpath)
        return node[0].get("domain")

    def _offered(self, domain, line, **parent):
        values = {"fit_types": line.fit_types, "target_model": line.target_model}
        values["parent"] = SimpleNamespace(**parent)
        Target = self.env["kobo.target.field"].with_user(self.manager)
        return Target.search(safe_eval(domain, values))

    def test_field_picker_offers_fields_that_fit_the_question(self):
        domain = self._picker_domain(
            "kobo.mapping", "//field[@name='line_ids']/list/field[@name='field_id']"
        )
        mapping = self.mapping.with_user(self.manager)
        self.mapping.line_ids = [self._line("age", "color")]
        age, tags, constant = (
            self._line_of("color"),
            self._line_of("category_id"),
            self._line_of("comment"),
        )
        offered = self._offered(domain, age, model_id=mapping.model_id.id)
        self.assertEqual(set(offered.mapped("model")), {"res.partner"})
        self.assertIn("color", offered.mapped("name"), "an integer into an integer")
        self.assertIn("name", offered.mapped("name"), "an integer into text")
        self.assertNotIn("country_id", offered.mapped("name"), "not an integer into a relation")
        self.assertNotIn("category_id", offered.mapped("name"))
        self.assertLessEqual(
            set(offered.mapped("ttype")), {"integer", "float", "monetary", "char", "text"}
        )
        offered = self._offered(domain, tags, model_id=mapping.model_id.id)
        self.assertIn("category_id", offered.mapped("name"), "select_multiple into tags")
        self.assertNotIn("color", offered.mapped("name"))
        self.assertNotIn("country_id", offered.mapped("name"))
        everything = self._offered(domain, constant, model_id=mapping.model_id.id)
        self.assertIn("country_id", everything.mapped("name"), "a constant fills any field")
        self.assertIn("color", everything.mapped("name"))
        self.assertNotIn("password", everything.mapped("name"), "the policy still applies")

    def test_repeat_line_picker_offers_the_comodel_fields_that_fit(self):
        members = self.env["ir.model.fields"]._get("res.partner", "child_ids")
        self.mapping.line_ids = [
            (
                0,
                0,
                {
                    "question_path": "members",
                    "field_id": members.id,
                    "child_ids": [
                        (
                            0,
                            0,
                            {
                                "mapping_id": self.mapping.id,
                                "question_path": "members/member_name",
                                "field_id": self.env["ir.model.fields"]
                                ._get("res.partner", "name")
                                .id,
                            },
                        )
                    ],
                },
            )
        ]
        repeat = self._line_of("child_ids")
        self.assertEqual(repeat.fit_types, ["one2many"], "a repeat fills a one2many only")
        top = self._picker_domain(
            "kobo.mapping", "//field[@name='line_ids']/list/field[@name='field_id']"
        )
        offered = self._offered(top, repeat, model_id=self.mapping.model_id.id)
        self.assertEqual(set(offered.mapped("ttype")), {"one2many"})
        self.assertIn("child_ids", offered.mapped("name"))
        domain = self._picker_domain(
            "kobo.mapping.line", "//field[@name='child_ids']/list/field[@name='field_id']"
        )
        child = repeat.child_ids
        offered = self._offered(domain, child, field_relation=repeat.field_relation)
        self.assertEqual(set(offered.mapped("model")), {"res.partner"})
        self.assertIn("name", offered.mapped("name"))
        self.assertNotIn("color", offered.mapped("name"), "text is no number")


CHECKS_SURVEY = [
    row("text", "head", "Head of household", "Chef de ménage", required="yes"),
    row("text", "work", "What do you do for a living?", "Profession"),
    row("select_one food", "food_type", "Food type", "Type d'aliment"),
    row("text", "type", "Type", "Type"),
    row("select_one addr", "address_type", "Address type", "Type d'adresse"),
    row("text", "origin", "Country of origin", "Pays d'origine"),
    row("geopoint", "where", "Where is the house?", "Où est la maison ?"),
    row("text", "write_to", "Write to", "Écrire à", constraint="regex(., '^[^@]+@[^@]+$')"),
    row("text", "reach", "Reach on", "Joindre au"),
    row("date", "dob", "Date of birth", "Date de naissance"),
]
CHECKS_CHOICES = [
    {"list_name": "food", "name": "morning_food", EN: "Morning food", FR: "Repas du matin"},
    {"list_name": "food", "name": "maize", EN: "Maize", FR: "Maïs"},
    {"list_name": "addr", "name": "contact", EN: "Contact", FR: "Contact"},
    {"list_name": "addr", "name": "shipping", EN: "Ship to", FR: "Delivery Address"},
]


def household(i, **extra):
    return {
        "head": f"Head {i}",
        "work": "Farmer",
        "food_type": "maize",
        "type": "Family",
        "address_type": "shipping" if i % 2 else "contact",
        "origin": "Kenya",
        "where": f"-1.{i}8 36.8{i} 1700 5",
        "write_to": f"head{i}@example.org",
        "reach": f"+254 700 000 00{i}",
        "dob": f"198{i}-05-17",
        **extra,
    }


@tagged("post_install", "-at_install")
class TestSuggestChecks(KoboCase):
    """Suggest on a bilingual form with stored submissions, as a KoBo manager:
    no line that cannot work, the lines a person would draw, and why."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a system administrator added a date of birth to contacts
        cls.env["ir.model.fields"].create(
            {
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "name": "x_birth_date",
                "field_description": "Birth Date",
                "ttype": "date",
            }
        )
        cls.uid = cls.fake.create_asset(
            xlsform=build_xlsform(CHECKS_SURVEY, CHECKS_CHOICES), name="Checks", deploy=True
        )
        cls.server.action_test_connection()
        cls.server.action_fetch_forms()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])

    def _store(self, *answers):
        for sub in self.fake.submissions(self.uid):
            self.fake.delete_submission(self.uid, sub["_id"])
        self.fake.add_submissions(self.uid, list(answers))
        self.form._sync_step(1000)  # stored before any mapping

    def _suggest(self, *drawn):
        """Suggest as a KoBo manager, on a mapping with the lines ``drawn`` by hand."""
        Field = self.env["ir.model.fields"]
        mapping = (
            self.env["kobo.mapping"]
            .with_user(self.manager)
            .create(
                {
                    "form_id": self.form.id,
                    "model_id": self.env["ir.model"]._get_id("res.partner"),
                    "line_ids": [
                        (0, 0, {"question_path": q, "field_id": Field._get("res.partner", f).id})
                        for q, f in drawn
                    ],
                }
            )
        )
        mapping.action_suggest()
        lines = {(line.question_path, line.field_name): line for line in mapping.line_ids}
        return mapping, lines

    def test_choices_that_are_the_field_values(self):
        self._store(household(1), household(2))
        _mapping, lines = self._suggest()
        address = lines[("address_type", "type")]
        self.assertEqual(
            {v.choice: v.value for v in address.value_ids},
            {"contact": "contact", "shipping": "delivery"},
            "by code, and by label in the other language",
        )
        self.assertIn("choices match the field's values", address.suggest_reason)
        self.assertNotIn(("food_type", "type"), lines)

    def test_nothing_that_cannot_work(self):
        self._store(household(1), household(2))
        # the address type already drawn by hand: the other questions try that field
        mapping, lines = self._suggest(("address_type", "comment"))
        self.assertNotIn(("food_type", "type"), lines, "its choices are no address types")
        self.assertNotIn(("type", "type"), lines, "a text answer is no address type by name")
        notes = mapping.suggest_notes
        self.assertIn("Food type → Address Type: its choices are not the field's values", notes)
        self.assertIn('Type → Address Type: Question "type": value "Family"', notes)
        self.assertIn(("origin", "country_id"), lines, "stored answers name countries")
        mapping.enabled = True
        subs = self.env["kobo.submission"].search([("form_id", "=", self.form.id)])
        subs.action_reprocess()
        self.assertEqual(set(subs.mapped("state")), {"imported"}, subs.mapped("error_message"))
        partner = self.env["res.partner"].browse(subs.sorted("kobo_id")[-1].res_id)
        self.assertEqual(partner.name, "Head 2")
        self.assertEqual(partner.country_id, self.env.ref("base.ke"))
        self.assertAlmostEqual(partner.partner_latitude, -1.28)
        self.assertAlmostEqual(partner.partner_longitude, 36.82)

    def test_a_text_held_back_when_a_stored_answer_names_nothing(self):
        self._store(household(1), household(2, origin="somewhere far"))
        mapping, lines = self._suggest()
        self.assertNotIn(("origin", "country_id"), lines)
        self.assertIn("Country of origin → Country", mapping.suggest_notes)
        self.assertIn("somewhere far", mapping.suggest_notes)

    def test_the_lines_a_person_would_draw_and_why(self):
        self._store(household(1), household(2))
        _mapping, lines = self._suggest()
        why = {pair: line.suggest_reason for pair, line in lines.items()}
        self.assertIn('"Head of household" means Name', why[("head", "name")])
        self.assertIn('"Profession" means Job Position', why[("work", "function")])
        self.assertIn("geopoint", why[("where", "partner_latitude")])
        self.assertIn("geopoint", why[("where", "partner_longitude")])
        self.assertIn("constraint", why[("write_to", "email")])
        self.assertIn("phone numbers", why[("reach", "phone")])
        self.assertIn("date of birth", why[("dob", "x_birth_date")])

    def test_without_stored_submissions_a_text_fills_no_list(self):
        mapping, lines = self._suggest(("address_type", "comment"))
        self.assertNotIn(("type", "type"), lines)
        self.assertIn(
            "Type → Address Type: a text answer fills a list of values only when stored "
            "answers show it",
            mapping.suggest_notes,
        )
        self.assertIn(
            "none stored to check",
            lines[("origin", "country_id")].suggest_reason,
            "a country of origin names a country: proposed, saying it was not checked",
        )

    def test_the_reason_goes_when_the_line_changes(self):
        _mapping, lines = self._suggest()
        line = lines[("work", "function")]
        self.assertTrue(line.suggest_reason)
        line.with_user(self.manager).write(
            {"field_id": self.env["ir.model.fields"]._get("res.partner", "comment").id}
        )
        self.assertFalse(line.suggest_reason)
