"""The dashboard tour in French and in Arabic (right to left), with the
addons' own translations (the host's Odoo carries none of its own).

These tours pass once ``<addon>/i18n/fr.po`` and ``ar.po`` exist: the labels
they look for are the translations those files give."""

import re

import polib

from odoo.tests import tagged
from odoo.tools.misc import file_path

from .test_ui_dashboard import DashboardTourCase

LANGS = {"fr_FR": "fr", "ar_001": "ar"}  # Odoo's code: the .po it reads


class TranslatedTourCase(DashboardTourCase):
    ADDONS = ("kobo_connector",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in LANGS:
            cls.env["res.lang"]._activate_lang(code)
        cls.env["ir.module.module"].search([("name", "in", cls.ADDONS)])._update_translations(
            list(LANGS)
        )

    def _translations(self, addon, lang, *terms):
        """{term: translation} from ``addon/i18n/<lang>.po``; each term must
        have one that differs from the English."""
        try:
            path = file_path(f"{addon}/i18n/{lang}.po")
        except FileNotFoundError:
            self.fail(f"{addon}/i18n/{lang}.po is missing: the {lang} UI is English")
        found = {e.msgid: e.msgstr for e in polib.pofile(path) if e.translated()}
        for term in terms:
            self.assertTrue(
                found.get(term) and found[term] != term,
                f"{addon}/i18n/{lang}.po: {term!r}",
            )
        return {term: found[term] for term in terms}

    def _as(self, code):
        self.reader.lang = code
        return "kobo_reader"


@tagged("post_install", "-at_install")
class TestTranslatedDashboardTours(TranslatedTourCase):
    def _labels(self, lang):
        # the card's terms, as the view's translation has them
        tr = self._translations(
            "kobo_connector", lang, "<span>Imported</span>", "<span>Errors</span>"
        )
        text = {term: re.sub(r"<[^>]+>", "", value).strip() for term, value in tr.items()}
        return {
            "imported": text["<span>Imported</span>"],
            "errors": text["<span>Errors</span>"],
            "rtl": lang == "ar",
        }

    def test_french_dashboard_tour(self):
        self._start_kobo_tour(
            "kobo_connector_dashboard_tour", self._labels("fr"), login=self._as("fr_FR")
        )

    def test_arabic_dashboard_tour(self):
        self._start_kobo_tour(
            "kobo_connector_dashboard_tour",
            self._labels("ar"),
            login=self._as("ar_001"),
        )
