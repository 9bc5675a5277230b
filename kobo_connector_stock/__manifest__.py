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
        "data/kobo_stock_import_data.xml",
        # a KoBo edit replaces the moves the import made on a draft picking: the
        # import user may delete moves (Odoo deletes only draft or cancelled ones)
        "security/ir.model.access.csv",
        "views/kobo_mapping_views.xml",
    ],
    "demo": ["demo/kobo_stock_demo.xml"],
    "assets": {
        "web.assets_tests": ["kobo_connector_stock/static/tests/tours/*.js"],
    },
    "auto_install": True,
    "installable": True,
}
