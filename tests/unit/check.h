/* check.h: the unit-test harness, header only.  A test file defines test
 * functions and a main that runs them:
 *
 *   #include "check.h"
 *   TEST(parses_a_buffer) { CHECK(x != NULL); CHECK_EQ_INT(n, 3); }
 *   int main(void) { RUN(parses_a_buffer); return CHECK_DONE(); }
 *
 * A failed CHECK prints `file:line: ...` and marks the current test failed;
 * the test goes on (use REQUIRE to stop the test function on failure).
 * CHECK_OK(expr) takes a ts_status *: it fails, printing the rendered message,
 * when the status is non-NULL, and frees it.  CHECK_ERR(expr, code, substr)
 * expects a status with that code whose message contains substr.
 * Tests run with the tests/ folder as working directory (see
 * tests/CMakeLists.txt), so data paths are relative to tests/. */
#ifndef TESSERA_TESTS_CHECK_H
#define TESSERA_TESTS_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tessera/base.h"

static int check_failed_tests_ = 0;
static int check_run_tests_ = 0;
static int check_cur_failed_ = 0;

#define CHECK_FAIL_(...)                                                       \
  do {                                                                         \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
    fprintf(stderr, __VA_ARGS__);                                              \
    fputc('\n', stderr);                                                       \
    check_cur_failed_ = 1;                                                     \
  } while (0)

#define TEST(name) static void name(void)

#define RUN(name)                                                              \
  do {                                                                         \
    check_cur_failed_ = 0;                                                     \
    check_run_tests_++;                                                        \
    name();                                                                    \
    if (check_cur_failed_)                                                     \
      check_failed_tests_++;                                                   \
    fprintf(stderr, "%s %s\n", check_cur_failed_ ? "FAIL" : "ok  ", #name);    \
  } while (0)

/* Returns main's exit status and prints a summary. */
#define CHECK_DONE()                                                           \
  (fprintf(stderr, "%d tests, %d failed\n", check_run_tests_,                  \
           check_failed_tests_),                                               \
   check_failed_tests_ ? 1 : 0)

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond))                                                               \
      CHECK_FAIL_("check failed: %s", #cond);                                  \
  } while (0)

#define REQUIRE(cond)                                                          \
  do {                                                                         \
    if (!(cond)) {                                                             \
      CHECK_FAIL_("required: %s", #cond);                                      \
      return;                                                                  \
    }                                                                          \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
  do {                                                                         \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);            \
    if (check_a_ != check_b_)                                                  \
      CHECK_FAIL_("%s == %s: %lld != %lld", #a, #b, check_a_, check_b_);       \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                     \
  do {                                                                         \
    const char *check_a_ = (a), *check_b_ = (b);                               \
    if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0)             \
      CHECK_FAIL_("%s == %s:\n  got:      \"%s\"\n  expected: \"%s\"", #a, #b, \
                  check_a_ ? check_a_ : "(null)",                              \
                  check_b_ ? check_b_ : "(null)");                             \
  } while (0)

#define CHECK_STREQ(a, b) CHECK_EQ_STR(a, b)

#define CHECK_CONTAINS(haystack, needle)                                       \
  do {                                                                         \
    const char *check_h_ = (haystack), *check_n_ = (needle);                   \
    if (!check_h_ || !strstr(check_h_, check_n_))                              \
      CHECK_FAIL_("%s contains \"%s\": got \"%s\"", #haystack, check_n_,       \
                  check_h_ ? check_h_ : "(null)");                             \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                  \
  do {                                                                         \
    double check_a_ = (double)(a), check_b_ = (double)(b);                     \
    if (!(fabs(check_a_ - check_b_) <= (double)(tol)))                         \
      CHECK_FAIL_("%s ~= %s: %.9g vs %.9g (tol %g)", #a, #b, check_a_,         \
                  check_b_, (double)(tol));                                    \
  } while (0)

#define CHECK_OK(expr)                                                         \
  do {                                                                         \
    ts_status *check_st_ = (expr);                                             \
    if (check_st_) {                                                           \
      CHECK_FAIL_("%s failed:\n%s", #expr, ts_status_render(check_st_));       \
      ts_status_free(check_st_);                                               \
    }                                                                          \
  } while (0)

#define CHECK_ERR(expr, code, substr)                                          \
  do {                                                                         \
    ts_status *check_st_ = (expr);                                             \
    if (!check_st_) {                                                          \
      CHECK_FAIL_("%s succeeded, expected an error", #expr);                   \
    } else {                                                                   \
      if (ts_status_code_of(check_st_) != (code))                              \
        CHECK_FAIL_("%s: code %d, expected %d (%s)", #expr,                    \
                    (int)ts_status_code_of(check_st_), (int)(code),            \
                    ts_status_message(check_st_));                             \
      if (!strstr(ts_status_message(check_st_), (substr)))                     \
        CHECK_FAIL_("%s: message \"%s\" lacks \"%s\"", #expr,                  \
                    ts_status_message(check_st_), (substr));                   \
      ts_status_free(check_st_);                                               \
    }                                                                          \
  } while (0)

#endif
