"""The live link against a REAL KoBo (KPI): Register push from Odoo, a real
REST-service delivery to this Odoo, the photo attached, the validation
status written back. Skipped without ``KOBO_URL``/``KOBO_TOKEN``. The KoBo
must be allowed to post to 127.0.0.1 (KPI's ``SSRF_ALLOWED_IP_ADDRESS``)."""

import io
import time
from unittest.mock import patch

import requests
from PIL import Image

from odoo import Command
from odoo.tests import HttpCase, tagged

from .test_live_kobo import LiveKoboCase

SURVEY = [
    {"type": "text", "name": "name", "label": "Full name", "required": "yes"},
    {"type": "image", "name": "photo", "label": "Photo"},
]
DELIVERY_WAIT = 30  # seconds: KPI delivers REST services through celery


def _jpeg(color=(200, 30, 30)):
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buf, "JPEG")
    return buf.getvalue()


@tagged("post_install", "-at_install")
class TestLivePush(LiveKoboCase, HttpCase):
    def _submit_with_photo(self, uid, name, photo, filename="photo.jpg", deprecated_id=None):
        collector = self.collector

        def post(xml):
            return requests.post(
                f"{self.kobo.base_url}/submission",
                files={
                    "xml_submission_file": ("submission.xml", xml, "text/xml"),
                    filename: (filename, photo, "image/jpeg"),
                },
                headers=collector._headers(),
                timeout=60,
            )

        with patch.object(collector, "post", post):
            return collector.submit(
                uid, {"name": name, "photo": filename}, deprecated_id=deprecated_id
            )

    def test_push_delivery_files_and_validation_status(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "kobo_connector.public_base_url", self.base_url()
        )
        uid = self._new_asset("Odoo live push", SURVEY, deploy=True)
        form = self._odoo_form(uid)
        name_field = self.env["ir.model.fields"]._get("res.partner", "name")
        self.env["kobo.mapping"].create(
            {
                "form_id": form.id,
                "model_id": self.env["ir.model"]._get("res.partner").id,
                "enabled": True,
                "line_ids": [Command.create({"question_path": "name", "field_id": name_field.id})],
            }
        )
        self.server.action_test_connection()
        form.validation_writeback = True
        form.action_register_push()
        self.assertEqual(
            [h["endpoint"] for h in self.kobo.list_hooks(uid)], [form.push_url], "registered"
        )
        self.env.flush_all()  # as the button's commit would: the receiver reads the secret

        photo = _jpeg()
        instance_id = self._submit_with_photo(uid, "Live Push Person", photo)
        Pending = self.env["kobo.pending.push"]
        deadline = time.monotonic() + DELIVERY_WAIT
        while not Pending.search_count([("form_id", "=", form.id)]):
            if time.monotonic() > deadline:
                logs = self.kobo.hook_logs(uid, form.push_hook_uid)
                self.fail(f"no push from KoBo within {DELIVERY_WAIT} s: {logs}")
            time.sleep(0.5)

        self.env["kobo.form"]._cron_import()
        self.env["kobo.submission"]._cron_after_import()
        sub = self.env["kobo.submission"].search([("form_id", "=", form.id)])
        self.assertEqual(sub.state, "imported")
        partner = sub._record()
        self.assertEqual(partner.name, "Live Push Person")
        self.assertEqual(sub.attachment_state, "done", sub.attachment_error)
        files = self.env["ir.attachment"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)]
        )
        self.assertEqual(files.raw, photo)
        status = self.kobo.get_validation_status(uid, sub.kobo_id)
        self.assertEqual(status.get("uid"), "validation_status_approved")

        # an edit on KoBo replaces the photo (KoBo soft-deletes the old one: no longer listed)
        photo2 = _jpeg((30, 30, 200))
        self._submit_with_photo(
            uid, "Live Push Person", photo2, "photo2.jpg", deprecated_id=instance_id
        )
        self.env["kobo.form"]._cron_import()
        self.env["kobo.submission"]._cron_after_import()
        listed = self.kobo.get_submission(uid, sub.kobo_id)["_attachments"]
        self.assertEqual([a["media_file_basename"] for a in listed], ["photo2.jpg"])
        files = self.env["ir.attachment"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)]
        )
        self.assertEqual((files.name, files.raw), ("photo2.jpg", photo2))

        form.action_check_push()
        self.assertIn("1 delivered", form.push_status)
        form.action_unregister_push()
        self.assertEqual(self.kobo.list_hooks(uid), [])
