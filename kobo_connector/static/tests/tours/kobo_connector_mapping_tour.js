/** @odoo-module **/
/* What the README tells a new user, through the UI only, as a KoBo Manager
 * who is not an Odoo administrator (the pickers show only allowed models and
 * fields): open the fetched
 * "Contact registration" form, tab Mappings, add a mapping that creates
 * Contacts (question chosen by its label -> Odoo field), enable it, save and
 * press "Sync from KoBo". The Python test then runs the scheduled import and
 * checks the contacts.
 *
 * The form name and the question -> field pairs come from `window.koboTour`
 * (set by the Python test); run by hand, the tour uses the sandbox's form. */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { koboTourData } from "@kobo_connector/../tests/tours/tour_data";

const SANDBOX = {
    form: "Contact registration",
    model: "Contact",
    lines: [
        ["Full name", "Name"],
        ["Email", "Email"],
        ["Phone", "Phone"],
        ["City", "City"],
    ],
};

/** An autocomplete item showing exactly `label`. */
function exactItem(label) {
    return `.o-autocomplete--dropdown-menu .o-autocomplete--dropdown-item a:contains(/^${label}$/)`;
}

/** Pick `label` in the autocomplete of the many2one `field` of the new line;
 * `item` is the selector of the dropdown item to click. */
function pickInLine(field, label, what, item) {
    return [
        {
            content: `${what}: type "${label}"`,
            trigger: `.modal .o_field_widget[name=line_ids] .o_selected_row .o_field_widget[name=${field}] input`,
            run: `edit ${label}`,
        },
        {
            content: `${what}: choose "${label}"`,
            trigger: item,
            run: "click",
        },
        {
            content: `${what}: "${label}" is set`,
            trigger: `.modal .o_field_widget[name=line_ids] .o_selected_row .o_field_widget[name=${field}] input:value(${label})`,
        },
    ];
}

registry.category("web_tour.tours").add("kobo_connector_mapping_tour", {
    url: "/odoo",
    steps: () => {
        const kobo = Object.assign({}, SANDBOX, koboTourData());
        const lineSteps = kobo.lines.flatMap(([question, field], index) => [
            {
                content: `Add a line (${index + 1})`,
                trigger: ".modal .o_field_widget[name=line_ids] .o_field_x2many_list_row_add a",
                run: "click",
            },
            // a question shows its label (and its name): "Full name (name)"
            ...pickInLine(
                "question_id",
                question,
                "KoBo question",
                `.o-autocomplete--dropdown-menu .o-autocomplete--dropdown-item a:contains(${question})`,
            ),
            // the exact field ("Email", not "Email cc")
            ...pickInLine("field_id", field, "Odoo field", exactItem(field)),
        ]);
        return [
            ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
            {
                content: "Open the Forms menu",
                trigger: 'a[data-menu-xmlid="kobo_connector.kobo_form_menu"]',
                run: "click",
            },
            {
                content: "Open the deployed form",
                trigger: `.o_kanban_record:contains(${kobo.form}):contains(Deployed)`,
                run: "click",
            },
            {
                content: "No mapping yet: nothing to sync",
                trigger: ".o_form_view .o_form_statusbar:not(:has(button[name=action_sync]))",
            },
            {
                content: "Open the Mappings tab",
                trigger: ".o_notebook .nav-link:contains(Mappings)",
                run: "click",
            },
            {
                content: "Add a mapping",
                trigger: ".o_field_widget[name=mapping_ids] .o_field_x2many_list_row_add a",
                run: "click",
            },
            {
                content: "The mapping opens in a dialog",
                trigger: ".modal .modal-title:contains(Create Mapping)",
            },
            {
                content: "It belongs to the form",
                trigger: `.modal .o_field_widget[name=form_id].o_readonly_modifier:contains(${kobo.form})`,
            },
            {
                content: `It creates: type "${kobo.model}"`,
                trigger: ".modal .o_field_widget[name=model_id] input",
                run: `edit ${kobo.model}`,
            },
            {
                content: `Choose "${kobo.model}"`,
                trigger: exactItem(kobo.model),
                run: "click",
            },
            {
                content: `"${kobo.model}" is set`,
                trigger: `.modal .o_field_widget[name=model_id] input:value(${kobo.model})`,
            },
            {
                content: "The mapping is named after both",
                trigger: `.modal .o_field_widget[name=name] input:value(${kobo.form} → ${kobo.model})`,
            },
            ...lineSteps,
            {
                content: "Switch it on",
                trigger: ".modal .o_field_widget[name=enabled] input[type=checkbox]:not(:checked)",
                run: "click",
            },
            {
                content: "It is on",
                trigger: ".modal .o_field_widget[name=enabled] input[type=checkbox]:checked",
            },
            {
                content: "Save the mapping",
                trigger: ".modal .o_form_button_save",
                run: "click",
            },
            {
                content: "The dialog is closed",
                trigger: "body:not(:has(.modal))",
            },
            {
                content: "The mapping is listed, enabled",
                trigger: `.o_field_widget[name=mapping_ids] .o_data_row:contains(${kobo.model}):has(.o_field_widget[name=enabled] input:checked)`,
            },
            {
                content: "Save the form",
                trigger: ".o_form_view .o_form_button_save",
                run: "click",
            },
            {
                content: "Saved",
                trigger: ".o_form_view .o_form_saved",
            },
            {
                content: "The enabled mapping is shown",
                trigger: `.o_field_widget[name=mapping_id]:contains(${kobo.model})`,
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
