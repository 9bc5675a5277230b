from . import kobo_system  # first: the mixin every kobo.* model inherits
from . import (
    kobo_allowed_model,
    kobo_form,
    kobo_form_import,
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
from . import (
    kobo_form_push,
    kobo_import_action,
    kobo_pending_push,
    kobo_submission_attachment,
)  # issue 12
from . import kobo_permission, kobo_form_assignment, kobo_form_hook
from . import kobo_media_list  # issue 13
from . import kobo_submission_link, kobo_mapping_condition, kobo_form_gate  # issue 18
from . import kobo_form_dashboard, kobo_submission_location, kobo_submission_report  # issue 20
