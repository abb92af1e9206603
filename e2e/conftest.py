"""Browser tests of the site snippet (issue #5): a real headless Chromium, no internet.

What runs:
- two Madoguchi servers built from this checkout (`swift build`), one on examples/policy.yaml (notice mode) and
  one on a copy switched to opt-in mode, each on its own SQLite files;
- the operator's site (e2e/site/*.html, and en.html: index.html in English) on a third port, pages under /notice/ or
  /opt-in/ embedding that server's snippet;
- a vendor stub (stub.py) that every other host resolves to (--host-resolver-rules), over HTTPS.
Requests are read from Chromium's performance log, where a request shows up even when nothing answers it.
"""
import http.server
import json
import os
import pathlib
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.request
from urllib.parse import urlparse

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

import stub

ROOT = pathlib.Path(__file__).resolve().parent.parent
SITE = pathlib.Path(__file__).resolve().parent / "site"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary() -> pathlib.Path:
    explicit = os.environ.get("MADOGUCHI_BIN")
    if explicit:
        return pathlib.Path(explicit)
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True)
    return pathlib.Path(out.stdout.strip()) / "madoguchi"


class Madoguchi:
    """One `madoguchi serve` on its own port and files."""

    def __init__(self, policy: pathlib.Path, workdir: pathlib.Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.database = workdir / "madoguchi.sqlite"
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = open(workdir / "server.log", "w")
        self.process = subprocess.Popen(
            [str(binary()), "serve", "--port", str(self.port), "--policy", str(policy),
             "--database", f"sqlite:{self.database}", "--keystore", f"sqlite:{workdir / 'keystore.sqlite'}",
             "--key-file", str(workdir / "master.key"), "--outbox", str(workdir / "outbox"),
             "--rate-limit", "1000/60", "--event-rate-limit", "100000/60"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/readyz", timeout=1)
                break
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError((workdir / "server.log").read_text())
                time.sleep(0.2)
        else:
            raise RuntimeError("madoguchi did not start: " + (workdir / "server.log").read_text())
        self.config = json.load(urllib.request.urlopen(self.base + "/api/v1/consent-config"))

    def hosts(self, vendor_id: str) -> list[str]:
        return next(v["hosts"] for v in self.config["vendors"] if v["id"] == vendor_id)

    def vendors(self, category: str | None = None) -> list[str]:
        return [v["id"] for v in self.config["vendors"] if category is None or v["category"] == category]

    def mail_to(self, address: str, containing: str, since: float = 0, timeout: float = 30) -> str:
        """The text of the newest mail delivered (the development transport's .eml files) to `address`, containing
        `containing`, written at or after `since` (a time.time() value)."""
        import email
        from email import policy as email_policy
        deadline = time.time() + timeout
        while time.time() < deadline:
            files = [p for p in (self.workdir / "outbox").glob("*.eml") if p.stat().st_mtime >= since - 1]
            for path in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True):
                message = email.message_from_bytes(path.read_bytes(), policy=email_policy.default)
                if address in str(message["To"]):
                    body = message.get_body(preferencelist=("plain",)).get_content()
                    if containing in body:
                        return body
            time.sleep(0.2)
        raise AssertionError(f"no mail to {address} containing {containing!r}")

    def query(self, sql: str, *args):
        with sqlite3.connect(self.database) as db:
            return db.execute(sql, args).fetchall()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="session")
def workdir():
    path = pathlib.Path(tempfile.mkdtemp(prefix="madoguchi-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def servers(workdir):
    opt_in = workdir / "policy-opt-in.yaml"
    text = (ROOT / "examples/policy.yaml").read_text()
    assert "consent_mode: notice" in text
    opt_in.write_text(text.replace("consent_mode: notice", "consent_mode: opt-in"))
    running = {"notice": Madoguchi(ROOT / "examples/policy.yaml", workdir / "notice"),
               "opt-in": Madoguchi(opt_in, workdir / "opt-in")}
    yield running
    for server in running.values():
        server.stop()


@pytest.fixture(scope="session")
def site(servers):
    """The operator's pages: /notice/PAGE and /opt-in/PAGE embed that server's snippet."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            parts = self.path.split("?")[0].strip("/").split("/")
            # en.html is index.html with <html lang="en">: the snippet then speaks English.
            page = "index.html" if len(parts) == 2 and parts[1] == "en.html" else parts[-1]
            if len(parts) != 2 or parts[0] not in servers or not (SITE / page).is_file():
                self.send_error(404)
                return
            text = (SITE / page).read_text().replace("MADOGUCHI_BASE", servers[parts[0]].base)
            if page != parts[1]:
                text = text.replace('<html lang="ja">', '<html lang="en">', 1)
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def vendor_stub(workdir):
    cert, key = workdir / "stub.crt", workdir / "stub.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=vendor-stub",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server, port = stub.serve(str(cert), str(key))
    yield port
    server.shutdown()


def chromium_flags(stub_port: int) -> list[str]:
    """Every host but loopback goes to the stub; nothing reaches the internet."""
    return ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
            f"--host-resolver-rules=MAP * 127.0.0.1:{stub_port}, EXCLUDE 127.0.0.1", "--ignore-certificate-errors",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Browser:
    """A fresh Chromium profile, with helpers to read what it contacted."""

    def __init__(self, stub_port: int, gpc_header: bool = False, gpc_navigator: bool = False):
        options = Options()
        options.binary_location = os.environ.get("MADOGUCHI_CHROMIUM", "/usr/bin/chromium")
        for flag in chromium_flags(stub_port):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(os.environ.get("MADOGUCHI_CHROMEDRIVER", "/usr/bin/chromedriver")),
                                       options=options)
        self.driver.set_page_load_timeout(30)
        self.driver.execute_cdp_cmd("Network.enable", {})
        if gpc_header:
            self.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Sec-GPC": "1"}})
        if gpc_navigator:
            self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
                "source": "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"})

    def requested(self) -> list[str]:
        """The URLs requested since the last call."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def hosts(self) -> set[str]:
        return {urlparse(url).hostname for url in self.requested()}

    def cookies(self) -> dict[str, str]:
        return {c["name"]: c["value"] for c in self.driver.get_cookies()}

    def wait(self, condition, timeout: float = 10, message: str = "condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {message}")

    def quit(self):
        self.driver.quit()


@pytest.fixture
def browser(vendor_stub):
    made = []

    def make(**kwargs) -> Browser:
        b = Browser(vendor_stub, **kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.quit()


def vendor_of(server: Madoguchi, host: str) -> str | None:
    for vendor in server.config["vendors"]:
        for pattern in vendor["hosts"]:
            if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
                return vendor["id"]
    return None
