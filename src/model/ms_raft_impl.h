/* Internals of the raft group shared by ms_raft*.c (not a public header).
 * Internal cross-file names are ms__raft_* / ms__rlog_*. */
#ifndef MS_RAFT_IMPL_H
#define MS_RAFT_IMPL_H

#include "ms_raft.h"
#include "ms_rng.h"

/* A payload shared by the log and the messages that carry it. */
typedef struct rblob {
    uint32_t refs;
    uint64_t hash; /* ms_digest_bytes of the payload */
    size_t len;
    unsigned char data[];
} rblob;

typedef struct rent {
    uint64_t term;
    rblob *b;
} rent;

/* The log: entries snap_index+1 .. snap_index+len at v[off .. off+len). */
typedef struct rlog {
    rent *v;
    size_t off, len, cap;
    uint64_t snap_index, snap_term; /* the last compacted entry (0, 0 at start) */
} rlog;

enum {
    MSG_VOTE = 1,
    MSG_VOTE_RESP,
    MSG_PREVOTE,
    MSG_PREVOTE_RESP,
    MSG_APP,
    MSG_APP_RESP,
    MSG_HB,
    MSG_HB_RESP,
    MSG_SNAP,
    MSG_SNAP_RESP,
    MSG_TIMEOUT_NOW
};

/* Snapshot response codes (in rmsg.hint for MSG_SNAP_RESP). */
enum { SNAP_OK = 0, SNAP_REFUSED = 1, SNAP_ERROR = 2, SNAP_STALE = 3 };

typedef struct rmsg {
    struct rmsg *prev, *next; /* in-flight list, or free list (next) */
    ms_raft *g;
    uint8_t type, reject, flag; /* flag: vote by transfer / last chunk */
    int from, to;
    uint64_t term;
    uint64_t index;    /* prev index / last log index / snapshot index / rejected index */
    uint64_t log_term; /* prev term / last log term / snapshot term */
    uint64_t commit;
    uint64_t hint; /* match or reject hint / snapshot code / snapshot total bytes */
    uint32_t seq;  /* snapshot chunk number */
    rent *ents;
    size_t n, ents_cap;
    unsigned char *data; /* snapshot chunk */
    size_t len, data_cap;
    size_t charged; /* bytes the chunk is charged on the wire; 0: len */
} rmsg;

enum { PR_PROBE = 0, PR_REPLICATE, PR_SNAPSHOT };

/* The leader's view of one peer. */
typedef struct rprog {
    uint64_t next, match;
    int state;
    int paused; /* probe: an append is in flight */
    int active; /* heard from since the last quorum check */
    int64_t snap_retry_at;
    int64_t last_heard; /* the last reply heard from the peer (leader side) */
    /* the stream, while state == PR_SNAPSHOT */
    void *exp;
    uint64_t snap_index, snap_term, snap_sent, snap_total;
    uint32_t seq;
    int64_t last_ack;
    /* snapshot requests of the peer (seq numbers it sent): the latest seen,
     * the one the running stream serves, the last one served */
    uint32_t req_seen, req_pending, req_served;
} rprog;

typedef struct rnode {
    ms_raft *g;
    int id;
    int up;
    /* durable */
    uint64_t term;
    int voted_for;
    rlog log;
    /* volatile */
    int role;
    int leader;
    uint64_t commit, applied;
    uint8_t *votes; /* per node: 0 none, 1 granted, 2 rejected */
    ms_event_id election_ev, heartbeat_ev, watch_ev;
    /* the election deadline, and the time election_ev is armed for (at or
     * before it: see ms__raft_reset_election) */
    int64_t election_at, election_armed_at;
    int64_t last_leader_contact;
    int64_t quorum_check_at;
    /* tick mode: this node's ticker phase in [0, tick), and the k of its
     * last randomized election timeout (its vote lease, in ticks) */
    int64_t tick_phase;
    int rand_ticks;
    rprog *prog;
    int transferee;
    int64_t transfer_deadline;
    /* install, follower side */
    int installing, chunk_pending, pending_last;
    int inst_from;
    uint64_t inst_index, inst_term, inst_bytes, inst_total;
    uint32_t inst_seq;
    size_t pending_len;
    int64_t inst_last;
    /* snapshot wanted: the FSM lost its state, or one was requested; the
     * request's number (replies carry it in seq while either is set) */
    int fsm_lost, snap_wanted;
    uint32_t snap_req;
    int has_fsm;
    ms_raft_fsm fsm;
    ms_raft_stats st;
} rnode;

struct ms_raft {
    ms_sched *sched;
    ms_net *net;
    ms_check *chk;
    ms_raft_config cfg;
    ms_rng rng;
    int quorum;
    rnode *nodes;
    rmsg *free_msgs;
    rmsg in_flight;    /* sentinel of the in-flight list */
    rblob *noop;       /* the shared empty payload of leaders' no-op entries */
    uint64_t *scratch; /* n match indices, for the commit rule */
    /* leader changes (ms_raft_elections.c): outages, the last one open
     * when `open`; the leader a follower heard last and its term */
    ms_raft_election *elections;
    size_t nelections, capelections;
    int open;
    uint64_t top_term; /* the highest real campaign term counted in the open outage */
    int heard_leader;
    uint64_t heard_term;
};

/* --- log (ms_raft_log.c) ------------------------------------------------ */
rblob *ms__rblob_new(const void *data, size_t len);
void ms__rblob_unref(rblob *b);
static inline rblob *ms__rblob_ref(rblob *b) {
    b->refs++;
    return b;
}
void ms__rlog_free(rlog *l);
static inline uint64_t ms__rlog_first(const rlog *l) {
    return l->snap_index + 1;
}
static inline uint64_t ms__rlog_last(const rlog *l) {
    return l->snap_index + l->len;
}
/* The entry at index i, or NULL when compacted or beyond the end. */
const rent *ms__rlog_at(const rlog *l, uint64_t i);
/* Term at i (i may be snap_index): 0 and *term, or -1. */
int ms__rlog_term(const rlog *l, uint64_t i, uint64_t *term);
uint64_t ms__rlog_last_term(const rlog *l);
/* Append (takes a reference to b). -1 on OOM. */
int ms__rlog_append(rlog *l, uint64_t term, rblob *b);
/* Drop entries >= i. */
void ms__rlog_truncate(rlog *l, uint64_t i);
/* Drop entries <= i (snap_index < i <= last). */
void ms__rlog_compact(rlog *l, uint64_t i);
/* Drop everything; the log restarts after (index, term). */
void ms__rlog_reset(rlog *l, uint64_t index, uint64_t term);

/* --- messages (ms_raft_msg.c) -------------------------------------------- */
rmsg *ms__raft_msg_new(ms_raft *g, int type, const rnode *from, int to);
void ms__raft_msg_free(ms_raft *g, rmsg *m);
/* Send m (ownership passes to the net or m is freed). bulk: snapshot stream.
 * Returns the ms_net code. */
int ms__raft_send(ms_raft *g, rmsg *m, int bulk);
void ms__raft_free_in_flight(ms_raft *g);

/* --- elections, timers, roles (ms_raft_elect.c) ------------------------- */
void ms__raft_reset_election(rnode *nd);
void ms__raft_become_follower(rnode *nd, uint64_t term, int leader);
void ms__raft_campaign(rnode *nd, int prevote, int transfer);
/* nd leads its current term at once (ms_raft_start_elected). */
void ms__raft_lead(rnode *nd);
void ms__raft_on_vote(rnode *nd, const rmsg *m);
void ms__raft_on_vote_resp(rnode *nd, const rmsg *m);
void ms__raft_on_timeout_now(rnode *nd, const rmsg *m);
int ms__raft_in_lease(const rnode *nd);
void ms__raft_stop_timers(rnode *nd);
void ms__raft_notify_role(rnode *nd);

/* The first tick of nd's ticker strictly after t (tick mode). */
int64_t ms__raft_next_tick(const rnode *nd, int64_t t);
/* The leader heard from peer p: active for check-quorum, and when. */
void ms__raft_peer_heard(rnode *nd, int p);

/* --- leader changes (ms_raft_elections.c) --------------------------------- */
/* The last instant a quorum (nd included) had been heard from leader nd. */
int64_t ms__raft_quorum_contact(const rnode *nd);
/* Leader nd is going down (crash) or stepping down. */
void ms__raft_el_leader_lost(rnode *nd, ms_raft_loss cause);
/* A real campaign (prevote = 0) or a pre-vote round starts at term. */
void ms__raft_el_campaign(ms_raft *g, uint64_t term, int prevote);
/* nd won the election of its term. */
void ms__raft_el_elected(rnode *nd);
/* Follower nd heard `leader` of term `term`. */
void ms__raft_el_heard(rnode *nd, int leader, uint64_t term);
/* Open the first outage (before the first election); -1 on OOM. */
int ms__raft_el_start(ms_raft *g);
void ms__raft_el_free(ms_raft *g);

/* --- replication and apply (ms_raft_repl.c) ------------------------------ */
void ms__raft_send_append(rnode *nd, int peer, int send_empty);
void ms__raft_broadcast_append(rnode *nd);
void ms__raft_send_heartbeats(rnode *nd);
void ms__raft_on_append(rnode *nd, const rmsg *m);
void ms__raft_on_append_resp(rnode *nd, const rmsg *m);
void ms__raft_on_heartbeat(rnode *nd, const rmsg *m);
void ms__raft_on_heartbeat_resp(rnode *nd, const rmsg *m);
void ms__raft_maybe_commit(rnode *nd);
void ms__raft_commit_to(rnode *nd, uint64_t commit);
void ms__raft_notify_fsm(rnode *nd);
int ms__raft_append_local(rnode *nd, rblob *b);

/* --- snapshots (ms_raft_snap.c) ------------------------------------------ */
void ms__raft_snap_start(rnode *nd, int peer);
void ms__raft_snap_abort_stream(rnode *nd, int peer, int64_t retry_delay);
void ms__raft_snap_check_streams(rnode *nd);
void ms__raft_on_snap(rnode *nd, const rmsg *m);
void ms__raft_on_snap_resp(rnode *nd, const rmsg *m);
void ms__raft_install_drop(rnode *nd);
int ms__raft_chunk_done(rnode *nd, int ok);
/* Follower: the snapshot request number to put in an append or heartbeat
 * reply (0: none). Leader: act on a reply's request. */
uint32_t ms__raft_snap_wanted(const rnode *nd);
void ms__raft_on_snap_request(rnode *nd, int peer, uint32_t req);

#endif
