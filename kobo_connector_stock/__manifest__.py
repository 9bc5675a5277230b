{
    "name": "KoBoToolbox Connector - Stock",
    "summary": "Turn KoBo distribution and receipt forms into stock pickings with their moves",
    "version": "18.0.1.0.0",
    "category": "Inventory/Inventory",
    "website": "https://github.com/kobo-connector/kobo_connector",
    "author": "kobo_connector developers",
    "license": "AGPL-3",
    "depends": ["kobo_connector", "stock"],
    "data": [
        "security/ir.model.access.csv",
        "security/kobo_stock_security.xml",
        "data/kobo_stock_import_data.xml",
        "views/kobo_mapping_views.xml",
    ],
    "demo": ["demo/kobo_stock_demo.xml"],
    "assets": {
        "web.assets_tests": ["kobo_connector_stock/static/tests/tours/*.js"],
    },
    "auto_install": True,
    "installable": True,
}
