from . import kobo_form_rename_wizard, kobo_server_token_wizard
from . import (
    kobo_form_share_wizard,
    kobo_form_clone_wizard,
    kobo_form_delete_wizard,
    kobo_form_hook_wizard,
    kobo_form_upload_wizard,
)
