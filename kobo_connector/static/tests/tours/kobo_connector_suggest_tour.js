/** @odoo-module **/
/* A KoBo Manager starts a mapping with Suggest: a bilingual household survey
 * (a repeat of members, a geopoint) whose submissions are already stored.
 * Suggest draws the lines, each with its reason (the geopoint into latitude
 * and longitude, the members into child contacts); what it held back is
 * listed; Preview shows a stored submission through them; the mapping is
 * enabled and the stored submissions reprocessed, without an error.
 *
 * The form and what to look for come from `window.koboTour`. */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import {
    closePreviewAndEnable,
    koboTourData,
    newMappingSteps,
} from "@kobo_connector/../tests/tours/tour_data";

registry.category("web_tour.tours").add("kobo_connector_suggest_tour", {
    url: "/odoo",
    steps: () => {
        const kobo = koboTourData();
        const line = ".o_field_widget[name=line_ids] .o_data_row";
        return [
            ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
            ...newMappingSteps(kobo.form, "Contact"),
            {
                content: "Suggest the lines",
                trigger: "button[name=action_suggest]",
                run: "click",
            },
            {
                content: "The head of household is the contact's name, and it says why",
                trigger: `${line}:contains(${kobo.head}) td[name=suggest_reason]:contains(means Name)`,
            },
            {
                content: "The geopoint's latitude",
                trigger: `${line}:contains(Geo Latitude) td[name=suggest_reason]:contains(geopoint)`,
            },
            {
                content: "The geopoint's longitude",
                trigger: `${line}:contains(Geo Longitude) td[name=suggest_reason]:contains(geopoint)`,
            },
            {
                content: "The members become child contacts",
                trigger: `${line}:contains(${kobo.repeat}):has(td[name=field_type]:contains(one2many))`,
            },
            {
                content: "What was held back, and why",
                trigger: `.o_kobo_suggest_notes:contains(${kobo.heldBack})`,
            },
            {
                content: "Preview a stored submission",
                trigger: "button[name=action_preview]",
                run: "click",
            },
            {
                content: "The contact to be, with its members",
                trigger: `.modal .o_kobo_preview_record:contains(${kobo.previewName}) .o_kobo_preview_o2m`,
            },
            {
                content: "No line fails on it, and the database accepts it",
                trigger: ".modal:not(:has(.o_kobo_preview_error)) .o_kobo_preview_db_ok",
            },
            ...closePreviewAndEnable(),
            {
                content: "Open the Forms menu",
                trigger: 'a[data-menu-xmlid="kobo_connector.kobo_form_menu"]',
                run: "click",
            },
            {
                content: `Open ${kobo.form}`,
                trigger: `.o_kanban_record:contains(${kobo.form}):contains(Deployed)`,
                run: "click",
            },
            {
                content: "Its stored submissions waited for a mapping",
                trigger: ".o_form_view button[name=action_open_errors]",
                run: "click",
            },
            {
                content: "Select them all",
                trigger: ".o_list_view thead .o_list_record_selector input",
                run: "click",
            },
            {
                content: "Reprocess them",
                trigger: ".o_control_panel button[name=action_reprocess]",
                run: "click",
            },
            {
                content: "All imported, no error",
                trigger: `.o_notification:contains(${kobo.created} created):contains(0 errors)`,
            },
        ];
    },
});
