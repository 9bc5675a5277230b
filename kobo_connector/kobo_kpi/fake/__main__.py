"""Offline sandbox: ``python3 -m kobo_kpi.fake [--host H] [--port P] [--token T] [--no-seed]``
(cwd ``kobo_connector/`` or ``PYTHONPATH=kobo_connector``).

Starts a FakeKobo with a fixed, documented token so docker-compose and the
README can name it, and (by default) three demo forms with submissions.
"""

import argparse
import signal
import sys
import threading

from .seed import seed_demo
from .server import FakeKobo

DEMO_TOKEN = "0123456789abcdef0123456789abcdef01234567"
DEMO_PASSWORD = "kobo"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m kobo_kpi.fake", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 inside docker")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default=DEMO_TOKEN, help="API token of kobo_admin")
    parser.add_argument("--password", default=DEMO_PASSWORD, help="password of kobo_admin")
    parser.add_argument("--seed", dest="seed", action="store_true", default=True)
    parser.add_argument("--no-seed", dest="seed", action="store_false")
    args = parser.parse_args(argv)

    fake = FakeKobo(args.host, args.port, token=args.token, seed=1, admin_password=args.password)
    fake.start()
    forms = seed_demo(fake) if args.seed else {}
    lines = [
        f"Fake KoBoToolbox (KPI API v2) listening on http://{args.host}:{fake.port}",
        f"  user: {fake.admin}   password: {args.password}   token: {fake.token}",
    ]
    for uid in forms.values():
        asset = fake.assets[uid]
        lines.append(f"  form: {asset.name!r:26} uid {uid}  ({len(asset.submissions)} submissions)")
    lines.append("Press Ctrl+C to stop.")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
