from odoo.exceptions import ValidationError
from odoo.tests import tagged

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
        # a system administrator allows contact tags as a target
        self.env["kobo.allowed.model"].create({"name": "Contact Tag", "model": Tag._name})
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
            },
        )
        mapping.action_suggest()
        self.assertEqual(len(mapping.line_ids), 4, "nothing added twice")

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

    def test_system_fields_map_like_questions(self):
        self.mapping.line_ids = [self._line("_id", "ref"), self._line("_uuid", "function")]
        sub = self.fake.add_submission(self.uid, person(3))
        self._sync_all()
        partner = self._partners()
        self.assertEqual(partner.ref, str(sub["_id"]))
        self.assertEqual(partner.function, sub["_uuid"])
