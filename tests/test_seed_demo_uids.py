"""The demo data's forms are the sandbox's: same UIDs as ``python3 -m kobo_kpi.fake``."""

import xml.etree.ElementTree as ET

from conftest import ADDON_DIR
from kobo_kpi.fake import FakeKobo
from kobo_kpi.fake.__main__ import DEMO_TOKEN
from kobo_kpi.fake.seed import seed_demo


def test_demo_forms_have_the_sandbox_uids():
    with FakeKobo(token=DEMO_TOKEN, seed=1) as fake:  # as the sandbox starts
        uids = seed_demo(fake)
    tree = ET.parse(ADDON_DIR / "demo" / "kobo_demo.xml")
    demo = {
        rec.get("id"): rec.find("field[@name='asset_uid']").text
        for rec in tree.iter("record")
        if rec.get("model") == "kobo.form"
    }
    assert demo == {
        "kobo_form_registration_demo": uids["registration"],
        "kobo_form_distribution_demo": uids["distribution"],
    }
