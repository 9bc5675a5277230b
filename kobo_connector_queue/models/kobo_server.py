from odoo import models

# In a job, the KPI client waits at most this long for KoBo by itself; a longer
# Retry-After becomes a retry of the job, which frees the worker meanwhile.
JOB_CLIENT_RETRY_SECONDS = 10


class KoboServer(models.Model):
    _inherit = "kobo.server"

    def _get_client(self, **options):
        if self.env.context.get("kobo_queue_job"):
            options.setdefault("max_retry_seconds", JOB_CLIENT_RETRY_SECONDS)
        return super()._get_client(**options)
