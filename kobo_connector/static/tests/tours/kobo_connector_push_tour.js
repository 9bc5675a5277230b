/** @odoo-module **/
/* A KoBo manager (not an Odoo administrator) registers the push of a
 * deployed form (issue 12); the Python test then submits on the fake KoBo,
 * which posts to Odoo, and checks that the submission arrives with its photo.
 * The second tour opens the imported submission and its Files tab. */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { koboTourData } from "@kobo_connector/../tests/tours/tour_data";

registry.category("web_tour.tours").add("kobo_connector_push_tour", {
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
                content: "Open the Live Link tab",
                trigger: ".o_notebook .nav-link:contains(Live Link)",
                run: "click",
            },
            {
                content: "The panel warns about private addresses and the database choice",
                trigger: ".o_notebook .alert-info:contains(private and loopback):contains(dbfilter)",
            },
            {
                content: "Register the push",
                trigger: "button[name=action_register_push]",
                run: "click",
            },
            {
                content: "KoBo will post new submissions",
                trigger: ".o_notification:contains(Push registered)",
            },
            {
                content: "The push can now be checked or unregistered",
                trigger: "button[name=action_unregister_push]",
            },
            {
                content: "Its URL is shown, to copy into KoBo by hand if needed",
                trigger: `.o_field_widget[name=push_url]:contains(/kobo/push/)`,
            },
        ];
    },
});

registry.category("web_tour.tours").add("kobo_connector_push_files_tour", {
    url: "/odoo",
    steps: () => {
        const kobo = Object.assign({ person: "Pushed person" }, koboTourData());
        return [
            ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
            {
                content: "Open the form",
                trigger: `.o_kanban_record:contains(${kobo.form})`,
                run: "click",
            },
            {
                content: "Open its imported submissions",
                trigger: ".oe_stat_button[name=action_open_imported]",
                run: "click",
            },
            {
                content: "Open the pushed submission",
                trigger: `.o_list_view .o_data_row .o_data_cell:contains(${kobo.person})`,
                run: "click",
            },
            {
                content: "It is imported",
                trigger: ".o_statusbar_status .o_arrow_button_current:contains(Imported)",
            },
            {
                content: "Open its files",
                trigger: ".o_notebook .nav-link:contains(Files)",
                run: "click",
            },
            {
                content: "The photo is there, downloaded",
                trigger: ".o_field_widget[name=attachment_ids] .o_data_row:contains(photo.jpg):contains(Downloaded)",
            },
        ];
    },
});
