/* A raft group of N nodes over ms_net, driven by ms_sched.
 *
 * What is modelled: terms; follower / pre-candidate / candidate / leader;
 * randomized election timeouts; optional pre-vote; RequestVote with the
 * up-to-date check; AppendEntries with the log-matching check and conflict
 * truncation; commit only of an entry of the leader's own term replicated on
 * a majority; heartbeats; step-down on a higher term; optional check-quorum
 * (a leader that has not heard from a majority for election_min steps
 * down); leader transfer (TimeoutNow); log compaction keeping `retain`
 * entries behind the applied index; InstallSnapshot streamed chunk by chunk
 * with one chunk in flight; crash and restart with a durable term, vote and
 * log.
 *
 * Replication: a follower in `probe` gets one AppendEntries at a time; once
 * an append succeeds it moves to `replicate`, where the leader pipelines
 * appends (up to max_batch entries each) without waiting for acks. A
 * rejection sends it back to probe at the follower's hint. Heartbeats carry
 * min(match, commit); a heartbeat reply from a follower that lags triggers
 * an append, which is how lost appends are retried. Followers learn a new
 * commit index from the next append or heartbeat (no broadcast on commit).
 *
 * Snapshots: the leader asks its FSM for an exporter (pinning a snapshot at
 * the FSM's applied index) and streams its chunks with ms_net_send_bulk,
 * one chunk in flight: the next chunk leaves when the follower acks the
 * previous one, after the follower's FSM has taken it. An empty chunk
 * marked `last` ends the stream. A follower installs one snapshot at a time
 * (a new stream while one runs is refused), does not apply log entries
 * while installing, and on completion restarts its log after the snapshot
 * index. A stream with no progress for snap_timeout is abandoned on both
 * sides; the leader retries after election_min.
 *
 * A follower can also ask for a snapshot whatever its log: when its FSM
 * lost its state (ms_raft_state_lost, or fsm->restart returning
 * MS_RAFT_NO_STATE) or when an operator wants one (ms_raft_request_snapshot).
 * Its append and heartbeat replies then carry the request and the leader
 * streams its snapshot; the follower takes any snapshot at or above its
 * first log index (even one below its commit index: the FSM rewinds to it
 * and re-applies the rest from the log). A follower whose FSM lost its
 * state keeps its durable log and keeps acknowledging appends (they count
 * for the commit rule), but applies nothing until a snapshot installs.
 * A node that is installing, or whose FSM lost its state, never campaigns:
 * it could not serve or export a consistent state as leader.
 *
 * Messages: each node-to-node message is a net message whose ids are
 * a = type << 24 | from << 12 | to and b = term << 40 | index (low 40
 * bits), so the run digest covers every delivery. Timers are events of the
 * kinds below with a = node, b = term (watchdog: b = snapshot index). All
 * draws come from the stream "raft" owned by the group.
 *
 * All functions that take a node return MS_RAFT_EINVAL for an index out of
 * range. Nothing here is thread-safe; a group belongs to one simulation. */
#ifndef MS_RAFT_H
#define MS_RAFT_H

#include "ms_check.h"
#include "ms_net.h"
#include "ms_sched.h"

#include <stddef.h>
#include <stdint.h>

/* Event kinds scheduled by raft (range 0x52410000: "RA"). */
enum {
    MS_RAFT_EV_ELECTION = 0x52410001,  /* election timeout (a node, b term) */
    MS_RAFT_EV_HEARTBEAT = 0x52410002, /* leader tick (a node, b term) */
    MS_RAFT_EV_SNAP_WATCH = 0x52410003 /* install watchdog (a node, b snapshot index) */
};

/* Error codes (negative); 0 is success. */
enum {
    MS_RAFT_OK = 0,
    MS_RAFT_ENOTLEADER = -1, /* propose / transfer on a non-leader */
    MS_RAFT_EDOWN = -2,      /* the node is crashed */
    MS_RAFT_ETRANSFER = -3,  /* a leader transfer is in progress */
    MS_RAFT_EINVAL = -4,     /* bad argument */
    MS_RAFT_ENOMEM = -5,
    MS_RAFT_ESTATE = -6 /* not allowed now (e.g. applied out of order, installing) */
};

typedef enum ms_raft_role {
    MS_RAFT_FOLLOWER = 0,
    MS_RAFT_PRECANDIDATE,
    MS_RAFT_CANDIDATE,
    MS_RAFT_LEADER,
    MS_RAFT_DOWN /* crashed (reported by ms_raft_role, never stored) */
} ms_raft_role;

typedef struct ms_raft_config {
    int n;                /* nodes, 1..1024 */
    uint64_t seed;        /* stream "raft" is derived from (seed, "raft") */
    int64_t election_min; /* election timeout drawn uniformly in [min, max) ns */
    int64_t election_max; /* defaults 1000 ms, 2000 ms */
    int64_t heartbeat;    /* leader tick, default 200 ms */
    int64_t snap_timeout; /* a snapshot stream idle this long is abandoned, default 10 s */
    uint64_t retain;      /* entries kept behind the applied index, default 20000 */
    size_t max_batch;     /* entries per AppendEntries, default 256 */
    size_t msg_bytes;     /* wire bytes of a message header, default 64 */
    size_t entry_bytes;   /* wire bytes per entry on top of its payload, default 24 */
    int prevote;          /* 1: pre-vote before a real election (default 0) */
    int check_quorum;     /* 1: leader lease and step-down without a quorum (default 1) */
    /* Tick mode (tick > 0, the tiglabs raft that CubeFS runs): every timer
     * counts ticks of this length on its node's own ticker (a phase drawn
     * when the node starts), so a timeout of k ticks set at t fires at the
     * k-th tick after t. Election timeouts are k in [election_min/tick,
     * election_max/tick]; a pre-candidate retries after election_min/tick;
     * heartbeats leave on ticks; a node refuses votes (ignores them) while
     * fewer ticks than its last drawn k passed since it heard its leader.
     * 0 (default): continuous timers, and the vote lease is election_min. */
    int64_t tick;
    /* > 0: a follower that knows its leader campaigns only after this long
     * without hearing it, not after the randomized timeout (tiglabs with
     * LeaseCheck: 2 x ElectionTick). 0 (default): the randomized timeout. */
    int64_t lease_timeout;
    /* The leader's check-quorum interval; 0 (default): election_min. */
    int64_t quorum_check;
    /* 1: compact only when the applied index is a multiple of retain, down
     * to last - retain (CubeFS: the log holds retain..2 x retain entries);
     * 0 (default): keep retain entries behind the applied index always. */
    int truncate_periodic;
    /* TEST ONLY: the leader commits every entry as soon as it appends it,
     * without a majority. Exists so tests can show the checker catches it. */
    int unsafe_commit_without_majority;
} ms_raft_config;

/* One log entry as the FSM sees it. data stays valid until the FSM reports
 * this index applied (committed entries are neither truncated nor compacted
 * before they are applied). A zero-length entry is a leader's no-op: apply
 * it as nothing. */
typedef struct ms_raft_entry {
    uint64_t index, term;
    const void *data;
    size_t len;
} ms_raft_entry;

/* The state machine of one node. Raft calls these from inside scheduler
 * events; they may call back into ms_raft_entry_at, ms_raft_applied and
 * ms_raft_snap_chunk_done, and may schedule their own events. */
typedef struct ms_raft_fsm {
    void *ctx;
    /* The commit index advanced to `commit` (> applied). The FSM pulls the
     * entries applied+1..commit with ms_raft_entry_at, at whatever pace it
     * models, reporting each with ms_raft_applied; it may be told again
     * (a higher commit) before it caught up. Not called while a snapshot
     * installs. Required. tests/ms_test_fsm.h is a reference FSM. */
    void (*committed)(void *ctx, uint64_t commit);
    /* Leader side: pin a snapshot of the applied state; write its last
     * index and term. Returns an exporter, or NULL when none can be made. */
    void *(*snap_open)(void *ctx, uint64_t *index, uint64_t *term);
    /* Next chunk: 1 and *buf, *len (valid until the next call or close),
     * 0 at the end (no chunk), -1 on error. */
    int (*snap_next)(void *exporter, const void **buf, size_t *len);
    /* Release the exporter (called once for every successful open). */
    void (*snap_close)(void *exporter);
    /* Optional: total bytes of the snapshot, for progress (0 = unknown). */
    uint64_t (*snap_size)(void *exporter);
    /* Follower side: a snapshot (index, term) starts. The FSM abandons any
     * entry it was applying. 0 ok, -1 refuse. */
    int (*snap_install_begin)(void *ctx, uint64_t index, uint64_t term);
    /* One chunk (buf is valid only during the call): 0 taken, 1 pending
     * (the FSM calls ms_raft_snap_chunk_done later, e.g. after a modelled
     * apply time; the leader's next chunk waits for it), -1 error (the
     * install fails). */
    int (*snap_install_chunk)(void *ctx, const void *buf, size_t len);
    /* The install ended: ok = 1 the state is the snapshot's (raft sets
     * applied to its index); ok = 0 abandoned (raft keeps applied as it was
     * and resumes after it, so the FSM must restore a state consistent with
     * it). Not called when the node crashes mid-install. */
    void (*snap_install_end)(void *ctx, int ok);
    /* Optional: the node crashed; drop volatile state (pending applies). */
    void (*crash)(void *ctx);
    /* Optional: the node restarts; return the durable applied index, or
     * MS_RAFT_NO_STATE when the FSM lost its state (an install that had
     * touched it was interrupted): raft then applies nothing until a
     * snapshot installs. When NULL, the applied index survives the crash
     * (a fully durable FSM). */
    uint64_t (*restart)(void *ctx);
    /* Optional: the node's role changed (called at the end of the change,
     * with the node's new role and term). Must not call back into raft: an
     * FSM that acts on it (e.g. a new leader's loading phase) schedules an
     * event. Crash and restart are reported by crash and restart instead. */
    void (*role)(void *ctx, ms_raft_role role, uint64_t term);
    /* Optional: the bytes the chunk snap_next returned last is charged on
     * the network in place of its length (a model whose wire sizes are not
     * its in-memory ones). */
    size_t (*snap_charged)(void *exporter);
} ms_raft_fsm;

/* Leader changes as the cluster lived them. An outage opens when the
 * leader everyone last heard is lost: it crashed (at the crash), stepped
 * down (at the last instant a quorum had been heard from it), or was
 * deposed by a leader of a higher term while it still led (likewise), or
 * at time 0 before the first election. It closes when a follower first
 * hears the new leader (a heartbeat, an append or a snapshot). Real
 * campaigns during the outage count their distinct terms; a term that
 * elected nobody is a split vote. */
typedef enum ms_raft_loss {
    MS_RAFT_LOSS_START = 0, /* no leader yet */
    MS_RAFT_LOSS_CRASH,
    MS_RAFT_LOSS_STEP_DOWN,
    MS_RAFT_LOSS_DEPOSED
} ms_raft_loss;

typedef struct ms_raft_election {
    int64_t lost;    /* the old leader was lost */
    int64_t elected; /* the new leader won (-1: not yet) */
    int64_t heard;   /* a follower first heard it (-1: not yet: the outage is open) */
    int leader;      /* the new leader (-1: none yet) */
    uint64_t term;
    int terms;      /* distinct terms of the real campaigns in the outage */
    int split;      /* of those, terms that elected nobody */
    int pre_rounds; /* pre-vote rounds in the outage */
    ms_raft_loss cause;
} ms_raft_election;

/* fsm->restart's answer for "no usable state: send me a snapshot". */
#define MS_RAFT_NO_STATE UINT64_MAX

typedef struct ms_raft_stats {
    uint64_t campaigns;        /* elections started (real, not pre-vote) */
    uint64_t leaderships;      /* times this node became leader */
    uint64_t votes_granted;    /* votes this node granted */
    uint64_t proposals;        /* entries proposed on this node as leader */
    uint64_t appends_sent;     /* AppendEntries sent (with or without entries) */
    uint64_t appends_received; /* AppendEntries handled */
    uint64_t append_rejects;   /* AppendEntries this node rejected */
    uint64_t heartbeats_sent;
    uint64_t snaps_started; /* streams opened as leader */
    uint64_t snaps_sent;    /* streams completed as leader */
    uint64_t snaps_aborted; /* streams given up as leader (refused, timeout, error) */
    uint64_t snap_chunks_sent;
    uint64_t snap_bytes_sent;
    uint64_t snaps_installed; /* installs completed as follower */
    uint64_t snaps_refused;   /* streams refused because one was running */
    uint64_t installs_failed; /* installs abandoned (error, timeout) */
    uint64_t crashes;
    uint64_t compactions; /* times the log was compacted */
} ms_raft_stats;

typedef struct ms_raft_status {
    ms_raft_role role;
    uint64_t term;
    int leader; /* known leader, -1 when none */
    int voted_for;
    uint64_t commit, applied;
    uint64_t first_index, last_index; /* log holds first..last (empty: last = first - 1) */
    uint64_t snap_index;              /* index of the last compacted entry */
    /* follower side: an install in progress */
    int installing;
    uint64_t install_index, install_bytes, install_total;
    int state_lost;       /* the FSM has no usable state: waiting for a snapshot */
    int snap_wanted;      /* a snapshot was requested (ms_raft_request_snapshot) */
    int64_t last_contact; /* virtual time the leader was last heard (-1: never) */
    /* leader side: streams in progress, bytes sent / total over them */
    int streams;
    uint64_t stream_bytes, stream_total;
} ms_raft_status;

typedef struct ms_raft ms_raft;

/* Defaults for a group of n nodes (see the field comments). */
void ms_raft_config_default(ms_raft_config *cfg, int n);

/* A group over sched s and net (whose size must be cfg->n). chk may be NULL
 * (no safety checking). Nodes start as followers with empty logs; nothing
 * runs until ms_raft_start. NULL on bad config or OOM. */
ms_raft *ms_raft_new(ms_sched *s, ms_net *net, ms_check *chk, const ms_raft_config *cfg);

/* Free the group, its logs and its in-flight messages (their queued
 * deliveries must not run afterwards: free or drain the scheduler first).
 * Open snapshot exporters are closed. */
void ms_raft_free(ms_raft *g);

/* Attach the FSM of a node (copied). Before ms_raft_start. */
int ms_raft_set_fsm(ms_raft *g, int node, const ms_raft_fsm *fsm);

/* Arm every up node's election timer. */
void ms_raft_start(ms_raft *g);

/* Start as a group that has been running: `leader` leads term 1 and every
 * other node follows it, having just heard it (no election, no outage). */
void ms_raft_start_elected(ms_raft *g, int leader);

/* Append a payload (copied; len > 0) to the leader's log. On success
 * *index (if not NULL) is its log index. ENOTLEADER with *leader_hint (if
 * not NULL) = the known leader or -1; EDOWN; ETRANSFER while transferring. */
int ms_raft_propose(ms_raft *g, int node, const void *payload, size_t len, uint64_t *index,
                    int *leader_hint);

/* The entry at index on a node: 0 and *out, or ESTATE when the index is not
 * in the log (compacted or beyond the end). */
int ms_raft_entry_at(const ms_raft *g, int node, uint64_t index, ms_raft_entry *out);

/* The FSM applied `index`, which must be applied + 1 <= commit. Entries at
 * or below applied - retain may be compacted now. ESTATE otherwise (also
 * while installing or down). */
int ms_raft_applied(ms_raft *g, int node, uint64_t index);

/* The FSM finished a chunk it answered 1 (pending): ok = 1 taken, 0 failed.
 * ESTATE when no chunk is pending. */
int ms_raft_snap_chunk_done(ms_raft *g, int node, int ok);

/* Crash a node: it goes down on the net, loses its role, commit index,
 * leader, votes being counted and any snapshot in flight (streams it led are
 * closed; an install it ran is dropped without snap_install_end), calls
 * fsm->crash. Keeps the term, vote and log. EDOWN if already down. */
int ms_raft_crash(ms_raft *g, int node);

/* Restart a crashed node as a follower: up on the net, applied from
 * fsm->restart, commit = applied, election timer armed. An FSM that
 * answers MS_RAFT_NO_STATE, or an applied index below the first log entry
 * (state raft no longer has), waits for a snapshot as after
 * ms_raft_state_lost; one above the log's end is clamped to it. ESTATE if
 * it is up. */
int ms_raft_restart(ms_raft *g, int node);

/* The FSM of `node` no longer holds the state of its applied index (it
 * abandoned an install that had touched its state). May be called from
 * snap_install_end. Raft stops handing it committed entries and asks the
 * leader for a snapshot; the flag clears when one installs. EDOWN. */
int ms_raft_state_lost(ms_raft *g, int node);

/* Ask the leader to send `node` a snapshot even though its log does not
 * need one (an operator's restore, a fault). The node keeps applying until
 * the stream starts. Works on a down node (it asks once it is up). */
int ms_raft_request_snapshot(ms_raft *g, int node);

/* Fault: compact the node's log up to min(index, applied). Returns the
 * index of the last compacted entry (>= 0), or an error. */
int64_t ms_raft_force_compact(ms_raft *g, int node, uint64_t index);

/* Hand leadership from leader `node` to `target`: the leader stops taking
 * proposals, brings target up to date, then tells it to campaign at once
 * (TimeoutNow). Abandoned after election_min. ENOTLEADER, EINVAL. */
int ms_raft_transfer_leader(ms_raft *g, int node, int target);

/* Observability. ms_raft_role_of gives MS_RAFT_DOWN for a crashed node. */
int ms_raft_size(const ms_raft *g);
ms_raft_role ms_raft_role_of(const ms_raft *g, int node);
int ms_raft_is_up(const ms_raft *g, int node);
uint64_t ms_raft_term(const ms_raft *g, int node);
int ms_raft_leader(const ms_raft *g, int node);
uint64_t ms_raft_commit_index(const ms_raft *g, int node);
uint64_t ms_raft_applied_index(const ms_raft *g, int node);
uint64_t ms_raft_last_index(const ms_raft *g, int node);
uint64_t ms_raft_first_index(const ms_raft *g, int node);
/* Virtual time a follower last heard its leader (a leader: now), -1 when
 * it has not heard one since it started or restarted. */
int64_t ms_raft_last_contact(const ms_raft *g, int node);
int ms_raft_status_of(const ms_raft *g, int node, ms_raft_status *out);
int ms_raft_stats_of(const ms_raft *g, int node, ms_raft_stats *out);

/* The closed outages in order, and the open one (if any: heard = -1) last;
 * *n their count. Valid until the group changes. */
const ms_raft_election *ms_raft_elections(const ms_raft *g, size_t *n);
const char *ms_raft_loss_name(ms_raft_loss cause);

/* The up leader with the highest term, or -1 when no up node leads. */
int ms_raft_find_leader(const ms_raft *g);

/* Name of a role ("follower", ..., "down"). */
const char *ms_raft_role_name(ms_raft_role role);

#endif
