"""The chaos scenario at 1,000 submissions: ``scripts/chaos`` runs a real Odoo
server (its own database, cron thread on) against the fake KoBo with one
fault of each kind, a SIGKILL mid-page and a restart, a deletion and 50
edits on KoBo, then the reconcile cron; nothing may be lost, duplicated or
wrongly deleted."""

import json
import subprocess
import sys
from pathlib import Path

from odoo.tests import TransactionCase, tagged

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "chaos"


@tagged("post_install", "-at_install")
class TestChaos(TransactionCase):
    def test_chaos_1000_submissions(self):
        self.assertTrue(SCRIPT.exists(), f"{SCRIPT} is missing: run the tests from the repository")
        database = f"{self.env.cr.dbname}_chaos"
        run = subprocess.run(
            [
                sys.executable,
                str(SCRIPT),
                "--submissions=1000",
                "--faults=8",  # one of each kind, on consecutive page requests
                "--fault-every=1",
                "--latency=0.2",
                "--edits=50",
                "--timeout=240",
                f"--database={database}",
                f"--python={sys.executable}",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=900,  # the install (not counted in --timeout) and the scenario
            check=False,
        )
        self.assertEqual(run.returncode, 0, f"scripts/chaos failed:\n{run.stdout}\n{run.stderr}")
        figures = json.loads(run.stdout.strip().splitlines()[-1])
        self.assertEqual(figures["submissions on KoBo"], 999, figures)
        self.assertEqual(figures["lost"], 0, figures)
        self.assertEqual(figures["duplicates"], 0, figures)
        self.assertEqual(figures["wrongly deleted"], 0, figures)
        self.assertEqual(figures["deletions seen"], "1 of 1", figures)
        self.assertEqual(figures["edits arrived"], "50 of 50", figures)
        self.assertEqual(figures["in error"], 0, figures)
        self.assertEqual(figures["faults"], 8, figures)
        self.assertEqual(figures["SIGKILL / restarts"], "1 / 1", figures)
