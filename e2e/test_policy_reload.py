"""A new policy version reaches a running server without a restart (R-OPS-1, issue #20): SIGHUP makes it read its
policy file again, and `madoguchi policy load` stores a version that every server on the database adopts."""
import json
import signal
import subprocess
import time
import urllib.request

from conftest import ROOT, Madoguchi, binary


def served_version(server: Madoguchi) -> str:
    with urllib.request.urlopen(server.base + "/privacy.json", timeout=5) as response:
        return json.load(response)["version"]


def wait_for_version(server: Madoguchi, version: str, seconds: float) -> float:
    start = time.time()
    while time.time() - start < seconds:
        if served_version(server) == version:
            return time.time() - start
        time.sleep(0.2)
    raise AssertionError(f"still serving {served_version(server)} after {seconds} s, expected {version}")


def revised(text: str, version: str, days: int) -> str:
    return (text.replace('version: "2026-12-06"', f'version: "{version}"')
            .replace("  - 2026-12-06\n", f"  - 2026-12-06\n  - {version}\n")
            .replace("answer_business_days: 3", f"answer_business_days: {days}"))


def test_sighup_and_policy_load_reach_the_running_server(tmp_path):
    example = (ROOT / "examples/policy.yaml").read_text()
    policy = tmp_path / "policy.yaml"
    policy.write_text(example)
    server = Madoguchi(policy, tmp_path / "server")
    try:
        assert served_version(server) == "2026-12-06"
        # An invalid file on SIGHUP: logged, and the server goes on with what it serves.
        policy.write_text("version: [")
        server.process.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert server.process.poll() is None and served_version(server) == "2026-12-06"
        # A valid new version on SIGHUP: served at once, old versions still readable.
        policy.write_text(revised(example, "2027-04-01", 2))
        server.process.send_signal(signal.SIGHUP)
        wait_for_version(server, "2027-04-01", 5)
        with urllib.request.urlopen(server.base + "/privacy?lang=en", timeout=5) as response:
            assert "within 2 business days" in response.read().decode()
        assert urllib.request.urlopen(server.base + "/privacy/versions/2026-12-06", timeout=5).status == 200
        # `policy load` from anywhere: the server adopts it within its watch interval (5 s) without a signal.
        other = tmp_path / "other.yaml"
        other.write_text(revised(example, "2027-05-01", 1))
        load = subprocess.run([str(binary()), "policy", "load", str(other), "--database", f"sqlite:{server.database}"],
                              cwd=ROOT, capture_output=True, text=True)
        assert load.returncode == 0, load.stderr
        assert wait_for_version(server, "2027-05-01", 10) <= 10
        log = (tmp_path / "server" / "server.log").read_text()
        assert "policy file not loaded" in log and "now serving policy version" in log
    finally:
        server.stop()
