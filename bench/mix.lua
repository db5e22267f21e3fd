-- wrk script for bench.search: cycle through the query mix, then report as JSON.
--
-- Usage: wrk ... -s bench/mix.lua http://127.0.0.1:PORT -- MIX_FILE
-- MIX_FILE holds one path-and-query per line (bench.search writes it); requests go
-- through it in order and wrap around, so both servers see the same sequence.

local paths = {}
local index = 0

function init(args)
  local file = assert(io.open(args[1], "r"), "bench/mix.lua: cannot open the mix file")
  for line in file:lines() do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  file:close()
  assert(#paths > 0, "bench/mix.lua: the mix file is empty")
end

function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end

-- One machine-readable line, so bench.search need not parse wrk's human summary.
-- errors.status counts responses with status >= 400 (wrk's "Non-2xx or 3xx").
function done(summary, latency, requests)
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
    .. '"errors_connect":%d,"errors_read":%d,"errors_write":%d,'
    .. '"errors_status":%d,"errors_timeout":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
