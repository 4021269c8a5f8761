-- unguarded: CubeFS today (PR 3154; master/metadata_fsm.go ApplySnapshot).
-- The apply deletes the whole range and writes every key back, `applied`
-- last, into the live store; its readers (under the cubefs profile, the
-- follower's vol scan) see an empty or half-loaded store without any error:
-- torn reads.
return {
  name = "unguarded",
  summary = "Apply in place with no gate: readers see a half-loaded store (torn reads).",
  snapshot_mode = "inplace",
  params = {},
  on_read = function()
    return "serve"
  end,
}
