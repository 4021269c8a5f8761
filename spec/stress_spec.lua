--- core.stress and `mastersim stress`: short runs on a small store (the
-- long runs, under ThreadSanitizer, are tests/test_stress.c).
local support = require "support"
local core = require "mastersim.core"

local with = support.stress_options

describe("core.stress", function()
  it("returns every figure, and no torn read behind the gate", function()
    local r = assert(core.stress(with { policy = "block", mode = "aside" }))
    assert.are.equal("block", r.policy)
    assert.are.equal("aside", r.mode)
    local o = r.outcomes
    assert.are.equal(r.reads, o.fresh + o.stale + o.torn + o.failed + o.timed_out)
    assert.are.equal(0, o.torn)
    assert.are.equal(0, o.timed_out)
    assert.is_true(r.reads > 0 and r.applies > 0)
    assert.are.equal(0, r.leaked_bytes)
    assert.are.equal(r.gate.waits, r.gate.wakeups + r.gate.timeouts)
    for _, k in ipairs({ "fast", "blocked", "apply", "wake", "first_read", "release", "first_release" }) do
      assert.is_number(r.latency[k].p99)
    end
  end)

  it("shows torn reads only for unguarded with an inplace apply", function()
    -- 20 frames per apply: a reader pins the live store half-loaded often,
    -- but real threads on a busy machine may miss it in one short run; up to
    -- five runs, stopping at the first torn read
    local torn = 0
    for _ = 1, 5 do
      local r = assert(core.stress(with { policy = "unguarded", mode = "inplace", keys = 20000, duration = "500ms" }))
      torn = torn + r.outcomes.torn
      if torn > 0 then break end
    end
    assert.is_true(torn > 0)
    local r = assert(core.stress(with { policy = "unguarded", mode = "aside" }))
    assert.are.equal(0, r.outcomes.torn)
  end)

  it("rejects bad options with a precise message", function()
    assert.has_error(function() core.stress(with { policy = "blocking" }) end,
      "core.stress: field 'policy' must be one of block, fail_fast, stale_read, unguarded, none (got blocking)")
    assert.has_error(function() core.stress(with { mode = "reopen" }) end,
      "core.stress: field 'mode' must be one of inplace, aside (got reopen)")
    assert.has_error(function() core.stress(with { readers = 0 }) end,
      "core.stress: field 'readers' is out of range (got 0)")
    assert.has_error(function() core.stress(with { thread = 2 }) end, "core.stress: unknown field 'thread'")
    assert.has_error(function() core.stress(with { pin = "yes" }) end, "core.stress: field 'pin' must be a boolean")
    assert.has_error(function() core.stress(with { sigint = 1 }) end, "core.stress: field 'sigint' must be a boolean")
    assert.has_error(function() core.stress(with { policy = 3 }) end,
      "core.stress: field 'policy' must be one of block, fail_fast, stale_read, unguarded, none (got number)")
    for _, bad in ipairs { 2.5, 1e300, 0 / 0, "x" } do
      assert.has_error(function() core.stress(with { readers = bad }) end,
        ("core.stress: field 'readers' must be an integer (got %s)"):format(type(bad)))
    end
    assert.has_error(function() core.stress(with { keys = -1 }) end,
      "core.stress: field 'keys' is out of range (got -1)")
    for _, bad in ipairs { -1, math.huge, 0 / 0 } do
      assert.has_error(function() core.stress(with { duration = bad }) end,
        "core.stress: field 'duration' is out of range")
    end
    assert.are.same({ nil, "ms_stress: duration must be positive" }, { core.stress(with { duration = 0 }) })
    local r, err = core.stress(with { policy = "stale_read", mode = "inplace" })
    assert.is_nil(r)
    assert.are.equal("ms_stress: policy stale_read needs mode aside (an inplace apply keeps no previous version)",
      err)
  end)
end)

describe("mastersim stress", function()
  it("prints the figures", function()
    local code, out = support.cli({ "stress", "--policy", "fail_fast", "--mode", "aside", "--keys", "2000",
      "--duration", "300ms", "--apply-every", "30ms" })
    assert.are.equal(0, code)
    assert.matches("policy    fail_fast, mode aside, 2 readers", out)
    assert.matches("outcomes  fresh %d+  stale 0  torn 0  failed %d+", out)
    assert.matches("wake%-up", out)
  end)

  it("pre-wakes the waiters and pins the readers when asked", function()
    local code, out = support.cli({ "stress", "--prewake", "--pin", "--keys", "2000",
      "--duration", "300ms", "--apply-every", "30ms" })
    assert.are.equal(0, code)
    assert.matches("policy    block, mode inplace, 2 readers %(pinned%)", out)
    assert.matches("waiters pre%-woken near the end", out)
    assert.matches("timeouts 0", out)
  end)

  it("rejects unknown flags and values with one line and exit 2", function()
    local cases = {
      { { "stress", "--threads", "2" }, "mastersim stress: unknown option '--threads'\n" },
      { { "stress", "--policy", "x" },
        "mastersim stress: bad --policy 'x': expected one of block, fail_fast, stale_read, unguarded, none\n" },
      { { "stress", "--mode", "reopen" }, "mastersim stress: bad --mode 'reopen': expected one of inplace, aside\n" },
      { { "stress", "--readers", "0" }, "mastersim stress: bad --readers '0': expected an integer in 1..64\n" },
      { { "stress", "--duration", "2" },
        "mastersim stress: bad --duration '2': expected a duration of at least 1ns, such as 2s or 250ms\n" },
      { { "stress", "--policy", "stale_read" },
        "mastersim stress: --policy stale_read needs --mode aside (an inplace apply keeps no previous version)\n" },
      { { "stress", "--policy", "fail_fast", "--prewake" },
        "mastersim stress: --prewake needs --policy block (or a Lua policy)\n" },
      { { "stress", "--every-read" },
        "mastersim stress: --every-read and --param need a Lua policy (--lua, or a policy file)\n" },
      { { "stress", "--policy", "block", "--lua", "--param", "tiemout=1s" },
        "mastersim: unknown param 'tiemout' for policy block (did you mean 'timeout'?) (its params: timeout)\n" },
    }
    for _, c in ipairs(cases) do
      local code, out, err = support.cli(c[1])
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.are.equal(c[2], err)
    end
  end)

  it("rejects negative, zero, huge and non-numeric values with one line and exit 2", function()
    local function bad(flag, value, expected)
      local code, out, err = support.cli({ "stress", flag, value })
      assert.are.same({ 2, "", ("mastersim stress: bad %s '%s': %s\n"):format(flag, value, expected) },
        { code, out, err })
    end
    for _, v in ipairs { "-1", "0", "65", "1e3", "2.5", "x", "", "99999999999999999999999" } do
      bad("--readers", v, "expected an integer in 1..64")
    end
    for _, v in ipairs { "-5", "0", "99", "100000001", "1e9", "ten" } do
      bad("--keys", v, "expected an integer in 100..100000000")
    end
    for _, v in ipairs { "-1", "1.5", "x" } do
      bad("--seed", v, "expected an integer in 0..4611686018427387903")
    end
    local dur = "expected a duration of at least 1ns, such as 2s or 250ms"
    for _, v in ipairs { "-1s", "0", "0s", "0.1ns", "1e300s", "9999999999s", "inf", "nan", "x", "2" } do
      bad("--duration", v, dur)
    end
    for _, v in ipairs { "-1s", "x", "1e300s" } do bad("--apply-every", v, dur) end
    local code, _, err = support.cli({ "stress", "--readers" })
    assert.are.same({ 2, "mastersim stress: option '--readers' needs a value\n" }, { code, err })
    code, _, err = support.cli({ "stress", "extra" })
    assert.are.same({ 2, "mastersim stress: unexpected argument 'extra'\n" }, { code, err })
  end)

  it("runs and reports with very short durations", function()
    for _, d in ipairs { "1ms", "1ns" } do
      local code, out, err = support.cli({ "stress", "--keys", "1000", "--duration", d, "--apply-every", "1ns" })
      assert.are.equal(0, code, err)
      assert.matches("policy    block, mode inplace, 2 readers, 1000 keys, %d+%.%d+ s\n", out)
      assert.matches("outcomes  fresh %d+  stale 0  torn 0  failed 0  timed_out 0", out)
      assert.not_matches("interrupted", out)
    end
  end)

  -- Start `stress` on a run far longer than the test, wait (bounded) until
  -- it catches SIGINT (the process is mastersim, no longer the shell's child
  -- before its exec, which may catch SIGINT itself, and then bit 1 of SigCgt
  -- in /proc/PID/status is set: no signal is sent before mastersim can
  -- catch it), then interrupt it.
  local function interrupt(args)
    local out, err = support.tmpdir() .. "/stress-int.out", support.tmpdir() .. "/stress-int.err"
    local q = support.quote
    local script = ([[
%s stress %s >%s 2>%s </dev/null &
pid=$!
i=0
while [ $i -lt 1000 ]; do
  # comm first: SigCgt read before the exec is the shell's
  if [ "$(cat /proc/$pid/comm 2>/dev/null)" = mastersim ]; then
    m=$(awk '/^SigCgt/ {print $2}' /proc/$pid/status 2>/dev/null)
    [ -n "$m" ] && [ $((0x$m & 2)) -ne 0 ] && break
  fi
  i=$((i + 1))
  sleep 0.01
done
kill -INT $pid
wait $pid
echo $?]]):format(q(support.bin), table.concat(args, " "), q(out), q(err))
    local _, rc = support.sh(script)
    return tonumber(rc:match("%d+")), support.read(out), support.read(err)
  end

  it("stops a long run on SIGINT and reports what it measured, marked partial", function()
    local json = support.tmpdir() .. "/int.json"
    local rc, out, err = interrupt({ "--keys", "2000", "--duration", "100000s", "--apply-every", "20ms",
      "--json", json })
    assert.are.equal(130, rc, err)
    assert.are.equal("", err)
    assert.matches("status    interrupted %(partial results%)", out)
    assert.matches("outcomes  fresh %d+  stale 0  torn 0  failed 0  timed_out 0", out)
    local r = require("mastersim.report.json").decode(support.read(json))
    assert.is_true(r.interrupted)
    assert.is_true(r.partial)
    assert.is_true(r.seconds < 100000)
    -- during the setup (a larger store): nothing measured, still a report
    rc, out = interrupt({ "--keys", "300000", "--duration", "100000s" })
    assert.are.equal(130, rc)
    assert.matches("status    interrupted %(partial results%)", out)
  end)
end)
