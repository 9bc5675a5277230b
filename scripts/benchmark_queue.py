#!/usr/bin/env python3
"""Parallel imports through queue_job (not a test: it prints numbers).

In a database where kobo_connector_queue is installed, with FORMS forms of
SUBMISSIONS submissions each on the fake KoBo (pages answered after a random
LATENCY, e.g. 1-3 seconds, as kf does), it imports everything:
- through the scheduled action's own loop (one process, form after form);
- through queue_job with 1, 2, 4 ... slots: a real Odoo server
  (``--workers=SLOTS+1 --load=web,queue_job``, its job runner with
  ``ODOO_QUEUE_JOB_CHANNELS=root:SLOTS,root.kobo:SLOTS``) runs the jobs that the
  scheduled action enqueues;
and prints submissions/s, wall time, duplicates and failed jobs per mode.

    scripts/benchmark --forms 20                     # the README's table
    scripts/benchmark_queue.py -d DB --addons-path . --forms 3 --submissions 1500 \\
        --latency 0.1-0.3 --modes 2 --check          # scripts/test's integration run

``--check`` exits non-zero unless every submission was imported exactly once
and no job failed; every mode is bounded by ``--timeout`` seconds.
"""

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from types import SimpleNamespace

import odoo
from odoo import api
from odoo.modules.module import initialize_sys_path
from odoo.modules.registry import Registry

SURVEY = [
    {"type": "text", "name": "name", "label": "Name"},
    {"type": "text", "name": "email", "label": "Email"},
]
# odoo-bin of the installed Odoo (a source tree has one beside the package)
ODOO_BIN = os.path.join(os.path.dirname(os.path.dirname(odoo.__file__)), "odoo-bin")
ACTIVE_JOBS = ("wait_dependencies", "pending", "enqueued", "started")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(env, fake, forms, submissions):
    """FORMS deployed forms with SUBMISSIONS each and a mapping to contacts."""
    env["ir.config_parameter"].set_param(
        "kobo_connector.allow_private_urls", "1"
    )  # the fake: 127.0.0.1
    server = env["kobo.server"].create({"name": "Bench", "url": fake.url, "token": fake.token})
    uids = []
    for n in range(forms):
        uid = fake.create_asset(xlsform=build_xlsform(SURVEY), name=f"Bench {n}", deploy=True)
        fake.add_submissions(
            uid,
            [{"name": f"B {n}-{i}", "email": f"bq{n}-{i}@example.org"} for i in range(submissions)],
        )
        uids.append(uid)
    server.action_test_connection()
    server.action_fetch_forms()
    Form = env["kobo.form"].with_context(active_test=False)
    ours = Form.search([("asset_uid", "in", uids)])
    Form.search([("id", "not in", ours.ids)]).write({"active": False})
    field = env["ir.model.fields"]._get
    for form in ours:
        env["kobo.mapping"].create(
            {
                "form_id": form.id,
                "model_id": env["ir.model"]._get("res.partner").id,
                "enabled": True,
                "line_ids": [
                    (0, 0, {"question_path": q, "field_id": field("res.partner", q).id})
                    for q in ("name", "email")
                ],
            }
        )
    env.cr.commit()
    return ours


def reset(env, forms):
    """Forget the imports (the contacts stay: deleting 40,000 contacts takes
    minutes of foreign-key checks); return the id after which this run's
    contacts are created."""
    env.cr.execute("DELETE FROM kobo_submission WHERE form_id = ANY(%s)", (forms.ids,))
    env.cr.execute("DELETE FROM queue_job WHERE model_name = 'kobo.form'")
    forms.write({"sync_cursor": 0, "run_new": 0, "run_updated": 0, "run_errors": 0})
    env.cr.execute("SELECT coalesce(max(id), 0) FROM res_partner")
    first = env.cr.fetchone()[0]
    env.cr.commit()
    env.invalidate_all()
    return first


def outcome(env, forms, first):
    env.cr.execute("SELECT count(*) FROM kobo_submission WHERE form_id = ANY(%s)", (forms.ids,))
    stored = env.cr.fetchone()[0]
    env.cr.execute(  # contacts of this run: one per submission, none twice
        "SELECT count(*) - count(DISTINCT email) FROM res_partner "
        "WHERE id > %s AND email LIKE 'bq%%@example.org'",
        (first,),
    )
    duplicates = env.cr.fetchone()[0]
    env.cr.execute(
        "SELECT state, count(*) FROM queue_job WHERE model_name = 'kobo.form' GROUP BY state"
    )
    jobs = dict(env.cr.fetchall())
    env.cr.commit()  # a fresh snapshot next time
    return stored, duplicates, jobs


def run_cron(env, forms, expected, timeout):
    """The scheduled action's own loop (kobo_connector without the glue)."""
    start = time.monotonic()
    remaining = 1
    while remaining and time.monotonic() - start < timeout:
        _done, remaining = CoreForm._cron_import(env["kobo.form"], limit=1000)
    return time.monotonic() - start


def run_queue(env, forms, expected, timeout, slots, args):
    port = free_port()
    logfile = os.path.join(args.logdir, f"queue-{slots}.log")
    open(logfile, "w").close()  # this run's log only
    cmd = [
        sys.executable,
        ODOO_BIN,  # a script file: the prefork server re-runs it for its gevent worker
        "server",
        f"--database={env.cr.dbname}",
        f"--db-filter=^{env.cr.dbname}$",
        f"--addons-path={args.addons_path}",
        f"--http-port={port}",
        f"--gevent-port={free_port()}",  # not Odoo's fixed 8072: other servers may run
        "--http-interface=127.0.0.1",
        f"--workers={slots + 1}",  # the slots + one for the runner's calls and users
        "--max-cron-threads=0",
        "--load=web,queue_job",
        "--limit-time-real=600",
        "--limit-time-cpu=600",
        "--log-level=warn",
        f"--logfile={logfile}",
    ]
    environ = dict(os.environ, ODOO_QUEUE_JOB_CHANNELS=f"root:{slots},root.kobo:{slots}")
    proc = subprocess.Popen(cmd, env=environ, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/web/login", timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Odoo server did not start (see {logfile})") from None
                time.sleep(0.5)
        start = time.monotonic()
        env["kobo.form"]._cron_import()  # the glue: one job per form
        env.cr.commit()
        while time.monotonic() - start < timeout:
            _stored, _dups, jobs = outcome(env, forms, 0)
            if not any(jobs.get(state) for state in ACTIVE_JOBS):
                break
            time.sleep(0.5)
        return time.monotonic() - start
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server, its workers and its job runner
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--forms", type=int, default=20)
    parser.add_argument("--submissions", type=int, default=2000, help="per form")
    parser.add_argument("--latency", default="1-3", help="seconds per page of /data/: MIN-MAX")
    parser.add_argument("--modes", default="cron,1,2,4", help="cron and/or numbers of slots")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mode")
    parser.add_argument("--check", action="store_true", help="exit 1 unless all once, no failure")
    parser.add_argument("--logdir", default="var")
    args = parser.parse_args()
    low, _sep, high = args.latency.partition("-")
    latency = (float(low), float(high or low))
    os.makedirs(args.logdir, exist_ok=True)
    odoo.tools.config.parse_config(
        ["-d", args.database, "--addons-path", args.addons_path, "--log-level", "warn"]
    )
    initialize_sys_path()
    global build_xlsform, CoreForm  # the addons are importable only now
    from odoo.addons.kobo_connector.kobo_kpi.fake import FakeKobo
    from odoo.addons.kobo_connector.kobo_kpi.fake.xlsform import build_xlsform
    from odoo.addons.kobo_connector.models.kobo_form_sync import KoboForm as CoreForm

    class SlowKobo(FakeKobo):
        """Every GET of submissions answers after a random latency."""

        def _take_fault(self, method, path):
            fault = super()._take_fault(method, path)
            if fault is None and method == "GET" and "/data/" in path and latency[1] > 0:
                return SimpleNamespace(kind="slow", delay=random.uniform(*latency))
            return fault

    expected = args.forms * args.submissions
    print(
        f"{args.forms} forms x {args.submissions:,} submissions, "
        f"{latency[0]:g}-{latency[1]:g} s of KoBo latency per page\n"
    )
    print("| path | submissions/s | wall time (s) | imported | duplicates | failed jobs |")
    print("|---|---|---|---|---|---|")
    ok = True
    registry = Registry(args.database)
    with SlowKobo() as fake, registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        forms = setup(env, fake, args.forms, args.submissions)
        for mode in args.modes.split(","):
            first = reset(env, forms)
            if mode == "cron":
                label, wall = "cron (one worker)", run_cron(env, forms, expected, args.timeout)
            else:
                slots = int(mode)
                label = f"queue_job, {slots} slot{'s' if slots > 1 else ''}"
                wall = run_queue(env, forms, expected, args.timeout, slots, args)
            stored, duplicates, jobs = outcome(env, forms, first)
            failed = jobs.get("failed", 0)
            print(
                f"| {label} | {stored / wall:,.0f} | {wall:,.1f} | {stored:,} of {expected:,} "
                f"| {duplicates} | {failed} |",
                flush=True,
            )
            ok = ok and stored == expected and not duplicates and not failed
    if args.check and not ok:
        print("FAILED: not every submission imported exactly once, or a job failed", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
