/* Preloaded into a build (scripts/reproducible.sh), shifts the wall clock by
 * $SV2_TIME_SHIFT_SECS so that the rebuild runs months "later". libfaketime (Debian 12's
 * 0.9.10) cannot do this here: rustc's jemalloc asks the time while it initialises, and
 * libfaketime then allocates and deadlocks. This shim neither allocates nor looks symbols
 * up: the time comes from the system call, shifted. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long shift_secs(void) {
    static long secs = -1;
    if (secs < 0) {
        const char *s = getenv("SV2_TIME_SHIFT_SECS");
        secs = s ? atol(s) : 0;
    }
    return secs;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    int r = (int)syscall(SYS_clock_gettime, clock, ts);
    if (r == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
        ts->tv_sec += shift_secs();
    }
    return r;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    struct timespec ts;
    (void)tz;
    int r = clock_gettime(CLOCK_REALTIME, &ts);
    if (r == 0) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return r;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) {
        *out = ts.tv_sec;
    }
    return ts.tv_sec;
}
