/* Small helpers shared by the libsv2 C examples: error checks, TCP, and pumping a session. */
#ifndef SV2_EXAMPLE_UTIL_H
#define SV2_EXAMPLE_UTIL_H

#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sv2.h>

static inline void die(const char *what) {
    fprintf(stderr, "error: %s\n", what);
    exit(1);
}

/* Every libsv2 call returns an sv2_result; anything but OK ends the example. */
#define TRY(call)                                                                                           \
    do {                                                                                                    \
        sv2_result r_ = (call);                                                                             \
        if (r_ != SV2_RESULT_OK) {                                                                          \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, sv2_result_message((int32_t)r_)); \
            exit(1);                                                                                        \
        }                                                                                                   \
    } while (0)

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static inline sv2_bytes cstr(const char *s) {
    sv2_bytes b = {(const uint8_t *)s, strlen(s)};
    return b;
}

static inline int bytes_eq(sv2_bytes b, const void *data, size_t len) {
    return b.len == len && (len == 0 || memcmp(b.data, data, len) == 0);
}

static inline uint32_t unix_now(void) { return (uint32_t)time(NULL); }

/* Listens on 127.0.0.1 (any port), writes "PORT AUTHORITY_KEY" to port_file, accepts one
 * connection. */
static inline int accept_one(const char *port_file, const char *authority_text) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &alen) != 0)
        die("listen");
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f) die("port file");
    fprintf(f, "%u %s\n", (unsigned)ntohs(a.sin_port), authority_text);
    fclose(f);
    if (rename(tmp, port_file) != 0) die("port file rename");
    int c = accept(l, NULL, NULL);
    close(l);
    if (c < 0) die("accept");
    return c;
}

static inline int connect_to(const char *host, const char *port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(port));
    if (s < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect");
    return s;
}

/* Writes everything the session has queued. */
static inline void flush_output(sv2_session *s, int fd) {
    const uint8_t *data;
    size_t len, off = 0;
    TRY(sv2_session_pending_output(s, &data, &len));
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n <= 0) die("write");
        off += (size_t)n;
    }
    TRY(sv2_session_consume_output(s, len));
}

/* Reads one chunk from the socket into the session. */
static inline void read_some(sv2_session *s, int fd) {
    uint8_t buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) die("connection closed");
    TRY(sv2_session_receive(s, buf, (size_t)n));
}

static inline void wait_established(sv2_session *s, int fd) {
    bool up = false;
    for (;;) {
        flush_output(s, fd);
        TRY(sv2_session_is_established(s, &up));
        if (up) return;
        read_some(s, fd);
    }
}

/* The next message; its views stay valid until the next call on the session. */
static inline void next_message(sv2_session *s, int fd, sv2_message *out) {
    for (;;) {
        flush_output(s, fd);
        sv2_result r = sv2_session_next_message(s, out, NULL);
        if (r == SV2_RESULT_OK) return;
        if (r != SV2_RESULT_NEED_MORE_DATA) {
            fprintf(stderr, "next message: %s\n", sv2_result_message((int32_t)r));
            exit(1);
        }
        read_some(s, fd);
    }
}

static inline void send_message(sv2_session *s, int fd, const sv2_message *m) {
    TRY(sv2_session_send(s, m, NULL, 0));
    flush_output(s, fd);
}

#endif
