-- Distributed sweeps on real engines (scripts/sharded-sweep): the shards of
-- a compare run by GNU parallel, and as a Slurm array job on a one-node
-- Slurm brought up for the test, merge into the same bytes as the unsharded
-- run. GNU parallel always runs (scripts/bootstrap --test installs it);
-- Slurm is pending, with the reason, where it cannot start.
local support = require "support"

local script = support.root .. "/scripts/sharded-sweep"

-- The script runs the mastersim binary whatever interpreter runs the specs:
-- once is enough (under the mastersim interpreter, or busted by hand).
local once = (os.getenv("MS_TEST_INTERP") or "mastersim") == "mastersim"
local function slow_it(name, fn)
  if once then
    it(name, fn)
  else
    pending(name .. " (runs once: under the mastersim interpreter, MS_TEST_INTERP=mastersim)")
  end
end

-- Run the script with `args` and TMPDIR a directory of its own; returns the
-- exit code, the output, and that directory.
local function sweep(args, name)
  local tmp = support.tmpdir() .. "/" .. name
  local out = tmp .. ".out"
  local code = support.sh(("mkdir -p %s && TMPDIR=%s MASTERSIM_BIN=%s %s %s >%s 2>&1"):format(support.quote(tmp),
    support.quote(tmp), support.quote(support.bin), support.quote(script), args, support.quote(out)))
  return code, support.read(out), tmp
end

describe("a sharded sweep on a real engine", function()
  slow_it("runs under GNU parallel and merges into the unsharded run's bytes", function()
    assert.are.equal(0, (support.sh("command -v parallel >/dev/null")),
      "GNU parallel is not installed (scripts/bootstrap --test installs it)")
    local keep = support.tmpdir() .. "/parallel-out"
    local code, out, tmp = sweep("parallel --shards 3 --keep " .. support.quote(keep), "parallel")
    assert.are.equal(0, code, out)
    assert.matches("parallel: 3 shards, 12 runs: merged JSON and CSV identical to the unsharded run", out)
    assert.are.equal(support.read(keep .. "/unsharded.json"), support.read(keep .. "/merged.json"))
    for i = 0, 2 do assert.truthy(#support.read(("%s/shard-%d.jsonl"):format(keep, i)) > 0) end
    assert.are.equal("", select(2, support.sh("ls -A " .. support.quote(tmp))))
  end)

  slow_it("says so when the merge is not the unsharded run (a shard left out)", function()
    local code, out = sweep("parallel --shards 3 --omit 1", "omit")
    assert.are.equal(1, code, out)
    assert.matches("the merged output differs from the unsharded run", out)
  end)

  slow_it("runs as a Slurm array job on a one-node Slurm, and cleans up", function()
    local code, out, tmp = sweep("slurm --shards 4", "slurm")
    if code == 77 then
      pending(out:match("skip: ([^\n]+)") or out)
      return
    end
    assert.are.equal(0, code, out)
    assert.matches("slurm: array job %d+, 4 tasks on [^:]+: 4 COMPLETED", out)
    assert.matches("slurm: 4 shards, 12 runs: merged JSON and CSV identical to the unsharded run", out)
    -- no daemon of its own left running, no file left behind
    -- ([/]: a pattern that does not match the shell running pgrep)
    local pattern = "[" .. tmp:sub(1, 1) .. "]" .. tmp:sub(2)
    assert.are_not.equal(0, (support.sh("pgrep -f " .. support.quote(pattern) .. " >/dev/null")))
    assert.are.equal("", select(2, support.sh("ls -A " .. support.quote(tmp))))
  end)
end)
