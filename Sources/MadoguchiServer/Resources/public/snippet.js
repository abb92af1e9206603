/* Madoguchi site snippet: the external-transmission notice (外部送信), consent, tag gating, Consent Mode v2,
   GPC and cookie reset. One <script src=".../snippet.js" async> per page; no dependencies, no eval, no inline
   styles. The server fills in the declarations of the policy file where MADOGUCHI_CONFIG stands. */
(function () {
  "use strict";
  var C = /*MADOGUCHI_CONFIG*/null;
  var w = window, d = document, nav = navigator;
  if (!C || w.Madoguchi) return;
  var me = d.currentScript;
  var base = me && me.src ? new URL(me.src).origin : C.base;
  var lang = /^en\b/i.test(d.documentElement.lang || "") ? "en" : "ja";
  var T = C.t[lang], V = C.vendors, byId = {};
  V.forEach(function (v) { byId[v.id] = v; });
  var stateName = C.cookie + "_c";
  var gpc = nav.globalPrivacyControl === true || C.gpc === true;
  var resetNow = false; // after a cookie reset: nothing loads and no identifier is issued until the next visit
  var suspended = false; // the person this browser is linked to suspended every use of their data
  var ready = false; // tags wait until the suspension check has answered (or timed out)
  function halted() { return resetNow || suspended; }
  var origBeacon = nav.sendBeacon ? nav.sendBeacon.bind(nav) : null, origFetch = w.fetch;

  function cookie(name) {
    var parts = d.cookie ? d.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return parts[i].slice(eq + 1);
    }
    return null;
  }
  function setCookie(name, value, maxAge) {
    d.cookie = name + "=" + value + "; Path=/; Max-Age=" + maxAge + "; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }

  // The state cookie: VENDORLIST.BITS.E — one bit per declared vendor in policy order, E=1 for an explicit choice.
  function stored() {
    var p = (cookie(stateName) || "").split(".");
    if (p.length !== 3 || p[0] !== C.v || p[1].length !== V.length || !/^[01]+$/.test(p[1])) return null;
    var s = {};
    V.forEach(function (v, i) { s[v.id] = p[1].charAt(i) === "1"; });
    return { allowed: s, explicit: p[2] === "1" };
  }
  function defaults() {
    var s = {};
    V.forEach(function (v) { s[v.id] = C.mode === "notice" && !(gpc && v.cat === "advertising"); });
    return s;
  }
  var saved = stored(), state = saved ? saved.allowed : defaults();
  if (saved && !saved.explicit && gpc) V.forEach(function (v) { if (v.cat === "advertising") state[v.id] = false; });

  function identifier(issue) {
    var id = cookie(C.cookie);
    if (id && /^[A-Za-z0-9_-]{22,64}$/.test(id)) return id;
    if (!issue || resetNow) return null;
    // Issue time (ms, 12 hex digits) then 96 random bits: later identifiers sort later (the ledger appends in order).
    var b = new Uint8Array(12);
    crypto.getRandomValues(b);
    id = ("00000000000" + Date.now().toString(16)).slice(-12) + btoa(String.fromCharCode.apply(null, b)).replace(/\+/g, "-").replace(/\//g, "_");
    setCookie(C.cookie, id, C.days * 86400);
    return id;
  }
  // The server-side proof: every notice, choice and reset goes to the consent ledger.
  function send(kind, issue) {
    var id = identifier(issue);
    if (!id) return;
    var body = { id: id, kind: kind, vendor_list: C.v, gpc: gpc };
    if (kind === "choice") body.vendors = copy(state);
    var data = JSON.stringify(body), url = base + "/api/v1/events";
    if (!(origBeacon && origBeacon(url, data)) && origFetch) {
      origFetch.call(w, url, { method: "POST", body: data, keepalive: true, mode: "no-cors" }).catch(function () {});
    }
  }
  function copy(s) { var c = {}; for (var k in s) c[k] = s[k]; return c; }

  // Hosts: "*.example.com" stands for every subdomain of example.com.
  function hostOf(url) { try { return new URL(String(url), location.href).hostname.toLowerCase(); } catch (e) { return ""; } }
  function hostIs(host, pattern) {
    pattern = pattern.toLowerCase();
    return pattern.slice(0, 2) === "*." ? host.slice(-(pattern.length - 1)) === pattern.slice(1) : host === pattern;
  }
  function owns(v, host) { return v.hosts.some(function (p) { return hostIs(host, p); }); }
  // A request is blocked when its host belongs to declared vendors none of which may receive data now.
  function blocked(url) {
    var host = hostOf(url), owners = V.filter(function (v) { return owns(v, host); });
    return owners.length > 0 && (halted() || !owners.some(function (v) { return state[v.id]; }));
  }

  // Guard: an opt-out takes effect at once, also for tags that are already running on this page.
  if (origFetch) {
    w.fetch = function (input) {
      if (blocked(input && input.url ? input.url : input)) return Promise.reject(new TypeError("blocked by the visitor's choice"));
      return origFetch.apply(this, arguments);
    };
  }
  if (origBeacon) nav.sendBeacon = function (url) { return blocked(url) ? false : origBeacon.apply(null, arguments); };
  var xhrOpen = XMLHttpRequest.prototype.open, xhrSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) { this.mdgBlocked = blocked(url); return xhrOpen.apply(this, arguments); };
  XMLHttpRequest.prototype.send = function () { if (!this.mdgBlocked) return xhrSend.apply(this, arguments); };
  [w.HTMLScriptElement, w.HTMLImageElement, w.HTMLIFrameElement].forEach(function (K) {
    var desc = K && Object.getOwnPropertyDescriptor(K.prototype, "src");
    if (!desc || !desc.set) return;
    Object.defineProperty(K.prototype, "src", {
      configurable: true, enumerable: desc.enumerable, get: desc.get,
      set: function (url) { if (!blocked(url)) desc.set.call(this, url); }
    });
  });
  var setAttr = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "src" && /^(SCRIPT|IMG|IFRAME)$/.test(this.tagName) && blocked(value)) return;
    return setAttr.apply(this, arguments);
  };

  // Google Consent Mode v2: the default before any tag runs, then an update from the vendors' state.
  w.dataLayer = w.dataLayer || [];
  function gtag() { w.dataLayer.push(arguments); }
  function signals() {
    function cat(c, none) {
      var vs = V.filter(function (v) { return v.cat === c; });
      if (!vs.length) return none;
      return !halted() && vs.every(function (v) { return state[v.id]; }) ? "granted" : "denied";
    }
    var ads = cat("advertising", "denied");
    return { ad_storage: ads, ad_user_data: ads, ad_personalization: ads, analytics_storage: cat("analytics", "denied"),
      functionality_storage: cat("functional", "granted"), personalization_storage: cat("marketing-automation", "denied"),
      security_storage: "granted" };
  }
  gtag("consent", "default", { ad_storage: "denied", ad_user_data: "denied", ad_personalization: "denied",
    analytics_storage: "denied", functionality_storage: "denied", personalization_storage: "denied",
    security_storage: "granted", wait_for_update: 500 });

  // Tag gating: <script type="text/plain" data-vendor="ID" data-src="…"> runs only for a declared vendor whose
  // state allows it, and only from that vendor's declared hosts; anything undeclared never runs (R-EXT-2).
  // The URL may only be in data-src, where its host is checked: an inert tag with src (or any other URL
  // attribute) is refused, never copied onto the live tag.
  var urlAttr = /^(src|srcset|srcdoc|href|xlink:href|data|action|formaction|poster|background|ping|codebase|cite)$/i;
  function foreignURL(el) {
    for (var j = 0; j < el.attributes.length; j++) if (urlAttr.test(el.attributes[j].name)) return el.attributes[j].name;
    return "";
  }
  function activate() {
    if (!ready) return;
    var tags = d.querySelectorAll("[data-vendor]:not([data-madoguchi])");
    for (var i = 0; i < tags.length; i++) {
      var el = tags[i], v = byId[el.getAttribute("data-vendor")], src = el.getAttribute("data-src");
      if (!v || (src && !owns(v, hostOf(src))) || (el.tagName === "SCRIPT" && foreignURL(el))) {
        setAttr.call(el, "data-madoguchi", "undeclared");
        if (w.console) console.warn("Madoguchi: not loaded, undeclared vendor or host:", el.getAttribute("data-vendor"), src || "");
        continue;
      }
      if (halted() || !state[v.id]) continue;
      setAttr.call(el, "data-madoguchi", "loaded");
      if (el.tagName === "SCRIPT") {
        var s = d.createElement("script");
        for (var j = 0; j < el.attributes.length; j++) {
          var a = el.attributes[j].name;
          if (a !== "type" && a !== "data-src" && a !== "data-madoguchi" && !urlAttr.test(a) && !/^on/i.test(a)) setAttr.call(s, a, el.attributes[j].value);
        }
        setAttr.call(s, "data-madoguchi", "loaded");
        if (el.nonce) s.nonce = el.nonce;
        s.async = el.hasAttribute("async");
        if (src) s.src = src; else s.text = el.text;
        el.parentNode.insertBefore(s, el.nextSibling);
      } else if (src) {
        el.src = src;
      }
    }
  }

  function save(explicit) {
    setCookie(stateName, C.v + "." + V.map(function (v) { return state[v.id] ? "1" : "0"; }).join("") + "." + (explicit ? "1" : "0"),
      C.days * 86400);
    gtag("consent", "update", signals());
    activate();
    if (explicit) send("choice", true);
  }

  function reset() {
    send("reset", false);
    var names = (d.cookie ? d.cookie.split("; ") : []).map(function (c) { return c.split("=")[0]; });
    var labels = location.hostname.split("."), scopes = [""];
    for (var i = 0; i < labels.length - 1; i++) scopes.push("; Domain=" + labels.slice(i).join("."));
    names.forEach(function (n) {
      scopes.forEach(function (scope) {
        ["/", location.pathname].forEach(function (p) { d.cookie = n + "=; Max-Age=0; Path=" + p + scope; });
      });
    });
    resetNow = true;
    V.forEach(function (v) { state[v.id] = false; });
    gtag("consent", "update", signals());
  }

  // The notice: a dialog with per-category and per-vendor switches, operable by keyboard alone.
  var root, dialog, status, opener, suspendedNote, switches = {}, details = {}, cats = [];
  function el(tag, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  // A vendor's toggle is a switch (on/off, aria-checked kept in step); a category's is a plain checkbox, whose
  // native indeterminate state is ARIA's "mixed" (a switch has no mixed state).
  function toggle(label, on, isSwitch) {
    var box = el("input"), word = el("span", "mdg-word"), wrap = el("label", "mdg-switch");
    box.type = "checkbox";
    if (isSwitch) setAttr.call(box, "role", "switch");
    box.checked = on;
    if (isSwitch) setAttr.call(box, "aria-checked", on ? "true" : "false");
    wrap.appendChild(box);
    wrap.appendChild(d.createTextNode(" " + label + " "));
    wrap.appendChild(word);
    return { box: box, word: word, wrap: wrap };
  }
  function words() {
    for (var id in switches) {
      switches[id].word.textContent = "(" + (switches[id].box.checked ? T.on : T.off) + ")";
      setAttr.call(switches[id].box, "aria-checked", switches[id].box.checked ? "true" : "false");
    }
    cats.forEach(function (c) {
      var on = c.ids.filter(function (id) { return switches[id].box.checked; }).length;
      c.sw.box.checked = on === c.ids.length;
      c.sw.box.indeterminate = on > 0 && on < c.ids.length;
      c.sw.word.textContent = "(" + (on === c.ids.length ? T.on : on ? on + "/" + c.ids.length : T.off) + ")";
    });
  }
  function link(href, text) {
    var a = el("a", "", text);
    a.href = href;
    a.rel = "noopener";
    a.target = "_blank";
    return a;
  }
  function build() {
    var css = el("link");
    css.rel = "stylesheet";
    css.href = base + "/snippet.css";
    d.head.appendChild(css);
    root = el("div", "mdg-root");
    root.hidden = true;
    dialog = el("div", "mdg-dialog");
    setAttr.call(dialog, "role", "dialog");
    setAttr.call(dialog, "aria-modal", "true");
    setAttr.call(dialog, "aria-labelledby", "mdg-title");
    setAttr.call(dialog, "aria-describedby", "mdg-intro");
    dialog.tabIndex = -1;
    var h = el("h2", "mdg-title", T.title), intro = el("p", "", C.mode === "notice" ? T.intro_notice : T.intro_optin);
    h.id = "mdg-title";
    intro.id = "mdg-intro";
    dialog.appendChild(h);
    dialog.appendChild(intro);
    if (gpc) dialog.appendChild(el("p", "mdg-gpc", T.gpc));
    suspendedNote = dialog.appendChild(el("p", "mdg-gpc", T.suspended));
    suspendedNote.hidden = !suspended;
    var list = el("div", "mdg-list");
    C.cats.forEach(function (c) {
      var vs = V.filter(function (v) { return v.cat === c.id; });
      if (!vs.length) return;
      var set = el("fieldset", "mdg-cat"), legend = el("legend"), sw = toggle(c[lang], false, false);
      legend.appendChild(sw.wrap);
      set.appendChild(legend);
      var entry = { sw: sw, ids: vs.map(function (v) { return v.id; }) };
      sw.box.addEventListener("change", function () {
        entry.ids.forEach(function (id) { switches[id].box.checked = sw.box.checked; });
        words();
      });
      vs.forEach(function (v) {
        var row = el("div", "mdg-vendor"), vsw = toggle(v.name[lang], state[v.id], true);
        setAttr.call(vsw.box, "data-vendor-switch", v.id);
        switches[v.id] = vsw;
        vsw.box.addEventListener("change", words);
        row.appendChild(vsw.wrap);
        var more = el("details"), sum = el("summary", "", T.details);
        more.appendChild(sum);
        details[v.id] = more.appendChild(el("div"));
        if (v.optout) { var p = el("p"); p.appendChild(link(v.optout, T.optout)); more.appendChild(p); }
        row.appendChild(more);
        set.appendChild(row);
      });
      cats.push(entry);
      list.appendChild(set);
    });
    dialog.appendChild(list);
    var links = el("p", "mdg-links");
    links.appendChild(link(base + "/privacy/external-transmission" + (lang === "en" ? "?lang=en" : ""), T.table));
    dialog.appendChild(links);
    var actions = el("div", "mdg-actions");
    [["accept", T.accept], ["reject", T.reject], ["save", T.save], ["close", T.close], ["reset", T.reset]].forEach(function (b) {
      var button = el("button", "mdg-" + b[0], b[1]);
      button.type = "button";
      setAttr.call(button, "data-action", b[0]);
      actions.appendChild(button);
    });
    dialog.appendChild(actions);
    status = el("p", "mdg-status");
    setAttr.call(status, "role", "status");
    dialog.appendChild(status);
    root.appendChild(dialog);
    d.body.appendChild(root);
    // What each vendor receives and why: the longest text, fetched once when the notice is built.
    if (origFetch) {
      origFetch.call(w, base + "/api/v1/consent-config", { credentials: "omit" }).then(function (r) { return r.json(); }).then(function (cfg) {
        cfg.vendors.forEach(function (v) {
          var box = details[v.id];
          if (!box || !v.items) return;
          box.appendChild(el("p", "", T.receives + ": " + v.items[lang].join(lang === "ja" ? "、" : ", ")));
          box.appendChild(el("p", "", T.purpose + ": " + v.purpose[lang]));
        });
      }).catch(function () {});
    }
    words();
    actions.addEventListener("click", function (e) {
      var act = e.target && e.target.getAttribute && e.target.getAttribute("data-action");
      if (!act) return;
      if (act === "reset") { reset(); refresh(); status.textContent = T.reset_done; return; }
      if (act === "close") return close(true);
      V.forEach(function (v) { state[v.id] = act === "accept" ? true : act === "reject" ? false : switches[v.id].box.checked; });
      save(true);
      refresh();
      status.textContent = T.saved;
      close(false);
    });
    dialog.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); close(true); return; }
      if (e.key !== "Tab") return;
      var f = focusable(), first = f[0], last = f[f.length - 1];
      if (e.shiftKey && (d.activeElement === first || d.activeElement === dialog)) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && d.activeElement === last) { e.preventDefault(); first.focus(); }
    });
    if (!d.querySelector("[data-madoguchi-open]")) {
      var tab = el("button", "mdg-open", T.open);
      tab.type = "button";
      setAttr.call(tab, "data-madoguchi-open", "");
      d.body.appendChild(tab);
    }
    d.addEventListener("click", function (e) {
      var t = e.target && e.target.closest && e.target.closest("[data-madoguchi-open]");
      if (t) { e.preventDefault(); open(); }
    });
  }
  function focusable() {
    return Array.prototype.filter.call(dialog.querySelectorAll("input, button, a[href], summary"), function (e) {
      return !e.disabled && e.offsetParent !== null;
    });
  }
  function refresh() {
    suspendedNote.hidden = !suspended;
    V.forEach(function (v) { switches[v.id].box.checked = state[v.id]; });
    words();
  }
  function open() {
    if (!root) build();
    refresh();
    status.textContent = "";
    opener = d.activeElement;
    root.hidden = false;
    var f = focusable();
    (f[0] || dialog).focus();
  }
  // Closing without a choice: in notice mode that acknowledges the notice; in opt-in mode nothing loads.
  function close(acknowledge) {
    if (!root || root.hidden) return;
    root.hidden = true;
    if (acknowledge && C.mode === "notice" && !stored() && !resetNow) save(false);
    if (opener && opener.focus && d.contains(opener)) opener.focus();
  }

  // Once per browser session, a browser with an identifier asks whether its person suspended every use (R-INF-2);
  // tags wait for the answer, for two seconds at most.
  function checkSuspension(done) {
    var id = identifier(false), key = "mdg_suspended", cached = null, finished = false;
    function finish() { if (!finished) { finished = true; done(); } }
    if (!id || !origFetch) return finish();
    try { cached = sessionStorage.getItem(key); } catch (e) {}
    if (cached === id + ":0") return finish();
    if (cached === id + ":1") { suspended = true; return finish(); }
    setTimeout(finish, 2000);
    origFetch.call(w, base + "/api/v1/identifier-state?id=" + encodeURIComponent(id), { credentials: "omit" })
      .then(function (r) { return r.json(); }).then(function (answer) {
        suspended = answer.suspended === true;
        try { sessionStorage.setItem(key, id + ":" + (suspended ? "1" : "0")); } catch (e) {}
        if (suspended) gtag("consent", "update", signals());
        finish();
      }).catch(finish);
  }
  function begin() {
    ready = true;
    gtag("consent", "update", signals());
    activate();
  }

  function start() {
    activate();
    new MutationObserver(activate).observe(d.documentElement, { childList: true, subtree: true });
    build();
    if (!saved) {
      open();
      // Notice mode: the notice is shown and vendors load; opt-in mode issues no identifier before a choice.
      send("notice", C.mode === "notice");
    }
  }

  w.Madoguchi = { version: C.v, open: open, reset: reset, allowed: function (id) { return ready && !halted() && state[id] === true; } };
  checkSuspension(begin);
  if (d.body) start(); else d.addEventListener("DOMContentLoaded", start);
})();
