/* What scripts get in place of the base functions whose results would
 * depend on the process rather than on the run, and of the C functions
 * that loop without the count hook seeing them:
 *  - tostring, print and string.format name tables, functions, userdata
 *    and threads "table: #3" (the order the sandbox first named them since
 *    the last core.sandbox_reset) instead of by address; '%p' is refused;
 *  - next and pairs visit keys in a fixed order (booleans, then numbers by
 *    value, then strings bytewise) instead of hash order, which for string
 *    keys depends on the per-state hash seed (time and addresses: lstate.c
 *    luai_makeseed) and for object keys on addresses. Keys that are
 *    objects have no such order: iterating over them is an error;
 *  - table.concat, insert, remove, move and sort charge the elements they
 *    will visit to the step budget before visiting them. */
#include "lms_sandbox.h"

#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names without addresses ---- */

/* True when the value at idx would be printed with its address. */
static int needs_id(lua_State *L, int idx) {
    switch (lua_type(L, idx)) {
    case LUA_TTABLE:
    case LUA_TFUNCTION:
    case LUA_TUSERDATA:
    case LUA_TTHREAD:
    case LUA_TLIGHTUSERDATA:
        break;
    default:
        return 0;
    }
    if (luaL_getmetafield(L, idx, "__tostring") == LUA_TNIL) return 1;
    lua_pop(L, 1);
    return 0;
}

/* Push the sandbox's string for the value at idx. Stack: [-0, +1]. */
static void push_string(lua_State *L, int idx) {
    if (needs_id(L, idx))
        lms_sandbox_pushid(L, idx);
    else
        luaL_tolstring(L, idx, NULL);
}

static int sb_tostring(lua_State *L) {
    luaL_checkany(L, 1);
    push_string(L, 1);
    return 1;
}

static int sb_print(lua_State *L) {
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t l;
        push_string(L, i);
        const char *s = lua_tolstring(L, -1, &l);
        if (i > 1) fputc('\t', stdout);
        fwrite(s, 1, l, stdout);
        lua_pop(L, 1);
    }
    fputc('\n', stdout);
    fflush(stdout);
    return 0;
}

/* Walk the conversions of format f (n bytes): name the objects that '%s'
 * conversions take (argument 2 onwards) as tostring does, and refuse '%p'
 * (it prints addresses). Other conversions get their argument unchanged,
 * so format raises its own errors for them. */
static void name_format_args(lua_State *L, const char *f, size_t n) {
    int arg = 1, top = lua_gettop(L);
    for (size_t i = 0; i < n; i++) {
        if (f[i] != '%') continue;
        if (++i < n && f[i] == '%') continue;
        while (i < n && strchr("-+ #0123456789.", f[i])) i++;
        if (i >= n) return;
        arg++;
        if (f[i] == 'p') {
            luaL_where(L, 2); /* the script that called the format wrapper */
            lua_pushliteral(L, "mastersim sandbox: string.format's '%p' is not available in a "
                               "script (addresses differ from run to run)");
            lua_concat(L, 2);
            lua_error(L);
        }
        if (f[i] == 's' && arg <= top && needs_id(L, arg)) {
            lms_sandbox_pushid(L, arg);
            lua_replace(L, arg);
        }
    }
}

int lms_sandbox_format_args(lua_State *L) {
    size_t n;
    const char *f = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    if (f) name_format_args(L, f, n);
    return lua_gettop(L);
}

/* ---- a fixed key order ---- */

typedef struct {
    int rank; /* 0 boolean, 1 number, 2 string */
    int isint, slot;
    lua_Integer i;
    lua_Number f;
    const char *s;
    size_t len;
} key;

/* Describe the key at idx (which must stay on the stack or in a table
 * while k is used: k->s points into it). Raises for object keys. */
static void key_of(lua_State *L, int idx, key *k) {
    *k = (key){0};
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        k->i = lua_toboolean(L, idx);
        k->isint = 1;
        return;
    case LUA_TNUMBER:
        k->rank = 1;
        k->isint = lua_isinteger(L, idx);
        if (k->isint)
            k->i = lua_tointeger(L, idx);
        else
            k->f = lua_tonumber(L, idx);
        return;
    case LUA_TSTRING:
        k->rank = 2;
        k->s = lua_tolstring(L, idx, &k->len);
        return;
    default:
        luaL_error(L,
                   "mastersim sandbox: next/pairs over a table with a %s key has no fixed "
                   "order (keep such keys in a list)",
                   luaL_typename(L, idx));
    }
}

static int cmp_number(const key *a, const key *b) {
    if (a->isint && b->isint) return (a->i > b->i) - (a->i < b->i);
    if (!a->isint && !b->isint) return (a->f > b->f) - (a->f < b->f);
    if (a->isint) return -cmp_number(b, a);
    /* a float key, b integer: a float key is never integral inside the
     * integer range (Lua stores those as integers), so equal after the
     * conversion means a is +-2^63, beyond every integer */
    lua_Number bi = (lua_Number)b->i;
    if (a->f != bi) return (a->f > bi) - (a->f < bi);
    return a->f > 0 ? 1 : -1;
}

static int cmp_key(const void *pa, const void *pb) {
    const key *a = pa, *b = pb;
    if (a->rank != b->rank) return a->rank - b->rank;
    if (a->rank == 1) return cmp_number(a, b);
    if (a->rank == 0) return (int)(a->i - b->i);
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    if (c != 0) return c;
    return (a->len > b->len) - (a->len < b->len);
}

static lua_Integer log2_ceil(lua_Integer n) {
    lua_Integer l = 1;
    while (l < 62 && ((lua_Integer)1 << l) < n) l++;
    return l;
}

/* Push a sequence of the keys of the table at t in the fixed order, with
 * [0] = 0 (next's position in it). Stack: [-0, +1]. */
static void sorted_keys(lua_State *L, int t) {
    t = lua_absindex(L, t);
    lua_newtable(L);
    int all = lua_gettop(L);
    lua_Integer n = 0;
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
        lua_pushvalue(L, -2);
        lua_rawseti(L, all, ++n);
    }
    lms_sandbox_charge(L, n / 8 + n * log2_ceil(n) / 8);
    key *k = lua_newuserdatauv(L, (size_t)n * sizeof *k + 1, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_rawgeti(L, all, i + 1);
        key_of(L, -1, &k[i]); /* the string stays alive in `all` */
        k[i].slot = (int)(i + 1);
        lua_pop(L, 1);
    }
    qsort(k, (size_t)n, sizeof *k, cmp_key);
    lua_createtable(L, (int)n, 1);
    for (lua_Integer i = 0; i < n; i++) {
        lua_rawgeti(L, all, k[i].slot);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushinteger(L, 0);
    lua_rawseti(L, -2, 0);
    lua_replace(L, all);
    lua_pop(L, 1);
}

/* Position (1-based) of the key at idx in the sorted list at l of n keys,
 * or 0. Stack: [-0, +0]. */
static lua_Integer find_key(lua_State *L, int l, lua_Integer n, int idx) {
    key want, k;
    key_of(L, idx, &want);
    lua_Integer lo = 1, hi = n;
    while (lo <= hi) {
        lua_Integer mid = lo + (hi - lo) / 2;
        lua_rawgeti(L, l, mid);
        key_of(L, -1, &k);
        int c = cmp_key(&want, &k);
        lua_pop(L, 1);
        if (c == 0) return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return 0;
}

/* From position pos of the sorted list at l (over table 1), push the next
 * key with a value and its value, updating [0]; or push nil. Returns the
 * number of values pushed. */
static int advance(lua_State *L, int l, lua_Integer pos) {
    for (;;) {
        if (lua_rawgeti(L, l, ++pos) == LUA_TNIL) return 1;
        lua_pushvalue(L, -1);
        if (lua_rawget(L, 1) != LUA_TNIL) {
            lua_pushinteger(L, pos);
            lua_rawseti(L, l, 0);
            return 2;
        }
        lua_pop(L, 2);
    }
}

/* The smallest key of table 1 and its value, or nil: one pass, no list. */
static int first_key(lua_State *L) {
    int best = 0;
    key bk, k;
    lua_Integer n = 0;
    lua_pushnil(L); /* slot for the best key */
    int slot = lua_gettop(L);
    for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1)) {
        n++;
        key_of(L, -2, &k);
        if (!best || cmp_key(&k, &bk) < 0) {
            lua_pushvalue(L, -2);
            lua_replace(L, slot);
            key_of(L, slot, &bk);
            best = 1;
        }
    }
    lms_sandbox_charge(L, n / 8);
    if (!best) return 1;
    lua_pushvalue(L, slot);
    lua_rawget(L, 1);
    return 2;
}

/* next(t, k) in the fixed order. next(t) is one pass over t; the first
 * next(t, k) after it sorts t's keys and keeps the list (weakly, by t) so
 * that a traversal costs one sort. */
static int sb_next(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    lms_sandbox_uservalue(L, 2); /* 3: the cache */
    if (lua_isnil(L, 2)) {
        lua_pushvalue(L, 1);
        lua_pushnil(L);
        lua_rawset(L, 3);
        return first_key(L);
    }
    lua_pushvalue(L, 1);
    int hit = 0;
    if (lua_rawget(L, 3) == LUA_TTABLE) { /* 4: the list */
        lua_rawgeti(L, 4, 0);
        lua_Integer pos = lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_rawgeti(L, 4, pos);
        hit = lua_rawequal(L, -1, 2);
        lua_pop(L, 1);
        if (hit) return advance(L, 4, pos);
    }
    lua_pop(L, 1);
    sorted_keys(L, 1);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 4);
    lua_rawset(L, 3);
    lua_Integer pos = find_key(L, 4, (lua_Integer)lua_rawlen(L, 4), 2);
    if (pos == 0) return luaL_error(L, "invalid key to 'next'");
    return advance(L, 4, pos);
}

/* The iterator of pairs: upvalues the sorted list and the table. */
static int pairs_step(lua_State *L) {
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(2)); /* 1: the table (advance reads it) */
    lua_pushvalue(L, lua_upvalueindex(1)); /* 2: the list */
    lua_rawgeti(L, 2, 0);
    lua_Integer pos = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return advance(L, 2, pos);
}

/* pairs(t): __pairs if t has one (as Lua's pairs), else the keys in the
 * fixed order, sorted once. */
static int sb_pairs(lua_State *L) {
    luaL_checkany(L, 1);
    if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 3);
        return 3;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    sorted_keys(L, 1);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, pairs_step, 2);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* ---- table functions that charge what they visit ---- */

#define TAB_R 1
#define TAB_W 2
#define TAB_L 4

static int checkfield(lua_State *L, const char *k, int n) {
    lua_pushstring(L, k);
    return lua_rawget(L, -n) != LUA_TNIL;
}

/* ltablib.c's checktab: a table, or a value with the metamethods needed. */
static void checktab(lua_State *L, int arg, int what) {
    if (lua_type(L, arg) == LUA_TTABLE) return;
    int n = 1;
    if (lua_getmetatable(L, arg) && (!(what & TAB_R) || checkfield(L, "__index", ++n)) &&
        (!(what & TAB_W) || checkfield(L, "__newindex", ++n)) &&
        (!(what & TAB_L) || checkfield(L, "__len", ++n)))
        lua_pop(L, n);
    else
        luaL_checktype(L, arg, LUA_TTABLE);
}

static lua_Integer getn(lua_State *L, int what) {
    checktab(L, 1, what | TAB_L);
    return luaL_len(L, 1);
}

/* Charge the visit of n elements (8 per unit of budget). */
static void charge_elements(lua_State *L, lua_Integer n) {
    if (n > 0) lms_sandbox_charge(L, n / 8 + 1);
}

static int tinsert(lua_State *L) {
    lua_Integer e = luaL_intop(+, getn(L, TAB_R | TAB_W), 1);
    lua_Integer pos;
    switch (lua_gettop(L)) {
    case 2:
        pos = e;
        break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
        charge_elements(L, e - pos);
        for (lua_Integer i = e; i > pos; i--) {
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

static int tremove(lua_State *L) {
    lua_Integer size = getn(L, TAB_R | TAB_W);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1, "position out of bounds");
    charge_elements(L, size - pos);
    lua_geti(L, 1, pos);
    for (; pos < size; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

static int tmove(lua_State *L) {
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
    checktab(L, 1, TAB_R);
    checktab(L, tt, TAB_W);
    if (e >= f) {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        lua_Integer n = e - f + 1;
        luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        charge_elements(L, n);
        if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
            for (lua_Integer i = 0; i < n; i++) {
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        } else {
            for (lua_Integer i = n - 1; i >= 0; i--) {
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        }
    }
    lua_pushvalue(L, tt);
    return 1;
}

static void addfield(lua_State *L, luaL_Buffer *b, lua_Integer i) {
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid value (%s) at index %I in table for 'concat'", luaL_typename(L, -1),
                   i);
    luaL_addvalue(b);
}

static int tconcat(lua_State *L) {
    luaL_Buffer b;
    lua_Integer last = getn(L, TAB_R);
    size_t lsep;
    const char *sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    last = luaL_optinteger(L, 4, last);
    if (last >= i) charge_elements(L, (lua_Integer)((lua_Unsigned)last - (lua_Unsigned)i) + 1);
    luaL_buffinit(L, &b);
    for (; i < last; i++) {
        addfield(L, &b, i);
        luaL_addlstring(&b, sep, lsep);
    }
    if (i == last) addfield(L, &b, i);
    luaL_pushresult(&b);
    return 1;
}

/* table.sort: the stock sort (upvalue 1), after charging n log n for the
 * n = #t it will sort (#t is taken twice when t has a __len). */
static int tsort(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, 1);
        if (n > 1) lms_sandbox_charge(L, n * log2_ceil(n) / 8 + 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 0);
    return 0;
}

/* sandbox_table() -> a copy of the table library with the charged
 * functions. */
static int sandbox_table(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"insert", tinsert}, {"remove", tremove}, {"move", tmove},
        {"concat", tconcat}, {NULL, NULL},
    };
    lms_sandbox_copylib(L, LUA_TABLIBNAME);
    luaL_setfuncs(L, fns, 0);
    lua_getfield(L, -1, "sort");
    lua_pushcclosure(L, tsort, 1);
    lua_setfield(L, -2, "sort");
    return 1;
}

void lms_sandbox_env_setfuncs(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"sandbox_tostring", sb_tostring}, {"sandbox_print", sb_print},
        {"sandbox_next", sb_next},         {"sandbox_pairs", sb_pairs},
        {"sandbox_table", sandbox_table},  {NULL, NULL},
    };
    lms_setfuncs(L, fns);
}
