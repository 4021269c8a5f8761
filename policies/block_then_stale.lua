-- block_then_stale: a hybrid. Wait briefly for the apply to end (fresh data
-- if it is nearly done), then fall back to the previous version.
return {
  name = "block_then_stale",
  summary = "Wait a little for the apply to finish, then serve the previous version.",
  snapshot_mode = "aside",
  params = { wait = "50ms" },
  on_read = function(read, node, p)
    if node.phase ~= "applying" then return "serve" end
    if read.waited >= p.wait then return "stale" end
    return "wait", p.wait - read.waited
  end,
}
