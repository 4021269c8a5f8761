-- A spec of your own: run `busted docs/example_spec.lua` in the repository root.
local ms = require "mastersim"
describe("wait_then_redirect on follower_catchup", function()
  it("serves no torn or crashed read and keeps raft safe", function()
    local r = ms.run("follower_catchup", { policy = "examples/wait_then_redirect.lua", seed = 1 })
    assert.are.equal(0, r.reads.outcomes.torn + r.reads.outcomes.crash)
    assert.are.equal(0, r.checker.safety_violations)
  end)
end)
