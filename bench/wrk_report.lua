-- The summary line that bench/mix.lua and bench/load.lua print in wrk's done(): one JSON
-- object after a tag, so the Python drivers need not parse wrk's human summary.
--
-- Usage, in a wrk script: local report = dofile(HERE .. "wrk_report.lua"), then in done()
-- report(TAG, summary, latency[, extra]). extra is more JSON members, without braces,
-- added at the end ('"statuses":{...}'). errors_status is wrk's own count of responses
-- with status >= 400 (its "Non-2xx or 3xx").

return function(tag, summary, latency, extra)
  io.write(string.format(
    '%s {"requests":%d,"duration_us":%d,"bytes":%d,'
    .. '"errors_connect":%d,"errors_read":%d,"errors_write":%d,'
    .. '"errors_status":%d,"errors_timeout":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p95_us":%d,"p99_us":%d,"p999_us":%d,'
    .. '"max_us":%d,"mean_us":%.1f,"stdev_us":%.1f%s}\n',
    tag, summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, latency.stdev, extra and ("," .. extra) or ""))
end
