/* string.find, match, gmatch, gsub and rep as scripts in the sandbox see
 * them: Lua 5.4.4's own code (lstrlib.c, pattern matching section; MIT
 * licence, Copyright (C) 1994-2022 Lua.org, PUC-Rio) with one change: the
 * work done is charged to the sandbox's instruction budget.
 *
 * Why a copy: the stock functions are C loops that the count hook never
 * interrupts, so `("a"):rep(4e4):find(("a*"):rep(12) .. "b")` (exponential
 * backtracking) or `string.rep("", 1e15)` ran forever inside one
 * instruction. A guard that refuses "dangerous" patterns up front must
 * either refuse common patterns (`^(%w+)%s*=%s*(.-)%s*$` is cubic in the
 * worst case) or let some through; counting the matcher's steps is exact,
 * and the results are the stock functions' results (same code). Outside a
 * sandboxed call lms_sandbox_charge does nothing. */
#include "lms_sandbox.h"

#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#define MAXCAPTURES 32
#define MAXCCALLS 200
#define L_ESC '%'
#define SPECIALS "^$*+?.([%-"
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define MAXSIZE ((size_t)INT_MAX)
#define CHARGE_EVERY 4096 /* steps between two charges to the budget */
#define uchar(c) ((unsigned char)(c))

typedef struct {
    const char *src_init, *src_end, *p_end;
    lua_State *L;
    int matchdepth;
    unsigned char level;
    lua_Integer steps; /* not yet charged */
    struct {
        const char *init;
        ptrdiff_t len;
    } capture[MAXCAPTURES];
} match_state;

/* Count n steps of work; charge them once CHARGE_EVERY have gathered (the
 * charge raises when the budget is spent: nothing here needs freeing). */
static void step(match_state *ms, lua_Integer n) {
    ms->steps += n;
    if (ms->steps >= CHARGE_EVERY) {
        lua_Integer s = ms->steps;
        ms->steps = 0;
        lms_sandbox_charge(ms->L, s);
    }
}

static void flush(match_state *ms) {
    lua_Integer s = ms->steps;
    ms->steps = 0;
    if (s > 0) lms_sandbox_charge(ms->L, s);
}

static size_t posrelat(lua_Integer pos, size_t len) {
    if (pos > 0) return (size_t)pos;
    if (pos == 0) return 1;
    if (pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

static const char *match(match_state *ms, const char *s, const char *p);

static int check_capture(match_state *ms, int l) {
    l -= '1';
    if (l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED)
        return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
    return l;
}

static int capture_to_close(match_state *ms) {
    int level = ms->level;
    for (level--; level >= 0; level--)
        if (ms->capture[level].len == CAP_UNFINISHED) return level;
    return luaL_error(ms->L, "invalid pattern capture");
}

static const char *classend(match_state *ms, const char *p) {
    switch (*p++) {
    case L_ESC:
        if (p == ms->p_end) luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 1;
    case '[':
        if (*p == '^') p++;
        do {
            if (p == ms->p_end) luaL_error(ms->L, "malformed pattern (missing ']')");
            if (*(p++) == L_ESC && p < ms->p_end) p++;
        } while (*p != ']');
        return p + 1;
    default:
        return p;
    }
}

/* %a, %c, ... (a lower-case class letter; upper case is the complement). */
static int match_class(int c, int cl) {
    static const char names[] = "acdglpsuwxz";
    static int (*const tests[])(int) = {isalpha, iscntrl, isdigit, isgraph, islower,
                                        ispunct, isspace, isupper, isalnum, isxdigit};
    const char *at = strchr(names, tolower(cl));
    if (at == NULL || *at == '\0') return cl == c;
    size_t i = (size_t)(at - names);
    int res = i < sizeof tests / sizeof *tests ? tests[i](c) != 0 : c == 0;
    return islower(cl) ? res : !res;
}

static int matchbracketclass(int c, const char *p, const char *ec) {
    int sig = 1;
    if (*(p + 1) == '^') {
        sig = 0;
        p++;
    }
    while (++p < ec) {
        if (*p == L_ESC) {
            p++;
            if (match_class(c, uchar(*p))) return sig;
        } else if (*(p + 1) == '-' && p + 2 < ec) {
            p += 2;
            if (uchar(*(p - 2)) <= c && c <= uchar(*p)) return sig;
        } else if (uchar(*p) == c) {
            return sig;
        }
    }
    return !sig;
}

static int singlematch(match_state *ms, const char *s, const char *p, const char *ep) {
    if (s >= ms->src_end) return 0;
    int c = uchar(*s);
    switch (*p) {
    case '.':
        return 1;
    case L_ESC:
        return match_class(c, uchar(*(p + 1)));
    case '[':
        return matchbracketclass(c, p, ep - 1);
    default:
        return uchar(*p) == c;
    }
}

static const char *matchbalance(match_state *ms, const char *s, const char *p) {
    if (p >= ms->p_end - 1) luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (*s != *p) return NULL;
    int b = *p, e = *(p + 1), cont = 1;
    const char *start = s;
    while (++s < ms->src_end) {
        if (*s == e) {
            if (--cont == 0) {
                step(ms, (s - start) / 16);
                return s + 1;
            }
        } else if (*s == b) {
            cont++;
        }
    }
    step(ms, (s - start) / 16);
    return NULL;
}

static const char *max_expand(match_state *ms, const char *s, const char *p, const char *ep) {
    ptrdiff_t i = 0;
    while (singlematch(ms, s + i, p, ep)) i++;
    step(ms, i / 16);
    while (i >= 0) {
        const char *res = match(ms, s + i, ep + 1);
        if (res) return res;
        i--;
    }
    return NULL;
}

static const char *min_expand(match_state *ms, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *res = match(ms, s, ep + 1);
        if (res != NULL) return res;
        if (!singlematch(ms, s, p, ep)) return NULL;
        s++;
    }
}

static const char *start_capture(match_state *ms, const char *s, const char *p, int what) {
    int level = ms->level;
    if (level >= MAXCAPTURES) luaL_error(ms->L, "too many captures");
    ms->capture[level].init = s;
    ms->capture[level].len = what;
    ms->level = (unsigned char)(level + 1);
    const char *res = match(ms, s, p);
    if (res == NULL) ms->level--;
    return res;
}

static const char *end_capture(match_state *ms, const char *s, const char *p) {
    int l = capture_to_close(ms);
    ms->capture[l].len = s - ms->capture[l].init;
    const char *res = match(ms, s, p);
    if (res == NULL) ms->capture[l].len = CAP_UNFINISHED;
    return res;
}

static const char *match_capture(match_state *ms, const char *s, int l) {
    l = check_capture(ms, l);
    size_t len = (size_t)ms->capture[l].len;
    step(ms, (lua_Integer)(len / 16));
    if ((size_t)(ms->src_end - s) >= len && memcmp(ms->capture[l].init, s, len) == 0)
        return s + len;
    return NULL;
}

/* The item at p with an optional suffix (the default case of match).
 * Returns the end of the match, or NULL; *tail is set when matching goes
 * on at (*s_out, *p_out) (a loop in match instead of recursion). */
static const char *match_item(match_state *ms, const char *s, const char **pp, int *tail) {
    const char *p = *pp, *ep = classend(ms, p);
    *tail = 0;
    if (!singlematch(ms, s, p, ep)) {
        if (*ep == '*' || *ep == '?' || *ep == '-') {
            *pp = ep + 1;
            *tail = 1;
            return s;
        }
        return NULL;
    }
    switch (*ep) {
    case '?': {
        const char *res = match(ms, s + 1, ep + 1);
        if (res != NULL) return res;
        *pp = ep + 1;
        *tail = 1;
        return s;
    }
    case '+':
        return max_expand(ms, s + 1, p, ep);
    case '*':
        return max_expand(ms, s, p, ep);
    case '-':
        return min_expand(ms, s, p, ep);
    default:
        *pp = ep;
        *tail = 1;
        return s + 1;
    }
}

static const char *match(match_state *ms, const char *s, const char *p) {
    if (ms->matchdepth-- == 0) luaL_error(ms->L, "pattern too complex");
    for (;;) {
        step(ms, 1);
        if (p == ms->p_end) break;
        int tail = 0;
        switch (*p) {
        case '(':
            s = (*(p + 1) == ')') ? start_capture(ms, s, p + 2, CAP_POSITION)
                                  : start_capture(ms, s, p + 1, CAP_UNFINISHED);
            break;
        case ')':
            s = end_capture(ms, s, p + 1);
            break;
        case '$':
            if (p + 1 != ms->p_end) {
                s = match_item(ms, s, &p, &tail);
                break;
            }
            s = (s == ms->src_end) ? s : NULL;
            break;
        case L_ESC:
            switch (*(p + 1)) {
            case 'b':
                s = matchbalance(ms, s, p + 2);
                if (s != NULL) {
                    p += 4;
                    tail = 1;
                }
                break;
            case 'f': {
                p += 2;
                if (*p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
                const char *ep = classend(ms, p);
                char previous = (s == ms->src_init) ? '\0' : *(s - 1);
                if (!matchbracketclass(uchar(previous), p, ep - 1) &&
                    matchbracketclass(uchar(*s), p, ep - 1)) {
                    p = ep;
                    tail = 1;
                } else {
                    s = NULL;
                }
                break;
            }
            default:
                if (!isdigit(uchar(*(p + 1)))) {
                    s = match_item(ms, s, &p, &tail);
                    break;
                }
                s = match_capture(ms, s, uchar(*(p + 1)));
                if (s != NULL) {
                    p += 2;
                    tail = 1;
                }
                break;
            }
            break;
        default:
            s = match_item(ms, s, &p, &tail);
            break;
        }
        if (!tail) break;
    }
    ms->matchdepth++;
    return s;
}

/* Plain search of s2 in s1, charged by the candidates it compares. */
static const char *lmemfind(match_state *ms, const char *s1, size_t l1, const char *s2, size_t l2) {
    if (l2 == 0) return s1;
    if (l2 > l1) return NULL;
    const char *init;
    l2--;
    l1 = l1 - l2;
    while (l1 > 0 && (init = memchr(s1, *s2, l1)) != NULL) {
        step(ms, 1 + (lua_Integer)((size_t)(init - s1) + l2) / 16);
        init++;
        if (memcmp(init, s2 + 1, l2) == 0) return init - 1;
        l1 -= (size_t)(init - s1);
        s1 = init;
    }
    return NULL;
}

static size_t get_onecapture(match_state *ms, int i, const char *s, const char *e,
                             const char **cap) {
    if (i >= ms->level) {
        if (i != 0) luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        *cap = s;
        return (size_t)(e - s);
    }
    ptrdiff_t capl = ms->capture[i].len;
    *cap = ms->capture[i].init;
    if (capl == CAP_UNFINISHED)
        luaL_error(ms->L, "unfinished capture");
    else if (capl == CAP_POSITION)
        lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
    return (size_t)capl;
}

static void push_onecapture(match_state *ms, int i, const char *s, const char *e) {
    const char *cap;
    size_t l = get_onecapture(ms, i, s, e, &cap);
    if (l != (size_t)CAP_POSITION) lua_pushlstring(ms->L, cap, l);
}

static int push_captures(match_state *ms, const char *s, const char *e) {
    int nlevels = (ms->level == 0 && s) ? 1 : ms->level;
    luaL_checkstack(ms->L, nlevels, "too many captures");
    for (int i = 0; i < nlevels; i++) push_onecapture(ms, i, s, e);
    return nlevels;
}

static int nospecials(const char *p, size_t l) {
    size_t upto = 0;
    do {
        if (strpbrk(p + upto, SPECIALS)) return 0;
        upto += strlen(p + upto) + 1;
    } while (upto <= l);
    return 1;
}

static void prepstate(match_state *ms, lua_State *L, const char *s, size_t ls, const char *p,
                      size_t lp) {
    ms->L = L;
    ms->matchdepth = MAXCCALLS;
    ms->src_init = s;
    ms->src_end = s + ls;
    ms->p_end = p + lp;
    ms->steps = 0;
}

static int find_aux(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    match_state ms;
    prepstate(&ms, L, s, ls, p, lp);
    if (find && (lua_toboolean(L, 4) || nospecials(p, lp))) {
        const char *s2 = lmemfind(&ms, s + init, ls - init, p, lp);
        flush(&ms);
        if (s2) {
            lua_pushinteger(L, (s2 - s) + 1);
            lua_pushinteger(L, (lua_Integer)((size_t)(s2 - s) + lp));
            return 2;
        }
    } else {
        const char *s1 = s + init;
        int anchor = (*p == '^');
        if (anchor) prepstate(&ms, L, s, ls, ++p, --lp);
        do {
            ms.level = 0;
            const char *res = match(&ms, s1, p);
            if (res != NULL) {
                flush(&ms);
                if (find) {
                    lua_pushinteger(L, (s1 - s) + 1);
                    lua_pushinteger(L, res - s);
                    return push_captures(&ms, NULL, 0) + 2;
                }
                return push_captures(&ms, s1, res);
            }
        } while (s1++ < ms.src_end && !anchor);
        flush(&ms);
    }
    luaL_pushfail(L);
    return 1;
}

static int str_find(lua_State *L) {
    return find_aux(L, 1);
}
static int str_match(lua_State *L) {
    return find_aux(L, 0);
}

typedef struct {
    const char *src, *p, *lastmatch;
    match_state ms;
} gmatch_state;

static int gmatch_aux(lua_State *L) {
    gmatch_state *gm = lua_touserdata(L, lua_upvalueindex(3));
    gm->ms.L = L;
    for (const char *src = gm->src; src <= gm->ms.src_end; src++) {
        gm->ms.level = 0;
        const char *e = match(&gm->ms, src, gm->p);
        if (e != NULL && e != gm->lastmatch) {
            flush(&gm->ms);
            gm->src = gm->lastmatch = e;
            return push_captures(&gm->ms, src, e);
        }
    }
    flush(&gm->ms);
    return 0;
}

static int str_gmatch(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2); /* the strings stay alive as upvalues */
    gmatch_state *gm = lua_newuserdatauv(L, sizeof *gm, 0);
    if (init > ls) init = ls + 1;
    prepstate(&gm->ms, L, s, ls, p, lp);
    gm->src = s + init;
    gm->p = p;
    gm->lastmatch = NULL;
    lua_pushcclosure(L, gmatch_aux, 3);
    return 1;
}

static void add_s(match_state *ms, luaL_Buffer *b, const char *s, const char *e) {
    size_t l;
    lua_State *L = ms->L;
    const char *news = lua_tolstring(L, 3, &l);
    const char *p;
    step(ms, (lua_Integer)(l / 16));
    while ((p = memchr(news, L_ESC, l)) != NULL) {
        luaL_addlstring(b, news, (size_t)(p - news));
        p++;
        if (*p == L_ESC) {
            luaL_addchar(b, *p);
        } else if (*p == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit(uchar(*p))) {
            const char *cap;
            size_t resl = get_onecapture(ms, *p - '1', s, e, &cap);
            if (resl == (size_t)CAP_POSITION)
                luaL_addvalue(b);
            else
                luaL_addlstring(b, cap, resl);
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", L_ESC);
        }
        l -= (size_t)(p + 1 - news);
        news = p + 1;
    }
    luaL_addlstring(b, news, l);
}

static int add_value(match_state *ms, luaL_Buffer *b, const char *s, const char *e, int tr) {
    lua_State *L = ms->L;
    switch (tr) {
    case LUA_TFUNCTION: {
        flush(ms); /* the function's own work is counted by the hook */
        lua_pushvalue(L, 3);
        int n = push_captures(ms, s, e);
        lua_call(L, n, 1);
        break;
    }
    case LUA_TTABLE:
        push_onecapture(ms, 0, s, e);
        lua_gettable(L, 3);
        break;
    default:
        add_s(ms, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int str_gsub(lua_State *L) {
    size_t srcl, lp;
    const char *src = luaL_checklstring(L, 1, &srcl);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *lastmatch = NULL;
    int tr = lua_type(L, 3);
    lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
    int anchor = (*p == '^');
    lua_Integer n = 0;
    int changed = 0;
    match_state ms;
    luaL_Buffer b;
    luaL_argexpected(
        L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
        "string/function/table");
    luaL_buffinit(L, &b);
    if (anchor) {
        p++;
        lp--;
    }
    prepstate(&ms, L, src, srcl, p, lp);
    while (n < max_s) {
        ms.level = 0;
        const char *e = match(&ms, src, p);
        if (e != NULL && e != lastmatch) {
            n++;
            changed = add_value(&ms, &b, src, e, tr) | changed;
            src = lastmatch = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor) break;
    }
    flush(&ms);
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

/* string.rep, charged before it copies: one step per 8 copies and per 64
 * bytes, so `string.rep("", 1e15)` (a quadrillion empty copies, no memory)
 * is refused at once, and a 100 MB result costs 14% of a sim's budget.
 * The buffer is taken first, so a result beyond the memory cap is reported
 * as such. */
static int str_rep(lua_State *L) {
    size_t l, lsep;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    if (l + lsep < l || l + lsep > MAXSIZE / (size_t)n)
        return luaL_error(L, "resulting string too large");
    size_t total = (size_t)n * l + (size_t)(n - 1) * lsep;
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, total); /* the memory cap first */
    lms_sandbox_charge(L, n / 8 + (lua_Integer)(total / 64));
    while (n-- > 1) {
        memcpy(p, s, l);
        p += l;
        if (lsep > 0) {
            memcpy(p, sep, lsep);
            p += lsep;
        }
    }
    memcpy(p, s, l);
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
