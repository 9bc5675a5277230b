/** @odoo-module **/
/* A KoBo manager connects Odoo to a KoBo server for the first time:
 * KoBoToolbox app > Configuration > Servers > New > Self-hosted server, URL
 * and token, Test connection, Fetch forms, then sees the forms.
 *
 * The URL and token come from `window.koboTour` (set by the Python test,
 * which starts a fake KoBo on a free port); run by hand, the tour uses the
 * offline sandbox (`python3 -m kobo_kpi.fake`). */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { koboTourData } from "@kobo_connector/../tests/tours/tour_data";

const SANDBOX = {
    url: "http://127.0.0.1:8765",
    token: "0123456789abcdef0123456789abcdef01234567",
    form: "Contact registration",
    formCount: 3,
};

registry.category("web_tour.tours").add("kobo_connector_server_tour", {
    url: "/odoo",
    steps: () => {
        const kobo = Object.assign({}, SANDBOX, koboTourData());
        return [
            ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
            {
                content: "Open the Configuration menu",
                trigger: 'button[data-menu-xmlid="kobo_connector.kobo_menu_config"]',
                run: "click",
            },
            {
                content: "Open Servers",
                trigger: '.dropdown-item[data-menu-xmlid="kobo_connector.kobo_server_menu"]',
                run: "click",
            },
            {
                content: "The empty list explains what to do",
                trigger: ".o_view_nocontent:contains(Connect Odoo to KoBoToolbox)",
            },
            {
                content: "Create a server",
                trigger: ".o_control_panel_main_buttons .o_list_button_add",
                run: "click",
            },
            {
                content: "Name it",
                trigger: ".o_form_view .o_field_widget[name=name] input",
                run: "edit Sandbox",
            },
            {
                content: "Choose a self-hosted server",
                trigger: ".o_field_widget[name=preset] input[data-value=custom]",
                run: "click",
            },
            {
                content: "Type the server address",
                trigger: ".o_field_widget[name=url] input:not([readonly])",
                run: `edit ${kobo.url}`,
            },
            {
                content: "Paste the API token",
                trigger: ".o_field_widget[name=token] input",
                run: `edit ${kobo.token}`,
            },
            {
                content: "The token is masked",
                trigger: ".o_field_widget[name=token] input[type=password]",
            },
            {
                content: "Still not connected",
                trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Not connected)",
            },
            {
                content: "Test the connection (saves the server)",
                trigger: ".o_form_view button[name=action_test_connection]",
                run: "click",
            },
            {
                content: "A notification confirms it",
                trigger: ".o_notification:contains(Connected to)",
            },
            {
                content: "The statusbar shows Connected",
                trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Connected)",
            },
            {
                content: "The KoBo user name is shown",
                trigger: ".o_field_widget[name=kobo_username]:contains(kobo_admin)",
            },
            {
                content: "No error shown",
                trigger: ".o_form_view:not(:has(.alert-danger:visible))",
            },
            {
                content: "Fetch the forms of the KoBo account",
                trigger: ".o_form_view button[name=action_fetch_forms]",
                run: "click",
            },
            {
                content: "The fetch is reported",
                trigger: ".o_notification:contains(Forms fetched):contains(new forms)",
            },
            {
                content: "The Forms smart button counts them",
                trigger: `.oe_stat_button[name=action_open_forms] .o_stat_value:contains(${kobo.formCount})`,
            },
            {
                content: "Open the Forms menu",
                trigger: 'a[data-menu-xmlid="kobo_connector.kobo_form_menu"]',
                run: "click",
            },
            {
                content: "The KoBo form appears as a kanban card",
                trigger: `.o_kanban_view .o_kanban_record:contains(${kobo.form}):contains(questions)`,
            },
            {
                content: "Open the form",
                trigger: `.o_kanban_record:contains(${kobo.form})`,
                run: "click",
            },
            {
                content: "Its questions were read from KoBo",
                trigger: ".o_field_widget[name=question_ids] .o_data_row:contains(Full name)",
            },
        ];
    },
});
