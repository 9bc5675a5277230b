/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * The progress of a sync the user asked for ("kobo_sync_progress" on the bus,
 * at most one message every few seconds): one toast per form, replaced by
 * each message, closed when the sync ends (its result comes as a
 * simple_notification).
 */
export const koboSyncProgressService = {
    dependencies: ["bus_service", "notification"],
    start(env, { bus_service, notification }) {
        const open = new Map();
        bus_service.subscribe("kobo_sync_progress", ({ form_id, title, message, final }) => {
            open.get(form_id)?.();
            open.delete(form_id);
            if (!final) {
                open.set(
                    form_id,
                    notification.add(message, { title, type: "info", sticky: true })
                );
            }
        });
        bus_service.start();
    },
};

registry.category("services").add("kobo_sync_progress", koboSyncProgressService);
