/** @odoo-module **/
/* A KoBo manager (not an Odoo admin) shares a form with a KoBo user from
 * the Actions menu of the forms list. The Python test passes the form's
 * name and the KoBo username through `window.koboTour`. */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { koboTourData } from "@kobo_connector/../tests/tours/tour_data";

registry.category("web_tour.tours").add("kobo_connector_share_tour", {
    url: "/odoo",
    steps: () => {
        const kobo = Object.assign({ form: "Field survey", user: "alice" }, koboTourData());
        return [
            ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
            {
                content: "Switch the forms to the list view",
                trigger: ".o_switch_view.o_list",
                run: "click",
            },
            {
                content: "Select the form",
                trigger: `.o_data_row:contains(${kobo.form}) .o_list_record_selector input`,
                run: "click",
            },
            {
                content: "Open the Actions menu",
                trigger: ".o_control_panel .o_cp_action_menus button",
                run: "click",
            },
            {
                content: "Share on KoBo…",
                trigger: ".o-dropdown--menu .o-dropdown-item:contains(Share on KoBo)",
                run: "click",
            },
            {
                content: "The wizard names the selected form",
                trigger: `.modal .o_field_widget[name=form_ids]:contains(${kobo.form})`,
            },
            {
                content: "Type the KoBo username",
                trigger: ".modal .o_field_widget[name=username] input",
                run: `edit ${kobo.user}`,
            },
            {
                content: "Choose View submissions (KoBo's label)",
                trigger:
                    ".modal .o_field_widget[name=permission_ids] .form-check:contains(View submissions) input",
                run: "click",
            },
            {
                content: "Choose Edit form: the wizard warns about REST services' passwords",
                trigger:
                    ".modal .o_field_widget[name=permission_ids] .form-check:contains(Edit form) input",
                run: "click",
            },
            {
                content: "The warning is shown",
                trigger: ".modal .alert-warning:contains(REST services)",
            },
            {
                content: "Untick Edit form again",
                trigger:
                    ".modal .o_field_widget[name=permission_ids] .form-check:contains(Edit form) input",
                run: "click",
            },
            {
                content: "The warning is gone",
                trigger: ".modal:not(:has(.alert-warning:visible))",
            },
            {
                content: "Share",
                trigger: ".modal-footer button[name=action_share]",
                run: "click",
            },
            {
                content: "A notification reports the form",
                trigger: `.o_notification:contains(Share on KoBo):contains(Done: ${kobo.form})`,
            },
            {
                content: "Open the form",
                trigger: `.o_data_row td.o_data_cell:contains(${kobo.form})`,
                run: "click",
            },
            {
                content: "Open the Sharing tab",
                trigger: ".o_notebook .nav-link:contains(Sharing)",
                run: "click",
            },
            {
                content: "KoBo's assignments are listed, the new one included",
                trigger: `.o_field_widget[name=assignment_ids] .o_data_row:contains(${kobo.user}):contains(View submissions)`,
            },
            {
                content: "Open the REST Services tab",
                trigger: ".o_notebook .nav-link:contains(REST Services)",
                run: "click",
            },
            {
                content: "Add a REST service",
                trigger: ".o_notebook button[name=action_open_hook_wizard]",
                run: "click",
            },
            {
                content: "Name it",
                trigger: ".modal .o_field_widget[name=name] input",
                run: "edit Tour receiver",
            },
            {
                content: "Its endpoint",
                trigger: ".modal .o_field_widget[name=endpoint] input",
                run: "edit https://example.org/tour-receiver",
            },
            {
                content: "Basic authentication",
                trigger: ".modal .o_field_widget[name=use_auth] input",
                run: "click",
            },
            {
                content: "Username",
                trigger: ".modal .o_field_widget[name=auth_username] input",
                run: "edit tour",
            },
            {
                content: "Password (sent to KoBo only)",
                trigger: ".modal .o_field_widget[name=auth_password] input",
                run: "edit tour-Secret-9",
            },
            {
                content: "Add it on KoBo",
                trigger: ".modal-footer .btn-primary:contains(Add on KoBo)",
                run: "click",
            },
            {
                content: "The REST service is listed, enabled",
                trigger: ".o_field_widget[name=hook_ids] .o_data_row:contains(Tour receiver) button[name=action_toggle_active]:contains(Disable)",
            },
        ];
    },
});
