from . import test_queue_import
