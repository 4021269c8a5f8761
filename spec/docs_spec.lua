-- Every ```lua block in README.md and docs/*.md runs: a block that returns
-- a scenario is loaded and run under `block`; a block that returns a policy
-- is loaded and consulted on an applying node.
local ms = require "mastersim"
local policy = require "mastersim.policy"
local support = require "support"

local ROOT = support.root

local function blocks(path)
  local text = support.read(path)
  local out, n = {}, 0
  for code in text:gmatch("```lua\n(.-)```") do
    n = n + 1
    out[#out + 1] = { code = code, n = n }
  end
  return out
end

local function docs()
  local files = { ROOT .. "/README.md" }
  local p = io.popen("ls " .. ROOT .. "/docs/*.md")
  for f in p:lines() do files[#files + 1] = f end
  p:close()
  return files
end

local node = { name = "m3", role = "follower", phase = "applying", applied = 10, commit = 20, lag = 10,
               apply_progress = 0.5, stale_index = 10, waiters = 0, last_contact = 0 }
local read = { op = "get_vol", client = 1, attempt = 1, arrived = 1, waited = 0, wakeups = 0,
               timed_out = false, last_seen_index = 0 }

describe("documentation samples", function()
  for _, file in ipairs(docs()) do
    for _, b in ipairs(blocks(file)) do
      local name = file:match("[^/]+$") .. " block " .. b.n
      it(name .. " runs", function()
        local path = support.write("doc_sample.lua", b.code)
        if b.code:find("ms.scenario", 1, true) then
          local r = ms.run(ms.load_sim(path), { policy = "block", sigint = false })
          assert.are.equal("done", r.status)
          if r.checker then assert.are.equal(0, r.checker.safety_violations) end
        else
          local p = policy.load(path)
          local kind = p:decide(read, node)
          assert.is_string(kind)
        end
      end)
    end
  end
end)

describe("the generated tables of the docs", function()
  local doc = require "mastersim.settings_doc"
  for _, b in ipairs(doc.blocks()) do
    it(b.file .. " holds what its declaring Lua table renders (scripts/gen-docs)", function()
      local text = support.read(ROOT .. "/" .. b.file)
      assert.are.equal(doc.splice(text, b.text), text)
    end)
  end
end)

describe("docs/cubefs.md", function()
  it("has a spec in spec/cubefs_spec.lua for every row of its table", function()
    local doc = support.read(ROOT .. "/docs/cubefs.md")
    local specs = support.read(ROOT .. "/spec/cubefs_spec.lua")
    local rows = 0
    for id in doc:gmatch("\n| (C%d+) |") do
      rows = rows + 1
      assert.is_truthy(specs:find('it("' .. id .. ": ", 1, true), "no spec for row " .. id)
    end
    assert.is_true(rows >= 15, tostring(rows))
  end)
end)
