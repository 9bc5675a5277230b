from . import test_kobo_server
