/* Snapshot streams from Lua.
 *
 * core.snapshot_export(version, opts) -> mastersim.SnapExport, whose next()
 * yields the frames; core.snapshot_import(store, mode) ->
 * mastersim.SnapImport, which takes them back chunk by chunk. Corrupt input
 * and a finish before the end frame are expected outcomes: nil, msg. An
 * importer keeps its target Store alive (user value 1) and is linked from
 * it (lms_store.imp), so closing the store aborts the import first and a
 * store takes one import at a time. An exporter anchors the family's
 * StoreMem (user value 1); the core retains the version it exports. */
#include "lms_store.h"

#include "ms_snapshot.h"

#include <string.h>

typedef struct lexp {
    ms_snap_exp *e; /* NULL once closed */
} lexp;

typedef struct lms_snapimp {
    ms_snap_imp *imp;      /* NULL once finished, aborted or closed */
    lms_store *target;     /* the Store written (user value 1); NULL once detached */
    ms_snap_progress last; /* progress as of the last chunk, kept after the end */
    int finished;          /* finish() succeeded */
} lms_snapimp;

/* --- export ------------------------------------------------------------- */

static ms_snap_exp *exp_self(lua_State *L) {
    lexp *u = lms_checkself(L, LMS_SNAPEXPORT);
    if (u->e == NULL) luaL_error(L, "attempt to use a closed SnapExport");
    return u->e;
}

/* The export options (argument 2, optional): {entries=, bytes=, term=}. */
static ms_snap_opts export_opts(lua_State *L) {
    static const char *const known[] = {"entries", "bytes", "term", NULL};
    ms_snap_opts o = {0, 0, 0, NULL};
    if (lua_isnoneornil(L, 2)) return o;
    luaL_checktype(L, 2, LUA_TTABLE);
    lms_checkfields(L, 2, "snapshot_export", known);
    o.max_entries = (uint32_t)lms_optfield_u64(L, 2, "snapshot_export", "entries", UINT32_MAX);
    o.max_bytes = (uint32_t)lms_optfield_u64(L, 2, "snapshot_export", "bytes", UINT32_MAX);
    o.term = lms_optfield_u64(L, 2, "snapshot_export", "term", UINT64_MAX);
    return o;
}

/* core.snapshot_export(version, {entries=, bytes=, term=}) -> SnapExport. */
static int lms_snap_export_begin(lua_State *L) {
    lms_version *ver = lms_version_check(L, 1);
    ms_snap_opts o = export_opts(L);
    lexp *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->e = NULL;
    luaL_setmetatable(L, LMS_SNAPEXPORT);
    lua_getiuservalue(L, 1, 1);
    lua_setiuservalue(L, -2, 1);
    u->e = ms_snap_export_begin(ver->v, &o);
    if (u->e == NULL) return luaL_error(L, "out of memory starting an export");
    return 1;
}

/* next() -> the next frame (a string), nil after the end frame, or nil, msg
 * when an entry cannot fit a frame. */
static int lms_snap_export_next(lua_State *L) {
    const void *frame;
    size_t len;
    char err[200];
    int r = ms_snap_export_next(exp_self(L), &frame, &len, err, sizeof err);
    if (r > 0) {
        lua_pushlstring(L, frame, len);
        return 1;
    }
    lua_pushnil(L);
    if (r == 0) return 1;
    lua_pushstring(L, err);
    return 2;
}

static int lms_snap_export_bytes(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ms_snap_export_bytes(exp_self(L)));
    return 1;
}

static int lms_snap_export_frames(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ms_snap_export_frames(exp_self(L)));
    return 1;
}

static int lms_snap_export_entries(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ms_snap_export_entries(exp_self(L)));
    return 1;
}

/* close(), __close, __gc: free the exporter and its version reference. */
static int lms_snap_export_close(lua_State *L) {
    lexp *u = luaL_checkudata(L, 1, LMS_SNAPEXPORT);
    ms_snap_export_end(u->e);
    u->e = NULL;
    return 0;
}

static int lms_snap_export_tostring(lua_State *L) {
    lexp *u = luaL_checkudata(L, 1, LMS_SNAPEXPORT);
    if (u->e == NULL)
        lua_pushliteral(L, LMS_SNAPEXPORT " (closed)");
    else
        lua_pushfstring(L, LMS_SNAPEXPORT " (%I frames, %I bytes)",
                        (lua_Integer)ms_snap_export_frames(u->e),
                        (lua_Integer)ms_snap_export_bytes(u->e));
    return 1;
}

/* --- import ------------------------------------------------------------- */

/* The import of a method's self; raises once it is over. */
static lms_snapimp *imp_self(lua_State *L) {
    lms_snapimp *u = lms_checkself(L, LMS_SNAPIMPORT);
    if (u->imp == NULL) luaL_error(L, "attempt to use a finished or aborted SnapImport");
    return u;
}

/* Forget the core importer (already freed) and unlink from the target. */
static void imp_detach(lms_snapimp *u) {
    u->imp = NULL;
    if (u->target) {
        u->target->imp = NULL;
        u->target->writes++;
        u->target = NULL;
    }
}

void lms_snapimp_abort(lms_snapimp *u) {
    ms_snap_import_abort(u->imp);
    imp_detach(u);
}

/* core.snapshot_import(store, "reopen" | "inplace" | "aside") -> SnapImport.
 * Nothing changes in the store until the first chunk. */
static int lms_snap_import_begin(lua_State *L) {
    lms_store *s = lms_store_check(L, 1);
    const char *name = luaL_checkstring(L, 2);
    ms_snap_mode mode;
    if (ms_snap_mode_parse(name, &mode) != 0)
        return luaL_argerror(
            L, 2, lua_pushfstring(L, "mode must be reopen, inplace or aside (got '%s')", name));
    if (s->imp) return luaL_error(L, "the store already has an unfinished snapshot import");
    lms_snapimp *u = lua_newuserdatauv(L, sizeof *u, 1);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, LMS_SNAPIMPORT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    u->imp = ms_snap_import_begin(s->s, mode);
    if (u->imp == NULL) return luaL_error(L, "out of memory starting an import");
    u->target = s;
    s->imp = u;
    return 1;
}

/* chunk(frame) -> true, or nil, msg naming the frame (the import then
 * accepts nothing more: abort it). */
static int lms_snap_import_chunk(lua_State *L) {
    lms_snapimp *u = imp_self(L);
    size_t len;
    const char *frame = luaL_checklstring(L, 2, &len);
    char err[256];
    int r = ms_snap_import_chunk(u->imp, frame, len, err, sizeof err);
    u->target->writes++;
    u->last = ms_snap_import_progress(u->imp);
    return lms_push_ok(L, r, err);
}

/* progress() -> {entries=, total=, frames=, bytes=, index=, term=, done=};
 * after the import is over, as it stood at the end. */
static int lms_snap_import_progress(lua_State *L) {
    lms_snapimp *u = lms_checkself(L, LMS_SNAPIMPORT);
    const ms_snap_progress *p = &u->last;
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, (lua_Integer)p->entries), lua_setfield(L, -2, "entries");
    lua_pushinteger(L, (lua_Integer)p->total), lua_setfield(L, -2, "total");
    lua_pushinteger(L, (lua_Integer)p->frames), lua_setfield(L, -2, "frames");
    lua_pushinteger(L, (lua_Integer)p->bytes), lua_setfield(L, -2, "bytes");
    lua_pushinteger(L, (lua_Integer)p->index), lua_setfield(L, -2, "index");
    lua_pushinteger(L, (lua_Integer)p->term), lua_setfield(L, -2, "term");
    lua_pushboolean(L, p->done), lua_setfield(L, -2, "done");
    return 1;
}

/* finish() -> true once the store holds the snapshot, or nil, msg (before
 * the end frame; the import stays open). */
static int lms_snap_import_finish(lua_State *L) {
    lms_snapimp *u = imp_self(L);
    char err[200];
    if (ms_snap_import_finish(u->imp, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    imp_detach(u); /* the core freed it */
    u->finished = 1;
    lua_pushboolean(L, 1);
    return 1;
}

/* abort(), close(), __close, __gc: give up an unfinished import (aside
 * leaves the store as it was; reopen and inplace mark it broken once
 * touched). Idempotent. */
static int lms_snap_import_abort(lua_State *L) {
    lms_snapimp *u = luaL_checkudata(L, 1, LMS_SNAPIMPORT);
    if (u->imp) lms_snapimp_abort(u);
    return 0;
}

static int lms_snap_import_tostring(lua_State *L) {
    lms_snapimp *u = luaL_checkudata(L, 1, LMS_SNAPIMPORT);
    lua_pushfstring(L, LMS_SNAPIMPORT " (%s, %I frames)",
                    u->imp        ? "open"
                    : u->finished ? "finished"
                                  : "aborted",
                    (lua_Integer)u->last.frames);
    return 1;
}

void lms_open_snapshot(lua_State *L) {
    static const luaL_Reg exp_methods[] = {
        {"next", lms_snap_export_next},     {"bytes", lms_snap_export_bytes},
        {"frames", lms_snap_export_frames}, {"entries", lms_snap_export_entries},
        {"close", lms_snap_export_close},   {NULL, NULL},
    };
    static const luaL_Reg exp_meta[] = {
        {"__gc", lms_snap_export_close},
        {"__close", lms_snap_export_close},
        {"__tostring", lms_snap_export_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg imp_methods[] = {
        {"chunk", lms_snap_import_chunk},   {"progress", lms_snap_import_progress},
        {"finish", lms_snap_import_finish}, {"abort", lms_snap_import_abort},
        {"close", lms_snap_import_abort},   {NULL, NULL},
    };
    static const luaL_Reg imp_meta[] = {
        {"__gc", lms_snap_import_abort},
        {"__close", lms_snap_import_abort},
        {"__tostring", lms_snap_import_tostring},
        {NULL, NULL},
    };
    lms_newclass(L, LMS_SNAPEXPORT, exp_methods, exp_meta);
    lms_newclass(L, LMS_SNAPIMPORT, imp_methods, imp_meta);
    lua_pushcfunction(L, lms_snap_export_begin);
    lua_setfield(L, -2, "snapshot_export");
    lua_pushcfunction(L, lms_snap_import_begin);
    lua_setfield(L, -2, "snapshot_import");
}
