/** @odoo-module **/

import {Component, onWillUpdateProps} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {Layout} from "@web/search/layout";
import {SearchBar} from "@web/search/search_bar/search_bar";
import {useSearchBarToggler} from "@web/search/search_bar/search_bar_toggler";
import {MapRenderer} from "@web_view_leaflet_map/views/leaflet_map/leaflet_map_renderer.esm";
import {leafletMapView} from "@web_view_leaflet_map/views/leaflet_map/leaflet_map_view.esm";
import {registry} from "@web/core/registry";

/* global L, document */

const OSM_TILES = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png";
// a cluster takes the colour of the most urgent state among its markers
const STATE_ORDER = ["error", "pending", "skipped", "ignored", "deleted", "imported"];

/**
 * OCA's leaflet renderer, for submissions: the points come from
 * kobo.submission.kobo_map_points (all the search's located submissions, not
 * the first 80), again on every search; a marker is coloured by its state;
 * its popup opens the submission or the record it became. Texts from KoBo
 * are written as text, never as HTML.
 */
export class KoboSubmissionMapRenderer extends MapRenderer {
    setup() {
        super.setup();
        if (!this.leafletTileUrl || this.leafletTileUrl === "False") {
            this.leafletTileUrl = OSM_TILES;
        }
        onWillUpdateProps((nextProps) => this.loadRecords(nextProps));
    }

    async loadRecords(props = this.props) {
        this.records = await this.orm.call(
            "kobo.submission",
            "kobo_map_points",
            [props.domain || []],
            {context: props.context || {}}
        );
    }

    /** OCA's markers, in clusters coloured by the most urgent state they hold. */
    renderMarkers() {
        if (!this.leafletMap) {
            return;
        }
        if (this.mainLayer) {
            this.leafletMap.removeLayer(this.mainLayer);
        }
        this.mainLayer = L.markerClusterGroup({
            iconCreateFunction: (cluster) => {
                const states = new Set(
                    cluster.getAllChildMarkers().map((marker) => marker.options.koboState)
                );
                const state = STATE_ORDER.find((s) => states.has(s)) || "other";
                return L.divIcon({
                    html: `<span>${cluster.getChildCount()}</span>`,
                    className: `o_kobo_cluster o_kobo_marker_${state}`,
                    iconSize: [32, 32],
                });
            },
        });
        for (const point of this.records) {
            this.mainLayer.addLayer(this.prepareMarker(point));
        }
        const bounds = this.mainLayer.getBounds();
        if (bounds.isValid()) {
            this.leafletMap.fitBounds(bounds.pad(0.1));
        }
        this.leafletMap.addLayer(this.mainLayer);
    }

    prepareMarker(point) {
        const marker = L.marker(L.latLng(point.lat, point.lng), {
            icon: L.divIcon({
                className: `o_kobo_marker o_kobo_marker_${point.state}`,
                iconSize: [14, 14],
            }),
            title: point.title,
            riseOnHover: true,
            koboState: point.state,
        });
        marker.bindPopup(() => this.preparePopup(point));
        return marker;
    }

    preparePopup(point) {
        const popup = document.createElement("div");
        popup.className = "o_kobo_map_popup";
        const add = (tag, text, className) => {
            const el = document.createElement(tag);
            el.textContent = text;
            if (className) {
                el.className = className;
            }
            popup.appendChild(el);
            return el;
        };
        add("b", point.title, "d-block");
        add("span", point.state_label, `d-block o_kobo_map_state_${point.state}`);
        if (point.submitted_by) {
            add("span", _t("Submitted by %s", point.submitted_by), "d-block text-muted");
        }
        const link = (text, className, onClick) => {
            const a = add("a", text, `d-block ${className}`);
            a.href = "#";
            a.addEventListener("click", (ev) => {
                ev.preventDefault();
                onClick();
            });
        };
        link(_t("Open the submission"), "o_kobo_open_submission", () =>
            this.action.doAction({
                type: "ir.actions.act_window",
                res_model: "kobo.submission",
                res_id: point.id,
                views: [[false, "form"]],
                target: "current",
            })
        );
        if (point.record_name) {
            link(_t("Open the record: %s", point.record_name), "o_kobo_open_record", () =>
                this.action.doActionButton({
                    type: "object",
                    name: "action_open_record",
                    resModel: "kobo.submission",
                    resId: point.id,
                    resIds: [point.id],
                })
            );
        }
        return popup;
    }
}

/** OCA's controller, with the search bar it lacks in 18.0 and without "New". */
export class KoboSubmissionMapController extends Component {
    static template = "kobo_connector_map.SubmissionMap";
    static components = {Layout, SearchBar, MapRenderer: KoboSubmissionMapRenderer};
    static props = ["*"];

    setup() {
        this.searchBarToggler = useSearchBarToggler();
    }
}

registry.category("views").add("kobo_submission_map", {
    ...leafletMapView,
    Controller: KoboSubmissionMapController,
    Renderer: KoboSubmissionMapRenderer,
});
