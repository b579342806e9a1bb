/* test_base.c: statuses, arenas, dtypes, strbuf and atomic file writes. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

TEST(status_has_location_and_caret) {
  ts_status *st = ts_status_make(TS_ERR_SYNTAX, (ts_loc){"m.tvmscript", 3, 5},
                                 "unexpected token '%s'", ")");
  ts_status_set_source_line(st, "  x = )\nnext line");
  CHECK_EQ_STR(ts_status_message(st), "m.tvmscript:3:5: unexpected token ')'");
  CHECK_EQ_STR(ts_status_render(st),
               "m.tvmscript:3:5: unexpected token ')'\n      x = )\n        ^");
  CHECK_EQ_INT(ts_status_code_of(st), TS_ERR_SYNTAX);
  ts_status_annotate(st, "while reading function '%s'", "main");
  CHECK_EQ_STR(ts_status_message(st), "m.tvmscript:3:5: unexpected token ')'\n"
                                      "  while reading function 'main'");
  ts_status_free(st);
  st = ts_error(TS_ERR_IO, "plain %d", 7);
  CHECK_EQ_STR(ts_status_render(st), "plain 7");
  ts_status_free(st);
}

TEST(arena_alignment_and_growth) {
  ts_arena *a = ts_arena_create();
  for (int i = 0; i < 10000; i++) {
    char *p = ts_arena_alloc(a, (size_t)(i % 97) + 1);
    CHECK(((uintptr_t)p & 15) == 0);
    CHECK(p[0] == 0);
  }
  void *big = ts_arena_alloc(a, 5u << 20);
  CHECK(big != NULL);
  double *al = ts_arena_alloc_aligned(a, 100, 64);
  CHECK(((uintptr_t)al & 63) == 0);
  CHECK_EQ_STR(ts_arena_printf(a, "%s-%d", "x", 42), "x-42");
  CHECK_EQ_STR(ts_arena_strndup(a, "abcdef", 3), "abc");
  ts_arena_destroy(a);
}

TEST(dtype_names_round_trip) {
  const char *names[] = {"float32", "float16", "float64", "int8",   "int16",
                         "int32",   "int64",   "uint8",   "uint32", "bool",
                         "bfloat16", "float32x4", "handle"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    ts_dtype t;
    char buf[32];
    CHECK(ts_dtype_parse(names[i], &t));
    CHECK_EQ_STR(ts_dtype_str(t, buf), names[i]);
  }
  ts_dtype t;
  CHECK(!ts_dtype_parse("float33", &t));
  CHECK(!ts_dtype_parse("int", &t));
  CHECK(!ts_dtype_parse("float32x", &t));
  CHECK(!ts_dtype_parse("", &t));
  CHECK_EQ_INT(ts_dtype_bytes(TS_F32), 4);
  CHECK_EQ_INT(ts_dtype_bytes(TS_BOOLT), 1);
  CHECK_EQ_INT(ts_dtype_bytes((ts_dtype){TS_FLOAT, 32, 8}), 32);
}

TEST(size_overflow_is_detected) {
  size_t out;
  CHECK(!ts_size_mul(SIZE_MAX / 2, 3, &out));
  CHECK(ts_size_mul(1000, 1000, &out) && out == 1000000);
  CHECK(!ts_size_add(SIZE_MAX, 1, &out));
}

TEST(files_are_written_atomically) {
  char dir[] = "/tmp/ts_base_XXXXXX";
  REQUIRE(mkdtemp(dir) != NULL);
  char *path = ts_strdup_printf("%s/f.txt", dir);
  CHECK_OK(ts_write_file_atomic(path, "hello", 5));
  char *data;
  size_t len;
  CHECK_OK(ts_read_file(path, &data, &len));
  CHECK_EQ_INT(len, 5);
  CHECK_EQ_STR(data, "hello");
  free(data);
  char *bad = ts_strdup_printf("%s/missing/f.txt", dir);
  CHECK_ERR(ts_write_file_atomic(bad, "x", 1), TS_ERR_IO, "cannot write");
  char *nofile = ts_strdup_printf("%s/nope", dir);
  ts_status *st = ts_read_file(nofile, &data, &len);
  CHECK(st != NULL);
  if (st) CHECK_CONTAINS(ts_status_message(st), "nope: cannot open: No such file");
  ts_status_free(st);
  unlink(path);
  rmdir(dir);
  free(path);
  free(bad);
  free(nofile);
}

int main(void) {
  RUN(status_has_location_and_caret);
  RUN(arena_alignment_and_growth);
  RUN(dtype_names_round_trip);
  RUN(size_overflow_is_detected);
  RUN(files_are_written_atomically);
  return CHECK_DONE();
}
