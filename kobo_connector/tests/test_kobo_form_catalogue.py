from odoo.tests import tagged

from odoo.addons.kobo_connector.kobo_kpi.client import KpiClient
from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .common import EN, FR, KoboCase, row

HOUSEHOLD = [
    row("start", "start"),
    row("begin_group", "household", "Household", "Ménage"),
    row("text", "head", "Head of household", "Chef de ménage", required="yes"),
    row("begin_group", "address", "Address", "Adresse"),
    row(
        "text",
        "village",
        "Village",
        "Village",
        **{"hint::English (en)": "As the village chief says it"},
    ),
    row("end_group"),
    row("begin_repeat", "members", "Members", "Membres"),
    row("text", "member_name", "Name", "Nom"),
    row("select_one gender", "gender", "Gender", "Genre", required="yes"),
    row("begin_repeat", "phones", "Phones", "Téléphones"),
    row("text", "phone", "Phone number", "Numéro de téléphone"),
    row("end_repeat"),
    row("end_repeat"),
    row("end_group"),
    row("select_multiple crops", "crops", "Crops grown", "Cultures"),
]
CHOICES = [
    {"list_name": "gender", "name": "female", EN: "Female", FR: "Femme"},
    {"list_name": "gender", "name": "male", EN: "Male", FR: "Homme"},
    {"list_name": "crops", "name": "maize", EN: "Maize", FR: "Maïs"},
    {"list_name": "crops", "name": "beans", EN: "Beans", FR: "Haricots"},
    {"list_name": "crops", "name": "cassava", EN: "Cassava", FR: "Manioc"},
]


@tagged("post_install", "-at_install")
class TestKoboFormCatalogue(KoboCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kobo = KpiClient(cls.fake.url, cls.fake.token, timeout=10)
        cls.addClassCleanup(cls.kobo.close)

    def _form(self, survey, choices=(), deploy=True, name="Household"):
        uid = self.fake.create_asset(
            xlsform=build_xlsform(survey, choices), name=name, deploy=deploy
        )
        form = self.env["kobo.form"].create(
            {"server_id": self.server.id, "asset_uid": uid, "name": uid}
        )
        form._refresh_from_kobo(self.server._get_client())
        return form.with_user(self.manager)

    def _replace_on_kobo(self, form, survey, choices=()):
        """Upload a new XLSForm onto the form, as someone would on KoBo."""
        self.kobo.import_xlsform(
            build_xlsform(survey, choices),
            "new.xlsx",
            destination_uid=form.asset_uid,
            poll_interval=0.01,
        )

    def _questions(self, form, active=True):
        """The form's own nodes (KoBo's system fields, in every catalogue, apart)."""
        Question = self.env["kobo.form.question"].with_context(active_test=False)
        return Question.search(
            [("form_id", "=", form.id), ("active", "=", active), ("is_system", "=", False)]
        )

    def _q(self, form, xpath):
        return self._questions(form).filtered(lambda q: q.xpath == xpath)

    def test_groups_repeats_and_nested_repeats(self):
        form = self._form(HOUSEHOLD, CHOICES)
        self.assertEqual(
            self._questions(form).mapped("xpath"),
            [
                "start",
                "household",
                "household/head",
                "household/address",
                "household/address/village",
                "household/members",
                "household/members/member_name",
                "household/members/gender",
                "household/members/phones",
                "household/members/phones/phone",
                "crops",
            ],
        )
        self.assertEqual(form.question_count, 7, "groups and repeats are not questions")
        household, members, phones = (
            self._q(form, x) for x in ("household", "household/members", "household/members/phones")
        )
        self.assertRecordValues(
            household | members | phones,
            [
                {"is_group": True, "is_repeat": False, "type": "begin_group", "repeat_xpath": ""},
                {"is_group": False, "is_repeat": True, "type": "begin_repeat", "repeat_xpath": ""},
                {
                    "is_group": False,
                    "is_repeat": True,
                    "type": "begin_repeat",
                    "repeat_xpath": "household/members",
                },
            ],
        )
        self.assertRecordValues(
            self._q(form, "household/address/village")
            | self._q(form, "household/members/gender")
            | self._q(form, "household/members/phones/phone"),
            [
                {"group_xpath": "household/address", "repeat_xpath": "", "required": False},
                {
                    "group_xpath": "household/members",
                    "repeat_xpath": "household/members",
                    "required": True,
                },
                {
                    "group_xpath": "household/members/phones",
                    "repeat_xpath": "household/members/phones",
                    "required": False,
                },
            ],
        )
        self.assertEqual(self._q(form, "household/members/phones/phone").parent_id, phones)
        self.assertEqual(phones.parent_id, members)
        self.assertEqual(members.parent_id, household)
        self.assertFalse(household.parent_id)
        self.assertEqual(members.child_ids.mapped("name"), ["member_name", "gender", "phones"])
        self.assertTrue(self._q(form, "start").is_metadata)
        self.assertEqual(self._q(form, "household/head").type, "text")
        self.assertEqual(
            self._q(form, "household/address/village").hint, "As the village chief says it"
        )

    def test_select_questions_and_two_languages(self):
        form = self._form(HOUSEHOLD, CHOICES)
        self.assertEqual(form.languages, "English (en), Français (fr)")
        head = self._q(form, "household/head")
        self.assertEqual(head.label, "Head of household")
        self.assertEqual(
            head.label_translations,
            "English (en): Head of household\nFrançais (fr): Chef de ménage",
        )
        self.assertEqual(head.display_name, "Head of household (household/head)")

        gender, crops = self._q(form, "household/members/gender"), self._q(form, "crops")
        self.assertEqual((gender.type, gender.list_name), ("select_one", "gender"))
        self.assertEqual((crops.type, crops.list_name), ("select_multiple", "crops"))
        self.assertRecordValues(
            gender.choice_ids,
            [
                {
                    "name": "female",
                    "label": "Female",
                    "label_translations": "English (en): Female\nFrançais (fr): Femme",
                },
                {
                    "name": "male",
                    "label": "Male",
                    "label_translations": "English (en): Male\nFrançais (fr): Homme",
                },
            ],
        )
        self.assertEqual(crops.choice_ids.mapped("name"), ["maize", "beans", "cassava"])
        self.assertEqual(crops.choice_ids.mapped("label"), ["Maize", "Beans", "Cassava"])
        self.assertFalse(self._q(form, "household/head").choice_ids)

    def test_one_language(self):
        form = self._form(
            [
                {"type": "text", "name": "q", "label": "Question"},
                {"type": "select_one yn", "name": "yn", "label": "Yes or no"},
            ],
            [{"list_name": "yn", "name": "y", "label": "Yes"}],
        )
        self.assertEqual(self._q(form, "q").label, "Question")
        self.assertFalse(self._q(form, "q").label_translations)
        self.assertEqual(self._q(form, "yn").choice_ids.label, "Yes")

    def test_catalogue_follows_the_deployed_version(self):
        v1 = [
            row("text", "name", "Name", "Nom"),
            row("select_one colour", "colour", "Colour", "Couleur"),
            row("integer", "old_question", "Old", "Ancienne"),
        ]
        colours = [
            {"list_name": "colour", "name": "red", EN: "Red", FR: "Rouge"},
            {"list_name": "colour", "name": "blue", EN: "Blue", FR: "Bleu"},
        ]
        form = self._form(v1, colours)
        deployed = form.deployed_version_id
        name_question = self._q(form, "name")

        v2 = [
            row("text", "name", "Full name", "Nom complet"),
            row("select_one colour", "colour", "Colour", "Couleur"),
            row("begin_repeat", "visits", "Visits", "Visites"),
            row("date", "visit_date", "Date", "Date"),
            row("end_repeat"),
        ]
        self._replace_on_kobo(
            form, v2, [*colours, {"list_name": "colour", "name": "green", EN: "Green", FR: "Vert"}]
        )
        self.fake.reset_requests()
        form.action_refresh_from_kobo()
        self.assertTrue(form.needs_redeploy)
        self.assertNotEqual(form.version_id, deployed)
        self.assertEqual(
            (form.deployed_version_id, form.catalogue_version_id), (deployed, deployed)
        )
        self.assertEqual(self._questions(form).mapped("xpath"), ["name", "colour", "old_question"])
        self.assertEqual(self._q(form, "name").label, "Name")
        self.assertEqual(self._q(form, "colour").choice_ids.mapped("name"), ["red", "blue"])
        self.assertNotIn(
            ("GET", f"/api/v2/assets/{form.asset_uid}/versions/{deployed}/"),
            self.fake.requests,
            "the catalogue of the deployed version is already there: not read again",
        )

        form.action_redeploy()
        self.assertFalse(form.needs_redeploy)
        self.assertEqual(form.catalogue_version_id, form.version_id)
        self.assertEqual(
            self._questions(form).mapped("xpath"),
            ["name", "colour", "visits", "visits/visit_date"],
        )
        self.assertEqual(self._q(form, "name"), name_question, "same XPath, same record")
        self.assertEqual(name_question.label, "Full name")
        self.assertEqual(
            self._q(form, "colour").choice_ids.mapped("name"), ["red", "blue", "green"]
        )
        self.assertTrue(self._q(form, "visits").is_repeat)
        self.assertEqual(self._questions(form, active=False).mapped("xpath"), ["old_question"])

    def test_deployed_version_read_when_first_seen_after_a_change(self):
        """A form first read while its latest version is not the deployed one
        gets the deployed version's questions."""
        uid = self.fake.create_asset(
            xlsform=build_xlsform([row("text", "first", "First", "Premier")]), deploy=True
        )
        self.kobo.import_xlsform(
            build_xlsform([row("text", "second", "Second", "Second")]),
            "new.xlsx",
            destination_uid=uid,
            poll_interval=0.01,
        )
        self.fake.reset_requests()
        self.server.with_user(self.manager).action_fetch_forms()
        form = self.env["kobo.form"].search([("asset_uid", "=", uid)])
        self.assertTrue(form.needs_redeploy)
        self.assertEqual(self._questions(form).mapped("xpath"), ["first"])
        self.assertEqual(form.catalogue_version_id, form.deployed_version_id)
        self.assertIn(
            ("GET", f"/api/v2/assets/{uid}/versions/{form.deployed_version_id}/"),
            self.fake.requests,
        )

    def test_draft_follows_the_latest_version(self):
        form = self._form([row("text", "first", "First", "Premier")], deploy=False)
        self._replace_on_kobo(form, [row("text", "second", "Second", "Second")])
        form.action_refresh_from_kobo()
        self.assertFalse(form.needs_redeploy)
        self.assertEqual(form.catalogue_version_id, form.version_id)
        self.assertEqual(self._questions(form).mapped("xpath"), ["second"])
        self.assertEqual(self._questions(form, active=False).mapped("xpath"), ["first"])

    def test_kobo_user_reads_the_catalogue(self):
        form = self._form(HOUSEHOLD, CHOICES).with_user(self.user)
        self.assertEqual(form.question_count, 7)
        action = form.action_open_questions()
        questions = self.env[action["res_model"]].with_user(self.user).search(action["domain"])
        self.assertEqual(len(questions), 11 + 4, "the form's nodes and KoBo's 4 system fields")
        self.assertEqual(len(questions.filtered("is_system")), 4)
        self.assertEqual(len(questions.choice_ids), 5)

    def test_system_fields_in_every_catalogue(self):
        """_id, _uuid, _submission_time and _submitted_by are in every form's
        catalogue, typed, kept across versions, and counted as no question."""
        system = ["_id", "_uuid", "_submission_time", "_submitted_by"]
        for deploy in (True, False):
            form = self._form([row("text", "first", "First", "Premier")], deploy=deploy)
            Question = self.env["kobo.form.question"].with_context(active_test=False)
            rows = Question.search([("form_id", "=", form.id), ("is_system", "=", True)])
            self.assertEqual(rows.mapped("xpath"), system)
            self.assertEqual(rows.mapped("type"), ["integer", "text", "datetime", "text"])
            self.assertTrue(all(rows.mapped("active")))
            self.assertFalse(rows.filtered("is_metadata") | rows.filtered("is_group"))
            self.assertEqual(form.question_count, 1, "system fields are not the form's questions")
            self._replace_on_kobo(form, [row("text", "second", "Second", "Second")])
            form.action_refresh_from_kobo()
            if deploy:
                form.action_redeploy()
            again = Question.search([("form_id", "=", form.id), ("is_system", "=", True)])
            self.assertEqual(again, rows, "same records, not created twice")
            self.assertTrue(all(again.mapped("active")), "never archived with old questions")
