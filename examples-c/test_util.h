/* Checks shared by the C test suites: each failed check is printed with its place and counted
 * in `failures`, so one run reports every failure instead of stopping at the first. */
#ifndef SV2_TEST_UTIL_H
#define SV2_TEST_UTIL_H

#include "example_util.h"

static int failures = 0;

#define EXPECT(call, want)                                                                             \
    do {                                                                                               \
        sv2_result got_ = (call);                                                                      \
        if (got_ != (want)) {                                                                          \
            fprintf(stderr, "%s:%d: %s gave %d (%s), want %d\n", __FILE__, __LINE__, #call, (int)got_, \
                    sv2_result_message((int32_t)got_), (int)(want));                                   \
            failures++;                                                                                \
        }                                                                                              \
    } while (0)

#define EXPECT_TRUE(cond)                                                       \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                         \
        }                                                                       \
    } while (0)

#endif
