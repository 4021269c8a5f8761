--- History exports for independent checkers (`mastersim run --history F
-- --history-format porcupine|edn|jsonl`).
--
-- jsonl is the model's per-attempt record (written by the bindings as the
-- run goes). porcupine and edn describe the run as a linearizability
-- checker sees it: operations with a process, an invocation and a
-- completion, on a map of registers, one register per metadata key:
--
--   key            written by                         read by
--   vol:<id>       create_dp, delete_vol of that vol  get_vol, get_partitions,
--                                                     get_meta_partitions, get_dp
--   node:<id>      heartbeat of that node             get_node
--   cluster        create_vol, create_dp, delete_vol  get_cluster, list_vols
--
-- A register's value is a version: the raft index of the last committed
-- entry that wrote it (0: the initial image). A write proposal writes its
-- entry's index; it is invoked when the leader takes it and completes :ok
-- when that leader applies it (the client's acknowledgement), :fail when
-- another entry committed at its index, :info (unknown) otherwise. A write
-- of two keys is one operation per key. A logical read is invoked when the
-- client issues it and completes when the client has its answer: :ok with
-- the version of its key at the index the answer reflected (a torn answer
-- reads -1, a value nobody wrote), :fail for an error answer, :info for a
-- timeout or a crashed node. Faults are nemesis events. A per-key check is
-- a necessary condition for the whole map (a violation it finds is real).
--
-- The model's records come from cluster:ops (src/lua/lms_history.c); this
-- file turns them, after the run, into the chosen format. Deterministic:
-- the same run gives the same bytes.
local json = require "mastersim.report.json"

local M = {}

M.FORMATS = { jsonl = true, porcupine = true, edn = true }
M.FORMAT_LIST = "jsonl, porcupine, edn"

-- The register keys an operation touches.
local READ_KEY = {
  get_vol = "vol", get_partitions = "vol", get_meta_partitions = "vol", get_dp = "vol",
  get_node = "node", get_cluster = "cluster", list_vols = "cluster",
}

local function read_key(op, a)
  local kind = READ_KEY[op]
  if kind == "cluster" then return "cluster" end
  return kind .. ":" .. a
end

local function write_keys(op, vol, nd)
  if op == "create_dp" or op == "delete_vol" then return { "vol:" .. vol, "cluster" } end
  if op == "heartbeat" then return { "node:" .. nd } end
  if op == "create_vol" then return { "cluster" } end
  return {}
end

-- A min-heap of { key, value } pairs (key: a number).
local function heap()
  local h = {}
  local function less(i, j) return h[i][1] < h[j][1] end
  local function push(k, v)
    h[#h + 1] = { k, v }
    local i = #h
    while i > 1 and less(i, i // 2) do h[i], h[i // 2] = h[i // 2], h[i]; i = i // 2 end
  end
  local function pop()
    local top, last = h[1], table.remove(h)
    if #h > 0 then
      h[1] = last
      local i = 1
      while true do
        local l, r, m = 2 * i, 2 * i + 1, i
        if l <= #h and less(l, m) then m = l end
        if r <= #h and less(r, m) then m = r end
        if m == i then break end
        h[i], h[m] = h[m], h[i]
        i = m
      end
    end
    return top
  end
  return { push = push, pop = pop, peek = function() return h[1] end, size = function() return #h end }
end

-- The largest element of sorted list xs that is <= x (0 when none).
local function floor_in(xs, x)
  local lo, hi, best = 1, #xs, 0
  while lo <= hi do
    local mid = (lo + hi) // 2
    if xs[mid] <= x then best, lo = xs[mid], mid + 1 else hi = mid - 1 end
  end
  return best
end

--- The operations of a run from its op records (a list of decoded lines):
-- a list of { f = "read"|"write", key, value, invoke (ns), complete (ns or
-- nil: unknown), type = "ok"|"fail"|"info", client }, sorted by invocation.
function M.operations(records)
  local entries, acks, proposals, reads = {}, {}, {}, {}
  for _, r in ipairs(records) do
    if r.k == "apply" then
      if not entries[r.index] then
        entries[r.index] = { term = r.term, t = r.t, keys = write_keys(r.op, r.vol, r.nd) }
      end
      local k = r.node .. "/" .. r.index .. "/" .. r.term
      if not acks[k] then acks[k] = r.t end
    elseif r.k == "propose" then
      proposals[#proposals + 1] = r
    else
      reads[#reads + 1] = r
    end
  end
  local versions = {}
  local indexes = {}
  for i in pairs(entries) do indexes[#indexes + 1] = i end
  table.sort(indexes)
  for _, i in ipairs(indexes) do
    for _, key in ipairs(entries[i].keys) do
      versions[key] = versions[key] or {}
      table.insert(versions[key], i)
    end
  end
  local ops = {}
  for _, p in ipairs(proposals) do
    local ack = acks[p.node .. "/" .. p.index .. "/" .. p.term]
    local e = entries[p.index]
    local typ, done = "info", nil
    if ack then
      typ, done = "ok", ack
    elseif e and e.term ~= p.term then
      typ, done = "fail", math.max(e.t, p.t)
    end
    for _, key in ipairs(write_keys(p.op, p.vol, p.nd)) do
      ops[#ops + 1] = { f = "write", key = key, value = p.index, invoke = p.t, complete = done, type = typ,
                        id = p.id, sub = p.try }
    end
  end
  for _, r in ipairs(reads) do
    local key = read_key(r.op, r.a)
    local o, typ, value = r.outcome, "ok", nil
    if o == "fresh" or o == "stale" then
      value = floor_in(versions[key] or {}, r.index)
    elseif o == "torn" then
      value = -1
    elseif o == "failed" then
      typ = "fail"
    else
      typ = "info"
    end
    ops[#ops + 1] = { f = "read", key = key, value = value, invoke = r.t0, complete = r.t1, type = typ,
                      client = r.client, id = r.id, sub = 0 }
  end
  table.sort(ops, function(a, b)
    if a.invoke ~= b.invoke then return a.invoke < b.invoke end
    if a.f ~= b.f then return a.f < b.f end
    if a.id ~= b.id then return a.id < b.id end
    if a.sub ~= b.sub then return a.sub < b.sub end
    return a.key < b.key
  end)
  return ops
end

--- Give each operation a process: the smallest one free at its invocation
-- (a process has one operation at a time; one whose operation never
-- completes, :info, is never reused, as in Jepsen).
function M.assign_processes(ops)
  local busy, free, next_p = heap(), heap(), 0
  for _, op in ipairs(ops) do
    while busy.size() > 0 and busy.peek()[1] <= op.invoke do free.push(busy.pop()[2], true) end
    local p
    if free.size() > 0 then p = free.pop()[1] else p, next_p = next_p, next_p + 1 end
    op.process = p
    if op.type ~= "info" then busy.push(op.complete, p) end
  end
  return next_p
end

-- Read the op records file: a list of decoded lines.
local function read_records(path)
  local decode = require("mastersim.experiment").decode -- integral numbers as integers
  local out = {}
  local f = assert(io.open(path, "rb"))
  for line in f:lines() do out[#out + 1] = decode(line) end
  f:close()
  return out
end

-- EDN -------------------------------------------------------------------

local function edn_value(op, v)
  return ('["%s" %s]'):format(op.key, v == nil and "nil" or tostring(math.tointeger(v) or v))
end

--- The EDN history (Jepsen/Knossos): one op map per line, in time order,
-- completions before invocations at one instant.
function M.edn(ops, faults)
  local events = {}
  for _, op in ipairs(ops) do
    events[#events + 1] = { t = op.invoke, order = 1, op = op, kind = "invoke" }
    if op.type ~= "info" or op.f == "read" then
      events[#events + 1] = { t = op.complete or op.invoke, order = 0, op = op, kind = op.type }
    end
  end
  for i, f in ipairs(faults) do
    local t = math.floor(f.t * 1e9 + 0.5)
    events[#events + 1] = { t = t, order = 2, fault = f, seq = i, kind = "start" }
    events[#events + 1] = { t = t, order = 3, fault = f, seq = i, kind = "stop" }
  end
  for i, e in ipairs(events) do e.n = i end
  table.sort(events, function(a, b)
    if a.t ~= b.t then return a.t < b.t end
    if a.order ~= b.order then return a.order < b.order end
    return a.n < b.n
  end)
  local out = { ";; mastersim history (Jepsen/Knossos EDN): one register per metadata key, values are\n"
    .. ";; versions (the raft index that last wrote the key); :value is [key value].\n" }
  for i, e in ipairs(events) do
    if e.fault then
      local f = e.fault
      out[#out + 1] = ('{:index %d, :type :info, :f :%s, :value %s, :process :nemesis, :time %d}\n'):format(i - 1,
        f.action, f.node and ('"' .. f.node .. '"') or "nil", e.t)
    else
      local op = e.op
      local v = op.f == "write" and op.value or (e.kind == "ok" and op.value or nil)
      out[#out + 1] = ("{:index %d, :type :%s, :f :%s, :value %s, :process %d, :time %d}\n"):format(i - 1,
        e.kind, op.f, edn_value(op, v), op.process, e.t)
    end
  end
  return table.concat(out)
end

-- Porcupine -------------------------------------------------------------

--- The Porcupine history: { model, operations = [porcupine.Operation],
-- annotations }. Operations unmarshal into Go's []porcupine.Operation
-- (ClientId, Input, Call, Output, Return; times in ns). Failed operations
-- are left out; an unknown write returns at `horizon` (after every other
-- event: it may take effect any time after its call); an unknown read,
-- which changes nothing, is left out.
function M.porcupine(ops, faults, horizon)
  local list = {}
  for _, op in ipairs(ops) do
    if op.type == "ok" or (op.type == "info" and op.f == "write") then
      local input = { op = op.f, key = op.key }
      local output = {}
      if op.f == "write" then input.value = op.value else output = { value = op.value } end
      list[#list + 1] = { ClientId = op.process, Input = input, Call = op.invoke,
                          Output = op.type == "info" and { unknown = true } or output,
                          Return = op.type == "info" and horizon or op.complete }
    end
  end
  local notes = {}
  for _, f in ipairs(faults) do
    local t = math.floor(f.t * 1e9 + 0.5)
    notes[#notes + 1] = { Tag = "nemesis", Start = t, End = t,
                          Description = f.action .. (f.node and (" " .. f.node) or "") }
  end
  return json.encode({
    model = "mastersim register per key: Input {op = read|write, key, value}, Output {value}; "
      .. "versions are raft indexes, 0 the initial image, -1 a torn answer",
    operations = #list > 0 and list or json.empty_array, annotations = #notes > 0 and notes or json.empty_array,
  }) .. "\n"
end

--- Turn the op records at `raw` into `format` at `path` (atomically);
-- `result` is the run's result (faults, virtual time).
function M.export(raw, path, format, result)
  local ops = M.operations(read_records(raw))
  M.assign_processes(ops)
  local faults = {}
  for _, f in ipairs(result.faults or {}) do faults[#faults + 1] = f end
  local text
  if format == "edn" then
    text = M.edn(ops, faults)
  else
    local horizon = math.floor((result.virtual_s or 0) * 1e9) + 1
    for _, op in ipairs(ops) do horizon = math.max(horizon, (op.complete or op.invoke) + 1) end
    text = M.porcupine(ops, faults, horizon)
  end
  return require("mastersim.report.fileio").write(path, text)
end

return M
