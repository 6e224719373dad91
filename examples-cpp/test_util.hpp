// Checks shared by the C++ test suites, as examples-c/test_util.h is for the C ones: each failed
// check is printed with its place and counted, so one run reports every failure instead of
// stopping at the first; report() prints the totals and gives the exit status.
#ifndef SV2_TEST_UTIL_HPP
#define SV2_TEST_UTIL_HPP

#include <sv2/sv2.hpp>

#include <cstdio>
#include <cstring>

namespace test {

inline int passed = 0;
inline int failed = 0;

inline void check(bool ok, const char *what, const char *file, int line) {
    if (ok) {
        ++passed;
    } else {
        ++failed;
        std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    }
}

// Runs `f`, which must throw sv2::Error with `code` and a description.
template <class F> void check_throws(sv2::ErrorCode code, F &&f, const char *what, const char *file, int line) {
    try {
        f();
        check(false, what, file, line);
    } catch (const sv2::Error &e) {
        check(e.code() == code && std::strlen(e.what()) > 0, what, file, line);
    }
}

// 32 bytes of `b`.
inline sv2::Bytes32 filled(std::uint8_t b) {
    sv2::Bytes32 a{};
    a.fill(b);
    return a;
}

// Prints the totals; the exit status of the suite.
inline int report() {
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

} // namespace test

#define CHECK(cond) test::check((cond), #cond, __FILE__, __LINE__)
#define CHECK_THROWS(code, expr) \
    test::check_throws(          \
        sv2::ErrorCode::code, [&] { (void)(expr); }, #expr, __FILE__, __LINE__)

#endif // SV2_TEST_UTIL_HPP
