--- Worker processes: run tasks (one simulation each, or a few) in up to N
-- `mastersim _worker JOB` processes, one Lua state per process, and hand
-- each finished task's output to a callback. The waiting loop runs inside
-- core.drive, so SIGINT stops it cleanly (running workers are killed, their
-- runs dropped) instead of killing the process.
--
-- Protocol: the parent writes JOB (JSON, with the path `out`) in a private
-- temporary directory and starts the worker in the background; the worker
-- writes `out` atomically when it succeeds and exits; on failure it writes
-- one line to its stderr file. A worker whose process is gone (Linux /proc)
-- without an `out` file failed.
local core = require "mastersim.core"
local fileio = require "mastersim.report.fileio"
local json = require "mastersim.report.json"

local M = {}

M.POLL_S = 0.02

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
M.quote = quote

--- Read a whole file, or nil.
local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
M.slurp = slurp

--- A private temporary directory (removed by M.cleanup).
function M.tmpdir()
  local p = assert(io.popen("mktemp -d \"${TMPDIR:-/tmp}/mastersim.XXXXXX\""))
  local dir = p:read("l")
  p:close()
  if not dir or dir == "" then error("cannot create a temporary directory", 0) end
  return dir
end

--- Remove a directory made by M.tmpdir.
function M.cleanup(dir)
  if dir and dir:match("/mastersim%.[%w]+$") then os.execute("rm -rf " .. quote(dir)) end
end

--- Sleep `s` seconds (a child process: signals still reach this one).
function M.sleep(s)
  local p = io.popen(("sleep %.3f"):format(s))
  if p then p:close() end
end

--- Whether process `pid` is still running (not gone, not a zombie).
local function alive(pid)
  local s = slurp("/proc/" .. pid .. "/stat")
  if not s then return false end
  return s:match("%) (%a)") ~= "Z"
end

--- Run `step` repeatedly until it returns false, inside core.drive so that
-- SIGINT ends the loop between steps. Returns true when interrupted.
function M.watch(step)
  local sched = core.sched()
  local err
  local function tick()
    local ok, more = pcall(step)
    if not ok then err = more return end
    if more then sched:after(0, tick) end
  end
  sched:at(0, tick)
  local status = core.drive(sched, { slice = 1, sigint = true, progress = false })
  if err then error(err, 0) end
  return status == "interrupted"
end

--- Whether stderr is a terminal.
function M.stderr_is_tty()
  local ok = os.execute("test -t 2")
  return ok == true
end

--- The width of the terminal on stderr in columns (COLUMNS, else 80 when
-- it cannot be asked).
function M.columns()
  local p = io.popen("stty size <&2 2>/dev/null")
  local out = p and p:read("a") or ""
  if p then p:close() end
  local cols = tonumber(out:match("^%s*%d+%s+(%d+)") or os.getenv("COLUMNS") or "")
  return (cols and cols >= 20) and math.tointeger(cols) or 80
end

-- A duration for the bar: 42s, 3m05s, 2h07m.
local function clock(s)
  s = math.max(0, math.floor(s + 0.5))
  if s < 60 then return ("%ds"):format(s) end
  if s < 3600 then return ("%dm%02ds"):format(s // 60, s % 60) end
  return ("%dh%02dm"):format(s // 3600, s % 3600 // 60)
end

--- A progress bar on stderr: returns update(done, total) and finish().
-- update() without arguments redraws the last state once a second (the
-- elapsed time moves while a long run is going). The line never reaches
-- the terminal's last column, so it never wraps. Silent (no-ops) when
-- `enabled` is false.
function M.progress(label, enabled)
  if not enabled then return function() end, function() end end
  local t0, last, cols = core.wall(), -1, M.columns()
  local done, total, t_done = 0, 0, t0
  local function draw(now)
    last = now
    local tail = (" %d/%d runs  %s"):format(done, total, clock(now - t0))
    if done > 0 and done < total then -- the rate at the last finished run, counting down
      tail = tail .. (", ETA %s"):format(clock((t_done - t0) / done * (total - done) - (now - t_done)))
    end
    -- A fixed bar width: room for the longest tail of this total.
    local room = #(" %d/%d runs  00m00s, ETA 00m00s"):format(total, total)
    local w = math.max(0, math.min(28, cols - 1 - #label - room - 3))
    local filled = total > 0 and math.floor(w * done / total) or w
    local line = ("%s [%s%s]%s"):format(label, ("="):rep(filled), (" "):rep(w - filled), tail)
    io.stderr:write("\r\027[K", line:sub(1, cols - 1))
    io.stderr:flush()
  end
  local function update(d, t)
    local now = core.wall()
    if d then
      if d ~= done then t_done = now end
      done, total = d, t
      if now - last >= 0.1 or done >= total then draw(now) end
    elseif now - last >= 1 then
      draw(now)
    end
  end
  local function finish()
    io.stderr:write("\r\027[K")
    io.stderr:flush()
  end
  return update, finish
end

--- The binary that runs workers: $MASTERSIM_BIN, else `argv0`.
function M.binary(argv0)
  local b = os.getenv("MASTERSIM_BIN")
  if b and b ~= "" then return b end
  return argv0 or "mastersim"
end

-- Start the worker of task i; returns its record.
local function launch(dir, bin, i, task)
  local base = ("%s/job%d"):format(dir, i)
  local job = {}
  for k, v in pairs(task.job) do job[k] = v end
  job.out = base .. ".out"
  assert(fileio.write(base .. ".json", json.encode(job)))
  local cmd = ("exec %s _worker %s >/dev/null 2>%s </dev/null & echo $!"):format(quote(bin),
    quote(base .. ".json"), quote(base .. ".err"))
  local p = assert(io.popen(cmd))
  local pid = p:read("l")
  p:close()
  if not pid or not pid:match("^%d+$") then error("cannot start a worker process", 0) end
  return { task = task, pid = pid, out = job.out, err = base .. ".err" }
end

-- The last non-empty line of a worker's stderr.
local function last_line(path)
  local text, line = slurp(path) or "", nil
  for l in text:gmatch("[^\n]+") do line = l end
  return line or "the worker process ended without a result"
end

-- Poll one running worker: "done", text | "failed", message | nil.
local function poll(w)
  local out = slurp(w.out)
  if out then return "done", out end
  if alive(w.pid) then return nil end
  out = slurp(w.out) -- it may have finished between the two looks
  if out then return "done", out end
  return "failed", last_line(w.err)
end

--- Run `tasks` (a list of { job = table, ... }) in up to `opts.jobs`
-- worker processes of `opts.bin`. opts.on_done(task, text) gets a finished
-- task's output; opts.on_progress(done, total); opts.on_tick() (optional)
-- is called every poll (about 50 times a second). Returns "done",
-- "interrupted" (SIGINT: running workers killed) or "failed", task,
-- message (the first failure: the other workers are killed).
function M.run(tasks, opts)
  local dir = M.tmpdir()
  local running, next_i, done = {}, 1, 0
  local failed, fail_msg
  local function step()
    while #running < opts.jobs and next_i <= #tasks and not failed do
      running[#running + 1] = launch(dir, opts.bin, next_i, tasks[next_i])
      next_i = next_i + 1
    end
    local progressed = false
    for i = #running, 1, -1 do
      local w = running[i]
      local st, text = poll(w)
      if st then
        table.remove(running, i)
        progressed = true
        if st == "done" then
          done = done + 1
          opts.on_done(w.task, text)
          if opts.on_progress then opts.on_progress(done, #tasks) end
        elseif not failed then
          failed, fail_msg = w.task, text
        end
      end
    end
    if failed then return false end
    if #running == 0 and next_i > #tasks then return false end
    if opts.on_tick then opts.on_tick() end
    if not progressed then M.sleep(M.POLL_S) end
    return true
  end
  local ok, interrupted = pcall(M.watch, step)
  local pids = {}
  for _, w in ipairs(running) do pids[#pids + 1] = w.pid end
  if #pids > 0 then os.execute("kill -TERM " .. table.concat(pids, " ") .. " 2>/dev/null") end
  M.cleanup(dir)
  if not ok then error(interrupted, 0) end
  if failed then return "failed", failed, fail_msg end
  return interrupted and "interrupted" or "done"
end

return M
