/* The sandbox's pattern matcher, shared by its two files: lms_pattern_match.c
 * compiles a Lua 5.4 pattern (reference manual §6.4.1) into an array of
 * items and matches it; lms_pattern.c is string.find, match, gmatch, gsub
 * and rep on top of it. Every step of work is counted and charged to the
 * sandbox's step budget (lms_sandbox_charge). */
#ifndef LMS_PATTERN_H
#define LMS_PATTERN_H

#include "lms_sandbox.h"

#include <stddef.h>

#define LMS_PAT_MAXCAPTURES 32
#define LMS_CAP_OPEN (-1)     /* a capture whose ')' has not been passed */
#define LMS_CAP_POSITION (-2) /* a "()" capture: its value is a position */

/* One pattern item. A malformed part of the pattern compiles to an error
 * item, the last one: the stock functions report a malformed pattern only
 * when the match reaches it, so `("b"):find("a%")` is nil, not an error. */
typedef struct lms_pat_item {
    unsigned char kind;  /* PI_* in lms_pattern_match.c */
    unsigned char rep;   /* a single-character item's '*', '+', '-', '?', or 0 */
    unsigned char a, b;  /* the character, class letter, capture index, %b's pair, ... */
    int nest;            /* capture items before this one (the stock recursion depth) */
    const char *lo, *hi; /* a set's members, between "[" or "[^" and "]" */
} lms_pat_item;

/* The state of matching a compiled pattern against one subject. */
typedef struct lms_matcher {
    lua_State *L;
    const char *src, *end;     /* the subject */
    const lms_pat_item *items; /* the compiled pattern */
    int nitems, ncap;          /* items; captures a successful match has */
    int depth;                 /* nested match frames */
    lua_Integer steps;         /* work not yet charged */
    struct {
        const char *init;
        ptrdiff_t len; /* or LMS_CAP_OPEN, LMS_CAP_POSITION */
    } cap[LMS_PAT_MAXCAPTURES];
} lms_matcher;

/* Compile the pattern p[0..lp) into items[0..cap); returns how many items
 * it has (when more than cap, call again with room for them: nothing past
 * cap is written). Sets *ncap to the number of captures. Raises nothing. */
int lms_pattern_compile(const char *p, size_t lp, lms_pat_item *items, int cap, int *ncap);

/* Match m's pattern at s (the subject and items set): the end of the
 * match, or NULL; the captures are in m->cap[0..m->ncap). Raises the
 * pattern's errors and the budget's. */
const char *lms_pattern_exec(lms_matcher *m, const char *s);

/* Charge the steps not yet charged (raises when the budget is spent). */
void lms_pattern_flush(lms_matcher *m);

/* Count n steps of work (about an instruction each); charge them once a
 * few thousand have gathered, so that ordinary matches pay one charge. */
static inline void lms_pattern_step(lms_matcher *m, lua_Integer n) {
    m->steps += n;
    if (m->steps >= 4096) lms_pattern_flush(m);
}

#endif
