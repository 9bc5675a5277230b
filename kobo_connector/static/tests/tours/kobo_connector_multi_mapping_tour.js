/** @odoo-module **/
/* As a KoBo Manager who is not an Odoo administrator: two mappings of the
 * household registration form, built in the UI only. "Household" makes the
 * household's contact; "Food recipient" makes a contact whose company is the
 * record "Household" made for the same submission, only when Needs contains
 * Food. Preview shows both, then "Sync from KoBo". The Python test then runs
 * the scheduled import and checks the records. */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { koboTourData } from "@kobo_connector/../tests/tours/tour_data";

function item(label) {
    return `.o-autocomplete--dropdown-menu .o-autocomplete--dropdown-item a:contains(${label})`;
}

function exactItem(label) {
    return `.o-autocomplete--dropdown-menu .o-autocomplete--dropdown-item a:contains(/^${label}$/)`;
}

/** Type `label` in the many2one `field` (under `scope`) and choose `choice`. */
function pick(scope, field, label, choice) {
    return [
        {
            content: `${field}: type "${label}"`,
            trigger: `${scope} .o_field_widget[name=${field}] input`,
            run: `edit ${label}`,
        },
        {
            content: `${field}: choose "${label}"`,
            trigger: choice || item(label),
            run: "click",
        },
        {
            content: `${field}: "${label}" is set`,
            trigger: `${scope} .o_field_widget[name=${field}] input:value(${label})`,
        },
    ];
}

const ROW = ".o_field_widget[name=line_ids] .o_selected_row";
const CONDITION = ".o_field_widget[name=condition_ids] .o_selected_row";

function newMapping(kobo, name) {
    return [
        {
            content: "Open Configuration",
            trigger: '.o_menu_sections [data-menu-xmlid="kobo_connector.kobo_menu_config"]',
            run: "click",
        },
        {
            content: "Open the Mappings menu",
            trigger: 'a[data-menu-xmlid="kobo_connector.kobo_mapping_menu"]',
            run: "click",
        },
        {
            content: "New mapping",
            trigger: ".o_list_button_add",
            run: "click",
        },
        ...pick(".o_form_view", "form_id", kobo.form),
        ...pick(".o_form_view", "model_id", "Contact", exactItem("Contact")),
        {
            content: "Named after the form and the model, for now",
            trigger: `.o_form_view .o_field_widget[name=name] input:value(${kobo.form} → Contact)`,
        },
        {
            content: `Name it ${name}`,
            trigger: ".o_form_view .o_field_widget[name=name] input",
            run: `edit ${name}`,
        },
    ];
}

function addLine(question, field, extra) {
    return [
        {
            content: `Add a line for ${field}`,
            trigger: ".o_field_widget[name=line_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        ...(question ? pick(ROW, "question_id", question) : []),
        ...pick(ROW, "field_id", field, exactItem(field)),
        ...(extra || []),
    ];
}

function enableAndSave() {
    return [
        {
            content: "Switch it on",
            trigger: ".o_field_widget[name=enabled] input[type=checkbox]:not(:checked)",
            run: "click",
        },
        {
            // the toggle saves the record itself; what it left unsaved, if anything, is saved here
            content: "Save (when the toggle has not saved it already)",
            trigger: ".o_form_view .o_form_status_indicator",
            run() {
                const save = document.querySelector(".o_form_button_save");
                if (save && save.offsetParent) {
                    save.click();
                }
            },
        },
        {
            content: "Saved",
            trigger: ".o_form_view .o_form_saved",
        },
    ];
}

registry.category("web_tour.tours").add("kobo_connector_multi_mapping_tour", {
    url: "/odoo",
    steps: () => {
        const kobo = Object.assign({ form: "Household registration" }, koboTourData());
        return [
            ...stepUtils.goToAppSteps("kobo_connector.kobo_menu_root", "Open KoBoToolbox"),
            // the first mapping: the household
            ...newMapping(kobo, "Household"),
            ...addLine("Head of household", "Name"),
            ...enableAndSave(),
            // the second: a contact of that household, when Needs contains Food
            ...newMapping(kobo, "Food recipient"),
            {
                content: "Add a condition",
                trigger: ".o_field_widget[name=condition_ids] .o_field_x2many_list_row_add a",
                run: "click",
            },
            ...pick(CONDITION, "question_id", "Needs"),
            {
                content: "Operator: contains",
                trigger: `${CONDITION} .o_field_widget[name=operator] select`,
                run: 'select "contains"',
            },
            {
                content: "Choices: type Food",
                trigger: `${CONDITION} .o_field_widget[name=choice_ids] input`,
                run: "edit Food",
            },
            {
                content: "Choose Food (the choice's label)",
                trigger: item("Food"),
                run: "click",
            },
            {
                content: "Food is picked",
                trigger: `${CONDITION} .o_field_widget[name=choice_ids] .o_tag:contains(Food)`,
            },
            ...addLine("", "Name", [
                {
                    content: "A constant name",
                    trigger: `${ROW} .o_field_widget[name=constant] input`,
                    run: "edit Food parcel recipient",
                },
            ]),
            ...addLine("", "Related Company", pick(ROW, "source_mapping_id", "Household")),
            ...enableAndSave(),
            {
                content: "The condition reads in words",
                trigger: ".o_field_widget[name=condition_ids] td:contains(Needs contains Food)",
            },
            // Preview: both mappings, the link between them, nothing created
            {
                content: "Preview",
                trigger: ".o_form_view button[name=action_preview]",
                run: "click",
            },
            {
                content: "Both mappings apply to the latest submission",
                trigger: ".modal .o_kobo_preview_applies:contains(when Needs contains Food)",
            },
            {
                content: "The link to the household's contact is shown",
                trigger: ".modal .o_kobo_preview_lines td:contains(the Contact made by Household)",
            },
            {
                content: "Close the preview",
                trigger: ".modal .btn-close",
                run: "click",
            },
            // the form: mappings in order, then Sync
            {
                content: "Open the Forms menu",
                trigger: 'a[data-menu-xmlid="kobo_connector.kobo_form_menu"]',
                run: "click",
            },
            {
                content: "Open the form",
                trigger: `.o_kanban_record:contains(${kobo.form})`,
                run: "click",
            },
            {
                content: "Open the Mappings tab",
                trigger: ".o_notebook .nav-link:contains(Mappings)",
                run: "click",
            },
            {
                content: "Both listed in order, with their conditions",
                trigger:
                    ".o_field_widget[name=mapping_ids] .o_data_row:eq(1):contains(Food recipient):contains(when Needs contains Food)",
            },
            {
                content: "Ask for the submissions",
                trigger: ".o_form_view .o_form_statusbar button[name=action_sync]",
                run: "click",
            },
            {
                content: "The import is queued",
                trigger: `.o_notification:contains(Sync requested)`,
            },
        ];
    },
});
