local core = require "mastersim.core"

local UNITS = "ns, us (µs), ms, s, m (min), h; also nsec, usec, msec, sec, second(s), minute(s), hour(s)"

describe("units", function()
  it("parses durations into seconds and nanoseconds", function()
    assert.are.equal(250e-6, core.duration("250us"))
    assert.are.equal(0.01, core.duration("10ms"))
    assert.are.equal(1.5, core.duration("1.5s"))
    assert.are.equal(120, core.duration("2m"))
    assert.are.equal(1500000000, core.duration_ns("1.5s"))
    assert.are.equal(7, core.duration_ns("7ns"))
  end)

  it("accepts a space before the unit and the common spellings of each unit", function()
    local cases = {
      ["40 sec"] = 40, ["40 secs"] = 40, ["1 second"] = 1, ["3 seconds"] = 3, ["10 ms"] = 0.01,
      ["10msec"] = 0.01, ["2 milliseconds"] = 0.002, ["250 us"] = 250e-6, ["250µs"] = 250e-6,
      ["250 μs"] = 250e-6, ["5 usec"] = 5e-6, ["1 microsecond"] = 1e-6, ["7 nsec"] = 7e-9,
      ["2 min"] = 120, ["2 mins"] = 120, ["1 minute"] = 60, ["1.5 minutes"] = 90, ["1 hr"] = 3600,
      ["2 hours"] = 7200,
    }
    for text, want in pairs(cases) do
      assert.is_true(math.abs(core.duration(text) - want) <= want * 1e-12, text)
    end
  end)

  it("parses sizes and rates", function()
    assert.are.equal(4096, core.size("4KiB"))
    assert.are.equal(200000000, core.rate("200MB/s"))
    assert.are.equal(1073741824, core.rate("1GiB/s"))
    assert.are.equal(512, core.size("512B"))
  end)

  it("rejects bad units with a message naming the text", function()
    local cases = {
      { core.duration, "10", "bad duration '10': missing unit (" .. UNITS .. ")" },
      { core.duration, "10 ", "bad duration '10 ': missing unit (" .. UNITS .. ")" },
      { core.duration, "10parsecs", "bad duration '10parsecs': unknown unit 'parsecs' (units: " .. UNITS .. ")" },
      { core.duration, "10 Secs", "bad duration '10 Secs': unknown unit 'Secs' (units: " .. UNITS .. ")" },
      { core.duration, "-1s", "bad duration '-1s': expected a number and a unit" },
      { core.duration, "0x10s", "bad duration '0x10s': expected a number and a unit" },
      { core.duration, "", "empty duration" },
      { core.size, "4KB/s", "bad size '4KB/s': unknown unit 'KB/s'" },
      { core.rate, "200MB", "bad rate '200MB': expected a size per second such as '200MB/s'" },
    }
    for _, c in ipairs(cases) do
      local v, err = c[1](c[2])
      assert.is_nil(v)
      assert.are.equal(c[3], err)
    end
  end)
end)
