"""Where submissions came from: latitude and longitude of each, from KoBo's
``_geolocation`` (its first geopoint) or from the geopoint question the form
chose. Stored with the submission (the import's COPY), kept on edits, filled
again when the form's choice changes (and for old rows by a migration)."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..kobo_kpi.submission import location

FILL_BATCH = 5000


class KoboSubmission(models.Model):
    _inherit = "kobo.submission"

    latitude = fields.Float(readonly=True, digits=(10, 7), aggregator=None, kobo_system=True)
    longitude = fields.Float(readonly=True, digits=(10, 7), aggregator=None, kobo_system=True)

    @api.model
    def _fill_locations(self, forms):
        """(Re)compute the coordinates of the stored submissions of ``forms``:
        keyset-paged, only the two answers read, one UPDATE per page."""
        self.flush_model(["payload", "latitude", "longitude"])
        cr = self.env.cr
        for form in forms:
            xpath = form._location_xpath()
            last = 0
            while True:
                cr.execute(
                    "SELECT id, payload->'_geolocation', payload->%s FROM kobo_submission "
                    "WHERE form_id = %s AND id > %s ORDER BY id LIMIT %s",
                    (xpath or "_geolocation", form.id, last, FILL_BATCH),
                )
                rows = cr.fetchall()
                if not rows:
                    break
                ids, lats, lons = [], [], []
                for sub_id, geolocation, answer in rows:
                    lat, lon = location({"_geolocation": geolocation, xpath: answer}, xpath)
                    ids.append(sub_id)
                    lats.append(lat)
                    lons.append(lon)
                cr.execute(
                    "UPDATE kobo_submission s SET latitude = v.lat, longitude = v.lon "
                    "FROM unnest(%s::int[], %s::float8[], %s::float8[]) AS v(id, lat, lon) "
                    "WHERE s.id = v.id",
                    (ids, lats, lons),
                )
                last = ids[-1]
        self.invalidate_model(["latitude", "longitude"])


class KoboForm(models.Model):
    _inherit = "kobo.form"

    location_question_id = fields.Many2one(
        "kobo.form.question",
        string="Location Question",
        domain="[('form_id', '=', id), ('type', '=', 'geopoint'), ('repeat_xpath', '=', False)]",
        help="The geopoint that places a submission on the map. Empty: KoBo's own "
        "location of the submission (the form's first geopoint).",
    )

    @api.constrains("location_question_id")
    def _check_location_question(self):
        for form in self:
            question = form.location_question_id
            if question and (question.form_id != form or question.type != "geopoint"):
                raise ValidationError(
                    self.env._("The location question must be a geopoint of this form.")
                )

    def _location_xpath(self):
        self.ensure_one()
        return self.location_question_id.xpath or None

    def write(self, vals):
        res = super().write(vals)
        if "location_question_id" in vals:
            self.env["kobo.submission"]._fill_locations(self)
        return res
