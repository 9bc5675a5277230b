"""Submissions stored before they kept their coordinates get them."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    forms = env["kobo.form"].with_context(active_test=False).search([])
    env["kobo.submission"]._fill_locations(forms)
