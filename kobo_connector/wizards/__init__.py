from . import kobo_form_rename_wizard, kobo_server_token_wizard
from . import kobo_mapping_preview
