/** @odoo-module **/
/* A KoBo manager deploys a draft form and renames it on KoBo, from Odoo.
 * The Python test fetched the forms of a fake KoBo beforehand; the draft
 * form's name comes from `window.koboTour.form` (sandbox: "Stock delivery"
 * must then be a draft there). */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { koboTourData } from "@kobo_connector/../tests/tours/tour_data";

registry.category("web_tour.tours").add("kobo_connector_form_tour", {
    url: "/odoo",
    steps: () => {
        const kobo = Object.assign(
            { form: "Tour draft form", newName: "Tour renamed form", question: "Village" },
            koboTourData()
        );
        return [
            ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
            {
                content: "The forms kanban opens first; open the draft form",
                trigger: `.o_kanban_record:contains(${kobo.form}):contains(Draft)`,
                run: "click",
            },
            {
                content: "The form is a draft",
                trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Draft)",
            },
            {
                content: "The Questions tab is open",
                trigger: ".o_notebook .nav-link.active:contains(Questions)",
            },
            {
                content: "It lists the questions of the form",
                trigger: `.o_field_widget[name=question_ids] .o_data_row:contains(${kobo.question})`,
            },
            {
                content: "Deploy it on KoBo",
                trigger: ".o_form_view button[name=action_deploy]",
                run: "click",
            },
            {
                content: "A notification confirms it",
                trigger: `.o_notification:contains(Deploy):contains(Done: ${kobo.form})`,
            },
            {
                content: "The chatter keeps a note",
                trigger: ".o-mail-Message:contains(Deployed on KoBo)",
            },
            {
                content: "The status becomes Deployed",
                trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Deployed)",
            },
            {
                content: "Deploy is no longer offered",
                trigger: ".o_form_view .o_form_statusbar:not(:has(button[name=action_deploy]))",
            },
            {
                content: "Open Rename",
                trigger: ".o_form_view button[name=action_open_rename_wizard]",
                run: "click",
            },
            {
                content: "Type the new name",
                trigger: ".modal .o_field_widget[name=name] input",
                run: `edit ${kobo.newName}`,
            },
            {
                content: "Rename on KoBo",
                trigger: ".modal button[name=action_rename]",
                run: "click",
            },
            {
                content: "A notification confirms it",
                trigger: `.o_notification:contains(Rename):contains(Done: ${kobo.newName})`,
            },
            {
                content: "The dialog is closed",
                trigger: "body:not(:has(.modal))",
            },
            {
                content: "The form shows its new name",
                trigger: `.o_form_view .oe_title .o_field_widget[name=name]:contains(${kobo.newName})`,
            },
            {
                content: "The chatter keeps a note",
                trigger: `.o-mail-Message:contains(Renamed on KoBo to ${kobo.newName})`,
            },
            {
                content: "The breadcrumb too",
                trigger: `.o_breadcrumb .active:contains(${kobo.newName})`,
            },
        ];
    },
});
