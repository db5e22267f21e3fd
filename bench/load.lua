-- wrk script for bench.load: cycle through a list of requests, count status codes, report JSON.
--
-- Usage: wrk -tTHREADS ... -s bench/load.lua http://127.0.0.1:PORT -- REQUESTS_FILE THREADS
-- REQUESTS_FILE holds one request a line, tab-separated: METHOD, path and query, and an
-- optional JSON body (sent with Content-Type: application/json). bench.load writes it.
-- Each thread starts at its own place in the list and wraps around.

local unpack = table.unpack or unpack  -- wrk embeds LuaJIT (Lua 5.1)
-- The shared summary line, read from next to this script whatever the working directory.
local report = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "wrk_report.lua")
local threads = {}
local requests = {}
local index = 0
statuses = {}

-- Runs in the main Lua state, once per thread, before that thread's init().
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    fields[#fields + 1] = field
  end
  return fields
end

function init(args)
  local file = assert(io.open(args[1], "r"), "bench/load.lua: cannot open the requests file")
  for line in file:lines() do
    if #line > 0 then
      local method, path, body = unpack(split(line))
      local headers = nil
      if body ~= nil and #body > 0 then
        headers = { ["Content-Type"] = "application/json" }
      else
        body = nil
      end
      -- Formatted once here, so request() only hands out prepared bytes.
      requests[#requests + 1] = wrk.format(method, path, headers, body)
    end
  end
  file:close()
  assert(#requests > 0, "bench/load.lua: the requests file is empty")
  -- Threads spread over the list, so they do not send the same sequence in step.
  local count = tonumber(args[2]) or 1
  index = math.floor((thread_number - 1) * #requests / count) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

-- One machine-readable line (LOAD_JSON {...}), so bench.load need not parse wrk's human
-- summary. "statuses" counts every status code seen, summed over threads.
function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses") or {}
    for code, n in pairs(counts) do
      totals[code] = (totals[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(totals) do
    parts[#parts + 1] = string.format('"%s":%d', code, n)
  end
  report("LOAD_JSON", summary, latency, '"statuses":{' .. table.concat(parts, ",") .. "}")
end
