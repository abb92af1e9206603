#!/usr/bin/env python3
"""Fault: the server is killed with SIGKILL under inquiry and event load, then started again (#20, R-OPS-1).

    tests/faults/kill-9.py [--database sqlite|postgres|both] [--cycles N]

Each cycle starts `madoguchi serve` (the debug build) on the same database, loads it from several threads with
inquiries (POST /api/v1/inquiries) and consent events (POST /api/v1/events), kills it with SIGKILL at a random
moment, and starts it again. Checks, after every restart: every inquiry answered 201 is stored under its number,
every event answered 204 is in the ledger, the server starts on the database it was killed on (SQLite: `PRAGMA
integrity_check` ok); at the end `madoguchi audit verify` finds the audit chain intact. Exits non-zero on the first
broken expectation. The short form (.ci/run) runs 5 cycles on each database; the long form is `--cycles 100`.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Load, Server, Store, binary, fail, start_postgres, stop_postgres  # noqa: E402


def cycle_run(exe, kind, cycles, pgurl=None):
    work = tempfile.mkdtemp(prefix=f"madoguchi-kill9-{kind}-")
    database = "sqlite:" + os.path.join(work, "data.sqlite") if kind == "sqlite" else pgurl
    server = Server(exe, work, database)
    store = Store(database)
    acknowledged_numbers, acknowledged_events = set(), set()
    killed_with_load = 0
    try:
        server.start()
        status, body = server.get("/api/v1/consent-config")
        if status != 200:
            fail(f"consent-config answered {status}", server.log)
        vendor_list = json.loads(body)["vendor_list"]
        for cycle in range(1, cycles + 1):
            with Load(server, vendor_list) as load:
                time.sleep(random.uniform(0.5, 2.0))
                server.kill()
            if load.errors:
                fail(f"cycle {cycle}: {load.errors[0]}", server.log)
            acknowledged_numbers.update(load.numbers)
            acknowledged_events.update(load.events)
            if load.numbers or load.events:
                killed_with_load += 1
            integrity = store.integrity()
            if integrity != ["ok"]:
                fail(f"cycle {cycle}: integrity_check says {integrity[:5]}", server.log)
            server.start()
            stored_numbers = set(store.query("SELECT number FROM inquiries"))
            stored_events = set(store.query("SELECT identifier FROM consent_events"))
            lost_numbers = acknowledged_numbers - stored_numbers
            lost_events = acknowledged_events - stored_events
            if lost_numbers or lost_events:
                fail(f"cycle {cycle}: acknowledged but missing after SIGKILL: {len(lost_numbers)} inquiries "
                     f"({sorted(lost_numbers)[:3]}), {len(lost_events)} events", server.log)
            print(f"    {kind} cycle {cycle}: killed after {len(load.numbers)} inquiries and {len(load.events)} events "
                  f"acknowledged; all {len(acknowledged_numbers)} + {len(acknowledged_events)} there after restart",
                  flush=True)
        server.kill()
        verify = subprocess.run([exe, "audit", "verify", "--database", database,
                                 "--key-file", os.path.join(work, "master.key")],
                                cwd=ROOT, capture_output=True, text=True)
        if verify.returncode != 0:
            fail(f"audit verify after {cycles} kills: {verify.stdout}{verify.stderr}", server.log)
        if killed_with_load == 0:
            fail("no cycle acknowledged anything before the kill: the load never ran")
        print(f"==> {kind}: {cycles} kills under load, {len(acknowledged_numbers)} inquiries and "
              f"{len(acknowledged_events)} events acknowledged, none lost; audit chain intact")
    finally:
        if server.process and server.process.poll() is None:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    exe = binary()
    if args.database in ("sqlite", "both"):
        cycle_run(exe, "sqlite", args.cycles)
    if args.database in ("postgres", "both"):
        pgdir = tempfile.mkdtemp(prefix="madoguchi-kill9-pg-")
        os.chmod(pgdir, 0o755)
        url = start_postgres(pgdir)
        try:
            # The server is killed, not PostgreSQL: what is tested is that nothing is acknowledged before its commit
            # (the test cluster's fsync=off matters only to a crash of PostgreSQL or the machine).
            cycle_run(exe, "postgres", args.cycles, url)
        finally:
            stop_postgres(pgdir)
            shutil.rmtree(pgdir, ignore_errors=True)


if __name__ == "__main__":
    main()
