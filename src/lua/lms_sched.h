/* The Sched userdata, shared with the libuv driver binding. */
#ifndef LMS_SCHED_H
#define LMS_SCHED_H

#include "lms_aux.h"
#include "ms_sched.h"

#define LMS_SCHED "mastersim.Sched"

/* Ownership, as luv's handles on their loop. An object built on a
 * scheduler (a Cluster, a Gate) is its child: the child holds the
 * scheduler as its user value 1, so the scheduler outlives it, and the
 * scheduler holds its live children in its user value 2 (a table keyed by
 * the child's lms_child), so a child whose events are queued stays alive
 * while its scheduler can run them; both are collected once neither is
 * reachable. Nothing goes through the registry. A child keeps the Lua
 * values its C side calls (callbacks, scratch tables) in its own user
 * values, fetched through the scheduler during a run (lms_sched_push_child;
 * the one registry entry a run holds, released when it returns).
 * Closing a scheduler closes its live children first, newest first; closing
 * a child cancels the events it still has queued (scheduled under its
 * owner id) and leaves the scheduler usable. */
typedef struct lms_child lms_child;

/* Free the child's C side (no Lua calls, no raise). */
typedef void (*lms_child_free_fn)(lms_child *c);

struct lms_child {
    lms_child *next, *prev;   /* the parent's list of live children */
    struct lms_sched *parent; /* NULL until adopted and once closed */
    lms_child_free_fn free;
    ms_sched_owner owner; /* stamped on the events scheduled on its behalf */
};

typedef struct lms_sched {
    ms_sched *s;
    lua_State *L; /* the state running events; set only inside a run */
    int fns;      /* stack index of the callback table during a run */
    int kids_ref; /* registry ref of the children table during a run, else LUA_NOREF:
                   * a child's callback may come from a nested C frame (a fault
                   * method called from a Lua event ends an apply: the policy's
                   * hook), where run_body's stack indices mean nothing */
    int running;
    lms_child *children; /* live children, newest first */
    ms_sched_owner last_owner;
    /* the owner ids live children hold, a bit each (id 0 is no owner):
     * adopting finds a free id in a few word reads, not a walk of the
     * children per candidate (quadratic: 65535 stations took a minute) */
    uint64_t owners[(UINT16_MAX + 1) / 64];
    /* called before each Lua callback when set (a sandbox span's fresh
     * budget: lms_span_next) */
    void (*before)(void *ctx);
    void *before_ctx;
    int bound; /* sched:bind(arg) was called: callbacks get arg (fns[0], on
                * the stack at fns + 1 during a run) and the time */
    /* the callback-table index of the event being run, until a new event
     * takes its slot; else 0 */
    lua_Integer stale;
} lms_sched;

lms_sched *lms_sched_check(lua_State *L, int arg);

/* Before a Lua callback of one of the scheduler's events (the trampoline's
 * or a child's): the sandbox's fresh limits when a drive set them. */
static inline void lms_sched_before_callback(lms_sched *b) {
    if (b->before) b->before(b->before_ctx);
}

/* Make the userdata at index child (whose first bytes may be anything; c
 * points into it, zeroed) a child of the open scheduler at index sched,
 * freed by free_fn when closed. Raises when the scheduler is closed or has
 * 65535 live children. Stack: [-0, +0]. */
void lms_sched_adopt(lua_State *L, int sched, int child, lms_child *c, lms_child_free_fn free_fn);

/* Close child c, whose userdata is at index child: free its C side, cancel
 * its queued events, detach it from its scheduler. A no-op once closed
 * (so __gc and __close may both call it). Stack: [-0, +0]. */
void lms_child_close(lua_State *L, int child, lms_child *c);

/* Push child c's userdata during a run of its scheduler (from a C callback
 * of the model), or return 0 and push nothing outside a run or once c is
 * closed. Stack: [-0, +(0|1)]. */
int lms_sched_push_child(lms_child *c);

/* The lua_State running c's scheduler, or NULL outside a run. */
lua_State *lms_child_state(const lms_child *c);

/* Make c's owner current on its scheduler (returns the previous owner to
 * give back to lms_child_leave). */
ms_sched_owner lms_child_enter(lms_child *c);
void lms_child_leave(lms_child *c, ms_sched_owner prev);

/* Run events up to `until` (ns), at most `max` (0 = all), calling Lua
 * callbacks; the userdata must be at stack index `arg`. Errors raised by a
 * callback propagate (the scheduler stays consistent). Stack: [-0, +0]. */
uint64_t lms_sched_run(lua_State *L, int arg, int64_t until, uint64_t max);

#endif
