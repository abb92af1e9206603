"""`madoguchi scan` against real pages in headless Chromium (R-EXT-2)."""
import subprocess

from conftest import ROOT, binary, chromium_flags


def scan(vendor_stub, *urls):
    flags = [f"--chromium-flag={flag}" for flag in chromium_flags(vendor_stub) if flag.startswith(("--host-resolver", "--ignore-cert"))]
    return subprocess.run([str(binary()), "scan", *urls, "--policy", str(ROOT / "examples/policy.yaml"), "--settle", "1.5", *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_page_that_loads_only_declared_vendors_passes(servers, site, vendor_stub):
    run = scan(vendor_stub, f"{site}/notice/index.html")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == ""
    progress = run.stderr.splitlines()
    for state in ("first-visit", "first-visit-gpc", "all-refused", "all-allowed"):
        assert any(f" {state}: " in line and line.endswith("ok") for line in progress), run.stderr
    assert "[4/4]" in run.stderr and "4 page loads, 0 problems" in run.stderr
    # Japanese first: each progress line says it in Japanese before " / " and English; the summary likewise, on two lines.
    assert all(" / " in line and "通信 " in line.split(" / ")[0] for line in progress if line.startswith("[")), run.stderr
    assert "ページ読み込み 4 回、問題 0 件\n4 page loads, 0 problems" in run.stderr


def test_undeclared_hosts_and_vendors_against_the_choice_are_reported(servers, site, vendor_stub):
    page = f"{site}/notice/undeclared.html"
    run = scan(vendor_stub, page, f"{site}/notice/index.html")
    assert run.returncode == 1, run.stdout + run.stderr
    lines = set(run.stdout.splitlines())
    for state in ("first-visit", "first-visit-gpc", "all-refused", "all-allowed"):
        assert f"undeclared {page} {state} tracker.undeclared-vendor.test" in lines, run.stdout
    assert f"against {page} all-refused connect.facebook.net meta-ads" in lines
    assert f"against {page} first-visit-gpc connect.facebook.net meta-ads" in lines, "GPC refuses advertising"
    assert not any(line.startswith(("undeclared", "against")) and "index.html" in line for line in lines)
    assert not any("127.0.0.1" in line.split()[-1] for line in lines), "the page's own host and Madoguchi are not vendors"
    assert "ページ読み込み 8 回、問題 6 件\n8 page loads, 6 problems" in run.stderr


def test_bad_input_is_refused_clearly():
    for args, message in ((["scan"], "Missing expected argument"), (["scan", "ftp://example.jp/"], "not an http or https URL"),
                          (["scan", "http://127.0.0.1:9/", "--settle", "-1"], "--settle")):
        run = subprocess.run([str(binary()), *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert run.returncode != 0 and message in run.stderr, (args, run.stderr)
    missing = subprocess.run([str(binary()), "scan", "http://127.0.0.1:9/", "--chromium", "/nonexistent/chromium"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 4 and "no Chromium at /nonexistent/chromium" in missing.stderr


def test_a_page_that_cannot_be_loaded_is_an_error_not_a_pass(vendor_stub):
    run = scan(vendor_stub, "http://127.0.0.1:9/nothing-listens-here")
    assert run.returncode == 4, run.stdout + run.stderr
    assert "did not load" in run.stderr
