/* Binding of the stress harness: core.stress{...} -> result table. The run
 * blocks the calling Lua thread for its duration; its threads never touch
 * Lua. Durations in the result are seconds. */
#include "lms_stress.h"

#include "ms_units.h"

#include <string.h>

#define WHAT "core.stress"

/* Duration field `name` of the table at t (seconds or a unit string), or
 * def when absent. Stack: [-0, +0]. */
static int64_t opt_duration(lua_State *L, int t, const char *name, int64_t def) {
    int64_t ns = def;
    int type = lua_getfield(L, t, name);
    if (type == LUA_TNUMBER) {
        lua_Number s = lua_tonumber(L, -1);
        if (!(s >= 0 && s < 9.2e9)) luaL_error(L, WHAT ": field '%s' is out of range", name);
        ns = (int64_t)(s * 1e9 + 0.5);
    } else if (type == LUA_TSTRING) {
        char err[320];
        if (ms_units_duration(lua_tostring(L, -1), &ns, err, sizeof err) != 0)
            luaL_error(L, WHAT ": field '%s': %s", name, err);
    } else if (type != LUA_TNIL) {
        luaL_error(L, WHAT ": field '%s' must be a duration (got %s)", name, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return ns;
}

/* Name field `name` of the table at t parsed by parse, or left as is when
 * absent. Stack: [-0, +0]. */
static void opt_name(lua_State *L, int t, const char *name, const char *valid,
                     int (*parse)(const char *, void *), void *out) {
    int type = lua_getfield(L, t, name);
    if (type != LUA_TNIL) {
        /* not lua_tostring: it would turn a number into a string in place */
        const char *s = type == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1);
        if (type != LUA_TSTRING || parse(s, out) != 0)
            luaL_error(L, WHAT ": field '%s' must be one of %s (got %s)", name, valid, s);
    }
    lua_pop(L, 1);
}

static int parse_policy(const char *s, void *out) {
    return ms_stress_policy_parse(s, out);
}

static int parse_mode(const char *s, void *out) {
    ms_snap_mode m;
    if (ms_snap_mode_parse(s, &m) != 0 || m == MS_SNAP_REOPEN) return -1;
    *(ms_snap_mode *)out = m;
    return 0;
}

/* Integer field `name` of argument 1 in [lo, hi], or def when absent.
 * Stack: [-0, +0]. */
static uint64_t opt_count(lua_State *L, const char *name, uint64_t lo, uint64_t hi, uint64_t def) {
    int absent = lua_getfield(L, 1, name) == LUA_TNIL;
    lua_pop(L, 1);
    if (absent) return def;
    uint64_t v = lms_optfield_u64(L, 1, WHAT, name, hi);
    if (v < lo) luaL_error(L, WHAT ": field '%s' is out of range (got %I)", name, (lua_Integer)v);
    return v;
}

/* Boolean field name of the options table; absent is def. */
static int opt_flag(lua_State *L, const char *name, int def) {
    int t = lua_getfield(L, 1, name), on = t == LUA_TNIL ? def : lua_toboolean(L, -1);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN)
        luaL_error(L, WHAT ": field '%s' must be a boolean", name);
    lua_pop(L, 1);
    return on;
}

static void read_config(lua_State *L, ms_stress_config *c) {
    static const char *const known[] = {"policy",     "mode",        "readers",     "keys",
                                        "duration",   "apply_every", "write_every", "timeout",
                                        "seed",       "prewake",     "pin",         "sigint",
                                        "lua_policy", "params",      "every_read",  NULL};
    luaL_checktype(L, 1, LUA_TTABLE);
    lms_checkfields(L, 1, WHAT, known);
    ms_stress_defaults(c);
    opt_name(L, 1, "policy", "block, fail_fast, stale_read, unguarded, none", parse_policy,
             &c->policy);
    opt_name(L, 1, "mode", "inplace, aside", parse_mode, &c->mode);
    c->readers = (unsigned)opt_count(L, "readers", 1, MS_STRESS_MAX_READERS, c->readers);
    c->keys = opt_count(L, "keys", 100, UINT64_C(100000000), c->keys);
    c->seed = opt_count(L, "seed", 0, UINT64_MAX >> 1, c->seed);
    c->duration_ns = opt_duration(L, 1, "duration", c->duration_ns);
    c->apply_every_ns = opt_duration(L, 1, "apply_every", c->apply_every_ns);
    c->write_every_ns = opt_duration(L, 1, "write_every", c->write_every_ns);
    c->timeout_ns = opt_duration(L, 1, "timeout", c->timeout_ns);
    c->prewake = opt_flag(L, "prewake", 0);
    c->pin = opt_flag(L, "pin", 0);
    c->handle_sigint = opt_flag(L, "sigint", 1);
}

/* A latency summary in seconds as field k. Stack: [-0, +0]. */
static void set_hist(lua_State *L, const char *k, const ms_hist *h) {
    lua_createtable(L, 0, 6);
    lms_setint(L, "count", (int64_t)h ? (uint64_t)ms_hist_count(h) : 0);
    lms_setnum(L, "mean", h ? ms_hist_mean(h) * 1e-9 : 0);
    lms_setnum(L, "p50", h ? (double)ms_hist_percentile(h, 50) * 1e-9 : 0);
    lms_setnum(L, "p99", h ? (double)ms_hist_percentile(h, 99) * 1e-9 : 0);
    lms_setnum(L, "p999", h ? (double)ms_hist_percentile(h, 99.9) * 1e-9 : 0);
    lms_setnum(L, "max", h ? (double)ms_hist_max(h) * 1e-9 : 0);
    lua_setfield(L, -2, k);
}

static void push_result(lua_State *L, const ms_stress_config *c, const ms_stress_result *r) {
    lua_createtable(L, 0, 20);
    lua_pushstring(L, c->decider ? "lua" : ms_stress_policy_name(c->policy));
    lua_setfield(L, -2, "policy");
    lua_pushstring(L, ms_snap_mode_name(c->mode)), lua_setfield(L, -2, "mode");
    lms_setint(L, "readers", (int64_t)c->readers);
    lms_setint(L, "keys", (int64_t)r->keys);
    lms_setnum(L, "seconds", r->seconds);
    lms_setnum(L, "apply_every", (double)c->apply_every_ns * 1e-9);
    lua_pushboolean(L, c->prewake), lua_setfield(L, -2, "prewake");
    lua_pushboolean(L, c->pin), lua_setfield(L, -2, "pin");
    lua_pushboolean(L, r->interrupted), lua_setfield(L, -2, "interrupted");
    lms_setint(L, "reads", (int64_t)r->reads);
    lms_setnum(L, "reads_per_s", r->reads_per_s);
    lms_setnum(L, "served_per_s", r->served_per_s);
    lms_setnum(L, "reader_cpu", r->reader_cpu_s);
    lua_createtable(L, 0, 5);
    lms_setint(L, "fresh", (int64_t)r->fresh), lms_setint(L, "stale", (int64_t)r->stale),
        lms_setint(L, "torn", (int64_t)r->torn);
    lms_setint(L, "failed", (int64_t)r->failed), lms_setint(L, "timed_out", (int64_t)r->timed_out);
    lua_setfield(L, -2, "outcomes");
    lms_setint(L, "writes", (int64_t)r->writes), lms_setint(L, "applies", (int64_t)r->applies);
    lms_setint(L, "reclaimed", (int64_t)r->reclaimed),
        lms_setint(L, "leaked_bytes", r->leaked_bytes);
    lua_createtable(L, 0, 7);
    set_hist(L, "fast", r->fast), set_hist(L, "blocked", r->blocked);
    set_hist(L, "apply", r->apply), set_hist(L, "wake", r->wake);
    set_hist(L, "first_read", r->first), set_hist(L, "release", r->release);
    set_hist(L, "first_release", r->release_first);
    lua_setfield(L, -2, "latency");
    lua_createtable(L, 0, 5);
    lms_setint(L, "waits", (int64_t)r->gate.waits),
        lms_setint(L, "wakeups", (int64_t)r->gate.wakeups);
    lms_setint(L, "timeouts", (int64_t)r->gate.timeouts),
        lms_setint(L, "max_waiting", (int64_t)r->gate.max_waiting);
    lms_setnum(L, "longest_wait", (double)r->gate.longest_wait_ns * 1e-9);
    lua_setfield(L, -2, "gate");
}

/* stress{policy=, mode=, readers=, keys=, duration=, apply_every=,
 * write_every=, timeout=, seed=, prewake=, pin=, sigint=, lua_policy=,
 * params=, every_read=} -> result | nil, message. sigint (default true):
 * SIGINT stops the run early, and the result says interrupted = true.
 * lua_policy (a policy file's path) decides the reads instead of policy,
 * in a Lua state per reader thread (lms_stress_policy.c); the result's
 * policy is then "lua". */
static int lms_stress_run(lua_State *L) {
    ms_stress_config c;
    read_config(L, &c);
    ms_stress_decider d;
    if (lms_stress_policy_init(L, 1, &d)) c.decider = &d;
    ms_stress_result r;
    char err[320];
    int rc = ms_stress_run(&c, &r, err, sizeof err);
    if (c.decider) lms_stress_policy_free(&d);
    if (rc != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    push_result(L, &c, &r);
    ms_stress_result_free(&r);
    return 1;
}

void lms_open_stress(lua_State *L) {
    lua_pushcfunction(L, lms_stress_run);
    lua_setfield(L, -2, "stress");
}
