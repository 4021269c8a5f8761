/* Lua 5.4 patterns as the reference manual (§6.4.1) defines them, compiled
 * once into an array of items and matched by backtracking over the items.
 * Written for the sandbox from the manual and from the stock functions'
 * observable behaviour, not from their code.
 *
 * Design. A pattern compiles to items: single-character classes (a
 * character, '.', %x, a set) with an optional quantifier, captures,
 * %bxy, %f[set], back-references %1-%9, the '$' anchor, and a final
 * "done" item. What is static is settled at compile time: the capture
 * each '(' opens and each ')' closes, which back-references are valid.
 * The matcher walks the items in a loop and recurses only where it must
 * choose (a quantified item that matched a character); captures are
 * plain writes, never undone: a capture that a failed branch wrote is
 * written again by any branch that reaches a use of it.
 *
 * Behaviour the manual leaves open follows the stock functions, since
 * scripts see it: errors in a malformed pattern are raised only when a
 * match reaches them; ranges and classes in a set read left to right
 * ("[%a-z]" is letters, '-' and 'z'); and the recursion limit is the stock
 * one, 200 nested frames where the stock matcher counts one per capture
 * item and one per choice (the item's `nest` adds the captures). */
#include "lms_pattern.h"

#include <ctype.h>
#include <string.h>

#define MAXDEPTH 200

enum {
    PI_CHAR, /* single-character items first: they take a quantifier */
    PI_ANY,
    PI_CLASS,
    PI_SET,
    PI_OPEN,     /* a: the capture */
    PI_POSITION, /* "()"; a: the capture */
    PI_CLOSE,    /* a: the capture it closes */
    PI_END,      /* '$' at the end of the pattern */
    PI_BALANCE,  /* %bxy; a = x, b = y */
    PI_FRONTIER, /* %f[set] */
    PI_BACKREF,  /* a: the capture */
    PI_ERROR,    /* a: the message (errors[]), b: its number */
    PI_DONE,
};

static const char *const errors[] = {
    "malformed pattern (ends with '%%')",
    "malformed pattern (missing ']')",
    "malformed pattern (missing arguments to '%%b')",
    "missing '[' after '%%f' in pattern",
    "too many captures",
    "invalid pattern capture",
    "invalid capture index %%%d",
};
enum { E_PERCENT, E_BRACKET, E_BALANCE, E_FRONTIER, E_CAPTURES, E_CLOSE, E_INDEX };

typedef struct {
    const char *end;
    int ncap;                                  /* captures opened so far */
    int nest;                                  /* capture items so far */
    int open[LMS_PAT_MAXCAPTURES], nopen;      /* unclosed captures, innermost last */
    unsigned char usable[LMS_PAT_MAXCAPTURES]; /* closed, or a position */
} compiler;

/* Make it an error item; the pattern stops there. */
static const char *fail(const compiler *c, lms_pat_item *it, int err, int arg) {
    it->kind = PI_ERROR;
    it->a = (unsigned char)err;
    it->b = (unsigned char)arg;
    return c->end;
}

/* p at '[': record the set's members and whether it is negated; the
 * position after its ']', or NULL when there is none. The first member is
 * taken whatever it is ("[]]" is the set of ']'), and "%x" is one member. */
static const char *read_set(const char *p, const char *end, lms_pat_item *it) {
    const char *q = p + 1;
    it->a = q < end && *q == '^';
    q += it->a;
    it->lo = q;
    do {
        if (q >= end) return NULL;
        q += *q == '%' ? 2 : 1;
    } while (q >= end || *q != ']');
    it->hi = q;
    return q + 1;
}

/* Is c in the class cl (a lowercase class letter)? The classes of the C
 * locale, which the stock functions use in mastersim (it never sets a
 * locale), written out so that no host locale can change a script's
 * results: ASCII only, a byte above 127 is in none. */
static int in_class(int cl, unsigned c) {
    int lower = c - 'a' < 26u, upper = c - 'A' < 26u, digit = c - '0' < 10u;
    switch (cl) {
    case 'a':
        return lower || upper;
    case 'c':
        return c < 32u || c == 127u;
    case 'd':
        return digit;
    case 'g':
        return c - 33u < 94u;
    case 'l':
        return lower;
    case 'p':
        return c - 33u < 94u && !lower && !upper && !digit;
    case 's':
        return c == ' ' || c - '\t' < 5u;
    case 'u':
        return upper;
    case 'w':
        return lower || upper || digit;
    case 'x':
        return digit || (c | 32u) - 'a' < 6u;
    default:
        return c == 0; /* 'z', deprecated but still there */
    }
}

static int ascii_lower(int c) {
    return (unsigned)c - 'A' < 26u ? c + 32 : c;
}

static int is_class_letter(int c) {
    switch (ascii_lower(c)) {
    case 'a':
    case 'c':
    case 'd':
    case 'g':
    case 'l':
    case 'p':
    case 's':
    case 'u':
    case 'w':
    case 'x':
    case 'z':
        return 1;
    default:
        return 0;
    }
}

/* "%x" in a set: a class (its complement when x is upper case), or x. */
static int escape_has(int x, unsigned c) {
    if (!is_class_letter(x)) return (unsigned)x == c;
    return in_class(ascii_lower(x), c) != (ascii_lower(x) != x);
}

/* A single-character item and its quantifier. */
static const char *read_single(const compiler *c, const char *p, lms_pat_item *it) {
    const char *q = p + 1;
    if (*p == '%' && is_class_letter((unsigned char)p[1])) {
        it->kind = PI_CLASS;
        it->a = (unsigned char)ascii_lower((unsigned char)p[1]);
        it->b = it->a != (unsigned char)p[1]; /* upper case: the complement */
        q = p + 2;
    } else if (*p == '%') {
        it->kind = PI_CHAR;
        it->a = (unsigned char)p[1];
        q = p + 2;
    } else if (*p == '[') {
        q = read_set(p, c->end, it);
        if (q == NULL) return fail(c, it, E_BRACKET, 0);
        it->kind = PI_SET;
    } else {
        it->kind = *p == '.' ? PI_ANY : PI_CHAR;
        it->a = (unsigned char)*p;
    }
    if (q < c->end) {
        switch (*q) {
        case '*':
        case '+':
        case '-':
        case '?':
            it->rep = (unsigned char)*q++;
            break;
        default:
            break;
        }
    }
    return q;
}

static const char *read_capture(compiler *c, const char *p, lms_pat_item *it) {
    if (*p == ')') {
        if (c->nopen == 0) return fail(c, it, E_CLOSE, 0);
        it->kind = PI_CLOSE;
        it->a = (unsigned char)c->open[--c->nopen];
        c->usable[it->a] = 1;
        c->nest++;
        return p + 1;
    }
    if (c->ncap == LMS_PAT_MAXCAPTURES) return fail(c, it, E_CAPTURES, 0);
    it->a = (unsigned char)c->ncap;
    c->nest++;
    if (p + 1 < c->end && p[1] == ')') {
        it->kind = PI_POSITION;
        c->usable[c->ncap++] = 1;
        return p + 2;
    }
    it->kind = PI_OPEN;
    c->usable[c->ncap] = 0;
    c->open[c->nopen++] = c->ncap++;
    return p + 1;
}

/* The escapes that are whole items: %bxy, %f[set], %0-%9. NULL for the
 * others (character classes). */
static const char *read_escape(compiler *c, const char *p, lms_pat_item *it) {
    const char *end = c->end;
    if (p[1] == 'b') {
        if (end - p < 4) return fail(c, it, E_BALANCE, 0);
        it->kind = PI_BALANCE;
        it->a = (unsigned char)p[2];
        it->b = (unsigned char)p[3];
        return p + 4;
    }
    if (p[1] == 'f') {
        if (end - p < 3 || p[2] != '[') return fail(c, it, E_FRONTIER, 0);
        const char *q = read_set(p + 2, end, it);
        if (q == NULL) return fail(c, it, E_BRACKET, 0);
        it->kind = PI_FRONTIER;
        return q;
    }
    if (isdigit((unsigned char)p[1])) {
        int k = p[1] - '1';
        if (k < 0 || k >= c->ncap || !c->usable[k]) return fail(c, it, E_INDEX, k + 1);
        it->kind = PI_BACKREF;
        it->a = (unsigned char)k;
        return p + 2;
    }
    return NULL;
}

/* Read the item at p into it; the position after it. */
static const char *read_item(compiler *c, const char *p, lms_pat_item *it) {
    switch (*p) {
    case '(':
    case ')':
        return read_capture(c, p, it);
    case '$':
        if (p + 1 != c->end) break;
        it->kind = PI_END;
        return p + 1;
    case '%': {
        if (p + 1 == c->end) return fail(c, it, E_PERCENT, 0);
        const char *q = read_escape(c, p, it);
        if (q != NULL) return q;
        break;
    }
    default:
        break;
    }
    return read_single(c, p, it);
}

int lms_pattern_compile(const char *p, size_t lp, lms_pat_item *items, int cap, int *ncap) {
    compiler c; /* open[] and usable[] are written before they are read */
    c.end = p + lp;
    c.ncap = c.nest = c.nopen = 0;
    int n = 0;
    for (;;) {
        lms_pat_item scratch, *it = n < cap ? &items[n] : &scratch; /* written in place */
        it->kind = PI_DONE;
        it->rep = it->a = it->b = 0;
        it->nest = c.nest;
        it->lo = it->hi = NULL;
        if (p < c.end) p = read_item(&c, p, it);
        n++;
        if (it->kind == PI_ERROR || it->kind == PI_DONE) break;
    }
    *ncap = c.ncap;
    return n;
}

/* ---- matching ---- */

void lms_pattern_flush(lms_matcher *m) {
    lua_Integer n = m->steps;
    m->steps = 0;
    if (n > 0) lms_sandbox_charge(m->L, n);
}

/* Is c in the set: members read left to right, "x-y" a range when y is
 * before the closing ']', "%x" a class or an escaped character. */
static int set_has(const lms_pat_item *it, unsigned c) {
    const unsigned char *q = (const unsigned char *)it->lo, *hi = (const unsigned char *)it->hi;
    while (q < hi) {
        if (*q == '%') {
            if (escape_has(q[1], c)) return !it->a;
            q += 2;
        } else if (q + 2 < hi && q[1] == '-') {
            if (q[0] <= c && c <= q[2]) return !it->a;
            q += 3;
        } else {
            if (*q == c) return !it->a;
            q++;
        }
    }
    return it->a;
}

static int single_has(const lms_pat_item *it, unsigned c) {
    switch (it->kind) {
    case PI_CHAR:
        return c == it->a;
    case PI_ANY:
        return 1;
    case PI_CLASS:
        return in_class(it->a, c) != it->b;
    default:
        return set_has(it, c);
    }
}

static const char *match(lms_matcher *m, const char *s, int i);

/* Item i repeats, as often as it can from s, then one fewer time at a time
 * until the rest matches; at least to `from`. */
static const char *greedy(lms_matcher *m, const char *from, int i) {
    const char *e = from;
    while (e < m->end && single_has(&m->items[i], (unsigned char)*e)) e++;
    lms_pattern_step(m, e - from);
    for (;; e--) {
        const char *r = match(m, e, i + 1);
        if (r != NULL || e == from) return r;
    }
}

/* Item i repeats as few times as the rest allows. */
static const char *lazy(lms_matcher *m, const char *s, int i) {
    for (;;) {
        const char *r = match(m, s, i + 1);
        if (r != NULL) return r;
        if (s == m->end || !single_has(&m->items[i], (unsigned char)*s)) return NULL;
        s++;
    }
}

/* %bxy at s: the end of the balanced run, or NULL. */
static const char *balance(lms_matcher *m, const char *s, const lms_pat_item *it) {
    if (s == m->end || (unsigned char)*s != it->a) return NULL;
    size_t open = 1;
    const char *q = s + 1;
    for (; q < m->end; q++) {
        if ((unsigned char)*q == it->b) {
            if (--open == 0) break;
        } else if ((unsigned char)*q == it->a) {
            open++;
        }
    }
    lms_pattern_step(m, (q - s) / 4);
    return q < m->end ? q + 1 : NULL;
}

/* %f[set] at s: the character before s is not in the set and the one at s
 * is (the subject's ends count as '\0'). */
static int frontier(const lms_matcher *m, const char *s, const lms_pat_item *it) {
    int before = s == m->src ? 0 : (unsigned char)s[-1];
    int at = s == m->end ? 0 : (unsigned char)*s;
    return !set_has(it, before) && set_has(it, at);
}

/* A back-reference at s: the captured text again (a position capture
 * never matches). */
static const char *backref(lms_matcher *m, const char *s, const lms_pat_item *it) {
    const char *init = m->cap[it->a].init;
    ptrdiff_t len = m->cap[it->a].len;
    if (len < 0 || m->end - s < len) return NULL;
    lms_pattern_step(m, len / 8);
    return memcmp(init, s, (size_t)len) == 0 ? s + len : NULL;
}

/* The stock matcher's depth at item i: the frames plus the capture items. */
static void check_depth(const lms_matcher *m, int i) {
    if (m->depth + m->items[i].nest > MAXDEPTH) luaL_error(m->L, "pattern too complex");
}

/* Items from i on, at s, in this frame until a choice needs a new one. */
static const char *run(lms_matcher *m, const char *s, int i) {
    for (;; i++) {
        const lms_pat_item *it = &m->items[i];
        lms_pattern_step(m, 1);
        switch (it->kind) {
        case PI_DONE:
            return s;
        case PI_END:
            return s == m->end ? s : NULL;
        case PI_OPEN:
        case PI_POSITION:
            m->cap[it->a].init = s;
            m->cap[it->a].len = it->kind == PI_OPEN ? LMS_CAP_OPEN : LMS_CAP_POSITION;
            check_depth(m, i + 1);
            continue;
        case PI_CLOSE:
            m->cap[it->a].len = s - m->cap[it->a].init;
            check_depth(m, i + 1);
            continue;
        case PI_BALANCE:
            s = balance(m, s, it);
            break;
        case PI_FRONTIER:
            s = frontier(m, s, it) ? s : NULL;
            break;
        case PI_BACKREF:
            s = backref(m, s, it);
            break;
        case PI_ERROR:
            luaL_error(m->L, errors[it->a], it->b);
            break;
        default: {
            int hit = s < m->end && single_has(it, (unsigned char)*s);
            switch (it->rep) {
            case '?':
                if (hit) {
                    const char *r = match(m, s + 1, i + 1);
                    if (r != NULL) return r;
                }
                continue;
            case '*':
                if (hit) return greedy(m, s, i);
                continue;
            case '+':
                return hit ? greedy(m, s + 1, i) : NULL;
            case '-':
                if (hit) return lazy(m, s, i);
                continue;
            default:
                s = hit ? s + 1 : NULL;
                break;
            }
        }
        }
        if (s == NULL) return NULL;
    }
}

/* A new frame: items from i on, at s. */
static const char *match(lms_matcher *m, const char *s, int i) {
    m->depth++;
    check_depth(m, i);
    s = run(m, s, i);
    m->depth--;
    return s;
}

const char *lms_pattern_exec(lms_matcher *m, const char *s) {
    m->depth = 0;
    return match(m, s, 0);
}
