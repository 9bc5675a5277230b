from . import test_stock_import
