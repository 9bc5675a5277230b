"""Not an addon (no manifest): the one Python module of hr_work_entry_contract
that Odoo 18.0's ``resource`` imports (``resource_calendar.py``), absent from
the minimal Odoo host of shared/odoo-host. Without it ``resource`` and so
``stock`` (stock -> digest -> resource) cannot load. scripts/test puts it on
PYTHONPATH only when the real module is missing."""
