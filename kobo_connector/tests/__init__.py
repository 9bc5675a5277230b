from . import test_kobo_server
from . import test_ui_tours
