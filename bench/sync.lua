-- wrk script: POST /api/v1/requests/generic/sync as one of 100 users.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local body = '{"content": "hello", "integration_type": "CLI", "request_type": "message", "metadata": {}}'

request = function()
  wrk.headers["x-user-id"] = "user-" .. math.random(1, 100)
  return wrk.format(nil, "/api/v1/requests/generic/sync", nil, body)
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
