from odoo import api, models

MAP_LIMIT = 5000  # markers drawn at most (the newest first)
TILE_PARAM = "leaflet.tile_url"  # web_leaflet_lib's setting, read by the map
OSM_TILES = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"


class KoboSubmission(models.Model):
    _inherit = "kobo.submission"

    @api.model
    def kobo_map_points(self, domain, limit=MAP_LIMIT):
        """The located submissions among ``domain`` (the map's search), as
        the reader may read them: position, state, and the record each became."""
        subs = self.search(
            [*domain, "|", ("latitude", "!=", 0), ("longitude", "!=", 0)],
            limit=min(int(limit), MAP_LIMIT),
            order="submission_time desc, id desc",
        )
        labels = dict(self._fields["state"]._description_selection(self.env))
        return [
            {
                "id": sub.id,
                "lat": sub.latitude,
                "lng": sub.longitude,
                "state": sub.state,
                "state_label": labels.get(sub.state, sub.state),
                "title": sub.display_name,
                "submitted_by": sub.submitted_by or "",
                "submission_time": sub.submission_time,
                "record_name": sub.record_name or "",
            }
            for sub in subs
        ]

    @api.model
    def _kobo_map_default_tiles(self):
        """OpenStreetMap's tiles unless a tile server is set (web_leaflet_lib
        leaves the setting at "False" outside demo databases)."""
        # sudo: a setting of the map, written once at install
        params = self.env["ir.config_parameter"].sudo()
        if params.get_param(TILE_PARAM) in (False, "", "False"):
            params.set_param(TILE_PARAM, OSM_TILES)
