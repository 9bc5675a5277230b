from . import test_kobo_map
