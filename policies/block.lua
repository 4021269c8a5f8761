-- block: the fix described for ChubaoFS, and what etcd does. A read that
-- finds the applying flag set waits on the apply gate's condition variable
-- until the apply ends, up to a timeout, then fails with ETIMEDOUT.
return {
  name = "block",
  summary = "Wait on the apply gate until the snapshot is applied, up to a timeout.",
  snapshot_mode = "inplace",
  params = { timeout = "5s" },
  on_read = function(read, node, p)
    if node.phase ~= "applying" then return "serve" end
    if read.waited >= p.timeout then return "fail", "ETIMEDOUT" end
    return "wait", p.timeout - read.waited
  end,
}
