from odoo import models


class KoboForm(models.Model):
    _inherit = "kobo.form"

    def action_open_map(self):
        """Where this form's data came from: its submissions on the map."""
        action = self._open_submissions([])
        map_view = self.env.ref("kobo_connector_map.kobo_submission_view_leaflet_map")
        action["views"] = [(map_view.id, "leaflet_map"), (False, "list"), (False, "form")]
        action["view_mode"] = "leaflet_map,list,form"
        return action
