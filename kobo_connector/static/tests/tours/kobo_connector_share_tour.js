/** @odoo-module **/
/* A KoBo manager (not an Odoo admin) shares a form with a KoBo user from
 * the Actions menu of the forms list. The Python test passes the form's
 * name and the KoBo username through `window.koboTour`. */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

function koboTourData() {
    return window.koboTour || JSON.parse(sessionStorage.getItem("koboTour") || "{}");
}

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
        ];
    },
});
