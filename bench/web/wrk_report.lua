-- wrk reporter for bench/web/run.py: one JSON line (latencies in microseconds).
-- Only done() is defined, so wrk keeps its fast path (no Lua per request or response).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, "connect": %d, '
    .. '"read": %d, "write": %d, "timeout": %d, "p50": %d, "p90": %d, "p95": %d, "p99": %d, '
    .. '"max": %d, "mean": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
