-- mastersim.core store family: Store, Version, scans, generator, read ops,
-- snapshot export and import (each mode), memory accounting.
local core = require "mastersim.core"

local IMAGE = { volumes = 4, data_partitions = 12, meta_partitions = 8, nodes = 6, users = 2, seed = 7 }

-- A store holding the generated image IMAGE, with the fields of `changes` replaced.
local function image(changes)
  local d = {}
  for k, v in pairs(IMAGE) do d[k] = v end
  for k, v in pairs(changes or {}) do d[k] = v end
  local s = core.store()
  s:generate(d)
  return s
end

-- The verdict of obj:read(op, ...).
local function verdict(obj, op, ...)
  return obj:read(op, ...).verdict
end

-- Every frame of an export of `version` with options `opts`.
local function frames_of(version, opts)
  local e <close> = core.snapshot_export(version, opts)
  local out = {}
  for f in e.next, e do out[#out + 1] = f end
  return out
end

local function keys_of(obj, prefix)
  local out = {}
  for k in obj:scan(prefix) do out[#out + 1] = k end
  return out
end

local function full_gc()
  collectgarbage()
  collectgarbage()
end

describe("core.store", function()
  it("keeps a version unchanged under later writes to the store", function()
    local s = core.store()
    s:put("a", "1")
    s:put("b", "2")
    s:applied(3)
    local v = s:snapshot()
    local before = v:digest()
    s:put("a", "changed")
    s:put("c", "3")
    assert.is_true(s:del("b"))
    s:applied(4)
    assert.are.equal("1", v:get("a"))
    assert.are.equal("2", v:get("b"))
    assert.is_nil(v:get("c"))
    assert.are.equal(2, v:count())
    assert.are.equal(3, v:applied())
    assert.are.equal(before, v:digest())
    assert.are.equal("changed", s:get("a"))
    assert.is_nil(s:get("b"))
    assert.are.equal(2, s:count())
    assert.are.equal(4, s:applied())
    assert.are_not.equal(before, s:digest())
    assert.is_false(s:del("b"))
  end)

  it("digests contents, not history: equal contents give equal digests", function()
    local a, b = core.store(), core.store()
    for i = 1, 200 do a:put(("k%03d"):format(i), tostring(i)) end
    for i = 200, 1, -1 do b:put(("k%03d"):format(i), tostring(i)) end
    assert.matches("^%x+$", a:digest())
    assert.are.equal(16, #a:digest())
    assert.are.equal(a:digest(), b:digest())
    b:put("k001", "x")
    assert.are_not.equal(a:digest(), b:digest())
  end)

  it("scans in key order, bounded by the prefix", function()
    local s = core.store()
    for _, k in ipairs({ "b2", "a", "b10", "b1", "c", "ba", "b" }) do s:put(k, k:upper()) end
    assert.are.same({ "a", "b", "b1", "b10", "b2", "ba", "c" }, keys_of(s))
    assert.are.same({ "b1", "b10" }, keys_of(s, "b1"))
    assert.are.same({}, keys_of(s, "d"))
    local v = s:snapshot()
    s:put("b11", "x")
    assert.are.same({ "b1", "b10" }, keys_of(v, "b1"))
    local seen = {}
    for k, val in s:scan("b") do seen[#seen + 1] = k .. "=" .. val end
    assert.are.same({ "b=B", "b1=B1", "b10=B10", "b11=x", "b2=B2", "ba=BA" }, seen)
  end)

  it("raises when the store is written during a scan, and not for a version", function()
    local s = core.store()
    for i = 1, 10 do s:put("k" .. i, "v") end
    assert.has_error(function()
      for k in s:scan("k") do s:put(k .. "x", "w") end
    end, "store modified during scan")
    assert.has_error(function()
      for _ in s:scan() do s:clear() end
    end, "store modified during scan")
    for i = 1, 10 do s:put("k" .. i, "v") end
    local v = s:snapshot()
    local n = 0
    for k in v:scan() do
      s:put(k .. "y", "w")
      n = n + 1
    end
    assert.are.equal(10, n)
    for _ in s:scan() do assert.is_nil(s:get("missing")) end -- reads are not writes
  end)

  it("keeps a scanned store alive through its iterator", function()
    local s = core.store()
    s:put("x", "1")
    local it = s:scan()
    s = nil -- luacheck: ignore 311
    full_gc()
    assert.are.same({ "x", "1" }, { it() })
    assert.is_nil(it())
  end)

  it("generates an image and reads it with verdicts", function()
    local s = core.store()
    local st = s:generate(IMAGE)
    assert.are.equal(s:count(), st.keys)
    assert.is_true(st.key_bytes > 0 and st.value_bytes > 0)
    assert.are.equal(1, s:applied())
    local r = s:read("get_vol", 1)
    assert.are.equal("complete", r.verdict)
    assert.is_nil(r.why)
    assert.are.equal(1, r.applied)
    assert.is_true(r.entries >= 1 and r.bytes > 0)
    assert.are.equal("not_found", verdict(s, "get_vol", 99))
    assert.are.equal("complete", verdict(s, "list_vols"))
    assert.are.equal(4, #keys_of(s, "#vol#"))
    assert.are.equal("complete", verdict(s, "get_partitions", 2))
    assert.are.equal("complete", verdict(s, "get_cluster"))
    -- same description and seed, same image; another seed, another image
    assert.are.equal(s:digest(), image():digest())
    assert.are_not.equal(s:digest(), image({ seed = 8 }):digest())
    -- a missing `applied` key makes every read torn
    s:del("applied")
    assert.are.equal("torn", verdict(s, "get_vol", 1))
    assert.are.equal("torn", verdict(s, "get_vol", 99))
  end)

  it("reads a version as it was", function()
    local s = image()
    local v = s:snapshot()
    s:clear()
    assert.are.equal("torn", verdict(s, "get_vol", 1))
    assert.are.equal("complete", verdict(v, "get_vol", 1))
    local back = v:to_store()
    assert.are.equal(v:digest(), back:digest())
    assert.are.equal(v:applied(), back:applied())
    back:put("#vol#1", "garbage")
    assert.are.equal("complete", verdict(v, "get_vol", 1))
    assert.are.equal("torn", verdict(back, "get_vol", 1))
  end)

  it("returns memory to the baseline once versions and scans are gone", function()
    local s = image()
    local base = s:memory()
    assert.is_true(base.bytes > 0 and base.blocks > 0)
    local kept, dropped = s:snapshot(), s:snapshot()
    assert.are.equal(base.blocks + 2, s:memory().blocks)
    -- rewrite every value (same sizes) while the versions share the tree:
    -- the store copies what it writes, so the family grows
    for k, v in dropped:scan() do s:put(k, v) end
    local grown = s:memory()
    assert.is_true(grown.bytes > base.bytes)
    assert.is_true(grown.peak >= grown.bytes)
    -- a copy of a version grows the family, and gives it all back when closed
    local copy = kept:to_store()
    for i = 1, 500 do copy:put(("#x#%04d"):format(i), ("v"):rep(100)) end
    for k in copy:scan("#x#") do -- luacheck: ignore 512
      assert.is_string(k)
      break -- the generic for's closing value ends the scan and drops its pin
    end
    copy:close()
    kept:release()
    dropped = nil -- luacheck: ignore 311
    full_gc()
    local now = s:memory()
    assert.are.equal(base.bytes, now.bytes)
    assert.are.equal(base.blocks, now.blocks)
    assert.is_true(now.peak > grown.peak)
    s:close()
    assert.are.same({ bytes = 0, peak = now.peak, blocks = 0 }, s:memory())
  end)

  it("keeps the family accounting alive for every member", function()
    local v = image():snapshot()
    full_gc() -- the store is gone; the version still counts into the family
    local m = v:memory()
    assert.is_true(m.bytes > 0)
    local s2 = v:to_store()
    v:release()
    s2:close()
    assert.are.equal(0, v:memory().bytes)
    assert.are.equal(0, s2:memory().blocks)
  end)

  it("is safe to close twice, by close(), release(), <close> and __gc", function()
    local s = image()
    local v = s:snapshot()
    local e = core.snapshot_export(v)
    local t = core.store()
    local imp = core.snapshot_import(t, "aside")
    do
      local a <close> = core.store()
      local b <close> = a:snapshot()
      a:put("k", "v")
      assert.are.equal(0, b:count())
    end
    for _ = 1, 2 do
      e:close()
      imp:abort()
      imp:close()
      v:release()
      s:close()
      t:close()
    end
    assert.are.equal("mastersim.Store (closed)", tostring(s))
    assert.are.equal("mastersim.Version (released)", tostring(v))
    assert.are.equal("mastersim.SnapExport (closed)", tostring(e))
    assert.are.equal("mastersim.SnapImport (aborted, 0 frames)", tostring(imp))
    full_gc()
  end)
end)

describe("core.snapshot_export / snapshot_import", function()
  local function source()
    local s = image({ applied = 9 })
    return s, s:snapshot()
  end

  it("exports a version as framed chunks", function()
    local _, v = source()
    local e <close> = core.snapshot_export(v, { entries = 5, term = 3 })
    local frames, bytes = {}, 0
    for f in e.next, e do
      frames[#frames + 1] = f
      bytes = bytes + #f
    end
    assert.is_nil(e:next())
    assert.are.equal(#frames, e:frames())
    assert.are.equal(bytes, e:bytes())
    assert.are.equal(v:count(), e:entries())
    assert.are.equal(2 + math.ceil(v:count() / 5), #frames)
    assert.matches("^mastersim.SnapExport %(%d+ frames, %d+ bytes%)$", tostring(e))
  end)

  it("round-trips to the same digest in every mode", function()
    local _, v = source()
    local frames = frames_of(v, { entries = 7, term = 2 })
    for _, mode in ipairs({ "reopen", "inplace", "aside" }) do
      local t = image({ volumes = 1, data_partitions = 1, meta_partitions = 1, seed = 1, applied = 5 })
      local imp <close> = core.snapshot_import(t, mode)
      for _, f in ipairs(frames) do assert.is_true(imp:chunk(f)) end
      local p = imp:progress()
      assert.are.same({ entries = v:count(), total = v:count(), frames = #frames, bytes = p.bytes,
        index = 9, term = 2, done = true }, p)
      assert.is_true(imp:finish())
      assert.are.equal(v:digest(), t:digest(), mode)
      assert.are.equal(9, t:applied())
      assert.are.equal("open", t:state())
      assert.are.equal("complete", verdict(t, "get_vol", 3))
      assert.are.equal("mastersim.SnapImport (finished, " .. #frames .. " frames)", tostring(imp))
      assert.are.same(p, imp:progress())
    end
  end)

  it("shows each mode's behaviour to readers between chunks", function()
    local _, v = source()
    local frames = frames_of(v, { entries = 5 })
    local expect = {
      reopen = { verdict = "crash", state = "closed" },
      inplace = { verdict = "torn", state = "open" },
      aside = { verdict = "complete", state = "open", applied = 5 },
    }
    for mode, want in pairs(expect) do
      local t = image({ applied = 5 })
      local imp = core.snapshot_import(t, mode)
      assert.are.equal("complete", verdict(t, "get_vol", 1)) -- nothing changes before a chunk
      for i = 1, #frames - 1 do
        assert.is_true(imp:chunk(frames[i]))
        local r = t:read("get_vol", 1)
        if i > 1 then
          assert.are.equal(want.verdict, r.verdict, mode .. " after frame " .. i)
          assert.are.equal(want.state, t:state(), mode)
          if want.applied then assert.are.equal(want.applied, r.applied) end
        end
      end
      assert.is_true(imp:chunk(frames[#frames]))
      assert.is_true(imp:finish())
      assert.are.equal("complete", verdict(t, "get_vol", 1))
      assert.are.equal(v:digest(), t:digest())
    end
  end)

  it("rejects a corrupted frame with a message naming it", function()
    local _, v = source()
    local frames = frames_of(v, { entries = 5 })
    for _, mode in ipairs({ "reopen", "inplace", "aside" }) do
      local t = image({ applied = 5 })
      local before = t:digest()
      local imp = core.snapshot_import(t, mode)
      assert.is_true(imp:chunk(frames[1]))
      assert.is_true(imp:chunk(frames[2]))
      local f = frames[3]
      local pos = 25 -- a payload byte
      local bad = f:sub(1, pos - 1) .. string.char(f:byte(pos) ~ 0x10) .. f:sub(pos + 1)
      local ok, msg = imp:chunk(bad)
      assert.is_nil(ok)
      local at = #frames[1] + #frames[2]
      assert.matches("^snapshot frame 2 at byte " .. at .. ": checksum mismatch", msg)
      local again, msg2 = imp:chunk(frames[3])
      assert.is_nil(again)
      assert.matches("^snapshot frame 2 at byte %d+: the import already failed$", msg2)
      assert.are.same({ nil, "snapshot finish before the end frame (next frame 2)" }, { imp:finish() })
      imp:abort()
      if mode == "aside" then
        assert.are.equal("open", t:state())
        assert.are.equal(before, t:digest())
      else
        assert.are.equal("broken", t:state())
        assert.are.equal("unusable", verdict(t, "get_vol", 1))
      end
    end
  end)

  it("rejects a truncated stream at finish without raising", function()
    local _, v = source()
    local frames = frames_of(v)
    local t = core.store()
    local imp = core.snapshot_import(t, "aside")
    assert.are.same({ nil, "snapshot finish before the end frame (next frame 0)" }, { imp:finish() })
    for i = 1, #frames - 1 do assert.is_true(imp:chunk(frames[i])) end
    local ok, msg = imp:finish()
    assert.is_nil(ok)
    assert.are.equal("snapshot finish before the end frame (next frame " .. (#frames - 1) .. ")", msg)
    assert.is_false(imp:progress().done)
    assert.is_true(imp:chunk(frames[#frames]))
    assert.is_true(imp:finish())
    assert.are.equal(v:digest(), t:digest())
  end)

  it("keeps the target alive, takes one import per store, aborts on store close", function()
    local _, v = source()
    local frames = frames_of(v)
    local t = core.store()
    local imp = core.snapshot_import(t, "inplace")
    assert.has_error(function() core.snapshot_import(t, "aside") end,
      "the store already has an unfinished snapshot import")
    t = nil -- luacheck: ignore 311
    full_gc()
    assert.is_true(imp:chunk(frames[1]))
    assert.is_true(imp:chunk(frames[2]))
    imp:abort()
    local t2 = core.store()
    local imp2 = core.snapshot_import(t2, "reopen")
    assert.is_true(imp2:chunk(frames[1]))
    t2:close()
    assert.are.equal("mastersim.SnapImport (aborted, 1 frames)", tostring(imp2))
    assert.has_error(function() imp2:chunk(frames[2]) end, "attempt to use a finished or aborted SnapImport")
    local t3 = core.store()
    core.snapshot_import(t3, "aside"):abort()
    assert.is_true(core.snapshot_import(t3, "aside") ~= nil) -- the abort unlinked the first one
  end)

  it("keeps exporting after the version is released", function()
    local s, v = source()
    local want = v:digest()
    local e = core.snapshot_export(v, { entries = 3 })
    v:release()
    s:close()
    full_gc()
    local t = core.store()
    local imp = core.snapshot_import(t, "aside")
    for f in e.next, e do assert.is_true(imp:chunk(f)) end
    assert.is_true(imp:finish())
    assert.are.equal(want, t:digest())
    e:close()
    t:close()
    assert.are.equal(0, t:memory().bytes)
  end)
end)

describe("store binding errors", function()
  local s = core.store()
  local closed = core.store()
  closed:close()
  local released = s:snapshot()
  released:release()
  local filled = image()
  local imp = core.snapshot_import(core.store(), "aside")
  imp:abort()
  local cases = {
    { function() s:put({}, "x") end, "bad argument #1 to 'put' (string expected, got table)" },
    { function() s:put("k") end, "bad argument #2 to 'put' (string expected, got no value)" },
    { function() s:applied(-1) end, "bad argument #1 to 'applied' (index must be >= 0)" },
    { function() s:read("get_volume") end, "bad argument #1 to 'read' (unknown read op 'get_volume' (expected one of: "
      .. "get_vol get_partitions get_meta_partitions get_dp get_node get_cluster list_vols))" },
    { function() s:read("get_vol", -1) end, "bad argument #2 to 'read' (id must be >= 0)" },
    { function() s:read("get_dp", 1, 1.5) end, "bad argument #3 to 'read' (integer expected)" },
    { function() closed:get("k") end, "attempt to use a closed Store" },
    { function() closed:snapshot() end, "attempt to use a closed Store" },
    { function() released:get("k") end, "attempt to use a released Version" },
    { function() released:to_store() end, "attempt to use a released Version" },
    { function() s.get(released, "k") end,
      "bad argument #1 to 'get' (mastersim.Store expected, got mastersim.Version)" },
    { function() s:generate() end, "bad argument #1 to 'generate' (table expected, got no value)" },
    { function() s:generate({ volume = 1 }) end, "generate: unknown field 'volume'" },
    { function() s:generate({ volumes = "four" }) end, "generate: field 'volumes' must be an integer (got string)" },
    { function() s:generate({ users = 1.5 }) end, "generate: field 'users' must be an integer (got number)" },
    { function() s:generate({ volumes = -4 }) end, "generate: field 'volumes' is out of range (got -4)" },
    { function() s:generate({ volumes = 0 }) end, "generate: volumes must be >= 1" },
    { function() s:generate({ volumes = 2, data_partitions = 1, meta_partitions = 2, nodes = 6 }) end,
      "generate: data_partitions must be >= volumes" },
    { function() s:generate({ volumes = 1, data_partitions = 1, meta_partitions = 1, nodes = 6, replicas = 17 }) end,
      "generate: replicas must be <= 16" },
    { function() filled:generate(IMAGE) end, "generate: the store is not empty" },
    { function() core.snapshot_export(s) end,
      "bad argument #1 to 'snapshot_export' (mastersim.Version expected, got mastersim.Store)" },
    { function() core.snapshot_export(released) end, "attempt to use a released Version" },
    { function() core.snapshot_export(filled:snapshot(), { entry = 1 }) end, "snapshot_export: unknown field 'entry'" },
    { function() core.snapshot_import(s, "sideways") end,
      "bad argument #2 to 'snapshot_import' (mode must be reopen, inplace or aside (got 'sideways'))" },
    { function() core.snapshot_import(closed, "aside") end, "attempt to use a closed Store" },
    { function() imp:chunk("x") end, "attempt to use a finished or aborted SnapImport" },
    { function() imp:finish() end, "attempt to use a finished or aborted SnapImport" },
  }
  for i, case in ipairs(cases) do
    it("raises a precise message (" .. i .. ": " .. case[2]:sub(1, 40) .. ")", function()
      local ok, err = pcall(case[1])
      assert.is_false(ok)
      -- raised from C: prefixed with the calling line of this file
      assert.are.equal(case[2], (tostring(err):gsub("^[^:]*store_spec%.lua:%d+: ", "")))
    end)
  end
end)
