from . import kobo_mapping, kobo_submission, stock_picking
