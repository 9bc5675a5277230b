/** @odoo-module **/
/* A new user maps the sandbox's "Distribution" form to Transfers through
 * the UI alone: Suggest fills the lines (moves included), a value map ties
 * the warehouse choice to its delivery operation, Preview shows the picking
 * to be, then the mapping is enabled, synced, and the picking opened. */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import {
    closePreviewAndEnable,
    exactItem,
    newMappingSteps,
} from "@kobo_connector/../tests/tours/tour_data";

registry.category("web_tour.tours").add("kobo_connector_stock_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
        ...newMappingSteps("Distribution", "Transfer"),
        {
            content: "Suggest the lines",
            trigger: "button[name=action_suggest]",
            run: "click",
        },
        {
            content: "The moves come from the items",
            trigger: ".o_field_widget[name=line_ids] .o_data_row:contains(Stock Moves)",
        },
        // KoBo's system fields are picked like questions: the submission's ID
        // as the source document (before the value map's dialog: its closing
        // reloads the mapping, which would drop a line being added meanwhile)
        {
            content: "Add a line",
            trigger: ".o_field_widget[name=line_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "Question: type KoBo ID",
            trigger: ".o_field_widget[name=line_ids] .o_selected_row .o_field_widget[name=question_id] input",
            run: "edit KoBo ID",
        },
        {
            content: "Choose the system field _id",
            trigger: ".o-autocomplete--dropdown-menu .o-autocomplete--dropdown-item a:contains(KoBo ID (_id))",
            run: "click",
        },
        {
            content: "Field: type Source Document",
            trigger: ".o_field_widget[name=line_ids] .o_selected_row .o_field_widget[name=field_id] input",
            run: "edit Source Document",
        },
        {
            content: "Choose Source Document",
            trigger: exactItem("Source Document"),
            run: "click",
        },
        {
            content: "Source Document is set",
            trigger: ".o_field_widget[name=line_ids] .o_selected_row .o_field_widget[name=field_id] input:value(Source Document)",
        },
        {
            content: "Open the value map of the warehouse question",
            trigger:
                ".o_field_widget[name=line_ids] .o_data_row:contains(Operation Type) button.o_kobo_open_values",
            run: "click",
        },
        {
            content: "Fill it from the choices",
            trigger: ".modal button[name=action_fill_value_map]",
            run: "click",
        },
        {
            content: "Choose the record of the choice WH",
            trigger: ".modal .o_field_widget[name=value_ids] .o_data_row:contains(WH) td[name=res_id]",
            run: "click",
        },
        {
            content: "Type Delivery",
            trigger: ".modal .o_field_widget[name=value_ids] .o_selected_row .o_field_widget[name=res_id] input",
            run: "edit Delivery",
        },
        {
            content: "Choose the delivery operation",
            trigger: ".o-autocomplete--dropdown-menu .o-autocomplete--dropdown-item a:contains(Delivery Orders)",
            run: "click",
        },
        {
            content: "Save the line",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The dialog is closed",
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Preview the latest submission",
            trigger: "button[name=action_preview]",
            run: "click",
        },
        {
            content: "The picking to be, with its moves",
            trigger: ".modal .o_kobo_preview_record .o_kobo_preview_o2m:contains(Rice 25kg)",
        },
        ...closePreviewAndEnable(),
        {
            content: "Open the Forms menu",
            trigger: 'a[data-menu-xmlid="kobo_connector.kobo_form_menu"]',
            run: "click",
        },
        {
            content: "Open the Distribution form",
            trigger: ".o_kanban_record:contains(Distribution):contains(Deployed)",
            run: "click",
        },
        {
            content: "Sync from KoBo",
            trigger: ".o_form_view .o_form_statusbar button[name=action_sync]",
            run: "click",
        },
        {
            content: "The import is queued",
            trigger: ".o_notification:contains(Sync requested)",
        },
    ],
});

/* After the import (run by the Python test): open the picking from its submission. */
registry.category("web_tour.tours").add("kobo_connector_stock_open_picking_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
        {
            content: "Open Submissions",
            trigger: 'a[data-menu-xmlid="kobo_connector.kobo_submission_menu"]',
            run: "click",
        },
        {
            content: "Open the imported submission",
            trigger: ".o_data_row:contains(Distribution) td[name=kobo_id]",
            run: "click",
        },
        {
            content: "Open its record",
            trigger: "button[name=action_open_record]",
            run: "click",
        },
        {
            content: "The picking, with its moves",
            trigger: ".o_form_view .o_field_widget[name=move_ids_without_package] .o_data_row:contains(Rice 25kg)",
        },
    ],
});
