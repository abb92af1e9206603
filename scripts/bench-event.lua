-- wrk script: POST /api/v1/events as the site snippet's sendBeacon sends them (text/plain JSON), half notices, half
-- full choices. MADOGUCHI_VENDOR_LIST and MADOGUCHI_VENDORS (JSON object of vendor id → boolean) come from
-- /api/v1/consent-config (scripts/bench-http.sh fetches them). The requests are formatted once, at start, so that wrk
-- spends its share of the two cores on sending rather than on string building.
--
-- MADOGUCHI_BENCH_VISITORS picks who sends them:
--   new        (default) each browser is new: a notice, then its choice, under an identifier issued as the snippet
--              issues them (issue time in ms as 12 hex digits, then 96 random bits) — the ledger's everyday traffic.
--              The synthetic clock advances 1 ms per 16 browsers (16,000 new browsers a second), never faster than
--              the real one between rounds; 100,000 requests per wrk thread, then they repeat.
--   returning  4,096 browsers per wrk thread send again and again, under random identifiers of the old form — the
--              worst case for the ledger's index (each append on a random page of it), as after a vendor-list
--              change re-asks every returning browser.
local list = os.getenv("MADOGUCHI_VENDOR_LIST")
local vendors = os.getenv("MADOGUCHI_VENDORS")
local visitors = os.getenv("MADOGUCHI_BENCH_VISITORS") or "new"
local requests = {}
local next_request = 0
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local function random_text(length)
  local characters = {}
  for k = 1, length do
    local c = math.random(1, 64)
    characters[k] = alphabet:sub(c, c)
  end
  return table.concat(characters)
end

local function body(id, kind)
  if kind == "notice" then
    return '{"id":"' .. id .. '","kind":"notice","vendor_list":"' .. list .. '"}'
  end
  return '{"id":"' .. id .. '","kind":"choice","vendors":' .. vendors .. ',"vendor_list":"' .. list .. '"}'
end

init = function(args)
  if visitors ~= "new" and visitors ~= "returning" then
    error("MADOGUCHI_BENCH_VISITORS must be new or returning, not " .. visitors)
  end
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  local headers = {["Content-Type"] = "text/plain;charset=UTF-8"}
  if visitors == "new" then
    local start = os.time() * 1000
    local id
    for i = 1, 100000 do
      local browser = math.floor((i - 1) / 2)
      if i % 2 == 1 then
        id = string.format("%012x", start + math.floor(browser / 16)) .. random_text(16)
        requests[i] = wrk.format("POST", "/api/v1/events", headers, body(id, "notice"))
      else
        requests[i] = wrk.format("POST", "/api/v1/events", headers, body(id, "choice"))
      end
    end
  else
    for i = 1, 4096 do
      local id = random_text(22)
      requests[i] = wrk.format("POST", "/api/v1/events", headers, body(id, i % 2 == 0 and "notice" or "choice"))
    end
  end
end

request = function()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
