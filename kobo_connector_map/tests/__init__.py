from . import test_kobo_map
from . import test_ui_map_translated  # issue 20: passes once fr.po and ar.po exist
