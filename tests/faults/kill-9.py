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
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fail(message, log=None):
    print(f"FAIL: {message}", file=sys.stderr)
    if log and os.path.exists(log):
        with open(log, encoding="utf-8", errors="replace") as f:
            print("--- server log (tail)", file=sys.stderr)
            print("".join(f.readlines()[-30:]), file=sys.stderr)
    sys.exit(1)


def binary():
    path = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    exe = os.path.join(path, "madoguchi")
    if not os.access(exe, os.X_OK):
        subprocess.run(["swift", "build", "--product", "madoguchi"], cwd=ROOT, check=True)
    return exe


class Server:
    def __init__(self, exe, work, database):
        self.exe, self.work, self.database = exe, work, database
        self.port = free_port()
        self.log = os.path.join(work, "server.log")
        self.process = None

    def start(self):
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [self.exe, "serve", "--port", str(self.port), "--database", self.database,
                 "--keystore", "sqlite:" + os.path.join(self.work, "keystore.sqlite"),
                 "--key-file", os.path.join(self.work, "master.key"), "--outbox", os.path.join(self.work, "outbox"),
                 "--hold-mail", "--rate-limit", "1000000000/1", "--event-rate-limit", "1000000000/1"],
                cwd=ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"the server exited with {self.process.returncode} on start after a kill", self.log)
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        fail("the server did not become ready within 60 s", self.log)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def request(self, method, path, body=None, headers=None, timeout=10):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def get(self, path):
        return self.request("GET", path, timeout=5)


class Load:
    """Threads sending inquiries and events until stopped; what was acknowledged is kept."""

    def __init__(self, server, vendor_list, threads=6):
        self.server, self.vendor_list = server, vendor_list
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.numbers, self.events = [], []
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]

    def run(self, index):
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                if index % 2 == 0:
                    body = json.dumps({"service": "agent", "fields": {
                        "name": "障害 試験", "email": f"kill{secrets.token_hex(6)}@example.jp", "topic": "other",
                        "message": "強制終了の試験です。"}})
                    status, data = self.server.request("POST", "/api/v1/inquiries", body, {"Content-Type": "application/json"})
                    if status == 201:
                        with self.lock:
                            self.numbers.append(json.loads(data)["number"])
                    elif status not in (503,):
                        self.errors.append(f"inquiry answered {status}: {data[:200]!r}")
                else:
                    identifier = secrets.token_urlsafe(24)
                    body = json.dumps({"id": identifier, "kind": "notice", "vendor_list": self.vendor_list})
                    status, data = self.server.request("POST", "/api/v1/events", body, {"Content-Type": "text/plain"})
                    if status == 204:
                        with self.lock:
                            self.events.append(identifier)
                    elif status not in (503,):
                        self.errors.append(f"event answered {status}: {data[:200]!r}")
            except (OSError, http.client.HTTPException):
                # The server was killed mid-request: nothing was acknowledged, so nothing is owed.
                time.sleep(0.01)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()


class Store:
    """Reads the database directly, as an auditor would."""

    def __init__(self, database):
        self.database = database

    def query(self, sql):
        if self.database.startswith("sqlite:"):
            connection = sqlite3.connect(self.database[len("sqlite:"):])
            try:
                return [row[0] for row in connection.execute(sql)]
            finally:
                connection.close()
        psql = sorted(p for p in (os.path.join(d, "bin/psql") for d in
                                  (os.path.join("/usr/lib/postgresql", v) for v in os.listdir("/usr/lib/postgresql")))
                      if os.access(p, os.X_OK))[-1]
        out = subprocess.run([psql, "-At", "-d", self.database.split("?")[0], "-c",
                              f"SET search_path TO {self.schema()}; {sql}"], capture_output=True, text=True)
        if out.returncode != 0:
            fail(f"psql: {out.stderr}")
        return [line for line in out.stdout.splitlines() if line and line != "SET"]

    def schema(self):
        if "search_path=" in self.database:
            return self.database.split("search_path=")[1].split("&")[0]
        return "public"

    def integrity(self):
        if self.database.startswith("sqlite:"):
            return self.query("PRAGMA integrity_check")
        return ["ok"]


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
        cluster = os.path.join(pgdir, "pg")
        started = subprocess.run([os.path.join(ROOT, "scripts/test-postgres.sh"), "start", cluster, str(free_port())],
                                 capture_output=True, text=True, cwd=ROOT)
        if started.returncode != 0:
            fail(f"PostgreSQL did not start: {started.stderr}")
        url = started.stdout.strip().split("=", 1)[1]
        try:
            # The server is killed, not PostgreSQL: what is tested is that nothing is acknowledged before its commit
            # (the test cluster's fsync=off matters only to a crash of PostgreSQL or the machine).
            cycle_run(exe, "postgres", args.cycles, url)
        finally:
            subprocess.run([os.path.join(ROOT, "scripts/test-postgres.sh"), "stop", cluster], capture_output=True)
            shutil.rmtree(pgdir, ignore_errors=True)


if __name__ == "__main__":
    main()
