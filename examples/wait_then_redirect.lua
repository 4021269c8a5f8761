-- wait_then_redirect: wait a little for the apply to end; if it does not,
-- send the client to the leader instead of failing it.
return {
  name = "wait_then_redirect",
  summary = "Wait up to a short deadline on the gate, then redirect the read to the leader.",
  snapshot_mode = "inplace",
  params = { wait = "20ms" },
  on_read = function(read, node, p)
    if node.phase ~= "applying" then return "serve" end
    if read.waited < p.wait then return "wait", p.wait - read.waited end
    return "redirect", "leader"
  end,
}
