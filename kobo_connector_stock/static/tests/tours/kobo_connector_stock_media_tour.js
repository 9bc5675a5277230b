/** @odoo-module **/
/* A KoBo manager publishes the products as the Distribution form's
 * products.csv from the UI: a new media list, its columns picked among the
 * product's fields, the form added, Publish to KoBo, the form Published. */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

function exactItem(label) {
    return `.o-autocomplete--dropdown-menu .o-autocomplete--dropdown-item a:contains(/^${label}$/)`;
}

registry.category("web_tour.tours").add("kobo_connector_stock_media_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
        {
            content: "Open Configuration",
            trigger: '[data-menu-xmlid="kobo_connector.kobo_menu_config"]',
            run: "click",
        },
        {
            content: "Open Media Lists",
            trigger: 'a[data-menu-xmlid="kobo_connector.kobo_media_list_menu"]',
            run: "click",
        },
        { content: "New list", trigger: ".o_list_button_add", run: "click" },
        {
            content: "The warning about who reads form media",
            trigger: ".alert-warning:contains(everyone who can open the form)",
        },
        { content: "Name", trigger: ".o_field_widget[name=name] input", run: "edit Products" },
        {
            content: "File name is products.csv",
            trigger: ".o_field_widget[name=file_name] input:value(products.csv)",
        },
        {
            content: "Records of: type Product Variant",
            trigger: ".o_field_widget[name=model_id] input",
            run: "edit Product Variant",
        },
        { content: "Choose Product Variant", trigger: exactItem("Product Variant"), run: "click" },
        {
            content: "Add a column",
            trigger: ".o_field_widget[name=column_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "Column: name",
            trigger: ".o_field_widget[name=column_ids] .o_data_row .o_field_widget[name=column] input",
            run: "edit name",
        },
        {
            content: "Field: Internal Reference",
            trigger: ".o_field_widget[name=column_ids] .o_data_row .o_field_widget[name=field_id] input",
            run: "edit Internal Reference",
        },
        { content: "Choose Internal Reference", trigger: exactItem("Internal Reference"), run: "click" },
        {
            content: "Add another column",
            trigger: ".o_field_widget[name=column_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "Field of the label column: Name",
            trigger: ".o_field_widget[name=column_ids] .o_data_row:eq(1) .o_field_widget[name=field_id] input",
            run: "edit Name",
        },
        { content: "Choose Name", trigger: exactItem("Name"), run: "click" },
        { content: "Save the columns", trigger: ".o_form_button_save", run: "click" },
        { content: "Columns saved", trigger: ".o_form_saved" },
        { content: "Forms tab", trigger: ".o_notebook a.nav-link:contains(Forms)", run: "click" },
        {
            content: "Add a form",
            trigger: ".o_field_widget[name=target_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "Form: Distribution",
            trigger: ".o_field_widget[name=target_ids] .o_data_row .o_field_widget[name=form_id] input",
            run: "edit Distribution",
        },
        { content: "Choose Distribution", trigger: exactItem("Distribution"), run: "click" },
        { content: "Save", trigger: ".o_form_button_save", run: "click" },
        { content: "Saved", trigger: ".o_form_saved" },
        { content: "Preview tab", trigger: ".o_notebook a.nav-link:contains(Preview)", run: "click" },
        { content: "The preview shows a product", trigger: ".o_kobo_media_preview td:contains(KB-RICE25)" },
        { content: "Publish to KoBo", trigger: "button[name=action_publish]", run: "click" },
        { content: "Forms tab again", trigger: ".o_notebook a.nav-link:contains(Forms)", run: "click" },
        {
            content: "The form is published",
            trigger: ".o_field_widget[name=target_ids] .o_data_row:contains(Published)",
            // the upload and the media redeploy on KoBo: more than the default 10 s on a busy host
            timeout: 30000,
        },
    ],
});
