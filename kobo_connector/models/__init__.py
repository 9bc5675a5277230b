from . import (
    kobo_form,
    kobo_form_question,
    kobo_form_sync,
    kobo_mapping,
    kobo_mapping_assist,
    kobo_mapping_value,
    kobo_server,
    kobo_submission,
    kobo_submission_lookup,
    kobo_sync_request,
)
