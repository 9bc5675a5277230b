/** @odoo-module **/
/* A KoBo User (not a manager) reads the dashboard: a form's card with its
 * numbers and graph, the errors behind a number, the submissions' graph and
 * pivot, and the Collectors report. The labels come from the Python test, so
 * that the same tour checks the French and the Arabic (right to left) UI. */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { koboTourData } from "@kobo_connector/../tests/tours/tour_data";

registry.category("web_tour.tours").add("kobo_connector_dashboard_tour", {
    url: "/odoo",
    steps: () => {
        const kobo = Object.assign(
            { form: "Farm visits", imported: "Imported", errors: "Errors", collector: "amina" },
            koboTourData()
        );
        const card = `.o_kanban_record:contains(${kobo.form})`;
        return [
            ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
            {
                content: "The page reads in the user's direction",
                trigger: kobo.rtl ? "body.o_rtl .o_kanban_view" : "body:not(.o_rtl) .o_kanban_view",
            },
            {
                content: "The form's card counts its imported submissions",
                trigger: `${card} .o_kobo_count_imported:contains(${kobo.imported}):contains(2)`,
            },
            {
                content: "and draws its submissions per day",
                trigger: `${card} .o_field_dashboard_graph canvas`,
            },
            {
                content: "Open the errors",
                trigger: `${card} .o_kobo_count_error:contains(${kobo.errors}):contains(1)`,
                run: "click",
            },
            {
                content: "The one submission in error",
                trigger: ".o_list_view .o_data_row:contains(atlantis)",
            },
            {
                content: "Its submissions as a graph",
                trigger: ".o_control_panel .o_switch_view.o_graph",
                run: "click",
            },
            {
                content: "A graph is drawn",
                trigger: ".o_graph_renderer canvas",
            },
            {
                content: "and as a pivot",
                trigger: ".o_control_panel .o_switch_view.o_pivot",
                run: "click",
            },
            {
                content: "The pivot names the collector",
                trigger: `.o_pivot th:contains(${kobo.collector})`,
            },
            {
                content: "Open Reporting",
                trigger: ".o_menu_sections [data-menu-xmlid='kobo_connector.kobo_menu_reporting']",
                run: "click",
            },
            {
                content: "Open the Collectors report",
                trigger: ".dropdown-item[data-menu-xmlid='kobo_connector.kobo_collector_report_menu']",
                run: "click",
            },
            {
                content: "Each collector with their submissions, errors and last submission",
                trigger: `.o_list_view .o_data_row:contains(${kobo.collector}):contains(${kobo.form})`,
            },
            {
                content: "The collectors as a pivot",
                trigger: ".o_control_panel .o_switch_view.o_pivot",
                run: "click",
            },
            {
                content: "The pivot counts each collector's submissions",
                trigger: `.o_pivot th:contains(${kobo.collector})`,
            },
        ];
    },
});
