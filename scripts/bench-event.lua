-- wrk script: POST /api/v1/events as sendBeacon sends them (text/plain JSON): a notice, then a choice, from many
-- identifiers. MADOGUCHI_VENDOR_LIST and MADOGUCHI_VENDORS (JSON object of vendor id → boolean) come from
-- /api/v1/consent-config (scripts/bench-http.sh fetches them).
local counter = 0
local list = os.getenv("MADOGUCHI_VENDOR_LIST")
local vendors = os.getenv("MADOGUCHI_VENDORS")
request = function()
  counter = counter + 1
  local id = string.format("bench%017d%05d", counter, math.random(0, 99999))
  local body
  if counter % 2 == 0 then
    body = '{"id":"' .. id .. '","kind":"notice","vendor_list":"' .. list .. '"}'
  else
    body = '{"id":"' .. id .. '","kind":"choice","vendors":' .. vendors .. ',"vendor_list":"' .. list .. '"}'
  end
  return wrk.format("POST", "/api/v1/events", {["Content-Type"] = "text/plain;charset=UTF-8"}, body)
end
