-- fail_fast: TiKV's DataIsNotReady. A node that is applying a snapshot
-- refuses the read at once with a retryable error; the client retries,
-- preferably on another master.
return {
  name = "fail_fast",
  summary = "Refuse reads during an apply with a retryable error; clients retry elsewhere.",
  snapshot_mode = "inplace",
  params = { retry_after = "10ms" },
  on_read = function(_, node, p)
    if node.phase ~= "applying" then return "serve" end
    return "fail", "ENOTREADY", p.retry_after
  end,
}
