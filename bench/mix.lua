-- wrk script for bench.search: cycle through the query mix, then report as JSON.
--
-- Usage: wrk ... -s bench/mix.lua http://127.0.0.1:PORT -- MIX_FILE
-- MIX_FILE holds one path-and-query per line (bench.search writes it); requests go
-- through it in order and wrap around, so both servers see the same sequence.

-- The shared summary line, read from next to this script whatever the working directory.
local report = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "wrk_report.lua")
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

-- One machine-readable line (BENCH_JSON {...}), so bench.search need not parse wrk's
-- human summary.
function done(summary, latency, requests)
  report("BENCH_JSON", summary, latency)
end
