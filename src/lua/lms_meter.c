/* The step meter: Lua source rewritten so that the code charges its own
 * work to the sandbox's budget, with no debug hook.
 *
 * A Lua 5.4 count hook makes the VM trap on every instruction of every
 * thread while it is set, whatever its count: a third of a scripted sim's
 * event (docs/design.md, "The sandbox"). Instead, every place where a run
 * can come back to code it has already run gets a charge: the entry of
 * each function body (recursion), the top of each loop body (while, for,
 * repeat), and each label that a backward goto can reach. Code between two
 * charges is straight-line, so it is bounded by its size, and the charge
 * is that size: the count of tokens of the block, not counting the blocks
 * nested in it that charge for themselves. A charge is
 *
 *     do local __ms_k=__ms_t[1]-W __ms_t[1]=__ms_k if __ms_k<0 then __ms_r() end end
 *
 * on the line where the block starts (line numbers stay the script's):
 * __ms_t[1] is the credit left before the sandbox must look (lms_sandbox.c
 * grants it), __ms_r the C function that settles the credit, checks the
 * budget and the deadline and grants more, or raises. The chunk becomes
 *
 *     local __ms_t,__ms_r=... return function(...) <charge> <text>\nend
 *
 * and lms_meter_load calls that with the sandbox's credit table and refill
 * function to get the chunk as the script wrote it. Names starting with
 * "__ms_" are refused in the text, so a script cannot shadow them.
 *
 * The text is lexed as the reference manual's lexical conventions say
 * (names, numbers, short and long strings, comments); the block structure
 * comes from the keywords alone (function ... ), while/for ... do, repeat,
 * do, if ... then, end, until). The text has already been compiled by Lua
 * before it is rewritten, so it is valid Lua: the lexer need not diagnose.
 * Labels: a label followed only by void statements up to the end of its
 * block (end, else, elseif, the end of the chunk) is outside the scope of
 * the block's locals (Lua 5.4, `goto continue` relies on it) and only
 * forward gotos can reach it, so it gets no charge. */
#include "lms_meter.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

enum tok {
    T_EOF,
    T_NAME, /* a name that is not one of the keywords below */
    T_FUNCTION,
    T_DO,
    T_WHILE,
    T_FOR,
    T_REPEAT,
    T_UNTIL,
    T_END,
    T_IF,
    T_ELSE,
    T_ELSEIF,
    T_THEN,
    T_RPAREN,
    T_LABEL, /* the "::" around a label's name */
    T_SEMI,
    T_OTHER /* strings, numbers, other keywords, operators */
};

typedef struct token {
    enum tok t;
    size_t end; /* offset just past the token */
} token;

typedef struct lexer {
    const char *s;
    size_t n, i;
    int reserved; /* a name starting with "__ms_" was seen (its offset in at) */
    size_t reserved_at;
} lexer;

static const struct {
    const char *word;
    enum tok t;
} KEYWORDS[] = {
    {"function", T_FUNCTION}, {"do", T_DO},         {"while", T_WHILE}, {"for", T_FOR},
    {"repeat", T_REPEAT},     {"until", T_UNTIL},   {"end", T_END},     {"if", T_IF},
    {"else", T_ELSE},         {"elseif", T_ELSEIF}, {"then", T_THEN},
};

/* The level of a long bracket opening at s[i] ("[", "=" * level, "["), or
 * -1 when there is none there. */
static int long_open(const lexer *x, size_t i) {
    if (i >= x->n || x->s[i] != '[') return -1;
    size_t j = i + 1;
    while (j < x->n && x->s[j] == '=') j++;
    return j < x->n && x->s[j] == '[' ? (int)(j - i - 1) : -1;
}

/* Skip a long bracket of `level` opening at x->i. */
static void skip_long(lexer *x, int level) {
    x->i += (size_t)level + 2;
    while (x->i < x->n) {
        if (x->s[x->i] == ']') {
            size_t j = x->i + 1;
            while (j < x->n && x->s[j] == '=') j++;
            if (j < x->n && x->s[j] == ']' && (int)(j - x->i - 1) == level) {
                x->i = j + 1;
                return;
            }
            x->i = j;
        } else {
            x->i++;
        }
    }
}

static int is_name_start(int c) {
    return isalpha(c) || c == '_';
}

static void skip_number(lexer *x) {
    const char *s = x->s;
    int hex = s[x->i] == '0' && x->i + 1 < x->n && (s[x->i + 1] == 'x' || s[x->i + 1] == 'X');
    if (hex) x->i += 2;
    while (x->i < x->n) {
        int c = (unsigned char)s[x->i];
        int expo = hex ? (c == 'p' || c == 'P') : (c == 'e' || c == 'E');
        if (expo && x->i + 1 < x->n && (s[x->i + 1] == '+' || s[x->i + 1] == '-'))
            x->i += 2;
        else if (isalnum(c) || c == '.' || c == '_')
            x->i++;
        else
            break;
    }
}

/* The next token from x->i, which moves past it. */
static token next_token(lexer *x) {
    const char *s = x->s;
    for (;;) {
        while (x->i < x->n && isspace((unsigned char)s[x->i])) x->i++;
        if (x->i + 1 < x->n && s[x->i] == '-' && s[x->i + 1] == '-') {
            x->i += 2;
            int level = long_open(x, x->i);
            if (level >= 0) {
                skip_long(x, level);
            } else {
                while (x->i < x->n && s[x->i] != '\n' && s[x->i] != '\r') x->i++;
            }
            continue;
        }
        break;
    }
    if (x->i >= x->n) return (token){T_EOF, x->n};
    int c = (unsigned char)s[x->i], level;
    enum tok t = T_OTHER;
    if (is_name_start(c)) {
        size_t b = x->i;
        while (x->i < x->n && (isalnum((unsigned char)s[x->i]) || s[x->i] == '_')) x->i++;
        size_t len = x->i - b;
        t = T_NAME;
        for (size_t k = 0; k < sizeof KEYWORDS / sizeof KEYWORDS[0]; k++)
            if (strlen(KEYWORDS[k].word) == len && memcmp(KEYWORDS[k].word, s + b, len) == 0)
                t = KEYWORDS[k].t;
        if (t == T_NAME && len >= 5 && memcmp(s + b, "__ms_", 5) == 0 && !x->reserved) {
            x->reserved = 1;
            x->reserved_at = b;
        }
    } else if (isdigit(c) || (c == '.' && x->i + 1 < x->n && isdigit((unsigned char)s[x->i + 1]))) {
        skip_number(x);
    } else if (c == '"' || c == '\'') {
        x->i++;
        while (x->i < x->n && s[x->i] != c) x->i += s[x->i] == '\\' ? 2 : 1;
        x->i = x->i < x->n ? x->i + 1 : x->n;
    } else if ((level = long_open(x, x->i)) >= 0) {
        skip_long(x, level);
    } else if (c == '.' && x->i + 1 < x->n && s[x->i + 1] == '.') {
        x->i += x->i + 2 < x->n && s[x->i + 2] == '.' ? 3 : 2; /* .. or ... */
    } else if (c == ':' && x->i + 1 < x->n && s[x->i + 1] == ':') {
        x->i += 2;
        t = T_LABEL;
    } else {
        x->i++;
        t = c == ')' ? T_RPAREN : c == ';' ? T_SEMI : T_OTHER;
    }
    return (token){t, x->i};
}

/* What a frame of the block stack is. The metered ones charge at their
 * start; a branch (the body after `then` or `else`) charges at its start
 * when it is longer than BRANCH_MIN tokens of its own, and is otherwise
 * charged with the code around it; the others are parts of a statement or
 * plain blocks, charged with the code around them. */
enum frame_kind { F_CHUNK, F_PARAMS, F_FUNC, F_HEAD, F_LOOP, F_REPEAT, F_BLOCK, F_IF, F_BRANCH };

#define BRANCH_MIN 16

typedef struct frame {
    enum frame_kind kind;
    size_t charge;   /* index of its charge in the charge list (metered frames) */
    size_t start;    /* token count at its start */
    size_t excluded; /* tokens of the charging frames directly inside it */
    size_t label;    /* charge index + 1 of its open label segment, 0 when none */
    size_t label_start;
} frame;

typedef struct charge {
    size_t at;     /* offset in the text the charge goes after */
    size_t weight; /* 0: no charge after all (a short branch) */
} charge;

/* The scan's state: a userdata on the Lua stack, so that its arrays are
 * freed by its __gc if building the text raises; they are allocated
 * with the state's allocator, so the sandbox's memory cap counts them. */
typedef struct meter {
    frame *stack;
    size_t depth, cap;
    charge *charges;
    size_t ncharges, charges_cap;
    size_t ntokens;
    lua_Alloc alloc;
    void *ud;
} meter;

static int grow(meter *m, void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need) c *= 2;
    void *q = m->alloc(m->ud, *p, *cap * size, c * size);
    if (q == NULL) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static void release(meter *m) {
    if (m->stack) m->alloc(m->ud, m->stack, m->cap * sizeof *m->stack, 0);
    if (m->charges) m->alloc(m->ud, m->charges, m->charges_cap * sizeof *m->charges, 0);
    m->stack = NULL;
    m->charges = NULL;
}

static int meter_gc(lua_State *L) {
    release(lua_touserdata(L, 1));
    return 0;
}

static int add_charge(meter *m, size_t at, size_t *index) {
    if (grow(m, (void **)&m->charges, &m->charges_cap, m->ncharges + 1, sizeof *m->charges))
        return -1;
    m->charges[m->ncharges] = (charge){at, 1};
    *index = m->ncharges++;
    return 0;
}

static int is_metered(enum frame_kind k) {
    return k == F_CHUNK || k == F_FUNC || k == F_LOOP || k == F_REPEAT;
}

static int push(meter *m, enum frame_kind kind, size_t at) {
    if (grow(m, (void **)&m->stack, &m->cap, m->depth + 1, sizeof *m->stack)) return -1;
    frame f = {.kind = kind, .start = m->ntokens};
    if ((is_metered(kind) || kind == F_BRANCH) && add_charge(m, at, &f.charge)) return -1;
    m->stack[m->depth++] = f;
    return 0;
}

/* The charge of a block of `tokens` tokens: about one per VM instruction
 * (a statement such as `x = x + i` is 5 tokens and 2 instructions, a call
 * `f(a, b)` 6 tokens and 4). */
static size_t weight(size_t tokens) {
    return 1 + tokens / 2;
}

/* Close the label segment of frame f, which ends here. */
static void close_label(meter *m, frame *f) {
    if (f->label == 0) return;
    m->charges[f->label - 1].weight = weight(m->ntokens - f->label_start);
    f->label = 0;
}

/* Pop the top frame. A charging frame's weight is its own tokens (those of
 * the charging frames inside it excluded), and its tokens are excluded
 * from the frame that would otherwise be charged for them; a short branch
 * charges nothing and passes on only the exclusions of the frames inside it. */
static void pop(meter *m) {
    frame *f = &m->stack[m->depth - 1];
    close_label(m, f);
    size_t span = m->ntokens - f->start, own = span - f->excluded, pass = 0;
    if (is_metered(f->kind) || (f->kind == F_BRANCH && own > BRANCH_MIN)) {
        m->charges[f->charge].weight = weight(own);
        pass = span;
    } else if (f->kind == F_BRANCH) {
        m->charges[f->charge].weight = 0;
        pass = f->excluded;
    }
    for (size_t d = m->depth - 1; pass > 0 && d-- > 0;) {
        if (is_metered(m->stack[d].kind) || m->stack[d].kind == F_BRANCH) {
            m->stack[d].excluded += pass;
            break;
        }
    }
    m->depth--;
}

/* Convert a header frame at the top into the body it introduces. */
static int into(meter *m, enum frame_kind kind, size_t at) {
    m->depth--;
    return push(m, kind, at);
}

static int is_block_end(enum tok t) {
    return t == T_END || t == T_ELSE || t == T_ELSEIF || t == T_EOF;
}

/* Scan the text into charge points. Returns 0, or -1 out of memory. */
static int scan(meter *m, lexer *x) {
    if (push(m, F_CHUNK, 0)) return -1;
    token tok = next_token(x);
    while (tok.t != T_EOF) {
        token following = next_token(x);
        m->ntokens++;
        frame *top = &m->stack[m->depth - 1];
        int rc = 0;
        switch (tok.t) {
        case T_FUNCTION:
            rc = push(m, F_PARAMS, 0);
            break;
        case T_RPAREN:
            if (top->kind == F_PARAMS) rc = into(m, F_FUNC, tok.end);
            break;
        case T_WHILE:
        case T_FOR:
            rc = push(m, F_HEAD, 0);
            break;
        case T_DO:
            rc = top->kind == F_HEAD ? into(m, F_LOOP, tok.end) : push(m, F_BLOCK, 0);
            break;
        case T_REPEAT:
            rc = push(m, F_REPEAT, tok.end);
            break;
        case T_IF:
            rc = push(m, F_IF, 0);
            break;
        case T_THEN:
        case T_ELSE:
            if (top->kind == F_BRANCH) pop(m);
            if (m->stack[m->depth - 1].kind == F_IF) rc = push(m, F_BRANCH, tok.end);
            break;
        case T_ELSEIF:
            if (top->kind == F_BRANCH) pop(m);
            break;
        case T_END:
        case T_UNTIL:
            if (top->kind == F_BRANCH) pop(m);
            if (m->depth > 1) pop(m);
            break;
        case T_LABEL:
            /* a run of labels ("::", a name, "::") and semicolons, read
             * here in one pass: charge after it unless only void statements
             * follow it to the end of its block */
            if (following.t == T_NAME) {
                token last = next_token(x); /* the closing "::" */
                m->ntokens += 2;
                token t = next_token(x);
                while (t.t == T_SEMI || t.t == T_LABEL) {
                    m->ntokens++;
                    last = t;
                    if (t.t == T_LABEL) {
                        next_token(x);
                        last = next_token(x);
                        m->ntokens += 2;
                    }
                    t = next_token(x);
                }
                if (!is_block_end(t.t)) {
                    close_label(m, top);
                    size_t k;
                    if (add_charge(m, last.end, &k)) return -1;
                    top->label = k + 1;
                    top->label_start = m->ntokens;
                }
                following = t;
            }
            break;
        default:
            break;
        }
        if (rc) return -1;
        tok = following;
    }
    while (m->depth > 0) pop(m);
    return 0;
}

static const char CHARGE_HEAD[] = " do local __ms_k=__ms_t[1]-";
static const char CHARGE_TAIL[] = " __ms_t[1]=__ms_k if __ms_k<0 then __ms_r() end end ";
static const char PRELUDE[] = "local __ms_t,__ms_r=... return function(...)";

int lms_meter_rewrite(lua_State *L, const char *text, size_t len) {
    lexer x = {.s = text, .n = len};
    meter *m = lua_newuserdatauv(L, sizeof *m, 0);
    *m = (meter){0};
    m->alloc = lua_getallocf(L, &m->ud);
    if (luaL_newmetatable(L, "mastersim.meter")) {
        lua_pushcfunction(L, meter_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    int rc = scan(m, &x);
    if (rc != 0 || x.reserved) {
        release(m);
        lua_pop(L, 1);
        if (rc != 0) return LMS_METER_NOMEM;
        size_t line = 1;
        for (size_t i = 0; i < x.reserved_at; i++) line += text[i] == '\n';
        lua_pushfstring(L, "%d: names starting with '__ms_' are reserved for the sandbox",
                        (int)line);
        return LMS_METER_RESERVED;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, PRELUDE);
    size_t from = 0;
    for (size_t k = 0; k < m->ncharges; k++) {
        if (m->charges[k].weight == 0) continue;
        luaL_addlstring(&b, text + from, m->charges[k].at - from);
        from = m->charges[k].at;
        luaL_addstring(&b, CHARGE_HEAD);
        lua_pushinteger(L, (lua_Integer)m->charges[k].weight);
        luaL_addvalue(&b);
        luaL_addstring(&b, CHARGE_TAIL);
    }
    luaL_addlstring(&b, text + from, len - from);
    luaL_addstring(&b, "\nend");
    luaL_pushresult(&b);
    release(m);
    lua_remove(L, -2); /* the meter */
    return LMS_METER_OK;
}

/* nil and the message on top of the stack: load's way to fail. */
static int load_failed(lua_State *L) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* The body of meter_load; `check` compiles the text as written first, so
 * that a syntax error is reported as Lua reports it for that text (an error
 * at the end of the text would otherwise be seen after the meter's own
 * last line). mastersim's own modules skip it. */
static int load_metered(lua_State *L, int check) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, text);
    int has_env = !lua_isnone(L, 3);
    lua_settop(L, 3);
    if (check) {
        if (luaL_loadbufferx(L, text, len, name, "t") != LUA_OK) return load_failed(L);
        lua_pop(L, 1);
    }
    int rc = lms_meter_rewrite(L, text, len);
    if (rc == LMS_METER_NOMEM) return luaL_error(L, "not enough memory");
    if (rc == LMS_METER_RESERVED) { /* "<line>: ..." after the chunk's name as Lua shows it */
        lua_Debug ar;
        if (luaL_loadbuffer(L, "", 0, name) != LUA_OK) return lua_error(L); /* its short_src */
        lua_getinfo(L, ">S", &ar);
        lua_pushfstring(L, "%s:%s", ar.short_src, lua_tostring(L, -1));
        return load_failed(L);
    }
    size_t mlen;
    const char *metered = lua_tolstring(L, -1, &mlen);
    if (luaL_loadbufferx(L, metered, mlen, name, "t") != LUA_OK) return load_failed(L);
    if (has_env) {
        lua_pushvalue(L, 3);
        lua_setupvalue(L, -2, 1);
    }
    lms_sandbox_push_meter(L);
    lua_call(L, 2, 1);
    return 1;
}

int lms_meter_load(lua_State *L) {
    return load_metered(L, 1);
}

static int load_module(lua_State *L) {
    return load_metered(L, 0);
}

/* A package searcher for the mastersim.* Lua modules: they are loaded
 * metered too, so library code a script calls (a loop over the script's
 * table, say) charges the script's budget as the script's own code does.
 * Other names, and names with no Lua file on package.path (mastersim.core),
 * are left to the standard searchers. */
static int meter_searcher(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    if (strcmp(name, "mastersim") != 0 && strncmp(name, "mastersim.", 10) != 0) return 0;
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushvalue(L, 1);
    lua_getfield(L, -3, "path");
    lua_call(L, 2, 1);
    if (!lua_isstring(L, -1)) return 0;
    const char *file = lua_tostring(L, -1);
    FILE *f = fopen(file, "rb");
    if (f == NULL) return luaL_error(L, "cannot open %s", file);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t n;
    do {
        char *p = luaL_prepbuffer(&b);
        n = fread(p, 1, LUAL_BUFFERSIZE, f);
        luaL_addsize(&b, n);
    } while (n == LUAL_BUFFERSIZE);
    int bad = ferror(f);
    fclose(f);
    if (bad) return luaL_error(L, "cannot read %s", file);
    luaL_pushresult(&b); /* package file text */
    lua_pushcfunction(L, load_module);
    lua_insert(L, -2);
    lua_pushfstring(L, "@%s", file);
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2))
        return luaL_error(L, "error loading module '%s': %s", name, lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_pushvalue(L, -2); /* the file, the loader's second argument */
    return 2;
}

void lms_meter_install(lua_State *L) {
    lua_getglobal(L, "package");
    if (lua_getfield(L, -1, "searchers") != LUA_TTABLE) {
        lua_pop(L, 2);
        return;
    }
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
        int ours = lua_tocfunction(L, -1) == meter_searcher;
        lua_pop(L, 1);
        if (ours) {
            lua_pop(L, 2);
            return;
        }
    }
    lua_pop(L, 1);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = n; i >= 2; i--) { /* after the preload searcher */
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushcfunction(L, meter_searcher);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 2);
}
