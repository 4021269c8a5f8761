/* Raft safety checker, fed by raft (and by FSMs) as things happen:
 *  - election safety: at most one leader per term;
 *  - committed entries are never lost or changed: the first commit of an
 *    index records (term, payload hash); a later commit of that index, on
 *    any node, with another term or hash is a violation;
 *  - leader completeness: a new leader's log holds every recorded commit
 *    (those not compacted away);
 *  - state machine safety: an applied entry equals the committed one, and
 *    FSM state digests reported at one index agree across nodes.
 * A violation records the first one (time, node, description) and counts
 * all of them. Time comes from the scheduler given at creation. */
#ifndef MS_CHECK_H
#define MS_CHECK_H

#include "ms_sched.h"

#include <stdint.h>

typedef struct ms_check ms_check;

typedef struct ms_check_violation {
    int64_t time;
    int node;
    char what[160];
} ms_check_violation;

typedef struct ms_check_stats {
    uint64_t leaders;   /* leaders seen (node, term) */
    uint64_t commits;   /* commit reports */
    uint64_t applies;   /* apply reports */
    uint64_t states;    /* state digest reports */
    uint64_t committed; /* highest index recorded as committed */
} ms_check_stats;

/* Look up a node's log entry: 1 found (*term, *hash set), 0 compacted away,
 * -1 beyond the end of the log. */
typedef int (*ms_check_lookup_fn)(void *ctx, uint64_t index, uint64_t *term, uint64_t *hash);

/* A checker reading time from s (s may be NULL: time 0). NULL on OOM. */
ms_check *ms_check_new(ms_sched *s);
void ms_check_free(ms_check *c);

/* `node` became leader of `term`. */
void ms_check_leader(ms_check *c, int node, uint64_t term);

/* `node` learned that `index` (term, hash) is committed. */
void ms_check_commit(ms_check *c, int node, uint64_t index, uint64_t term, uint64_t hash);

/* Leader completeness: every recorded commit at or above `first` must be in
 * the new leader's log, read through lookup. */
void ms_check_leader_log(ms_check *c, int node, uint64_t term, uint64_t first,
                         ms_check_lookup_fn lookup, void *ctx);

/* `node` applied `index` (term, hash): it must be the committed entry. */
void ms_check_apply(ms_check *c, int node, uint64_t index, uint64_t term, uint64_t hash);

/* `node`'s state machine digest after applying `index`: every node must
 * report the same digest at the same index. */
void ms_check_state(ms_check *c, int node, uint64_t index, uint64_t digest);

/* Record a violation found elsewhere (printf-style description). */
void ms_check_fail(ms_check *c, int node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Number of violations, and the first one (NULL when there is none). */
uint64_t ms_check_violations(const ms_check *c);
const ms_check_violation *ms_check_first(const ms_check *c);

ms_check_stats ms_check_get_stats(const ms_check *c);

#endif
