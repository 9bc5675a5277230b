"""Pure-Python layer of kobo_connector: the KPI client, submission reading
and value conversion, and a fake KPI server. Nothing here imports Odoo.

Import paths: inside Odoo this package is ``odoo.addons.kobo_connector.kobo_kpi``;
the plain-pytest suite in ``tests/`` puts ``kobo_connector/`` on ``sys.path``
and imports it as ``kobo_kpi``. The two never meet in one process (the test
command runs them as two pytest processes, and ``tests/conftest.py`` refuses
to run beside Odoo), so there is only one set of exception classes at a time.
Modules in this package import each other relatively, never by absolute name.
"""
