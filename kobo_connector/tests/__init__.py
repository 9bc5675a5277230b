from . import test_kobo_server
from . import test_kobo_import
from . import test_ui_tours
from . import test_ui_mapping_tour
from . import test_kobo_form
from . import test_kobo_form_catalogue
from . import test_live_kobo
from . import test_kobo_security
