--- Where sims and policies are found: a path as given, else a name looked
-- up in $MASTERSIM_PATH (colon-separated directories, each with sims/ and
-- policies/ or holding the files directly), then in the built-in
-- directories next to the library.
local M = {}

--- Whether p can be opened for reading (on Linux, directories too).
local function exists(p)
  local f = io.open(p, "r")
  if f then f:close() end
  return f ~= nil
end

--- The root of the built-in sims/ and policies/: $MASTERSIM_ROOT, else
-- found from where this file is: the source tree (<root>/lua/mastersim/),
-- an installed prefix (<p>/share/lua/5.4/mastersim/ beside <p>/share/mastersim/),
-- or a luarocks tree (sims/ and policies/ beside these modules).
function M.root()
  local dir = os.getenv("MASTERSIM_ROOT")
  if dir and dir ~= "" then return dir end
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
  if not here:match("^[/.]") then here = "./" .. here end
  local src = here:match("^(.*)/lua/mastersim$")
  if src then return src end
  local share = here:match("^(.*)/lua/5%.4/mastersim$")
  if share and exists(share .. "/mastersim/sims") then return share .. "/mastersim" end
  if exists(here .. "/sims") then return here end
  return "."
end

--- Directories searched for `kind` ("sims" or "policies"), in order.
function M.dirs(kind)
  local out = {}
  for d in (os.getenv("MASTERSIM_PATH") or ""):gmatch("[^:]+") do
    out[#out + 1] = d .. "/" .. kind
    out[#out + 1] = d
  end
  out[#out + 1] = M.root() .. "/" .. kind
  return out
end

local function find(kind, arg)
  if exists(arg) then return arg end
  if not arg:find("/", 1, true) then
    local name = arg:gsub("%.lua$", "")
    for _, d in ipairs(M.dirs(kind)) do
      local p = d .. "/" .. name .. ".lua"
      if exists(p) then return p end
    end
  end
  return arg -- the loader reports that it cannot be opened
end

function M.sim(arg) return find("sims", arg) end
function M.policy(arg) return find("policies", arg) end

--- Names of the .lua files in a directory, sorted (empty when unreadable).
function M.list(dir)
  local names = {}
  local p = io.popen("ls -1 '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
  if p then
    for line in p:lines() do
      local n = line:match("^(.+)%.lua$")
      if n then names[#names + 1] = n end
    end
    p:close()
  end
  table.sort(names)
  return names
end

return M
