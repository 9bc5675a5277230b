"""Files of submissions, and validation statuses written back to KoBo."""

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform

from .common import KoboCase

SURVEY = [
    {"type": "text", "name": "name", "label": "Full name"},
    {"type": "image", "name": "photo", "label": "Photo"},
    {"type": "file", "name": "id_card", "label": "ID card"},
]
JPEG = b"\xff\xd8\xff\xe0" + b"photo-one" * 100
JPEG2 = b"\xff\xd8\xff\xe0" + b"photo-two" * 100
PDF = b"%PDF-1.4 id card"
QUIET = ("odoo.addons.kobo_connector.models.kobo_submission_attachment",)


class FilesCase(KoboCase):
    """A deployed form with a photo and a file question, mapped to contacts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = cls.fake.create_asset(
            xlsform=build_xlsform(SURVEY, []), name="Registration with photo", deploy=True
        )
        cls.server.action_test_connection()
        cls.server.action_fetch_forms()
        cls.form = cls.env["kobo.form"].search([("asset_uid", "=", cls.uid)])
        name = cls.env["ir.model.fields"]._get("res.partner", "name")
        cls.env["kobo.mapping"].create(
            {
                "form_id": cls.form.id,
                "model_id": cls.env["ir.model"]._get("res.partner").id,
                "enabled": True,
                "line_ids": [(0, 0, {"question_path": "name", "field_id": name.id})],
            }
        )

    def setUp(self):
        super().setUp()
        for sub in self.fake.submissions(self.uid):
            self.fake.delete_submission(self.uid, sub["_id"])

    def _add(self, name, files):
        answers = {"name": name}
        attachments = {}
        for xpath, (filename, data, mimetype) in files.items():
            answers[xpath] = filename
            attachments[xpath] = (filename, data, mimetype)
        return self.fake.add_submission(self.uid, answers, attachments=attachments)

    def _import(self):
        self.env["kobo.form"]._cron_import()
        with mute_logger(*QUIET):
            self.env["kobo.submission"]._cron_after_import()

    def _sub(self, kobo_id):
        return self.env["kobo.submission"].search(
            [("form_id", "=", self.form.id), ("kobo_id", "=", kobo_id)]
        )

    def _files(self, record):
        return self.env["ir.attachment"].search(
            [("res_model", "=", record._name), ("res_id", "=", record.id)], order="name"
        )

    def _downloads(self):
        return [p for m, p in self.fake.requests if "/attachments/" in p]


@tagged("post_install", "-at_install")
class TestFiles(FilesCase):
    def test_first_import_then_reimport_without_download(self):
        data = self._add(
            "Alice",
            {
                "photo": ("alice.jpg", JPEG, "image/jpeg"),
                "id_card": ("card.pdf", PDF, "application/pdf"),
            },
        )
        plain = self.fake.add_submission(self.uid, {"name": "Bob"})
        self._import()
        sub = self._sub(data["_id"])
        self.assertEqual(sub.state, "imported")
        self.assertEqual(sub.attachment_state, "done")
        files = self._files(sub._record())
        self.assertEqual(files.mapped("name"), ["alice.jpg", "card.pdf"])
        self.assertEqual(files[0].raw, JPEG)
        self.assertEqual(files[1].raw, PDF)
        self.assertEqual(
            sub.attachment_ids.sorted("question_xpath").mapped("question_id.name"),
            ["id_card", "photo"],
        )
        self.assertEqual(sub.attachment_ids.attachment_id, files)
        self.assertEqual(self._sub(plain["_id"]).attachment_state, "none")
        self.assertEqual(len(self._downloads()), 2)

        # an edit of another answer: the record is updated, the files are not downloaded again
        self.fake.reset_requests()
        self.fake.edit_submission(self.uid, data["_id"], {"name": "Alice B"})
        self._import()
        self.assertEqual(sub._record().name, "Alice B")
        self.assertEqual(sub.attachment_state, "done")
        self.assertEqual(self._downloads(), [])
        self.assertEqual(self._files(sub._record()), files)

    def test_edit_replacing_a_file(self):
        data = self._add("Alice", {"photo": ("one.jpg", JPEG, "image/jpeg")})
        self._import()
        sub = self._sub(data["_id"])
        old = self._files(sub._record())
        store = self.fake.store
        with self.fake.lock:
            store.edit_submission(
                store.assets[self.uid],
                data["_id"],
                {"photo": "two.jpg"},
                attachments={"photo": ("two.jpg", JPEG2, "image/jpeg")},
            )
        kobo = next(s for s in self.fake.submissions(self.uid) if s["_id"] == data["_id"])
        self.assertEqual([a["media_file_basename"] for a in kobo["_attachments"]], ["two.jpg"])
        self.fake.reset_requests()
        self._import()
        files = self._files(sub._record())
        self.assertEqual(files.mapped("name"), ["two.jpg"])
        self.assertEqual(files.raw, JPEG2)
        self.assertFalse(old.exists(), "the replaced file is gone")
        self.assertEqual(len(self._downloads()), 1, "only the new file is downloaded")
        self.assertEqual(sub.attachment_ids.filename, "two.jpg")

    def test_deleted_file_is_skipped(self):
        data = self._add(
            "Alice",
            {
                "photo": ("alice.jpg", JPEG, "image/jpeg"),
                "id_card": ("card.pdf", PDF, "application/pdf"),
            },
        )
        with self.fake.lock:  # as KPI lists a file deleted on KoBo (pending deletion)
            stored = self.fake.store.assets[self.uid].by_id[data["_id"]]
            stored["_attachments"][1]["is_deleted"] = True
        self._import()
        sub = self._sub(data["_id"])
        self.assertEqual(self._files(sub._record()).mapped("name"), ["alice.jpg"])
        self.assertEqual(len(self._downloads()), 1)
        self.assertEqual(sub.attachment_ids.mapped("filename"), ["alice.jpg"])
        self.assertEqual(sub.attachment_state, "done")

    def test_failed_download_then_retry(self):
        data = self._add("Alice", {"photo": ("alice.jpg", JPEG, "image/jpeg")})
        self.fake.fail(r"/attachments/", status=500, times=None)
        self._import()
        sub = self._sub(data["_id"])
        self.assertEqual(sub.state, "imported", "the record is imported all the same")
        self.assertTrue(sub._record())
        self.assertEqual(sub.attachment_state, "error")
        self.assertIn("alice.jpg could not be downloaded", sub.attachment_error)
        self.assertFalse(self._files(sub._record()))
        self.fake.clear_faults()
        self._import()  # the next sync retries
        self.assertEqual(sub.attachment_state, "done")
        self.assertFalse(sub.attachment_error)
        self.assertEqual(self._files(sub._record()).raw, JPEG)

    def test_over_the_size_limit(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "kobo_connector.attachment_max_mb", "0.0005"
        )  # 524 bytes
        data = self._add(
            "Alice",
            {
                "photo": ("big.jpg", JPEG, "image/jpeg"),
                "id_card": ("card.pdf", PDF, "application/pdf"),
            },
        )
        self._import()
        sub = self._sub(data["_id"])
        self.assertEqual(self._files(sub._record()).mapped("name"), ["card.pdf"])
        self.assertIn("big.jpg is larger than", sub.attachment_error)
        self.assertEqual(
            sub.attachment_ids.filtered(lambda a: a.state == "too_large").filename, "big.jpg"
        )
        self.fake.reset_requests()
        self._import()
        self.assertEqual(self._downloads(), [], "a file over the limit is not tried again")


@tagged("post_install", "-at_install")
class TestValidationWriteBack(FilesCase):
    def test_statuses_written_back_in_bulk(self):
        self.form.validation_writeback = True
        good = [self.fake.add_submission(self.uid, {"name": f"P{i}"}) for i in range(3)]
        bad = self.fake.add_submission(self.uid, {})  # no name: the partner cannot be created
        with mute_logger("odoo.sql_db", "odoo.addons.kobo_connector.models.kobo_submission"):
            self.env["kobo.form"]._cron_import()
        self.fake.reset_requests()
        self.env["kobo.submission"]._cron_after_import()
        patches = [p for m, p in self.fake.requests if m == "PATCH"]
        self.assertEqual(len(patches), 2, "one bulk call per status")
        self.assertTrue(all("/data/validation_statuses/" in p for p in patches))
        on_kobo = {s["_id"]: s["_validation_status"] for s in self.fake.submissions(self.uid)}
        for sub in good:
            self.assertEqual(on_kobo[sub["_id"]]["uid"], "validation_status_approved")
            self.assertEqual(self._sub(sub["_id"]).validation_status, "validation_status_approved")
        self.assertEqual(on_kobo[bad["_id"]]["uid"], "validation_status_not_approved")
        self.fake.reset_requests()
        self.env["kobo.submission"]._cron_after_import()
        self.assertFalse([p for m, p in self.fake.requests if m == "PATCH"], "written once")

    def test_write_back_failure_never_blocks_the_import(self):
        self.form.write({"validation_writeback": True, "validation_status_error": False})
        sub = self.fake.add_submission(self.uid, {"name": "P"})
        self.fake.fail(r"/validation_statuses/", status=500, times=None)
        self.env["kobo.form"]._cron_import()
        self.assertEqual(self._sub(sub["_id"]).state, "imported")
        with mute_logger("odoo.addons.kobo_connector.models.kobo_form_push"):
            self.env["kobo.submission"]._cron_after_import()
        self.assertIn("500", self.form.validation_writeback_error)
        self.fake.clear_faults()
        self.env["kobo.submission"]._cron_after_import()
        self.assertFalse(self.form.validation_writeback_error)
        on_kobo = self.fake.submissions(self.uid)[0]["_validation_status"]
        self.assertEqual(on_kobo["uid"], "validation_status_approved")
