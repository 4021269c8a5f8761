/* string.find, match, gmatch, gsub and rep as scripts in the sandbox see
 * them: the functions of the Lua 5.4 reference manual (§6.4), with the
 * patterns of §6.4.1 (compiled and matched by lms_pattern_match.c), whose
 * work is charged to the sandbox's step budget. Written for the
 * sandbox from the manual and the stock functions' observable behaviour
 * (results, captures, error messages), not from their code.
 *
 * Why our own: the stock functions are C loops that nothing charges or
 * interrupts, so `("a"):rep(4e4):find(("a*"):rep(12) .. "b")` (exponential
 * backtracking) or `string.rep("", 1e15)` ran forever inside one
 * step. A guard that refuses "dangerous" patterns up front must
 * either refuse common patterns (`^(%w+)%s*=%s*(.-)%s*$` is cubic in the
 * worst case) or let some through; counting the matcher's steps is exact.
 * Outside a sandboxed call lms_sandbox_charge does nothing. */
#include "lms_pattern.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

#define ROOM 24 /* items compiled on the C stack; longer patterns take a userdata */

/* Set m up to match p[0..lp) against s[0..ls), its items in room when they
 * fit, else in a userdata left on the stack (collected after the call, so
 * a raise leaks nothing). Stack: [-0, +(0|1)]. */
static void prepare(lua_State *L, lms_matcher *m, lms_pat_item *room, const char *s, size_t ls,
                    const char *p, size_t lp) {
    m->L = L;
    m->src = s;
    m->end = s + ls;
    m->steps = 0;
    m->nitems = lms_pattern_compile(p, lp, room, ROOM, &m->ncap);
    if (m->nitems > ROOM) {
        room = lua_newuserdatauv(L, (size_t)m->nitems * sizeof *room, 0);
        lms_pattern_compile(p, lp, room, m->nitems, &m->ncap);
    }
    m->items = room;
    lms_pattern_step(m, m->nitems);
}

/* Push capture k of the match [s, e); with no captures, 0 is the whole
 * match. Stack: [-0, +1]. */
static void push_capture(const lms_matcher *m, int k, const char *s, const char *e) {
    lua_State *L = m->L;
    if (k >= m->ncap) {
        if (k != 0) luaL_error(L, "invalid capture index %%%d", k + 1);
        lua_pushlstring(L, s, (size_t)(e - s));
    } else if (m->cap[k].len == LMS_CAP_POSITION) {
        lua_pushinteger(L, m->cap[k].init - m->src + 1);
    } else if (m->cap[k].len == LMS_CAP_OPEN) {
        luaL_error(L, "unfinished capture");
    } else {
        lua_pushlstring(L, m->cap[k].init, (size_t)m->cap[k].len);
    }
}

/* Push every capture of the match [s, e), or the whole match when there
 * are none and s is not NULL; returns how many. Stack: [-0, +n]. */
static int push_captures(const lms_matcher *m, const char *s, const char *e) {
    int n = m->ncap == 0 && s != NULL ? 1 : m->ncap;
    luaL_checkstack(m->L, n, "too many captures");
    for (int k = 0; k < n; k++) push_capture(m, k, s, e);
    return n;
}

/* The 1-based position where a search starts, from a script's init
 * (negative counts from the end; before the start is the start). */
static size_t start_of(lua_Integer init, size_t len) {
    if (init > 0) return (size_t)init;
    if (init == 0 || init < -(lua_Integer)len) return 1;
    return len - (size_t)-init + 1;
}

/* Does p have a character that makes find use the matcher? */
static int has_specials(const char *p, size_t lp) {
    for (size_t i = 0; i < lp; i++)
        if (p[i] != 0 && strchr("^$*+?.([%-", p[i]) != NULL) return 1;
    return 0;
}

/* The first p[0..lp) in s[0..ls), or NULL. */
static const char *find_plain(lms_matcher *m, const char *s, size_t ls, const char *p, size_t lp) {
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    const char *last = s + (ls - lp);
    while (s <= last) {
        const char *c = memchr(s, (unsigned char)p[0], (size_t)(last - s) + 1);
        if (c == NULL) break;
        lms_pattern_step(m, 1 + (c - s) / 64 + (lua_Integer)(lp / 16));
        if (memcmp(c + 1, p + 1, lp - 1) == 0) return c;
        s = c + 1;
    }
    return NULL;
}

/* find (s, pattern [, init [, plain]]) and match (s, pattern [, init]). */
static int find_or_match(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_of(luaL_optinteger(L, 3, 1), ls);
    if (init > ls + 1) {
        luaL_pushfail(L);
        return 1;
    }
    lms_matcher m; /* not zeroed: 600 bytes, most of them captures */
    lms_pat_item room[ROOM];
    m.L = L;
    m.steps = 0;
    m.ncap = 0;
    const char *t = s + init - 1, *e = NULL;
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        t = find_plain(&m, t, ls - (init - 1), p, lp);
        e = t != NULL ? t + lp : NULL;
    } else {
        int anchor = lp > 0 && *p == '^';
        prepare(L, &m, room, s, ls, p + anchor, lp - (size_t)anchor);
        while ((e = lms_pattern_exec(&m, t)) == NULL && !anchor && t < m.end) t++;
    }
    lms_pattern_flush(&m);
    if (e == NULL) {
        luaL_pushfail(L);
        return 1;
    }
    if (!find) return push_captures(&m, t, e);
    lua_pushinteger(L, t - s + 1);
    lua_pushinteger(L, e - s);
    return 2 + push_captures(&m, NULL, e);
}

static int str_find(lua_State *L) {
    return find_or_match(L, 1);
}

static int str_match(lua_State *L) {
    return find_or_match(L, 0);
}

/* gmatch's iterator state: the compiled pattern and where it is. */
typedef struct {
    lms_matcher m;
    const char *next; /* where the next search starts; NULL once done */
    const char *last; /* the end of the last match: no empty match there */
    lms_pat_item items[];
} gmatch_state;

/* The iterator: upvalues subject, pattern, state. */
static int gmatch_step(lua_State *L) {
    gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
    g->m.L = L; /* it may run in another coroutine than gmatch did */
    for (const char *t = g->next; t != NULL && t <= g->m.end; t++) {
        const char *e = lms_pattern_exec(&g->m, t);
        if (e != NULL && e != g->last) {
            g->next = g->last = e;
            lms_pattern_flush(&g->m);
            return push_captures(&g->m, t, e);
        }
    }
    g->next = NULL;
    lms_pattern_flush(&g->m);
    return 0;
}

/* gmatch (s, pattern [, init]); '^' is no anchor here, as in Lua 5.4. */
static int str_gmatch(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_of(luaL_optinteger(L, 3, 1), ls);
    lua_settop(L, 2); /* the iterator keeps subject and pattern alive */
    int ncap, n = lms_pattern_compile(p, lp, NULL, 0, &ncap);
    gmatch_state *g = lua_newuserdatauv(L, sizeof *g + (size_t)n * sizeof g->items[0], 0);
    memset(&g->m, 0, sizeof g->m);
    lms_pattern_compile(p, lp, g->items, n, &g->m.ncap);
    g->m.L = L;
    g->m.src = s;
    g->m.end = s + ls;
    g->m.items = g->items;
    g->m.nitems = n;
    g->next = init <= ls + 1 ? s + init - 1 : NULL;
    g->last = NULL;
    lms_pattern_step(&g->m, n);
    lms_pattern_flush(&g->m);
    lua_pushcclosure(L, gmatch_step, 3);
    return 1;
}

/* Add the replacement string (argument 3) for the match [s, e): "%0" the
 * match, "%1".."%9" its captures, "%%" a '%'. */
static void add_template(lms_matcher *m, luaL_Buffer *b, const char *s, const char *e) {
    size_t l;
    const char *r = lua_tolstring(m->L, 3, &l), *end = r + l;
    for (;;) {
        const char *pct = memchr(r, '%', (size_t)(end - r));
        lms_pattern_step(m, 1 + ((pct ? pct : end) - r) / 64);
        if (pct == NULL) break;
        luaL_addlstring(b, r, (size_t)(pct - r));
        r = pct + 1;
        if (r < end && *r == '%') {
            luaL_addchar(b, '%');
        } else if (r < end && *r == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (r < end && isdigit((unsigned char)*r)) {
            push_capture(m, *r - '1', s, e);
            luaL_addvalue(b);
        } else {
            luaL_error(m->L, "invalid use of '%%' in replacement string");
        }
        r++;
    }
    luaL_addlstring(b, r, (size_t)(end - r));
}

/* Add what replaces the match [s, e), by the kind tr of argument 3. */
static void add_replacement(lms_matcher *m, luaL_Buffer *b, const char *s, const char *e, int tr) {
    lua_State *L = m->L;
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        lua_call(L, push_captures(m, s, e), 1);
    } else if (tr == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(m, b, s, e);
        return;
    }
    if (!lua_toboolean(L, -1)) { /* false or nil: the match stays */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
    } else if (lua_isstring(L, -1)) {
        luaL_addvalue(b);
    } else {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    }
}

/* gsub (s, pattern, repl [, n]). A match may not be empty where the last
 * one ended (Lua 5.4); text between matches is copied in runs. */
static int str_gsub(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(
        L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
        "string/function/table");
    int anchor = lp > 0 && *p == '^';
    lms_matcher m;
    lms_pat_item room[ROOM];
    prepare(L, &m, room, s, ls, p + anchor, lp - (size_t)anchor);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *t = s, *copied = s, *last = NULL;
    lua_Integer n = 0;
    while (n < max) {
        const char *e = lms_pattern_exec(&m, t);
        if (e != NULL && e != last) {
            luaL_addlstring(&b, copied, (size_t)(t - copied));
            add_replacement(&m, &b, t, e, tr);
            n++;
            copied = t = last = e;
        } else if (t < m.end) {
            t++;
        } else {
            break;
        }
        if (anchor) break;
    }
    luaL_addlstring(&b, copied, (size_t)(m.end - copied));
    lms_pattern_flush(&m);
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

/* rep (s, n [, sep]), charged for the bytes it makes before making them.
 * The buffer is taken first, so a result beyond the memory cap is reported
 * as such; `string.rep("", 1e15)` costs n / 8 and is refused at once. The
 * copy writes "s sep s" once, then doubles the repeating part. */
static int str_rep(lua_State *L) {
    size_t l, lsep;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    size_t unit = l + lsep; /* one "sep s" */
    if (unit < l || unit > (size_t)INT_MAX / (size_t)n)
        return luaL_error(L, "resulting string too large");
    size_t total = (size_t)n * unit - lsep;
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, total);
    lms_sandbox_charge(L, n / 8 + (lua_Integer)(total / 64));
    memcpy(out, s, l);
    if (n > 1 && unit > 0) {
        memcpy(out + l, sep, lsep);
        memcpy(out + l + lsep, s, l);
        for (size_t done = l + unit; done < total;) {
            size_t chunk = done - l < total - done ? done - l : total - done;
            memcpy(out + done, out + l, chunk);
            done += chunk;
        }
    }
    luaL_pushresultsize(&b, total);
    return 1;
}

void lms_pattern_setfuncs(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"find", str_find}, {"match", str_match}, {"gmatch", str_gmatch},
        {"gsub", str_gsub}, {"rep", str_rep},     {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
