/** @odoo-module **/
/* A KoBo User sees where a form's submissions came from: the map follows the
 * filters, a marker opens its submission, a form opens its own map. The
 * labels come from the Python test (English, French, Arabic). */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { koboTourData } from "@kobo_connector/../tests/tours/tour_data";

registry.category("web_tour.tours").add("kobo_connector_map_tour", {
    url: "/odoo",
    steps: () => {
        const kobo = Object.assign(
            { form: "Farm visits", errors: "Errors", openSubmission: "Open the submission" },
            koboTourData()
        );
        const map = ".o_kobo_submission_map";
        return [
            ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
            {
                content: "Open Reporting",
                trigger: ".o_menu_sections [data-menu-xmlid='kobo_connector.kobo_menu_reporting']",
                run: "click",
            },
            {
                content: "Open the map",
                trigger: ".dropdown-item[data-menu-xmlid='kobo_connector_map.kobo_submission_map_menu']",
                run: "click",
            },
            {
                content: "Imported submissions in green, the one in error in red",
                trigger: `${map} .o_kobo_marker_imported ~ .o_kobo_marker_error, ${map} .o_kobo_marker_error ~ .o_kobo_marker_imported`,
            },
            {
                content: "Filter the errors",
                trigger: ".o_searchview_dropdown_toggler",
                run: "click",
            },
            {
                content: "Errors",
                trigger: `.o_filter_menu .dropdown-item:contains(${kobo.errors})`,
                run: "click",
            },
            {
                content: "Only the submission in error stays on the map",
                trigger: `${map}:not(:has(.o_kobo_marker_imported)) .o_kobo_marker_error`,
                run: "click",
            },
            {
                content: "Its popup opens the submission",
                trigger: `.o_kobo_map_popup .o_kobo_open_submission:contains(${kobo.openSubmission})`,
                run: "click",
            },
            {
                content: "The submission in error",
                trigger: ".o_form_view .o_field_widget[name=error_message]:contains(atlantis)",
            },
            {
                content: "Open its form",
                trigger: `.o_form_view .o_field_widget[name=form_id] a:contains(${kobo.form})`,
                run: "click",
            },
            {
                content: "Where did this form's data come from?",
                trigger: ".o_form_view .oe_stat_button[name=action_open_map]",
                run: "click",
            },
            {
                content: "All its submissions on the map",
                trigger: `${map} .o_kobo_marker_imported ~ .o_kobo_marker_error, ${map} .o_kobo_marker_error ~ .o_kobo_marker_imported`,
            },
        ];
    },
});
