#!/usr/bin/env python3
"""Three `madoguchi serve` processes on one PostgreSQL, as behind a load balancer (#20, R-OPS-1).

    scripts/several-instances.py [--servers N] [--seconds S]

Starts a throwaway PostgreSQL cluster (scripts/test-postgres.sh), an SMTP server that counts what it receives
(scripts/smtp-sink.py, aiosmtpd) and N servers (the debug build) at the same moment on one database and one key
store, all delivering mail. Loads every server at once with inquiries and consent events for S seconds, then checks
what an operator would: each acknowledged inquiry stored once and its receipt mail delivered exactly once, each
acknowledged event in the ledger once, `madoguchi audit verify` intact (one chain), the jobs that must run on one
server at a time holding one lease each, and a policy version loaded with `madoguchi policy load` served by every
server within seconds. Exits non-zero on the first broken expectation; prints what it saw.
"""

import argparse
import email
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "faults"))
from harness import ROOT, Load, Server, Store, binary, fail, start_postgres, stop_postgres  # noqa: E402


def start_sink(directory):
    sink = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts/smtp-sink.py"), directory, "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    words = sink.stdout.readline().split()
    if not words or words[0] != "ready":
        fail("the SMTP sink did not start (pip install aiosmtpd)")
    return sink, int(words[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    exe = binary()
    work = tempfile.mkdtemp(prefix="madoguchi-instances-")
    os.chmod(work, 0o755)
    base = start_postgres(work)
    database, keystore = base + "&search_path=public", base + "&search_path=keys"
    mailbox = os.path.join(work, "mailbox")
    os.makedirs(mailbox)
    sink, smtp_port = start_sink(mailbox)
    servers = []
    try:
        Store(base).query("CREATE SCHEMA keys")
        servers = [Server(exe, work, database, keystore=keystore, name=f"server{i}",
                          mail=("--smtp", f"smtp://127.0.0.1:{smtp_port}?security=none"))
                   for i in range(1, args.servers + 1)]
        # The first creates the master key alone (the others would each make their own); then the rest start at once,
        # racing for the migrations and the policy version.
        servers[0].start()
        starters = [threading.Thread(target=server.start) for server in servers[1:]]
        for thread in starters:
            thread.start()
        for thread in starters:
            thread.join()
        print(f"==> {len(servers)} servers on one PostgreSQL: ports {[s.port for s in servers]}")
        status, body = servers[0].get("/api/v1/consent-config")
        vendor_list = json.loads(body)["vendor_list"]
        with Load(servers, vendor_list, threads=3 * len(servers)) as load:
            time.sleep(args.seconds)
        if load.errors:
            fail(load.errors[0])
        print(f"    load on all servers for {args.seconds:g} s: {len(load.numbers)} inquiries, {len(load.events)} events acknowledged")

        store = Store(database)
        numbers = store.query("SELECT number FROM inquiries")
        if sorted(numbers) != sorted(set(numbers)) or set(load.numbers) - set(numbers):
            fail("an acknowledged inquiry is missing or stored twice")
        events = store.query("SELECT identifier FROM consent_events")
        if set(load.events) - set(events) or len(events) != len(set(events)):
            fail("an acknowledged event is missing or stored twice")
        print(f"    every inquiry and event stored once ({len(numbers)} + {len(events)})")

        # Every receipt delivered exactly once, by whichever server claimed it.
        deadline = time.monotonic() + 120
        while True:
            pending = store.query("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")
            if pending == ["0"] or time.monotonic() > deadline:
                break
            time.sleep(1)
        if pending != ["0"]:
            fail(f"{pending[0]} messages still waiting after 120 s")
        subjects = []
        for path in glob.glob(os.path.join(mailbox, "*.eml")):
            with open(path, "rb") as f:
                subjects.append(str(email.header.make_header(email.header.decode_header(email.message_from_binary_file(f)["Subject"]))))
        receipts = {n: sum(1 for s in subjects if n in s) for n in load.numbers}
        twice = [n for n, c in receipts.items() if c > 1]
        never = [n for n, c in receipts.items() if c == 0]
        if twice or never:
            fail(f"receipts delivered twice: {twice[:3]}, never: {never[:3]}")
        print(f"    {len(subjects)} messages received by SMTP; each acknowledged inquiry's receipt exactly once")

        leases = store.query("SELECT name || '=' || holder FROM job_leases ORDER BY name")
        print(f"    job leases (one holder each): {leases}")

        # A new policy version, loaded once, reaches every server.
        policy = os.path.join(work, "policy.yaml")
        with open(os.path.join(ROOT, "examples/policy.yaml"), encoding="utf-8") as f:
            text = f.read()
        current = json.loads(servers[0].get("/privacy.json")[1])["version"]
        newer = "2026-12-07"
        revised = text.replace(f'version: "{current}"', f'version: "{newer}"', 1).replace(
            f"  - {current}\n", f"  - {current}\n  - {newer}\n", 1)
        if revised.count(newer) != 2:
            fail("could not make a new version of examples/policy.yaml")
        with open(policy, "w", encoding="utf-8") as f:
            f.write(revised)
        loaded = subprocess.run([exe, "policy", "load", policy, "--database", database], capture_output=True, text=True, cwd=ROOT)
        if loaded.returncode != 0:
            fail(f"policy load: {loaded.stderr}")
        began = time.monotonic()
        while True:
            versions = [json.loads(s.get("/privacy.json")[1])["version"] for s in servers]
            if all(v == newer for v in versions):
                break
            if time.monotonic() - began > 15:
                fail(f"after 15 s the servers serve {versions}, not {newer}")
            time.sleep(0.2)
        print(f"    policy version {newer} loaded once, served by every server after {time.monotonic() - began:.1f} s")

        for server in servers:
            server.stop()
        verify = subprocess.run([exe, "audit", "verify", "--database", database, "--key-file", os.path.join(work, "master.key")],
                                capture_output=True, text=True, cwd=ROOT)
        if verify.returncode != 0:
            fail(f"audit verify: {verify.stdout}{verify.stderr}")
        print(f"    {verify.stdout.strip()}")
        print(f"==> {len(servers)} servers on one database: nothing lost or doubled, one audit chain, one policy version")
    finally:
        for server in servers:
            if server.process and server.process.poll() is None:
                server.kill()
        sink.stdin.close()
        sink.wait(timeout=10)
        stop_postgres(work)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
