-- redirect_leader: CockroachDB's choice. A node that cannot serve a
-- consistent read sends the client to the leader.
return {
  name = "redirect_leader",
  summary = "Send reads that arrive during an apply to the leader.",
  snapshot_mode = "inplace",
  params = {},
  on_read = function(_, node)
    if node.phase ~= "applying" then return "serve" end
    return "redirect", "leader"
  end,
}
