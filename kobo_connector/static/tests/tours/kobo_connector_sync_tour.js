/** @odoo-module **/
/* A KoBo user asks for the submissions of a deployed form with an enabled
 * mapping (created by the Python test): "Sync from KoBo" queues the import
 * for the scheduled action; the test then runs it and checks the records. */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { koboTourData } from "@kobo_connector/../tests/tours/tour_data";

registry.category("web_tour.tours").add("kobo_connector_sync_tour", {
    url: "/odoo",
    steps: () => {
        const kobo = Object.assign({ form: "Contact registration" }, koboTourData());
        return [
            ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
            {
                content: "Open the deployed form",
                trigger: `.o_kanban_record:contains(${kobo.form}):contains(Deployed)`,
                run: "click",
            },
            {
                content: "Nothing imported yet",
                trigger: ".oe_stat_button[name=action_open_imported] .o_stat_value:contains(0)",
            },
            {
                content: "Its mapping to Contacts is enabled",
                trigger: ".o_field_widget[name=mapping_id]:contains(Contact)",
            },
            {
                content: "Ask for the submissions",
                trigger: ".o_form_view .o_form_statusbar button[name=action_sync]",
                run: "click",
            },
            {
                content: "The import is queued",
                trigger: `.o_notification:contains(Sync requested):contains(${kobo.form})`,
            },
        ];
    },
});
