from . import test_stock_import
from . import test_ui_stock_tour
from . import test_live_stock
