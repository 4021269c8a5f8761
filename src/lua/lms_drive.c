/* core.drive(sched, opts): run a scheduler to `until` under libuv. Each slice
 * enters Lua through one protected call, so a callback error never unwinds
 * through libuv frames; it is kept and re-raised once the loop is closed.
 * A run budget stops the run between slices: at exactly max_events events
 * (the last slice is cut to fit), or at the first slice after which the
 * process's resident memory exceeds max_memory. */
#include "lms_sched.h"

#include "ms_drive.h"

#include <stdio.h>
#include <sys/ioctl.h>
#include <uv.h>
#include <unistd.h>

typedef struct {
    lua_State *L;
    int sched; /* stack index of the Sched userdata */
    int64_t until;
    uint64_t slice;
    int errref; /* registry ref of the error, or LUA_NOREF */
    const char *label;
    int64_t until_shown;
    uint64_t max_events, max_memory; /* 0: no limit */
    const char *stopped_by;          /* "events" or "memory" */
    uint64_t rss;                    /* at the memory stop */
    /* opts.sandbox: every callback under the sandbox's limits */
    int sandboxed;
    lms_limits lim;
    const char *kind; /* the limit that stopped a failed slice */
} drive_ctx;

/* Protected slice body: (sched, until, max) -> events run */
static int slice_body(lua_State *L) {
    int64_t until = (int64_t)lua_tointeger(L, 2);
    uint64_t max = (uint64_t)lua_tointeger(L, 3);
    lua_pushinteger(L, (lua_Integer)lms_sched_run(L, 1, until, max));
    return 1;
}

static ms_slice_status slice(void *p) {
    drive_ctx *c = p;
    lua_State *L = c->L;
    lms_sched *b = lua_touserdata(L, c->sched);
    ms_sched *s = b->s;
    uint64_t max = c->slice;
    if (c->max_events) {
        uint64_t done = ms_sched_events(s);
        if (done >= c->max_events) {
            if (ms_sched_next_time(s) > c->until) return MS_SLICE_DONE; /* ended right there */
            c->stopped_by = "events";
            return MS_SLICE_STOP;
        }
        if (c->max_events - done < max) max = c->max_events - done;
    }
    lms_span span;
    lua_pushcfunction(L, slice_body);
    lua_pushvalue(L, c->sched);
    lua_pushinteger(L, c->until);
    lua_pushinteger(L, (lua_Integer)max);
    if (c->sandboxed) {
        lms_span_begin(L, &span, &c->lim);
        b->before = lms_span_next;
        b->before_ctx = &span;
    }
    int status = lms_pcall(L, 3, 1);
    if (c->sandboxed) {
        b->before = NULL;
        b->before_ctx = NULL;
        c->kind = lms_span_end(L, &span, status);
    }
    if (status != LUA_OK) {
        c->errref = luaL_ref(L, LUA_REGISTRYINDEX);
        return MS_SLICE_ERROR;
    }
    uint64_t ran = (uint64_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (ran < max) return MS_SLICE_DONE;
    if (c->max_memory && (c->rss = ms_drive_rss()) > c->max_memory) {
        c->stopped_by = "memory";
        return MS_SLICE_STOP;
    }
    return MS_SLICE_MORE;
}

/* Columns of the terminal on stderr (80 when unknown). */
static int term_width(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

/* Draw the progress line, cut to the terminal's width so it never wraps
 * (a wrapped line cannot be redrawn in place). */
static void progress(void *p, double wall, int final) {
    drive_ctx *c = p;
    lms_sched *b = lua_touserdata(c->L, c->sched);
    if (final) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        return;
    }
    char line[256];
    double now = (double)ms_sched_now(b->s) / 1e9;
    int n = snprintf(line, sizeof line, "%s: virtual %.1f s", c->label, now);
    if (c->until_shown > 0 && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, " (%.0f%%)",
                      100.0 * now / ((double)c->until_shown / 1e9));
    if (n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, ", %.2fM events, wall %.1f s",
                 (double)ms_sched_events(b->s) * 1e-6, wall);
    int width = term_width() - 1;
    if (width < (int)sizeof line && width > 0) line[width] = '\0';
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

static int get_opt(lua_State *L, const char *key) {
    return lua_istable(L, 2) ? lua_getfield(L, 2, key) : (lua_pushnil(L), LUA_TNIL);
}

/* drive(sched, {until=, slice=, progress=, sigint=, label=, max_events=, max_memory=,
 *        sandbox=})
 *   -> "done" | "interrupted" | "budget", events run
 *      [, "events" | "memory", resident bytes at a memory stop]
 * sandbox = {limits = {steps=, memory=, wall=}, on_error = fn}: every
 * callback runs under those limits, as sandbox_call would run it (a span
 * per slice: lms_span_*), and a failed run calls on_error(kind, message)
 * (which should raise) instead of raising the message. */
static int drive(lua_State *L) {
    lms_sched *b = lms_sched_check(L, 1);
    drive_ctx c = {.L = L, .sched = 1, .until = MS_TIME_MAX, .slice = 16384, .errref = LUA_NOREF};
    if (get_opt(L, "until") != LUA_TNIL) c.until = c.until_shown = lms_checkduration(L, -1);
    if (get_opt(L, "slice") != LUA_TNIL) c.slice = (uint64_t)luaL_checkinteger(L, -1);
    int want_progress = get_opt(L, "progress") != LUA_TNIL && lua_toboolean(L, -1);
    int sigint = get_opt(L, "sigint") == LUA_TNIL || lua_toboolean(L, -1);
    c.label = get_opt(L, "label") == LUA_TSTRING ? lua_tostring(L, -1) : "mastersim";
    if (get_opt(L, "max_events") != LUA_TNIL) c.max_events = (uint64_t)luaL_checkinteger(L, -1);
    if (get_opt(L, "max_memory") != LUA_TNIL) c.max_memory = (uint64_t)luaL_checkinteger(L, -1);
    int on_error = 0;
    if (get_opt(L, "sandbox") != LUA_TNIL) {
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_getfield(L, -1, "limits");
        luaL_checktype(L, -1, LUA_TTABLE);
        lms_sandbox_limits(L, lua_gettop(L), &c.lim);
        lua_getfield(L, -2, "on_error");
        luaL_checktype(L, -1, LUA_TFUNCTION);
        on_error = lua_gettop(L);
        c.sandboxed = 1;
    }
    if (c.slice == 0) c.slice = 1;
    uint64_t before = ms_sched_events(b->s);
    ms_drive_opts o = {
        .slice = slice,
        .progress = (want_progress && isatty(STDERR_FILENO)) ? progress : NULL,
        .ctx = &c,
        .progress_ms = 250,
        .handle_sigint = sigint,
    };
    ms_drive_status st = ms_drive_run(&o);
    if (st == MS_DRIVE_ERROR) {
        if (c.errref == LUA_NOREF) return luaL_error(L, "could not start the libuv loop");
        if (on_error) {
            lua_pushvalue(L, on_error);
            lua_pushstring(L, c.kind ? c.kind : "error");
        }
        lua_rawgeti(L, LUA_REGISTRYINDEX, c.errref);
        luaL_unref(L, LUA_REGISTRYINDEX, c.errref);
        if (!on_error) return lua_error(L);
        lua_call(L, 2, 0);
        return luaL_error(L, "drive: the sandbox's on_error returned");
    }
    static const char *const names[] = {"done", "interrupted", "error", "budget"};
    lua_pushstring(L, names[st]);
    lua_pushinteger(L, (lua_Integer)(ms_sched_events(b->s) - before));
    if (st != MS_DRIVE_STOPPED) return 2;
    lua_pushstring(L, c.stopped_by);
    lua_pushinteger(L, (lua_Integer)c.rss);
    return 4;
}

/* wall() -> seconds on a monotonic wall clock (for the `wall` figures of a
 * result, which never feed back into a simulation). */
static int wall(lua_State *L) {
    lua_pushnumber(L, (lua_Number)uv_hrtime() * 1e-9);
    return 1;
}

void lms_open_drive(lua_State *L) {
    lua_pushcfunction(L, drive);
    lua_setfield(L, -2, "drive");
    lua_pushcfunction(L, wall);
    lua_setfield(L, -2, "wall");
}
