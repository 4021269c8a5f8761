-- bounded_lag: TiKV's follower read. Block only while the remaining work is
-- small (the apply is nearly done), otherwise fail fast so the client goes
-- elsewhere.
return {
  name = "bounded_lag",
  summary = "Wait if the apply is nearly done, otherwise fail fast with a retryable error.",
  snapshot_mode = "inplace",
  params = { min_progress = 0.8, timeout = "1s", retry_after = "10ms" },
  on_read = function(read, node, p)
    if node.phase ~= "applying" then return "serve" end
    if node.apply_progress >= p.min_progress and read.waited < p.timeout then
      return "wait", p.timeout - read.waited
    end
    return "fail", "ENOTREADY", p.retry_after
  end,
}
