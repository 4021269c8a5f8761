/* A minimal C test harness: CHECK records a failure and continues, the
 * process exits non-zero when any check failed. Each test file defines
 * main() calling its test functions through RUN, then returns ms_test_end(). */
#ifndef MS_TEST_H
#define MS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int ms_test_failures;
static int ms_test_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        ms_test_checks++;                                                                          \
        if (!(cond)) {                                                                             \
            ms_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_I64(a, b)                                                                         \
    do {                                                                                           \
        int64_t va_ = (int64_t)(a), vb_ = (int64_t)(b);                                            \
        ms_test_checks++;                                                                          \
        if (va_ != vb_) {                                                                          \
            ms_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed: %" PRId64 " != %" PRId64 "\n", __FILE__,      \
                    __LINE__, #a, #b, va_, vb_);                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        ms_test_checks++;                                                                          \
        if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0) {                                 \
            ms_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed: '%s' != '%s'\n", __FILE__, __LINE__, #a, #b,  \
                    sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                                   \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int before_ = ms_test_failures;                                                            \
        fn();                                                                                      \
        printf("%s %s\n", ms_test_failures == before_ ? "ok  " : "FAIL", #fn);                     \
    } while (0)

static inline int ms_test_end(void) {
    printf("%d checks, %d failed\n", ms_test_checks, ms_test_failures);
    return ms_test_failures ? 1 : 0;
}

#endif
