"""The snippet in a real browser: R-EXT-2, R-OPT-1, R-OPT-2, R-OPT-4, R-INF-1 (issue #5)."""
import gzip
import json
import re
import time
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from conftest import vendor_of

UNDECLARED = {"analytics.tiktok.com", "cdn.undeclared-host.test", "src-attr.undeclared-host.test"}


def open_page(b, site, mode, page="index.html"):
    b.driver.get(f"{site}/{mode}/{page}")
    b.wait(lambda: b.driver.execute_script("return !!window.Madoguchi && !!document.querySelector('.mdg-root')"),
           message="the snippet to start")


def contacted_vendors(server, hosts):
    return {vendor_of(server, h) for h in hosts} - {None}


def dialog_open(b):
    return b.driver.execute_script("var r = document.querySelector('.mdg-root'); return !!r && !r.hidden")


def click(b, action):
    b.driver.find_element(By.CSS_SELECTOR, f".mdg-dialog button[data-action='{action}']").click()


def send_inquiry(b, server, name, email, identifier):
    """Sends an inquiry on Madoguchi's own form from this browser, then confirms it by the link in the receipt mail
    (as its sender does); the confirmation links the browser's identifier to the person."""
    b.driver.get(server.base + "/inquiry/agent")
    b.driver.find_element(By.ID, "f-name").send_keys(name)
    b.driver.find_element(By.ID, "f-email").send_keys(email)
    Select(b.driver.find_element(By.ID, "f-topic")).select_by_value("other")
    b.driver.find_element(By.ID, "f-message").send_keys("ブラウザからのテストです")
    b.driver.find_element(By.CSS_SELECTOR, "form button[type='submit']").click()
    b.wait(lambda: "number=Q" in b.driver.current_url, message="the receipt page")
    number = b.driver.current_url.split("number=")[1][:16]
    assert server.query("SELECT count(*) FROM identifier_links WHERE identifier = ?", identifier)[0][0] == 0, \
        "an unconfirmed inquiry links nothing"
    body = server.mail_to(email, number)
    link = next(line for line in body.splitlines() if "/inquiry/confirm/" in line)
    b.driver.get(link[link.index("http"):])
    b.driver.find_element(By.CSS_SELECTOR, "form button[type='submit']").click()
    b.wait(lambda: server.query("SELECT count(*) FROM identifier_links WHERE identifier = ?", identifier)[0][0] == 1,
           message="the confirmed inquiry to link the identifier")


def settle(b, seconds=1.0):
    time.sleep(seconds)
    return b.hosts()


def test_snippet_is_small_cacheable_and_versioned(servers):
    server = servers["notice"]
    response = urllib.request.urlopen(server.base + "/snippet.js")
    body = response.read()
    size = len(gzip.compress(body, 9))
    print(f"snippet.js: {len(body)} bytes, {size} bytes gzipped")
    assert size <= 8 * 1024, f"snippet.js is {size} bytes gzipped (limit 8 KB)"
    assert b"eval(" not in body and b"new Function" not in body and b".style." not in body and b"innerHTML" not in body
    versioned = response.headers["Content-Location"]
    again = urllib.request.urlopen(server.base + versioned)
    assert again.read() == body
    assert "immutable" in again.headers["Cache-Control"]


def test_opt_in_nothing_before_consent_then_exactly_the_accepted_category(servers, site, browser):
    # R-EXT-2, R-INF-1: opt-in mode loads no vendor and issues no identifier before a choice.
    server, b = servers["opt-in"], browser()
    open_page(b, site, "opt-in")
    assert dialog_open(b)
    hosts = settle(b)
    assert contacted_vendors(server, hosts) == set(), hosts
    assert server.config["cookie_name"] not in b.cookies()
    # Accepting the analytics category (its switch, then save) loads exactly its vendors.
    analytics = server.vendors("analytics")
    box = b.driver.find_element(By.XPATH, "//fieldset[.//input[@data-vendor-switch='%s']]/legend//input" % analytics[0])
    box.click()
    click(b, "save")
    hosts = settle(b, 1.5)
    assert contacted_vendors(server, hosts) == set(analytics), hosts
    assert not hosts & UNDECLARED
    identifier = b.cookies()[server.config["cookie_name"]]
    # Issued as the server issues them: the issue time (ms, 12 hex digits), then 96 random bits in base64url.
    assert re.fullmatch(r"[0-9a-f]{12}[A-Za-z0-9_-]{16}", identifier), identifier
    assert abs(int(identifier[:12], 16) / 1000 - time.time()) < 120, identifier
    # The ledger holds the choice under that identifier: the server-side proof.
    rows = server.query("SELECT kind, vendors FROM consent_events WHERE identifier = ? ORDER BY created_at", identifier)
    assert rows and rows[-1][0] == "choice"
    assert {k for k, v in json.loads(rows[-1][1]).items() if v} == set(analytics)


def test_accept_all_never_loads_undeclared_tags(servers, site, browser):
    # R-EXT-2: a tag for an undeclared vendor, or from a host its vendor does not declare, never runs.
    server, b = servers["opt-in"], browser()
    open_page(b, site, "opt-in")
    click(b, "accept")
    hosts = settle(b, 1.5)
    assert contacted_vendors(server, hosts) == set(server.vendors())
    assert not hosts & UNDECLARED, hosts
    marks = b.driver.execute_script(
        "return Array.from(document.querySelectorAll('[data-vendor]')).map(e => [e.dataset.vendor, e.dataset.src || '', e.dataset.madoguchi || ''])")
    assert ["tiktok-pixel", "https://analytics.tiktok.com/i18n/pixel/events.js", "undeclared"] in marks
    assert ["google-analytics", "https://cdn.undeclared-host.test/ga.js", "undeclared"] in marks
    # R-SEC-3: a URL in src instead of data-src is refused too (its host was never checked before).
    assert b.driver.execute_script("return document.getElementById('src-bypass').dataset.madoguchi") == "undeclared"
    assert b.driver.execute_script(
        "return Array.from(document.scripts).filter(s => (s.src || '').includes('src-attr.undeclared-host.test') && s.type !== 'text/plain').length") == 0


def test_per_vendor_opt_out_stops_now_and_on_reload(servers, site, browser):
    # R-OPT-1: notice mode loads the vendors; switching one off stops its requests at once and on later pages.
    server, b = servers["notice"], browser()
    open_page(b, site, "notice")
    hosts = settle(b, 1.5)
    assert contacted_vendors(server, hosts) == set(server.vendors()), "notice mode: vendors load unless opted out"
    b.driver.find_element(By.CSS_SELECTOR, "input[data-vendor-switch='meta-ads']").click()
    assert "送信しない" in b.driver.find_element(By.XPATH, "//input[@data-vendor-switch='meta-ads']/..").text, "the state is in words"
    click(b, "save")
    settle(b, 0.5)  # requests already on the way
    hosts = settle(b, 2)
    meta = set(server.hosts("meta-ads"))
    assert not hosts & meta, f"meta-ads still contacted after opting out: {hosts & meta}"
    assert contacted_vendors(server, hosts) >= {"google-analytics", "marketo"}, "the other vendors go on"
    b.driver.refresh()
    b.wait(lambda: b.driver.execute_script("return !!window.Madoguchi"))
    hosts = settle(b, 1.5)
    assert not hosts & meta
    assert "meta-ads" not in contacted_vendors(server, hosts) and "google-analytics" in contacted_vendors(server, hosts)
    assert not dialog_open(b), "a choice is not asked again"
    # The opt-out page of the vendor is linked from the notice.
    b.driver.find_element(By.ID, "settings").click()
    links = [a.get_attribute("href") for a in b.driver.find_elements(By.CSS_SELECTOR, ".mdg-vendor a")]
    assert "https://www.facebook.com/settings/?tab=ads" in links


def test_gpc_turns_advertising_off(servers, site, browser):
    # R-OPT-4: navigator.globalPrivacyControl, or Sec-GPC on the snippet request, and no explicit choice: no ads.
    server = servers["notice"]
    advertising = set(server.vendors("advertising"))
    for kwargs in ({"gpc_navigator": True}, {"gpc_header": True}):
        b = browser(**kwargs)
        open_page(b, site, "notice")
        hosts = settle(b, 1.5)
        contacted = contacted_vendors(server, hosts)
        assert not contacted & advertising, (kwargs, contacted)
        assert "google-analytics" in contacted
        assert "グローバル・プライバシー・コントロール" in b.driver.find_element(By.CSS_SELECTOR, ".mdg-gpc").text
        # An explicit choice wins over the signal.
        click(b, "accept")
        hosts = settle(b, 1.5)
        assert contacted_vendors(server, hosts) >= advertising
        identifier = b.cookies()[server.config["cookie_name"]]
        assert server.query("SELECT gpc FROM consent_events WHERE identifier = ? AND kind = 'choice'", identifier)[-1][0] in (1, True)


def test_cookie_reset_removes_cookies_and_the_link_and_issues_no_identifier_until_the_next_visit(servers, site, browser):
    # R-OPT-2, R-INF-1
    server, b = servers["notice"], browser()
    name = server.config["cookie_name"]
    open_page(b, site, "notice")
    click(b, "accept")
    settle(b, 1)
    identifier = b.cookies()[name]
    assert any(c.startswith("_v_") for c in b.cookies()), "the stub tags set first-party cookies"
    # An inquiry sent from this browser, on Madoguchi's own form, links the identifier to the person.
    send_inquiry(b, server, "試験 太郎", "e2e-reset@example.jp", identifier)
    open_page(b, site, "notice")
    b.driver.find_element(By.ID, "settings").click()
    click(b, "reset")
    # Every cookie the page can reach is gone (HttpOnly ones, such as Madoguchi's own CSRF cookie, are out of any
    # script's reach; /preferences/reset removes the identifier server-side too).
    b.wait(lambda: b.driver.execute_script("return document.cookie") == "",
           message=f"every cookie of the site to be deleted, still: {b.cookies()}")
    assert name not in b.cookies() and name + "_c" not in b.cookies()
    assert "識別子" in b.driver.find_element(By.CSS_SELECTOR, ".mdg-status").text
    b.wait(lambda: server.query("SELECT count(*) FROM identifier_links WHERE identifier = ?", identifier)[0][0] == 0,
           message="the server to cut the link")
    settle(b, 0.5)  # what was sent before the reset, and requests already on the way
    hosts = settle(b, 1.5)
    assert contacted_vendors(server, hosts) == set(), "nothing is sent to vendors after a reset on this page"
    # Closing the notice on this page issues no identifier either.
    click(b, "close")
    time.sleep(0.5)
    assert name not in b.cookies()
    # A later visit starts afresh with a new identifier.
    open_page(b, site, "notice")
    fresh = b.wait(lambda: b.cookies().get(name), message="a new identifier on the next visit")
    assert fresh != identifier
    assert server.query("SELECT count(*) FROM consent_events WHERE identifier = ? AND kind = 'reset'", identifier)[0][0] == 1


def test_consent_mode_default_precedes_any_google_tag(servers, site, browser):
    server, b = servers["notice"], browser()
    open_page(b, site, "notice")
    loads = b.wait(lambda: b.driver.execute_script("return window.__vendorLoads"), message="tags to run")
    time.sleep(1)
    loads = b.driver.execute_script("return window.__vendorLoads")
    google = [load for load in loads if load["host"].endswith(("googletagmanager.com", "googleadservices.com"))]
    assert google, loads
    assert all(load["first"] == ["consent", "default"] for load in google), google
    layer = b.driver.execute_script("return window.dataLayer.map(a => Array.from(a))")
    assert layer[0][2]["ad_storage"] == "denied" and layer[0][2]["analytics_storage"] == "denied"
    assert layer[1][0:2] == ["consent", "update"] and layer[1][2]["analytics_storage"] == "granted"
    assert len(layer[0][2]) - 1 == 7, "the seven signals and wait_for_update"
    click(b, "reject")
    layer = b.driver.execute_script("return window.dataLayer.map(a => Array.from(a))")
    assert layer[-1][0:2] == ["consent", "update"]
    assert all(layer[-1][2][signal] == "denied" for signal in ("ad_storage", "ad_user_data", "ad_personalization", "analytics_storage"))


def test_the_notice_is_operable_by_keyboard(servers, site, browser):
    server, b = servers["notice"], browser()
    open_page(b, site, "notice", "en.html")
    dialog = b.driver.find_element(By.CSS_SELECTOR, ".mdg-dialog")
    assert dialog.get_attribute("role") == "dialog" and dialog.get_attribute("aria-modal") == "true"
    assert "About information sent" in dialog.text, "English on an English page"
    inside = "return document.activeElement && document.querySelector('.mdg-dialog').contains(document.activeElement)"
    assert b.driver.execute_script(inside), "focus moves into the notice"
    # Tab and Shift+Tab stay inside the dialog.
    for _ in range(40):
        b.driver.switch_to.active_element.send_keys(Keys.TAB)
        assert b.driver.execute_script(inside)
    for _ in range(5):
        b.driver.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
        assert b.driver.execute_script(inside)
    # Space on a vendor switch, Enter on "Save".
    first = b.driver.find_element(By.CSS_SELECTOR, "input[data-vendor-switch='marketo']")
    b.driver.execute_script("arguments[0].focus()", first)
    b.driver.switch_to.active_element.send_keys(Keys.SPACE)
    assert not first.is_selected()
    # The state the way assistive technology reads it: the vendor's switch says off; its category, a plain checkbox,
    # is mixed (indeterminate) when some of its vendors are on (WCAG 4.1.2).
    assert first.get_attribute("role") == "switch" and first.get_attribute("aria-checked") == "false"
    category = b.driver.find_element(By.XPATH, "//fieldset[.//input[@data-vendor-switch='marketo']]/legend//input")
    assert category.get_attribute("role") is None
    vendors = b.driver.find_elements(By.XPATH, "//fieldset[.//input[@data-vendor-switch='marketo']]//input[@data-vendor-switch]")
    if len(vendors) > 1:
        assert b.driver.execute_script("return arguments[0].indeterminate", category)
    save = b.driver.find_element(By.CSS_SELECTOR, "button[data-action='save']")
    b.driver.execute_script("arguments[0].focus()", save)
    b.driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert not dialog_open(b)
    cookie = b.cookies()[server.config["cookie_name"] + "_c"]
    assert cookie.split(".")[1][0] == "0" and cookie.endswith(".1"), cookie
    # The page's own settings button reopens it by keyboard; Escape closes it and focus returns to the button.
    settings = b.driver.find_element(By.ID, "settings")
    b.driver.execute_script("arguments[0].focus()", settings)
    b.driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert dialog_open(b)
    b.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert not dialog_open(b)
    assert b.driver.execute_script("return document.activeElement.id") == "settings"
    # Focus is visible: the focused control has an outline.
    b.driver.execute_script("arguments[0].focus()", settings)
    b.driver.switch_to.active_element.send_keys(Keys.ENTER)
    b.driver.switch_to.active_element.send_keys(Keys.TAB)
    outline = b.driver.execute_script("return getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline


def test_a_changed_vendor_list_asks_again(servers, site, browser):
    server, b = servers["notice"], browser()
    open_page(b, site, "notice")
    click(b, "reject")
    name = server.config["cookie_name"] + "_c"
    stored = b.cookies()[name]
    # A choice made against another vendor list is no choice: the notice shows again with the defaults.
    b.driver.add_cookie({"name": name, "value": "v0000000000000000" + stored[stored.index("."):], "path": "/"})
    open_page(b, site, "notice")
    assert dialog_open(b)
    hosts = settle(b, 1.5)
    assert contacted_vendors(server, hosts) == set(server.vendors()), "notice mode defaults apply to the new list"


def test_a_person_who_suspended_every_use_gets_no_vendor_from_the_linked_browser(servers, site, browser):
    # R-INF-2: once linked, the identifier is covered by the person's suspension of use (利用停止).
    server, b = servers["notice"], browser()
    open_page(b, site, "notice")
    click(b, "accept")
    identifier = b.cookies()[server.config["cookie_name"]]
    send_inquiry(b, server, "停止 花子", "e2e-suspend@example.jp", identifier)
    subject, created = server.query("SELECT subject_id, created_at FROM identifier_links WHERE identifier = ?", identifier)[0]
    # The privacy officer carried out a suspension of every use (what RequestDesk.complete writes).
    server.query("INSERT INTO suspensions (subject_id, purpose_id, source, created_at) VALUES (?, '*', 'e2e', ?)", subject, created)
    open_page(b, site, "notice")
    b.driver.execute_script("sessionStorage.clear()")  # the answer is kept per browser session; this page asks again
    b.requested()
    open_page(b, site, "notice")
    hosts = settle(b, 1.5)
    assert b.driver.execute_script("return sessionStorage.getItem('mdg_suspended')") == identifier + ":1", b.driver.get_log("browser")
    assert contacted_vendors(server, hosts) == set(), hosts
    b.driver.find_element(By.ID, "settings").click()
    notes = [e.text for e in b.driver.find_elements(By.CSS_SELECTOR, ".mdg-gpc") if e.is_displayed()]
    assert any("利用を停止" in note for note in notes), notes
    layer = b.driver.execute_script("return window.dataLayer.map(a => Array.from(a))")
    assert all(entry[2]["analytics_storage"] == "denied" for entry in layer if entry[0] == "consent")
