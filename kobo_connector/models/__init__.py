from . import (
    kobo_allowed_model,
    kobo_form,
    kobo_form_import,
    kobo_form_question,
    kobo_form_sync,
    kobo_mapping,
    kobo_server,
    kobo_submission,
    kobo_sync_request,
)
