"""Issue 17: one company per chain.

A server always has a company: a server shared by all companies (none) gets
the company of the user who created it (else the first company); its forms
and everything stored with a form's company follow. The token wizard's
passwords (before the exchange moved into create()) are blanked."""

import logging

_logger = logging.getLogger(__name__)

# tables whose company_id is the form's (stored related fields)
FORM_CHAIN = (
    "kobo_form_question",
    "kobo_mapping",
    "kobo_submission",
    "kobo_form_hook",
    "kobo_form_assignment",
)


def migrate(cr, version):
    cr.execute(
        """
        UPDATE kobo_server s
           SET company_id = COALESCE(
                   (SELECT u.company_id FROM res_users u WHERE u.id = s.create_uid),
                   (SELECT min(id) FROM res_company))
         WHERE s.company_id IS NULL
        """
    )
    _logger.info("kobo_connector: %s servers given a company", cr.rowcount)
    cr.execute(
        """
        UPDATE kobo_form f SET company_id = s.company_id
          FROM kobo_server s
         WHERE f.server_id = s.id AND f.company_id IS DISTINCT FROM s.company_id
        """
    )
    for table in FORM_CHAIN:
        cr.execute("SELECT 1 FROM information_schema.tables WHERE table_name = %s", (table,))
        if not cr.fetchone():
            continue
        cr.execute(
            f"""
            UPDATE {table} t SET company_id = f.company_id
              FROM kobo_form f
             WHERE t.form_id = f.id AND t.company_id IS DISTINCT FROM f.company_id
            """
        )
    cr.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_name = 'kobo_server_token_wizard'"
    )
    if cr.fetchone():
        cr.execute("UPDATE kobo_server_token_wizard SET password = NULL")
