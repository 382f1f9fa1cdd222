-- wrk script: one MCP tools/call of get_employee_laptop_info per request
-- (streamable HTTP, stateless: no initialize needed), as one of the ten
-- sample employees, named in AUTHORITATIVE_USER_ID.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_employee_laptop_info","arguments":{}}}'

request = function()
  wrk.headers["AUTHORITATIVE_USER_ID"] = tostring(1000 + math.random(1, 10))
  return wrk.format(nil, nil, nil, body)
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
