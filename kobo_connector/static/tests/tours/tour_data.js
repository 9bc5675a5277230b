/** @odoo-module **/

/** What the Python test passes to a tour (it survives a page reload). */
export function koboTourData() {
    return window.koboTour || JSON.parse(sessionStorage.getItem("koboTour") || "{}");
}
