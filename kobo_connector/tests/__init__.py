from . import test_kobo_server
from . import test_kobo_import
from . import test_ui_tours
from . import test_ui_mapping_tour
from . import test_kobo_form
from . import test_kobo_form_catalogue
from . import test_live_kobo
from . import test_kobo_push
from . import test_kobo_files
from . import test_live_push
from . import test_kobo_import_action
from . import test_kobo_form_lifecycle
from . import test_ui_lifecycle
from . import test_kobo_hardening
from . import test_kobo_security
from . import test_kobo_dashboard, test_kobo_location, test_ui_dashboard  # issue 20
from . import test_ui_translated  # issue 20: passes once fr.po and ar.po exist
from . import test_kobo_scale
from . import test_kobo_stalled_page
