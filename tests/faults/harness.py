"""What the fault and instance scripts share: the server process, the load, reading the database directly."""

import http.client
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
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
    """One `madoguchi serve` process; `mail` is the options for mail (default: held)."""

    def __init__(self, exe, work, database, keystore=None, mail=("--hold-mail",), name="server", policy=None):
        self.exe, self.work, self.database = exe, work, database
        self.keystore = keystore or "sqlite:" + os.path.join(work, "keystore.sqlite")
        self.mail, self.policy = list(mail), policy
        self.port = free_port()
        self.log = os.path.join(work, f"{name}.log")
        self.outbox = os.path.join(work, f"{name}-outbox")
        self.process = None

    def start(self):
        policy = ["--policy", self.policy] if self.policy else []
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [self.exe, "serve", "--port", str(self.port), "--database", self.database, "--keystore", self.keystore,
                 "--key-file", os.path.join(self.work, "master.key"), "--outbox", self.outbox, *self.mail, *policy,
                 "--rate-limit", "1000000000/1", "--event-rate-limit", "1000000000/1"],
                cwd=ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"the server exited with {self.process.returncode} on start", self.log)
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

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

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

    def __init__(self, servers, vendor_list, threads=6, limit=None):
        self.servers = servers if isinstance(servers, list) else [servers]
        self.vendor_list, self.limit = vendor_list, limit
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.numbers, self.events = [], []
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]

    def run(self, index):
        n = 0
        while not self.stop.is_set() and (self.limit is None or n < self.limit):
            n += 1
            server = self.servers[(index + n) % len(self.servers)]
            try:
                if index % 2 == 0:
                    body = json.dumps({"service": "agent", "fields": {
                        "name": "障害 試験", "email": f"kill{secrets.token_hex(6)}@example.jp", "topic": "other",
                        "message": "強制終了の試験です。"}})
                    status, data = server.request("POST", "/api/v1/inquiries", body, {"Content-Type": "application/json"})
                    if status == 201:
                        with self.lock:
                            self.numbers.append(json.loads(data)["number"])
                    elif status not in (503,):
                        self.errors.append(f"inquiry answered {status}: {data[:200]!r}")
                else:
                    identifier = secrets.token_urlsafe(24)
                    body = json.dumps({"id": identifier, "kind": "notice", "vendor_list": self.vendor_list})
                    status, data = server.request("POST", "/api/v1/events", body, {"Content-Type": "text/plain"})
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


def start_postgres(directory):
    """A throwaway PostgreSQL cluster under `directory` (scripts/test-postgres.sh); returns its URL."""
    started = subprocess.run([os.path.join(ROOT, "scripts/test-postgres.sh"), "start", os.path.join(directory, "pg"),
                              str(free_port())], capture_output=True, text=True, cwd=ROOT)
    if started.returncode != 0:
        fail(f"PostgreSQL did not start: {started.stderr}")
    return started.stdout.strip().split("=", 1)[1]


def stop_postgres(directory):
    subprocess.run([os.path.join(ROOT, "scripts/test-postgres.sh"), "stop", os.path.join(directory, "pg")], capture_output=True)
