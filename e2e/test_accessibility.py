"""Every page a person or a staff member sees, checked with axe-core (WCAG 2.2 AA) in headless Chromium, in light and
dark colour schemes (issue #15). A serious or critical violation fails the test.

The pages are listed once, in PAGES: a page added to the site is checked by adding one line here. Pages that need
data (a signed-in /me, the console with an inquiry and a request) are prepared once per session through the site
itself and the command line, as a person and an operator would.
"""
import importlib.util
import pathlib
import re
import subprocess
import time

import pytest
from axe_selenium_python import Axe
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from conftest import ROOT, Browser, binary

# axe-core 4.x, which knows the WCAG 2.2 rules: the file axe-playwright-python ships (scripts/e2e.sh installs it
# without Playwright); axe-selenium-python injects it. The package's own bundled axe-core is older (no WCAG 2.2).
AXE_SCRIPT = str(pathlib.Path(importlib.util.find_spec("axe_playwright_python").submodule_search_locations[0]) / "axe.min.js")
RULES = '{"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}}'

STAFF_EMAIL = "a11y-admin@mirai-career.example"
STAFF_PASSWORD = "correct horse battery staple"
PERSON_EMAIL = "a11y-person@example.jp"
# Words only the /me code mail has: the same person also gets request and download codes, which carry
# "確認コード" too and may be delivered at the same moment.
ME_CODE_MAIL = "ご自身のデータを確認するための確認コード"

# (name, how to reach it: a path on the Madoguchi server, or a callable(b, env) that leaves the browser on the page)
PAGES = [
    ("policy ja", "/privacy"),
    ("policy en", "/privacy?lang=en"),
    ("external transmission", "/privacy/external-transmission"),
    ("external transmission en", "/privacy/external-transmission?lang=en"),
    ("revision history", "/privacy/versions"),
    ("revision history en", "/privacy/versions?lang=en"),
    ("service list", "/inquiry"),
    ("inquiry form", "/inquiry/agent"),
    ("inquiry form en", "/inquiry/agent?lang=en"),
    ("inquiry form errors", lambda b, env: submit_empty(b, env, "/inquiry/agent")),
    ("inquiry receipt", lambda b, env: b.driver.get(env["receipt"])),
    ("inquiry confirmation", lambda b, env: b.driver.get(env["confirm_link"])),
    ("request form", "/requests/new"),
    ("request form errors", lambda b, env: submit_empty(b, env, "/requests/new")),
    ("disclosure download", lambda b, env: b.driver.get(env["download_link"])),
    ("disclosure download en", lambda b, env: b.driver.get(env["download_link"] + "&lang=en")),
    ("disclosure download code", lambda b, env: download_code(b, env)),
    ("me start", "/me"),
    ("me signed in", lambda b, env: sign_in_me(b, env)),
    ("preferences", "/preferences"),
    ("preferences en", "/preferences?lang=en"),
    ("not found", "/no-such-page"),
    ("unsubscribe (invalid link)", "/unsubscribe/x"),
    ("survey (invalid link)", "/surveys/x"),
    ("console sign-in", "/console/sign-in"),
    ("console inquiries", lambda b, env: console(b, env, "/console/inquiries")),
    ("console inquiry", lambda b, env: console(b, env, env["inquiry_path"])),
    ("console requests", lambda b, env: console(b, env, "/console/requests")),
    ("console request", lambda b, env: console(b, env, env["request_path"])),
    ("console audit", lambda b, env: console(b, env, "/console/audit")),
    ("console policy", lambda b, env: console(b, env, "/console/policy")),
    ("console campaigns", lambda b, env: console(b, env, "/console/campaigns")),
    ("console campaign draft", lambda b, env: campaign_draft(b, env)),
    ("console survey form errors", lambda b, env: survey_form_errors(b, env)),
    ("console statistics", lambda b, env: console(b, env, "/console/statistics")),
    ("console statistics en", lambda b, env: console(b, env, "/console/statistics?lang=en")),
    ("console incidents", lambda b, env: console(b, env, "/console/incidents")),
    ("console contractors", lambda b, env: console(b, env, "/console/contractors")),
    ("console staff", lambda b, env: console(b, env, "/console/staff")),
    ("console staff en", lambda b, env: console(b, env, "/console/staff?lang=en")),
    ("console staff removal asked", lambda b, env: staff_removal_asked(b, env)),
    ("console incident form errors", lambda b, env: incident_form_errors(b, env)),
    ("console incident", lambda b, env: incident(b, env)),
    ("console incident report", lambda b, env: incident(b, env, "/report")),
    ("site notice (notice mode)", lambda b, env: site_notice(b, env, "notice")),
    ("site notice (opt-in mode)", lambda b, env: site_notice(b, env, "opt-in")),
    ("site notice settings", lambda b, env: site_notice(b, env, "notice", settings=True)),
]


def submit_empty(b, env, path):
    b.driver.get(env["base"] + path)
    # Submitting without the browser's own checks shows the server's error state.
    b.driver.execute_script("document.querySelector('main form').noValidate = true")
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: b.driver.find_elements(By.CSS_SELECTOR, "[role='alert'], .error"), message="the error state")


def sign_in_me(b, env):
    server = env["server"]
    b.driver.get(env["base"] + "/me")
    sent = time.time()
    b.driver.find_element(By.ID, "email").send_keys(PERSON_EMAIL)
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: "/me/verify" in b.driver.current_url, message="the code page")
    code = re.search(r"確認コード: (\d{6})", server.mail_to(PERSON_EMAIL, ME_CODE_MAIL, since=sent)).group(1)
    b.driver.find_element(By.ID, "code").send_keys(code)
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: b.driver.current_url.rstrip("/").endswith("/me") and "ticket" not in b.driver.current_url, message="signed in")


def download_code(b, env):
    """The second step of a disclosure's download: the code field, after the button mailed a code."""
    b.driver.get(env["download_link"])
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: b.driver.find_elements(By.ID, "code"), message="the code field")


def console(b, env, path):
    b.driver.get(env["base"] + "/console/sign-in")
    b.driver.find_element(By.ID, "f-email").send_keys(STAFF_EMAIL)
    b.driver.find_element(By.ID, "f-password").send_keys(STAFF_PASSWORD)
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: "/console/inquiries" in b.driver.current_url, message="the console")
    b.driver.get(env["base"] + path)


def staff_removal_asked(b, env):
    """The confirmation a removal asks for first (asked for the administrator's own account: nothing is removed)."""
    console(b, env, "/console/staff")
    b.driver.find_element(By.CSS_SELECTOR, "button[name='do'][value='remove']").click()
    b.wait(lambda: b.driver.find_elements(By.ID, "confirm-remove"), message="the confirmation")


def campaign_draft(b, env):
    """A campaign written through the console's form, on its draft page (reach, sample, start button)."""
    console(b, env, "/console/campaigns")
    b.driver.find_element(By.CSS_SELECTOR, "input[name='service_agent']").click()
    b.driver.find_element(By.ID, "c-subject").send_keys("秋のお知らせ")
    b.driver.find_element(By.ID, "c-body").send_keys("新しいサービスを始めました。")
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: "/console/campaigns/" in b.driver.current_url, message="the draft page")


def survey_form_errors(b, env):
    """The campaign form as a survey with its question slots open and an error named (a question without a form)."""
    console(b, env, "/console/campaigns")
    Select(b.driver.find_element(By.ID, "c-kind")).select_by_value("survey")
    b.driver.find_element(By.CSS_SELECTOR, "input[name='service_agent']").click()
    b.driver.find_element(By.ID, "c-subject").send_keys("アンケート")
    b.driver.find_element(By.ID, "c-body").send_keys("ご意見をお聞かせください。")
    b.driver.find_element(By.CSS_SELECTOR, "main details summary").click()
    b.driver.find_element(By.ID, "q1-text").send_keys("いかがでしたか")
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: b.driver.find_elements(By.CSS_SELECTOR, "[role='alert']"), message="the error state")


def incident_form_errors(b, env):
    """The incident form sent empty: every problem in the summary and beside its field."""
    console(b, env, "/console/incidents")
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: b.driver.find_elements(By.CSS_SELECTOR, "[role='alert']"), message="the error state")


def incident(b, env, suffix=""):
    """An incident registered through the console's form, on its page (or its printable report)."""
    console(b, env, "/console/incidents")
    b.driver.find_element(By.ID, "i-found-on").send_keys("")
    b.driver.execute_script("document.getElementById('i-found-on').value = new Date().toISOString().slice(0, 10)")
    Select(b.driver.find_element(By.ID, "i-kind")).select_by_value("leak")
    b.driver.find_element(By.ID, "i-summary").send_keys("宛先を表示したままメールを送信")
    b.driver.find_element(By.CSS_SELECTOR, "input[name='item_email']").click()
    b.driver.find_element(By.ID, "i-affected").send_keys("1200")
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: re.search(r"/console/incidents/[0-9a-f-]+$", b.driver.current_url), message="the incident page")
    if suffix:
        b.driver.get(b.driver.current_url + suffix)


def site_notice(b, env, mode, settings=False):
    """The operator's page with the snippet's notice open: as it opens on a first visit, or reopened by the page's
    settings button after a choice."""
    b.driver.get(f"{env['site']}/{mode}/index.html")
    b.wait(lambda: b.driver.execute_script("return !!window.Madoguchi && !!document.querySelector('.mdg-root')"),
           message="the snippet")
    is_open = "var r = document.querySelector('.mdg-root'); return !!r && !r.hidden"
    b.wait(lambda: b.driver.execute_script(is_open), message="the notice on a first visit")
    if settings:
        b.driver.find_element(By.CSS_SELECTOR, ".mdg-dialog button[data-action='save']").click()
        b.wait(lambda: not b.driver.execute_script(is_open), message="the notice closed")
        b.driver.find_element(By.ID, "settings").click()
        b.wait(lambda: b.driver.execute_script(is_open), message="the notice reopened")


@pytest.fixture(scope="module")
def env(servers, site, vendor_stub):
    """An inquiry, a verified request and a staff administrator on the notice-mode server."""
    server = servers["notice"]
    base = server.base
    b = Browser(vendor_stub)
    try:
        return prepare(b, server, base, site)
    finally:
        b.quit()


def prepare(b, server, base, site):
    b.driver.get(base + "/inquiry/agent")
    b.driver.find_element(By.ID, "f-name").send_keys("試験 花子")
    b.driver.find_element(By.ID, "f-email").send_keys(PERSON_EMAIL)
    Select(b.driver.find_element(By.ID, "f-topic")).select_by_value("other")
    b.driver.find_element(By.ID, "f-message").send_keys("アクセシビリティの確認です")
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: "number=Q" in b.driver.current_url, message="the receipt")
    receipt = b.driver.current_url
    number = receipt.split("number=")[1][:16]
    body = server.mail_to(PERSON_EMAIL, number)
    confirm_link = next(line for line in body.splitlines() if "/inquiry/confirm/" in line)
    confirm_link = confirm_link[confirm_link.index("http"):]
    # Two disclosure requests, verified with the mailed codes: one stays open for the console's pages, the other is
    # carried out below for the download pages.
    request_number = open_disclosure_request(b, server, base)
    download_number = open_disclosure_request(b, server, base)
    # A staff administrator, set up through the printed link.
    added = subprocess.run([str(binary()), "user", "add", "--email", STAFF_EMAIL, "--role", "admin",
                            "--database", f"sqlite:{server.database}", "--key-file", str(server.workdir / "master.key"),
                            "--base-url", base], cwd=ROOT, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    link = next(line for line in added.stdout.splitlines() if "/console/setup?token=" in line)
    b.driver.get(link)
    b.driver.find_element(By.ID, "f-password").send_keys(STAFF_PASSWORD)
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: b.driver.find_elements(By.ID, "f-email"), message="the password set (the sign-in form follows)")
    inquiry_id = server.query("SELECT id FROM inquiries WHERE number = ?", number)[0][0]
    request_id = server.query("SELECT id FROM requests WHERE number = ?", request_number)[0][0]
    env = {"server": server, "base": base, "site": site, "receipt": receipt, "confirm_link": confirm_link,
           "inquiry_path": f"/console/inquiries/{inquiry_id}", "request_path": f"/console/requests/{request_id}"}
    # The administrator carries the second request out; its completion mail carries the download link.
    download_id = server.query("SELECT id FROM requests WHERE number = ?", download_number)[0][0]
    console(b, env, f"/console/requests/{download_id}")
    sent = time.time()
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    body = server.mail_to(PERSON_EMAIL, "/download?token=", since=sent)
    link = next(line for line in body.splitlines() if "/download?token=" in line)
    env["download_link"] = link[link.index("http"):]
    return env


def open_disclosure_request(b, server, base):
    """A disclosure request from the person, verified with the mailed code; its number."""
    b.driver.get(base + "/requests/new")
    b.driver.find_element(By.CSS_SELECTOR, "input[name='type'][value='disclosure']").click()
    b.driver.find_element(By.ID, "f-email").send_keys(PERSON_EMAIL)
    b.driver.find_element(By.ID, "f-name").send_keys("試験 花子")
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: "/requests/" in b.driver.current_url and "/new" not in b.driver.current_url, message="the code page")
    request_number = re.search(r"R\d{8}-[0-9A-Z]{6}", b.driver.page_source).group(0)
    body = server.mail_to(PERSON_EMAIL, request_number)
    code = re.search(r"確認コード: (\d{6})", body).group(1)
    b.driver.find_element(By.ID, "code").send_keys(code)
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: server.query("SELECT count(*) FROM requests WHERE number = ? AND status = 'open'", request_number)[0][0] == 1,
           message="the request to open")
    return request_number


def serious(results):
    return [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]


def describe(violations):
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']} — " + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
                     for v in violations)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name,target", PAGES, ids=[name for name, _ in PAGES])
def test_page_has_no_serious_accessibility_violation(env, browser, name, target, scheme):
    b = browser()
    b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    if callable(target):
        target(b, env)
    else:
        b.driver.get(env["base"] + target)
    axe = Axe(b.driver, script_url=AXE_SCRIPT)
    axe.inject()
    results = axe.run(options=RULES)
    found = serious(results)
    # Moderate and minor findings do not fail the run; `-s` prints them, to fix where the fix is plain.
    lesser = [v for v in results["violations"] if v not in found]
    if lesser:
        print(f"\n{name} ({scheme}) lesser findings:\n{describe(lesser)}")
    assert not found, f"{name} ({scheme}):\n{describe(found)}"


@pytest.mark.parametrize("path", ["/privacy", "/inquiry/agent", "/requests/new", "/me", "/preferences", "/console/sign-in"])
def test_page_fits_a_phone_without_horizontal_scrolling(env, browser, path):
    b = browser()
    b.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True})
    b.driver.get(env["base"] + path)
    overflow = b.driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375px"


def test_every_input_has_one_form_style(env, browser):
    b = browser()
    for path in ["/inquiry/agent", "/requests/new", "/console/sign-in", "/me"]:
        b.driver.get(env["base"] + path)
        widths = b.driver.execute_script("""
            return Array.from(document.querySelectorAll('main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main textarea, main select'))
              .map(e => [e.name || e.id, e.getBoundingClientRect().width, e.closest('form').getBoundingClientRect().width]);""")
        narrow = [w for w in widths if w[1] < 0.9 * min(w[2], 640)]
        assert not narrow, f"{path}: inputs narrower than the form's column: {narrow}"


def test_me_and_console_work_by_keyboard(env, browser):
    b = browser()
    server = env["server"]
    # /me: the address, the code and the overview reached and submitted with Tab and Enter only.
    b.driver.get(env["base"] + "/me")
    body = b.driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(30):
        if b.driver.switch_to.active_element.get_attribute("id") == "email":
            break
        b.driver.switch_to.active_element.send_keys(Keys.TAB)
    active = b.driver.switch_to.active_element
    assert active.get_attribute("id") == "email", "the address field is reachable by Tab"
    sent = time.time()
    active.send_keys(PERSON_EMAIL, Keys.ENTER)
    b.wait(lambda: "/me/verify" in b.driver.current_url, message="the code page by Enter")
    code = re.search(r"確認コード: (\d{6})", server.mail_to(PERSON_EMAIL, ME_CODE_MAIL, since=sent)).group(1)
    focused = b.driver.switch_to.active_element
    if focused.get_attribute("id") != "code":
        b.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        for _ in range(30):
            if b.driver.switch_to.active_element.get_attribute("id") == "code":
                break
            b.driver.switch_to.active_element.send_keys(Keys.TAB)
    b.driver.switch_to.active_element.send_keys(code, Keys.ENTER)
    b.wait(lambda: "ticket" not in b.driver.current_url and b.driver.current_url.rstrip("/").endswith("/me"), message="signed in by keyboard")
    assert "試験 花子" in b.driver.page_source
    # The console: sign in and open the inquiry with the keyboard.
    b.driver.get(env["base"] + "/console/sign-in")
    b.driver.find_element(By.ID, "f-email").send_keys(STAFF_EMAIL, Keys.TAB)
    b.driver.switch_to.active_element.send_keys(STAFF_PASSWORD, Keys.ENTER)
    b.wait(lambda: "/console/inquiries" in b.driver.current_url, message="the console by keyboard")
    link = b.driver.find_element(By.CSS_SELECTOR, f"a[href^='{env['inquiry_path']}']")
    b.driver.execute_script("arguments[0].focus()", link)
    b.driver.switch_to.active_element.send_keys(Keys.ENTER)
    b.wait(lambda: env["inquiry_path"] in b.driver.current_url, message="the inquiry opened by Enter")
    outline = b.driver.execute_script("""
        var a = document.querySelector('main a, main button'); a.focus();
        var s = getComputedStyle(a); return s.outlineStyle + ' ' + s.outlineWidth;""")
    assert not outline.startswith("none"), f"a focused control shows where focus is: {outline}"


def test_consent_is_given_and_withdrawn_on_me_in_one_step(env, browser):
    """R-PUR-5: on /me a person gives consent to a purpose that needs it and withdraws it again, each with one button;
    the answer counts at once (the database's latest answer) and a withdrawal suppresses the address."""
    b = browser()
    server = env["server"]

    def latest():
        rows = server.query("SELECT granted, source FROM consents WHERE purpose_id = 'marketing' ORDER BY created_at DESC, id DESC LIMIT 1")
        return rows[0] if rows else None

    sign_in_me(b, env)
    section = b.driver.find_element(By.CSS_SELECTOR, "section[aria-labelledby='p-marketing']")
    assert "同意いただいていません" in section.text
    section.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
    b.wait(lambda: "現在: 同意いただいています" in b.driver.page_source, message="the consent shown as given")
    assert latest() == (1, "me")
    b.driver.find_element(By.CSS_SELECTOR, "section[aria-labelledby='p-marketing'] button[type='submit']").click()
    b.wait(lambda: "現在: 同意を取り消されています" in b.driver.page_source, message="the consent shown as withdrawn")
    assert latest() == (0, "me")
    assert server.query("SELECT count(*) FROM suppressions WHERE purpose_id = 'marketing'")[0][0] == 1


def test_survey_is_answered_from_its_mail_link(env, browser):
    """R-PUR-5: an administrator writes a survey on the console and starts it; the person who agreed to the mail gets
    a link to their own page, which passes axe, and answers by keyboard once; the answer is kept sealed and counted."""
    b = browser()
    server = env["server"]
    b.driver.get(env["confirm_link"])
    button = b.driver.find_elements(By.CSS_SELECTOR, "main form button[type='submit']")
    if button:
        button[0].click()
        b.wait(lambda: b.driver.find_elements(By.CSS_SELECTOR, "main [role='status']"),
               message="the inquiry confirmed")
    sign_in_me(b, env)
    section = b.driver.find_element(By.CSS_SELECTOR, "section[aria-labelledby='p-marketing']")
    if "現在: 同意いただいています" not in section.text:
        section.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
        b.wait(lambda: "現在: 同意いただいています" in b.driver.page_source, message="the consent given")

    console(b, env, "/console/campaigns")
    Select(b.driver.find_element(By.ID, "c-kind")).select_by_value("survey")
    b.driver.find_element(By.CSS_SELECTOR, "input[name='service_agent']").click()
    b.driver.find_element(By.ID, "c-subject").send_keys("ご利用についてのアンケート")
    b.driver.find_element(By.ID, "c-body").send_keys("よろしければご回答ください。")
    b.driver.find_element(By.CSS_SELECTOR, "main details summary").click()
    Select(b.driver.find_element(By.ID, "q1-kind")).select_by_value("single")
    b.driver.find_element(By.ID, "q1-text").send_keys("ご満足いただけましたか")
    b.driver.find_element(By.ID, "q1-choices").send_keys("はい\nいいえ")
    Select(b.driver.find_element(By.ID, "q2-kind")).select_by_value("text")
    b.driver.find_element(By.ID, "q2-text").send_keys("ご意見")
    started = time.time()
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()
    b.wait(lambda: "/console/campaigns/" in b.driver.current_url, message="the draft page")
    b.driver.find_element(By.CSS_SELECTOR, "main form button[type='submit']").click()

    body = server.mail_to(PERSON_EMAIL, "/surveys/", since=started, timeout=60)
    link = next(line for line in body.splitlines() if "/surveys/" in line)
    b.driver.get(link[link.index("http"):])
    assert "ご満足いただけましたか" in b.driver.page_source
    axe = Axe(b.driver, script_url=AXE_SCRIPT)
    axe.inject()
    found = serious(axe.run(options=RULES))
    assert not found, describe(found)

    radio = b.driver.find_element(By.ID, "q0-0")
    b.driver.execute_script("arguments[0].focus()", radio)
    b.driver.switch_to.active_element.send_keys(Keys.SPACE)
    b.driver.find_element(By.ID, "q1").send_keys("丁寧に対応していただきました")
    b.driver.find_element(By.ID, "q1").send_keys(Keys.TAB)
    b.driver.switch_to.active_element.send_keys(Keys.ENTER)
    b.wait(lambda: "ご回答ありがとうございました" in b.driver.page_source, message="the thanks")
    assert server.query("SELECT count(*) FROM survey_answers")[0][0] == 1
    stored = server.query("SELECT sealed FROM survey_answers")[0][0]
    assert "丁寧" not in bytes(stored).decode("utf-8", "replace")
    assert server.query("SELECT n FROM survey_tallies WHERE question = 0 AND choice = 0")[0][0] == 1
