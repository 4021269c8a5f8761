/* Reads common to Store and Version, on an ms_view: get, digest, read (the
 * CubeFS read operations with their integrity verdict) and scan (an
 * ordered, prefix-bounded iterator: mastersim.Scan). */
#include "lms_store.h"

#include "ms_ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A scan in progress: the iterator's upvalue 1 and the generic for's
 * closing value. user value 1: the family's StoreMem; user value 2: the
 * Store or Version scanned (kept alive; owner points into it). */
typedef struct lscan {
    ms_iter it;
    ms_version *pin;  /* what the iterator walks; NULL once ended or closed */
    lms_store *owner; /* live store whose writes end the scan; NULL for a Version */
    uint64_t writes;  /* owner->writes when the scan began */
    size_t pfx_len;
    unsigned char pfx[]; /* the prefix, owned here: ms_iter points at it */
} lscan;

/* get(key) -> value, or nil when absent. */
int lms_view_get(lua_State *L, const ms_view *v) {
    size_t kl, vl;
    const char *k = luaL_checklstring(L, 2, &kl);
    const char *val = ms_view_get(v, k, kl, &vl);
    if (val)
        lua_pushlstring(L, val, vl);
    else
        lua_pushnil(L);
    return 1;
}

/* digest() -> the content digest as 16 hex digits. */
int lms_view_digest(lua_State *L, const ms_view *v) {
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, ms_view_digest(v));
    lua_pushstring(L, hex);
    return 1;
}

/* The read op named by argument arg; raises listing the valid names. */
static ms_read_op check_op(lua_State *L, int arg) {
    const char *name = luaL_checkstring(L, arg);
    ms_read_op op;
    if (ms_ops_op_parse(name, &op) == 0) return op;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "unknown read op '%s' (expected one of:", name);
    luaL_addvalue(&b);
    for (int i = 0; i < MS_OP_COUNT; i++) {
        luaL_addchar(&b, ' ');
        luaL_addstring(&b, ms_ops_op_name((ms_read_op)i));
    }
    luaL_addchar(&b, ')');
    luaL_pushresult(&b);
    luaL_argerror(L, arg, lua_tostring(L, -1));
    return op;
}

/* Optional id at arg: an integer >= 0, 0 when absent. */
static uint64_t opt_id(lua_State *L, int arg) {
    if (lua_isnoneornil(L, arg)) return 0;
    int64_t id = lms_checkint64(L, arg);
    luaL_argcheck(L, id >= 0, arg, "id must be >= 0");
    return (uint64_t)id;
}

/* read(op, a, b) -> {verdict=, why=, entries=, bytes=, applied=}; a is the
 * vol or node id, b the dp id (ms_ops_run). */
int lms_view_read(lua_State *L, const ms_view *v) {
    ms_read_op op = check_op(L, 2);
    uint64_t a = opt_id(L, 3), b = opt_id(L, 4);
    ms_read_result r = ms_ops_run(v, op, a, b);
    lua_createtable(L, 0, 5);
    lua_pushstring(L, ms_ops_verdict_name(r.verdict)), lua_setfield(L, -2, "verdict");
    if (r.why) lua_pushstring(L, r.why), lua_setfield(L, -2, "why");
    lua_pushinteger(L, (lua_Integer)r.entries), lua_setfield(L, -2, "entries");
    lua_pushinteger(L, (lua_Integer)r.bytes), lua_setfield(L, -2, "bytes");
    lua_pushinteger(L, (lua_Integer)r.applied), lua_setfield(L, -2, "applied");
    return 1;
}

/* End the scan: drop its pin. Idempotent. */
static void scan_end(lscan *sc) {
    ms_version_release(sc->pin);
    sc->pin = NULL;
}

/* The iterator: next key, value; nil at the end. Raises (after ending the
 * scan) when the live store was written or closed since the scan began. */
static int scan_next(lua_State *L) {
    lscan *sc = lua_touserdata(L, lua_upvalueindex(1));
    if (sc->pin == NULL) return 0;
    if (sc->owner && (sc->owner->s == NULL || sc->owner->writes != sc->writes)) {
        scan_end(sc);
        return luaL_error(L,
                          sc->owner->s ? "store modified during scan" : "store closed during scan");
    }
    if (!ms_iter_next(&sc->it)) {
        scan_end(sc);
        return 0;
    }
    size_t kl, vl;
    const char *k = ms_iter_key(&sc->it, &kl), *v = ms_iter_value(&sc->it, &vl);
    lua_pushlstring(L, k, kl);
    lua_pushlstring(L, v, vl);
    return 2;
}

int lms_view_scan(lua_State *L, lms_store *owner, ms_version *v) {
    size_t n = 0;
    const char *pfx = luaL_optlstring(L, 2, NULL, &n);
    lscan *sc = lua_newuserdatauv(L, sizeof *sc + n, 2);
    *sc = (lscan){.owner = owner, .writes = owner ? owner->writes : 0, .pfx_len = n};
    memcpy(sc->pfx, pfx ? pfx : "", n);
    luaL_setmetatable(L, LMS_SCAN);
    lua_getiuservalue(L, 1, 1);
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 2);
    sc->pin = owner ? ms_store_snapshot(owner->s) : v;
    if (sc->pin == NULL) return luaL_error(L, "out of memory starting a scan");
    if (!owner) ms_version_retain(v);
    ms_view view = ms_version_view(sc->pin);
    ms_iter_prefix(&sc->it, &view, sc->pfx, n);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, scan_next, 1); /* scan, iterator */
    lua_insert(L, -2);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_rotate(L, -3, 2);
    return 4; /* iterator, nil, nil, scan */
}

/* __close, __gc: end the scan. */
static int scan_close(lua_State *L) {
    scan_end(luaL_checkudata(L, 1, LMS_SCAN));
    return 0;
}

static int scan_tostring(lua_State *L) {
    lscan *sc = luaL_checkudata(L, 1, LMS_SCAN);
    lua_pushfstring(L, LMS_SCAN " (%s, %s)", sc->owner ? "store" : "version",
                    sc->pin ? "open" : "ended");
    return 1;
}

void lms_open_view(lua_State *L) {
    static const luaL_Reg meta[] = {
        {"__gc", scan_close},
        {"__close", scan_close},
        {"__tostring", scan_tostring},
        {NULL, NULL},
    };
    lms_newclass(L, LMS_SCAN, NULL, meta);
}
