-- unsafe: CubeFS PR 2124 (on the development branch from 2023-06 to 2024-02,
-- in no tagged release). The follower closes its live store to rebuild it
-- from the snapshot and reopens it at the end; a reader that reaches the
-- closed store uses a closed handle and the process crashes (CubeFS issue
-- 3152; under the cubefs profile that reader is the follower's vol scan).
-- No gate: reads are served as if nothing were happening.
return {
  name = "unsafe",
  summary = "Reopen the store during a snapshot apply, no gate: reproduces the crash of issue 3152.",
  snapshot_mode = "reopen",
  params = {},
  on_read = function()
    return "serve"
  end,
}
