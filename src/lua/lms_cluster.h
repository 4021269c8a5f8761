/* The Cluster userdata (see lms_cluster.c). */
#ifndef LMS_CLUSTER_H
#define LMS_CLUSTER_H

#include "lms_sched.h"
#include "ms_cluster.h"

#include <stdio.h>

/* Registry references a cluster holds, released by close. */
enum { R_SCHED = 0, R_DECIDE, R_HOOK, R_READ, R_NODE, R_CHANGE, R_COUNT };

/* A file written through path.tmp and renamed into place at close. */
typedef struct lms_outfile {
    FILE *f;
    char *path, *tmp;
} lms_outfile;

typedef struct lms_cluster {
    ms_cluster *c;
    lms_sched *sched;
    ms_policy pol;
    int ref[R_COUNT];
    lms_outfile history; /* cluster:history: one JSON line per read attempt */
    lms_outfile ops;     /* cluster:ops: one JSON line per operation record */
} lms_cluster;

lms_cluster *lms_cluster_check(lua_State *L, int arg);

/* Set the fields of the table on top from a node's state. Stack: [-0, +0]. */
void lms_push_node_fields(lua_State *L, const ms_node_state *n);

/* Build an ms_cluster_config from the normalised table at `idx`; raises a
 * precise error for a missing or bad field (lms_cluster_config.c). */
void lms_cluster_config(lua_State *L, int idx, ms_cluster_config *cfg);

/* Push the run's metrics as a table (lms_cluster_result.c). */
void lms_push_metrics(lua_State *L, const ms_cluster *c);

/* cluster:history(path) and cluster:ops(path) -> true | nil, msg
 * (lms_history.c); lms_history_close moves both files into place. */
int lms_cluster_history(lua_State *L);
int lms_cluster_ops(lua_State *L);
void lms_history_close(lms_cluster *u);

#endif
