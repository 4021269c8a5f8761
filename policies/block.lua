-- block: the fix the ChubaoFS report describes (a snapshot-apply lock, an
-- atomic "applying" flag, readers that wait on a condition variable with a
-- timeout), and what etcd does. It is not what CubeFS's code did: PR 3154
-- changed the apply style and added no gate (master/metadata_fsm.go
-- ApplySnapshot; its onSnapshot flag only feeds a metric). A read (or scan)
-- that finds the applying flag set waits on the apply gate until the apply
-- ends, up to a timeout, then fails with ETIMEDOUT.
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
