-- stale_read: Consul and Kafka KRaft, and the CubeFS metanode
-- (metanode/partition_fsm.go ApplySnapshot builds new trees and swaps them
-- in at the end). The snapshot is built beside the live version and swapped
-- in with one pointer; reads during the apply are served from the previous,
-- consistent version.
return {
  name = "stale_read",
  summary = "Build the snapshot aside and serve the previous version during the apply.",
  snapshot_mode = "aside",
  params = {},
  on_read = function(_, node)
    if node.phase ~= "applying" then return "serve" end
    return "stale"
  end,
}
