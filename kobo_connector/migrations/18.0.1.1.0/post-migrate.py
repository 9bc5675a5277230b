"""Several mappings per form (issue 18): the one-enabled-mapping index goes,
and each submission's record (``res_model``/``res_id``, with the lines it
made) becomes a link of the mapping that made it: the form's enabled mapping
of that model (else any of its mappings of that model). Issue 20: submissions
stored before they kept their coordinates get them."""

from odoo import SUPERUSER_ID, api

LINKS = """
    INSERT INTO kobo_submission_link (submission_id, mapping_id, res_model, res_id,
           import_lines, company_id, create_uid, write_uid, create_date, write_date)
    SELECT s.id, m.id, s.res_model, s.res_id, {lines}, s.company_id,
           s.create_uid, s.write_uid, s.create_date, s.write_date
      FROM kobo_submission s
      JOIN LATERAL (
           SELECT id FROM kobo_mapping m
            WHERE m.form_id = s.form_id AND m.model_name = s.res_model
            ORDER BY m.enabled DESC NULLS LAST, m.id LIMIT 1
      ) m ON TRUE
     WHERE s.res_id IS NOT NULL AND s.res_model IS NOT NULL
    ON CONFLICT (submission_id, mapping_id) DO NOTHING
"""


def migrate(cr, version):
    cr.execute("DROP INDEX IF EXISTS kobo_mapping_one_enabled_per_form")
    cr.execute(
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_name = 'kobo_submission' AND column_name = 'import_lines'"
    )
    # the lines each record's import made move with it (the column stays, unused)
    lines = "s.import_lines" if cr.fetchone() else "NULL::jsonb"
    cr.execute(LINKS.format(lines=lines))  # pylint: disable=sql-injection
    env = api.Environment(cr, SUPERUSER_ID, {})
    forms = env["kobo.form"].with_context(active_test=False).search([])
    env["kobo.submission"]._fill_locations(forms)
