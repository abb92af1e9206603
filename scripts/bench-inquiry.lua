-- wrk script: POST /api/v1/inquiries with a new person half of the time (new blind index, new key) and a
-- returning one otherwise, so the figure includes key creation and linking.
local counter = 0
request = function()
  counter = counter + 1
  local who
  if counter % 2 == 0 then who = "returning" .. (counter % 100) else who = "p" .. counter .. "-" .. math.random(1, 1000000000) end
  local body = '{"service":"agent","fields":{"name":"山田 太郎","email":"' .. who .. '@example.jp","topic":"service",' ..
    '"message":"転職の相談をしたいです。よろしくお願いします。"},"consent_to_optional_purposes":' .. (counter % 3 == 0 and "true" or "false") .. '}'
  return wrk.format("POST", "/api/v1/inquiries", {["Content-Type"] = "application/json"}, body)
end
