/* The Cluster userdata (see lms_cluster.c). */
#ifndef LMS_CLUSTER_H
#define LMS_CLUSTER_H

#include "lms_sched.h"
#include "ms_cluster.h"
#include "ms_outfile.h"

#include <stdio.h>

/* The Lua values a cluster holds, as its user values (1 is its scheduler:
 * see lms_sched.h): the policy's decide and hook, the read and node tables
 * handed to them, the on_change callback. */
enum { UV_SCHED = 1, UV_DECIDE, UV_HOOK, UV_READ, UV_NODE, UV_CHANGE, UV_COUNT = UV_CHANGE };

typedef struct lms_cluster {
    lms_child child; /* first: the child's free function casts back */
    ms_cluster *c;   /* NULL until built and once closed */
    ms_policy pol;
    ms_outfile history; /* cluster:history: one JSON line per read attempt */
    ms_outfile ops;     /* cluster:ops: one JSON line per operation record */
} lms_cluster;

lms_cluster *lms_cluster_check(lua_State *L, int arg);

/* Set the fields of the table on top from a node's state. Stack: [-0, +0]. */
void lms_push_node_fields(lua_State *L, const ms_node_state *n);

/* Fill the table on top with a read's state. Stack: [-0, +0]. */
void lms_push_read_fields(lua_State *L, const ms_read_state *r);

/* Build an ms_cluster_config from the normalised table at `idx`; raises a
 * precise error for a missing or bad field (lms_cluster_config.c). */
void lms_cluster_config(lua_State *L, int idx, ms_cluster_config *cfg);

/* Push the run's metrics as a table (lms_cluster_result.c). */
void lms_push_metrics(lua_State *L, const ms_cluster *c);

/* cluster:history(path) and cluster:ops(path) -> true | nil, msg, and
 * cluster:history_close() -> true | nil, msg (lms_history.c). */
int lms_cluster_history(lua_State *L);
int lms_cluster_ops(lua_State *L);
int lms_cluster_history_close(lua_State *L);

/* Finish both files (ms_outfile_close): returns 0, or -1 with the first
 * failure "<path>: <reason>" in err (err may be NULL). */
int lms_history_close(lms_cluster *u, char *err, size_t errlen);

#endif
