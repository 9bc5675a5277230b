{
    "name": "KoBoToolbox Connector: map of submissions",
    "summary": "Where KoBo submissions came from, on a map (OCA's leaflet view): "
    "coloured by state, following the search, from each form",
    "version": "18.0.1.0.0",
    "category": "Productivity",
    "website": "https://github.com/kobo-connector/kobo_connector",
    "author": "kobo_connector developers",
    "license": "AGPL-3",
    "depends": ["kobo_connector", "web_view_leaflet_map"],
    "data": [
        "data/ir_config_parameter.xml",
        "views/kobo_submission_map_views.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "kobo_connector_map/static/src/**/*",
        ],
        "web.assets_tests": ["kobo_connector_map/static/tests/tours/*.js"],
    },
    "installable": True,
    "auto_install": True,
}
