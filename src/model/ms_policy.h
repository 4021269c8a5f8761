/* The read-policy interface between the model and whoever decides: the
 * model asks on_read what to do with a read that reached a node whose phase
 * is not `serving` (or with every read when every_read is set), and asks
 * again when a `wait` ends by wake-up or timeout. src/lua implements it
 * with a Lua policy; ms_policy_builtin gives C versions of the reference
 * policies (for benchmarks that measure what the Lua call costs). */
#ifndef MS_POLICY_H
#define MS_POLICY_H

#include <stddef.h>
#include <stdint.h>

typedef enum ms_phase {
    MS_PHASE_SERVING = 0,
    MS_PHASE_APPLYING,
    MS_PHASE_LOADING,
    MS_PHASE_DOWN
} ms_phase;

const char *ms_phase_name(ms_phase p);

/* What a policy sees of the node (seconds for times). */
typedef struct ms_node_state {
    const char *name;
    const char *role; /* "leader", "follower", "candidate", "down" */
    ms_phase phase;
    uint64_t term, applied, commit, lag;
    double apply_progress; /* 0..1 during an install, else 0 */
    uint64_t stale_index;  /* applied index of the previous version (aside), else 0 */
    int waiters;           /* reads waiting on this node's gate */
    double last_contact;   /* seconds since the leader was last heard (0 on the leader;
                              since the run began when none was heard since a restart) */
    uint64_t store_keys;
    int64_t mem_bytes, mem_peak;
    /* not shown to policies: the raft log's length, real campaigns so far */
    uint64_t log_entries, campaigns;
} ms_node_state;

/* What a policy sees of the read (seconds for times). */
typedef struct ms_read_state {
    const char *op;
    int client;
    int attempt;    /* 1 for the first attempt of a logical read */
    double arrived; /* virtual time the attempt reached the node */
    double waited;  /* seconds waited on this node's gate so far */
    int wakeups;
    int timed_out; /* the last wait ended by its timeout */
    uint64_t last_seen_index;
    const char *source; /* "client", or "scan" (a background reader of the store: client -1) */
} ms_read_state;

typedef enum ms_decision_kind {
    MS_DEC_SERVE = 0,
    MS_DEC_STALE,
    MS_DEC_WAIT,
    MS_DEC_FAIL,
    MS_DEC_REDIRECT
} ms_decision_kind;

/* The names of ms_decision_kind in its order, NULL-terminated: what a Lua
 * policy's decide returns first ("serve", "stale", "wait", "fail",
 * "redirect"). */
extern const char *const ms_decision_kinds[];

#define MS_CODE_MAX 24

typedef struct ms_decision {
    ms_decision_kind kind;
    double seconds;         /* wait */
    char code[MS_CODE_MAX]; /* fail */
    double retry_after;     /* fail: seconds, < 0 when not given */
    int target;             /* redirect: node index, or -1 for the leader */
} ms_decision;

typedef struct ms_policy {
    const char *name;
    int every_read;
    double cost; /* simulated seconds each decision takes */
    void *ud;
    /* Decide. Returns 0, or -1 with err set (the run fails with err). An
     * implementation may also stop the run by raising its own error. */
    int (*on_read)(void *ud, const ms_read_state *r, const ms_node_state *n, ms_decision *d,
                   char *err, size_t errlen);
    /* Optional: an apply begins (begin = 1) or ends (0) on node n. */
    void (*on_apply)(void *ud, const ms_node_state *n, int begin);
    double param; /* the built-in policies' parameter (ud points here: see below) */
} ms_policy;

/* A C reference policy by name ("unsafe", "unguarded", "block", "fail_fast",
 * "stale_read", "redirect_leader") with its parameter (block: timeout,
 * fail_fast: retry_after, in seconds). out->ud points at out->param, so the
 * model must use the copy it is given (ms_cluster_new copies the policy and
 * re-points ud when it equals the source's &param). -1 for an unknown name. */
int ms_policy_builtin(const char *name, double param, ms_policy *out);

#endif
