-- unsafe: CubeFS in 2023 (PR 2124). The follower closes its live store to
-- rebuild it from the snapshot and reopens it at the end; a read that reaches
-- the closed store dereferences a closed handle and the process crashes
-- (CubeFS issue 3152). No gate: reads are served as if nothing were happening.
return {
  name = "unsafe",
  summary = "Reopen the store during a snapshot apply, no gate: reproduces the crash of issue 3152.",
  snapshot_mode = "reopen",
  params = {},
  on_read = function()
    return "serve"
  end,
}
