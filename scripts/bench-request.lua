-- wrk script: POST /api/v1/requests, each from a new address (the per-mailbox limit allows 5 codes an hour),
-- cycling through the request types; the figure covers validation, the code issued and hashed, the request
-- sealed under a key of its own, the code mail queued and the audit entry.
local counter = 0
local types = {'"disclosure","delivery":"csv"', '"erasure"', '"suspension","purposes":["marketing"]', '"correction","details":"電話番号を訂正してください"'}
request = function()
  counter = counter + 1
  local who = "r" .. counter .. "-" .. math.random(1, 1000000000)
  local body = '{"type":' .. types[counter % #types + 1] .. ',"email":"' .. who .. '@example.jp","name":"山田 太郎"}'
  return wrk.format("POST", "/api/v1/requests", {["Content-Type"] = "application/json"}, body)
end
