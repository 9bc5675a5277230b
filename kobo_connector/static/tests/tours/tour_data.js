/** @odoo-module **/

/** What the Python test passes to a tour (it survives a page reload). */
export function koboTourData() {
    return window.koboTour || JSON.parse(sessionStorage.getItem("koboTour") || "{}");
}

/** Steps: close the mapping's Preview dialog, then switch the mapping on
 * (the toggle saves it at once). */
export function closePreviewAndEnable() {
    return [
        {
            content: "Close the preview",
            trigger: ".modal .modal-footer button:contains(Close)",
            run: "click",
        },
        {
            content: "Preview closed",
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Switch the mapping on",
            trigger: ".o_field_widget[name=enabled] input[type=checkbox]:not(:checked)",
            run: "click",
        },
        {
            // the toggle saves the mapping at once
            content: "It is on, and saved",
            trigger:
                ".o_form_view:not(:has(.o_form_button_save:visible)) .o_field_widget[name=enabled] input[type=checkbox]:checked",
        },
    ];
}

/** An autocomplete item showing exactly `label`. */
export function exactItem(label) {
    return `.o-autocomplete--dropdown-menu .o-autocomplete--dropdown-item a:contains(/^${label}$/)`;
}

/** Steps: KoBoToolbox > Configuration > Mappings > New, the form named
 * `form` creating `model` records, saved. */
export function newMappingSteps(form, model) {
    return [
        {
            content: "Open Configuration",
            trigger: '[data-menu-xmlid="kobo_connector.kobo_menu_config"]',
            run: "click",
        },
        {
            content: "Open Mappings",
            trigger: 'a[data-menu-xmlid="kobo_connector.kobo_mapping_menu"]',
            run: "click",
        },
        {
            content: "New mapping",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: `Form: type ${form}`,
            trigger: ".o_field_widget[name=form_id] input",
            run: `edit ${form}`,
        },
        {
            content: `Choose ${form}`,
            trigger: exactItem(form),
            run: "click",
        },
        {
            content: `Creates: type ${model}`,
            trigger: ".o_field_widget[name=model_id] input",
            run: `edit ${model}`,
        },
        {
            content: `Choose ${model}`,
            trigger: exactItem(model),
            run: "click",
        },
        {
            content: `${model} is set`,
            trigger: `.o_field_widget[name=model_id] input:value(${model})`,
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_view .o_form_saved",
        },
    ];
}
