-- wrk script: send each pre-built request of a file exactly once, then end the run.
-- `wrk -t1 -c16 -d60s -s bench/requests.lua URL -- FILE [repeat]` prints one JSON line when done.
-- With "repeat" the lines are sent round and round until -d ends the run (reusable inputs).
-- Each line of FILE is "METHOD<TAB>PATH<TAB>HEADERS<TAB>BODY", headers "Name: value|...".
-- Inputs are single use (token ids): when the next request would need a line past the last,
-- the run ends there (SIGINT, as Ctrl-C does, so wrk need not wait out -d). As at the end of a
-- timed wrk run, the requests still in flight then are not counted; every counted answer is to
-- a distinct line. The run's time is from the first request to that end (LuaJIT's ffi clock).
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
int kill(int pid, int sig);
int getpid(void);
]])
local CLOCK_MONOTONIC, SIGINT = 1, 2
local unpack = table.unpack or unpack -- LuaJIT (Lua 5.1) has the global
local threads = {}

local function now_us()
  local t = ffi.new("bench_timespec")
  ffi.C.clock_gettime(CLOCK_MONOTONIC, t)
  return tonumber(t.tv_sec) * 1000000 + tonumber(t.tv_nsec) / 1000
end

local function split(text, separator)
  local parts = {}
  for part in (text .. separator):gmatch("(.-)" .. separator) do
    table.insert(parts, part)
  end
  return parts
end

local function json_string(text)
  local escaped = text:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. escaped .. '"'
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  lines = {} -- each already formatted as the bytes wrk sends
  for line in io.lines(args[1]) do
    local method, path, header_text, body = unpack(split(line, "\t"))
    local headers = {}
    for _, pair in ipairs(header_text ~= "" and split(header_text, "|") or {}) do
      local name, value = pair:match("^([^:]+):%s*(.*)$")
      headers[name] = value
    end
    table.insert(lines, wrk.format(method, path, headers, body ~= "" and body or nil))
  end
  cycle = args[2] == "repeat"
  sent, answered, failed = 0, 0, 0
  first_error, started_us, finished_us = "", 0, 0
end

function request()
  sent = sent + 1
  if sent == 1 then
    started_us = now_us()
  elseif sent > #lines and cycle then
    sent = 1
  elseif sent > #lines then
    if finished_us == 0 then
      finished_us = now_us()
      ffi.C.kill(ffi.C.getpid(), SIGINT)
      wrk.thread:stop()
    end
    return wrk.format("GET", "/healthz") -- spends nothing, and is never read back
  end
  return lines[sent]
end

function response(status, headers, body)
  answered = answered + 1
  if cycle then
    finished_us = now_us()
  end
  if status >= 300 then
    failed = failed + 1
    if first_error == "" then
      first_error = status .. " " .. (body or ""):sub(1, 200)
    end
  end
end

function done(summary, latency, requests)
  local thread = threads[1]
  local errors = summary.errors
  io.write(string.format(
    '{"answered": %d, "failed": %d, "seconds": %.6f, "socket_errors": %d,'
      .. ' "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "first_error": %s}\n',
    thread:get("answered"), thread:get("failed"),
    (thread:get("finished_us") - thread:get("started_us")) / 1000000,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, json_string(thread:get("first_error"))
  ))
end
