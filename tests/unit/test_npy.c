/* test_npy.c: .npy reading and writing: round trips for every dtype and
 * for 0-d / zero-size / 1-d / 4-d arrays, the exact bytes NumPy writes,
 * lenient header parsing, and malformed files (written at run time into a
 * temporary directory), each with its exact message. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "tessera/runtime.h"

static char g_dir[64];

static char *path_in_tmp(const char *name) {
  return ts_strdup_printf("%s/%s", g_dir, name);
}

static void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  TS_ASSERT(f);
  if (len)
    TS_ASSERT(fwrite(data, 1, len, f) == len);
  fclose(f);
}

/* Builds a version-1.0 file from a header text (padded as NumPy does unless
 * raw) followed by `data_len` bytes of data. */
static void build_npy(ts_strbuf *b, int major, const char *header,
                      size_t data_len) {
  ts_strbuf_appendn(b, "\x93NUMPY", 6);
  char ver[2] = {(char)major, 0};
  ts_strbuf_appendn(b, ver, 2);
  size_t hlen = strlen(header);
  unsigned char len[4] = {(unsigned char)hlen, (unsigned char)(hlen >> 8),
                          (unsigned char)(hlen >> 16),
                          (unsigned char)(hlen >> 24)};
  ts_strbuf_appendn(b, (const char *)len, major == 1 ? 2 : 4);
  ts_strbuf_append(b, header);
  for (size_t i = 0; i < data_len; i++)
    ts_strbuf_appendn(b, "\x01", 1);
}

/* Writes bytes to <tmp>/x.npy, reads it back, expects an error message
 * "<tmp>/x.npy: <msg>" and the code. */
static void expect_file_error(int line, const void *data, size_t len,
                              ts_status_code code, const char *msg) {
  char *path = path_in_tmp("x.npy");
  write_bytes(path, data, len);
  char *want = ts_strdup_printf("%s: %s", path, msg);
  ts_ndarray *a = (ts_ndarray *)1;
  ts_status *st = ts_npy_read(path, &a);
  if (!st) {
    fprintf(stderr, "line %d: ", line);
    CHECK_FAIL_("read succeeded, expected \"%s\"", want);
    ts_ndarray_release(a);
  } else {
    if (strcmp(ts_status_message(st), want) != 0) {
      fprintf(stderr, "line %d: ", line);
      CHECK_FAIL_("message\n  got:      \"%s\"\n  expected: \"%s\"",
                  ts_status_message(st), want);
    }
    if (ts_status_code_of(st) != code) {
      fprintf(stderr, "line %d: ", line);
      CHECK_FAIL_("code %d, expected %d", (int)ts_status_code_of(st),
                  (int)code);
    }
    CHECK(a == NULL);
    ts_status_free(st);
  }
  free(want);
  free(path);
}

static void expect_header_error(int line, const char *header, size_t data_len,
                                ts_status_code code, const char *msg) {
  ts_strbuf b = {0};
  build_npy(&b, 1, header, data_len);
  expect_file_error(line, b.data, b.len, code, msg);
  ts_strbuf_free(&b);
}

/* Parses a header + data and returns the array (NULL on error, reported). */
static ts_ndarray *parse_header_ok(int major, const char *header,
                                   size_t data_len) {
  ts_strbuf b = {0};
  build_npy(&b, major, header, data_len);
  ts_ndarray *a = NULL;
  ts_status *st = ts_npy_parse(b.data, b.len, "ok.npy", &a);
  if (st) {
    CHECK_FAIL_("header %s: %s", header, ts_status_message(st));
    ts_status_free(st);
  }
  ts_strbuf_free(&b);
  return a;
}

TEST(round_trip_every_dtype_and_rank) {
  static const ts_dtype types[] = {
      TS_BOOLT,         {TS_INT, 8, 1},  {TS_INT, 16, 1},  TS_I32,
      TS_I64,           {TS_UINT, 8, 1}, {TS_UINT, 16, 1}, {TS_UINT, 32, 1},
      {TS_UINT, 64, 1}, TS_F16,          TS_F32,           TS_F64,
  };
  static const int64_t s0[1] = {0}, s1[1] = {5}, s2[3] = {2, 0, 3},
                       s4[4] = {2, 3, 1, 4};
  static const struct {
    int ndim;
    const int64_t *shape;
  } shapes[] = {{0, s0}, {1, s1}, {3, s2}, {4, s4}, {1, s0}};
  for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
      ts_ndarray *a = NULL, *b = NULL;
      CHECK_OK(
          ts_ndarray_create(shapes[s].ndim, shapes[s].shape, types[t], &a));
      REQUIRE(a);
      ts_ndarray_fill_random(a, 7 + t * 10 + s);
      void *buf;
      size_t len;
      CHECK_OK(ts_npy_serialize(a, &buf, &len));
      CHECK_EQ_INT((len - ts_ndarray_nbytes(a)) % 64, 0);
      CHECK_OK(ts_npy_parse(buf, len, "rt.npy", &b));
      free(buf);
      if (b) {
        CHECK(ts_dtype_eq(ts_ndarray_dtype(a), ts_ndarray_dtype(b)));
        CHECK_EQ_INT(ts_ndarray_ndim(a), ts_ndarray_ndim(b));
        for (int d = 0; d < ts_ndarray_ndim(a); d++)
          CHECK_EQ_INT(ts_ndarray_shape(a)[d], ts_ndarray_shape(b)[d]);
        CHECK_EQ_INT(ts_ndarray_nbytes(a), ts_ndarray_nbytes(b));
        CHECK(memcmp(ts_ndarray_data(a), ts_ndarray_data(b),
                     ts_ndarray_nbytes(a)) == 0);
      }
      /* Through a file as well. */
      char *path = path_in_tmp("rt.npy");
      CHECK_OK(ts_npy_write(path, a));
      ts_ndarray *c = NULL;
      CHECK_OK(ts_npy_read(path, &c));
      if (c)
        CHECK(memcmp(ts_ndarray_data(a), ts_ndarray_data(c),
                     ts_ndarray_nbytes(a)) == 0);
      free(path);
      ts_ndarray_release(a);
      ts_ndarray_release(b);
      ts_ndarray_release(c);
    }
  }
}

TEST(writes_what_numpy_writes) {
  /* np.save of np.zeros((1, 784), np.float32): header bytes. */
  int64_t shape[2] = {1, 784};
  ts_ndarray *a = NULL;
  CHECK_OK(ts_ndarray_create(2, shape, TS_F32, &a));
  REQUIRE(a);
  void *buf;
  size_t len;
  CHECK_OK(ts_npy_serialize(a, &buf, &len));
  static const char text[] =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 784), }";
  char want[128];
  memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10);
  memset(want + 10, ' ', 118);
  memcpy(want + 10, text, strlen(text));
  want[127] = '\n';
  CHECK_EQ_INT(len, 128 + 784 * 4);
  CHECK(memcmp(buf, want, 128) == 0);
  free(buf);
  ts_ndarray_release(a);

  /* 0-d and 1-d headers. */
  CHECK_OK(ts_ndarray_create(0, NULL, TS_BOOLT, &a));
  CHECK_OK(ts_npy_serialize(a, &buf, &len));
  CHECK_EQ_INT(len, 128 + 1);
  CHECK(memcmp((char *)buf + 10,
               "{'descr': '|b1', 'fortran_order': False, 'shape': (), }",
               55) == 0);
  free(buf);
  ts_ndarray_release(a);
  shape[0] = 3;
  CHECK_OK(ts_ndarray_create(1, shape, TS_DT(TS_UINT, 16), &a));
  CHECK_OK(ts_npy_serialize(a, &buf, &len));
  CHECK(memcmp((char *)buf + 10,
               "{'descr': '<u2', 'fortran_order': False, 'shape': (3,), }",
               57) == 0);
  free(buf);
  ts_ndarray_release(a);
}

TEST(lenient_headers) {
  ts_ndarray *a;
  a = parse_header_ok(1,
                      "{'shape': (2, 3), 'fortran_order': False, "
                      "'descr': '<f4'}\n",
                      24);
  if (a) {
    CHECK_EQ_INT(ts_ndarray_ndim(a), 2);
    CHECK_EQ_INT(ts_ndarray_shape(a)[1], 3);
    CHECK(ts_dtype_eq(ts_ndarray_dtype(a), TS_F32));
  }
  ts_ndarray_release(a);
  a = parse_header_ok(1,
                      "  {  \"descr\" :\"=i8\" ,\"fortran_order\":False,"
                      "\"shape\":( 4 , ) ,  }      \n",
                      32);
  if (a)
    CHECK(ts_dtype_eq(ts_ndarray_dtype(a), TS_I64));
  ts_ndarray_release(a);
  a = parse_header_ok(2,
                      "{'descr': '|u1', 'fortran_order': False, "
                      "'shape': (2L, 3L), }\n",
                      6);
  if (a)
    CHECK(ts_dtype_eq(ts_ndarray_dtype(a), TS_DT(TS_UINT, 8)));
  ts_ndarray_release(a);
  a = parse_header_ok(3,
                      "{'descr': '<i1', 'fortran_order': False, "
                      "'shape': (), }\n",
                      1);
  if (a)
    CHECK_EQ_INT(ts_ndarray_ndim(a), 0);
  ts_ndarray_release(a);
  /* A 1-d array in Fortran order is the same bytes. */
  a = parse_header_ok(1,
                      "{'descr': '<f8', 'fortran_order': True, "
                      "'shape': (3,), }\n",
                      24);
  ts_ndarray_release(a);
  /* Bool bytes are normalized to 0/1. */
  a = parse_header_ok(1,
                      "{'descr': '|b1', 'fortran_order': False, "
                      "'shape': (2,), }\n",
                      2);
  if (a)
    CHECK_EQ_INT(((uint8_t *)ts_ndarray_data(a))[1], 1);
  ts_ndarray_release(a);
}

#define HDR(descr, order, shape)                                               \
  "{'descr': '" descr "', 'fortran_order': " order ", 'shape': " shape ", }\n"

TEST(malformed_files) {
  /* 1. bad magic, 2. empty file */
  expect_file_error(__LINE__, "PK\x03\x04 not numpy", 15, TS_ERR_FORMAT,
                    "not a .npy file (bad magic)");
  expect_file_error(__LINE__, "", 0, TS_ERR_FORMAT,
                    "not a .npy file (bad magic)");
  /* 3. only the magic and half the version */
  expect_file_error(__LINE__, "\x93NUMPY\x01", 7, TS_ERR_FORMAT,
                    "truncated header");
  /* 4. header length past the end of the file */
  expect_file_error(__LINE__, "\x93NUMPY\x01\x00\x76\x00{'descr'", 18,
                    TS_ERR_FORMAT, "truncated header");
  /* 5. header length missing (v2 needs 4 bytes) */
  expect_file_error(__LINE__, "\x93NUMPY\x02\x00\x10\x00", 10, TS_ERR_FORMAT,
                    "truncated header");
  /* 6. unknown version */
  expect_file_error(__LINE__, "\x93NUMPY\x04\x00\x00\x00", 10,
                    TS_ERR_UNSUPPORTED, "unsupported .npy format version 4.0");
  /* 7. unsupported dtypes */
  expect_header_error(__LINE__, HDR("<c8", "False", "(2,)"), 16,
                      TS_ERR_UNSUPPORTED, "unsupported dtype '<c8'");
  expect_header_error(__LINE__, HDR("<U3", "False", "(2,)"), 24,
                      TS_ERR_UNSUPPORTED, "unsupported dtype '<U3'");
  expect_header_error(__LINE__, HDR("|b2", "False", "(2,)"), 4,
                      TS_ERR_UNSUPPORTED, "unsupported dtype '|b2'");
  expect_header_error(__LINE__,
                      "{'descr': [('a', '<f4')], 'fortran_order': False, "
                      "'shape': (2,), }\n",
                      8, TS_ERR_UNSUPPORTED,
                      "unsupported dtype (structured arrays are not "
                      "supported)");
  /* 8. big-endian */
  expect_header_error(__LINE__, HDR(">f4", "False", "(2,)"), 8,
                      TS_ERR_UNSUPPORTED,
                      "big-endian data is not supported (dtype '>f4')");
  /* ... but byte order is irrelevant for one-byte types */
  ts_ndarray *a = parse_header_ok(1, HDR(">i1", "False", "(2,)"), 2);
  ts_ndarray_release(a);
  /* 9. Fortran order */
  expect_header_error(__LINE__, HDR("<f4", "True", "(2, 3)"), 24,
                      TS_ERR_UNSUPPORTED,
                      "Fortran-order arrays are not supported");
  /* 10. truncated data, 11. extra data */
  expect_header_error(__LINE__, HDR("<f4", "False", "(1, 784)"), 100,
                      TS_ERR_FORMAT,
                      "truncated data: expected 3136 bytes, found 100");
  expect_header_error(__LINE__, HDR("<f4", "False", "(2,)"), 12, TS_ERR_FORMAT,
                      "4 extra bytes after the data");
  /* found by fuzzing: a huge shape fails before anything is allocated */
  expect_header_error(__LINE__, HDR("<f2", "False", "(3, 1111111111111, 2)"), 6,
                      TS_ERR_FORMAT,
                      "truncated data: expected 13333333333332 bytes, found 6");
  /* 12. header syntax */
  expect_header_error(__LINE__, "{'descr': '<f4', 'fortran_order': False}\n", 4,
                      TS_ERR_FORMAT, "malformed header: missing key 'shape'");
  expect_header_error(__LINE__,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,),"
                      " 'foo': 1}\n",
                      4, TS_ERR_FORMAT,
                      "malformed header: unexpected key 'foo'");
  expect_header_error(__LINE__,
                      "{'descr': '<f4', 'descr': '<f4', 'fortran_order': "
                      "False, 'shape': (1,)}\n",
                      4, TS_ERR_FORMAT,
                      "malformed header: duplicate key 'descr'");
  expect_header_error(__LINE__, HDR("<f4", "False", "(-1,)"), 0, TS_ERR_FORMAT,
                      "malformed header: 'shape' must be a tuple of "
                      "non-negative integers");
  expect_header_error(__LINE__, HDR("<f4", "False", "(3)"), 12, TS_ERR_FORMAT,
                      "malformed header: 'shape' is not a tuple");
  expect_header_error(__LINE__, HDR("<f4", "False", "[3]"), 12, TS_ERR_FORMAT,
                      "malformed header: 'shape' is not a tuple");
  expect_header_error(__LINE__, HDR("<f4", "false", "(3,)"), 12, TS_ERR_FORMAT,
                      "malformed header: 'fortran_order' must be True or "
                      "False");
  expect_header_error(__LINE__, "{'descr': '<f4\n", 0, TS_ERR_FORMAT,
                      "malformed header: unterminated string");
  expect_header_error(__LINE__, "'descr': '<f4'}\n", 0, TS_ERR_FORMAT,
                      "malformed header: expected '{'");
  expect_header_error(__LINE__, HDR("<f4", "False", "(1,)") "x", 4,
                      TS_ERR_FORMAT,
                      "malformed header: unexpected text after '}'");
  expect_header_error(__LINE__, HDR("<f4", "False", "(1, 2 3)"), 24,
                      TS_ERR_FORMAT,
                      "malformed header: expected ',' or ')' in 'shape'");
  expect_header_error(__LINE__, HDR("<f4", "False", "(99999999999999999999,)"),
                      0, TS_ERR_FORMAT,
                      "malformed header: a 'shape' dimension is too large");
  expect_header_error(
      __LINE__, HDR("<f4", "False", "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)"), 4,
      TS_ERR_UNSUPPORTED, "too many dimensions (more than 16)");
  /* 13. a shape too large to allocate */
  expect_header_error(
      __LINE__, HDR("<f8", "False", "(4294967296, 4294967296, 4294967296)"), 0,
      TS_ERR_VALUE,
      "tensor too large: (4294967296, 4294967296, 4294967296) float64");
  /* 14. a file that does not exist */
  {
    char *path = path_in_tmp("missing.npy");
    char *want =
        ts_strdup_printf("%s: cannot open: No such file or directory", path);
    ts_status *st = ts_npy_read(path, &a);
    REQUIRE(st);
    CHECK_EQ_STR(ts_status_message(st), want);
    CHECK_EQ_INT(ts_status_code_of(st), TS_ERR_IO);
    ts_status_free(st);
    free(want);
    free(path);
  }
}

TEST(write_errors) {
  int64_t shape[1] = {2};
  ts_ndarray *a = NULL;
  CHECK_OK(ts_ndarray_create(1, shape, TS_DT(TS_BFLOAT, 16), &a));
  REQUIRE(a);
  char *path = path_in_tmp("bf.npy");
  CHECK_ERR(ts_npy_write(path, a), TS_ERR_UNSUPPORTED,
            "cannot write dtype bfloat16 to a .npy file");
  CHECK(access(path, F_OK) != 0);
  free(path);
  ts_ndarray_release(a);
  CHECK_OK(ts_ndarray_create(1, shape, TS_F32, &a));
  CHECK_ERR(ts_npy_write("/nonexistent-dir/y.npy", a), TS_ERR_IO,
            "/nonexistent-dir/y.npy");
  ts_ndarray_release(a);
}

static void remove_tmp(void) {
  const char *names[] = {"x.npy", "rt.npy", "bf.npy"};
  for (size_t i = 0; i < 3; i++) {
    char *p = path_in_tmp(names[i]);
    unlink(p);
    free(p);
  }
  rmdir(g_dir);
}

int main(void) {
  snprintf(g_dir, sizeof(g_dir), "/tmp/tessera_npy_XXXXXX");
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 1;
  }
  RUN(round_trip_every_dtype_and_rank);
  RUN(writes_what_numpy_writes);
  RUN(lenient_headers);
  RUN(malformed_files);
  RUN(write_errors);
  remove_tmp();
  return CHECK_DONE();
}
