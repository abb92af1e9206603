-- wrk script: POST /api/v1/events as sendBeacon sends them (text/plain JSON): half notices, half full choices, from
-- 4,096 identifiers per wrk thread. MADOGUCHI_VENDOR_LIST and MADOGUCHI_VENDORS (JSON object of vendor id → boolean)
-- come from /api/v1/consent-config (scripts/bench-http.sh fetches them). The requests are formatted once, at start,
-- so that wrk spends its share of the two cores on sending rather than on string building.
local list = os.getenv("MADOGUCHI_VENDOR_LIST")
local vendors = os.getenv("MADOGUCHI_VENDORS")
local requests = {}
local next_request = 0

init = function(args)
  local thread = math.random(0, 99999)
  for i = 1, 4096 do
    local id = string.format("bench%05d%012d%05d", thread, i, math.random(0, 99999))
    local body
    if i % 2 == 0 then
      body = '{"id":"' .. id .. '","kind":"notice","vendor_list":"' .. list .. '"}'
    else
      body = '{"id":"' .. id .. '","kind":"choice","vendors":' .. vendors .. ',"vendor_list":"' .. list .. '"}'
    end
    requests[i] = wrk.format("POST", "/api/v1/events", {["Content-Type"] = "text/plain;charset=UTF-8"}, body)
  end
end

request = function()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
