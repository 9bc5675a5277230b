{
    "name": "KoBoToolbox Connector: parallel imports (queue_job)",
    "summary": "Import each KoBo form's submissions in queue jobs (OCA queue_job): "
    "forms in parallel on every worker, each submission still once",
    "version": "18.0.1.0.0",
    "category": "Productivity",
    "website": "https://github.com/kobo-connector/kobo_connector",
    "author": "kobo_connector developers",
    "license": "AGPL-3",
    "depends": ["kobo_connector", "queue_job"],
    "data": ["data/queue_job_data.xml"],
    "installable": True,
    "auto_install": False,
}
