/* test_ndarray.c: NDArray creation, lifetime, DLPack view, dtype conversion
 * (float16 / bfloat16 rounding included) and random fill. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "tessera/runtime.h"

static ts_ndarray *make(int ndim, const int64_t *shape, ts_dtype t) {
  ts_ndarray *a = NULL;
  CHECK_OK(ts_ndarray_create(ndim, shape, t, &a));
  return a;
}

TEST(create_fills_dltensor) {
  int64_t shape[2] = {3, 5};
  ts_ndarray *a = make(2, shape, TS_F32);
  REQUIRE(a);
  CHECK_EQ_INT(ts_ndarray_ndim(a), 2);
  CHECK_EQ_INT(ts_ndarray_shape(a)[0], 3);
  CHECK_EQ_INT(ts_ndarray_shape(a)[1], 5);
  CHECK_EQ_INT(ts_ndarray_numel(a), 15);
  CHECK_EQ_INT(ts_ndarray_nbytes(a), 60);
  CHECK(ts_dtype_eq(ts_ndarray_dtype(a), TS_F32));
  CHECK_EQ_INT((uintptr_t)ts_ndarray_data(a) % 64, 0);
  const float *d = ts_ndarray_data(a);
  for (int i = 0; i < 15; i++)
    CHECK(d[i] == 0.0f);
  DLTensor *dl = ts_ndarray_dl(a);
  CHECK(dl->data == ts_ndarray_data(a));
  CHECK_EQ_INT(dl->device.device_type, kDLCPU);
  CHECK_EQ_INT(dl->device.device_id, 0);
  CHECK_EQ_INT(dl->ndim, 2);
  CHECK_EQ_INT(dl->dtype.code, kDLFloat);
  CHECK_EQ_INT(dl->dtype.bits, 32);
  CHECK_EQ_INT(dl->dtype.lanes, 1);
  CHECK_EQ_INT(dl->shape[1], 5);
  CHECK(dl->strides == NULL);
  CHECK_EQ_INT(dl->byte_offset, 0);
  char buf[64];
  CHECK_EQ_STR(ts_ndarray_describe(a, buf, sizeof(buf)), "(3, 5) float32");
  ts_ndarray_release(a);
}

TEST(retain_release) {
  int64_t shape[1] = {4};
  ts_ndarray *a = make(1, shape, TS_I64);
  REQUIRE(a);
  CHECK(ts_ndarray_retain(a) == a);
  ts_ndarray_release(a);
  ts_ndarray_set_i64(a, 3, 7); /* still alive */
  CHECK_EQ_INT(ts_ndarray_get_i64(a, 3), 7);
  ts_ndarray_release(a);
  ts_ndarray_release(NULL);
}

static void *retain_release_loop(void *arg) {
  ts_ndarray *a = arg;
  for (int i = 0; i < 20000; i++) {
    ts_ndarray_retain(a);
    ts_ndarray_release(a);
  }
  return NULL;
}

TEST(refcount_is_atomic) {
  int64_t shape[1] = {1};
  ts_ndarray *a = make(1, shape, TS_F32);
  REQUIRE(a);
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, retain_release_loop, a);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  ts_ndarray_release(a); /* ASan reports a leak or double free otherwise */
}

TEST(scalar_and_empty) {
  ts_ndarray *s = make(0, NULL, TS_F64);
  REQUIRE(s);
  CHECK_EQ_INT(ts_ndarray_numel(s), 1);
  CHECK_EQ_INT(ts_ndarray_nbytes(s), 8);
  ts_ndarray_set_f64(s, 0, 2.5);
  CHECK(ts_ndarray_get_f64(s, 0) == 2.5);
  char buf[64];
  CHECK_EQ_STR(ts_ndarray_describe(s, buf, sizeof(buf)), "() float64");
  ts_ndarray_release(s);

  int64_t shape[3] = {2, 0, 3};
  ts_ndarray *e = make(3, shape, TS_F32);
  REQUIRE(e);
  CHECK_EQ_INT(ts_ndarray_numel(e), 0);
  CHECK_EQ_INT(ts_ndarray_nbytes(e), 0);
  CHECK(ts_ndarray_data(e) != NULL);
  ts_ndarray_release(e);

  /* A zero dimension makes a huge shape empty, not too large. */
  int64_t huge[3] = {INT64_MAX, 0, INT64_MAX};
  e = make(3, huge, TS_F32);
  REQUIRE(e);
  CHECK_EQ_INT(ts_ndarray_numel(e), 0);
  ts_ndarray_release(e);

  int64_t one[1] = {5};
  ts_ndarray *v = make(1, one, TS_I32);
  REQUIRE(v);
  CHECK_EQ_STR(ts_ndarray_describe(v, buf, sizeof(buf)), "(5,) int32");
  ts_ndarray_release(v);
}

TEST(create_errors) {
  ts_ndarray *a = (ts_ndarray *)1;
  int64_t shape[17] = {0};
  for (int i = 0; i < 17; i++)
    shape[i] = 1;
  CHECK_ERR(ts_ndarray_create(17, shape, TS_F32, &a), TS_ERR_VALUE,
            "tensor has 17 dimensions; expected 0 to 16");
  CHECK(a == NULL);
  CHECK_ERR(ts_ndarray_create(-1, shape, TS_F32, &a), TS_ERR_VALUE,
            "tensor has -1 dimensions");
  int64_t neg[2] = {3, -2};
  CHECK_ERR(ts_ndarray_create(2, neg, TS_F32, &a), TS_ERR_VALUE,
            "tensor dimension 1 is negative (-2)");
  int64_t big[3] = {1LL << 40, 1LL << 40, 1LL << 40};
  CHECK_ERR(ts_ndarray_create(3, big, TS_F32, &a), TS_ERR_VALUE,
            "tensor too large: (1099511627776, 1099511627776, 1099511627776) "
            "float32");
  int64_t big2[1] = {INT64_MAX / 2};
  CHECK_ERR(ts_ndarray_create(1, big2, TS_F64, &a), TS_ERR_VALUE,
            "tensor too large: (4611686018427387903,) float64");
  ts_dtype vec = TS_F32;
  vec.lanes = 4;
  CHECK_ERR(ts_ndarray_create(1, shape, vec, &a), TS_ERR_UNSUPPORTED,
            "unsupported tensor dtype 'float32x4'");
  CHECK_ERR(ts_ndarray_create(1, shape, TS_DT(TS_INT, 4), &a),
            TS_ERR_UNSUPPORTED, "unsupported tensor dtype");
  CHECK_ERR(ts_ndarray_create(1, shape, TS_HANDLET, &a), TS_ERR_UNSUPPORTED,
            "unsupported tensor dtype 'handle'");
}

TEST(view_borrows) {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  int64_t shape[2] = {2, 3};
  ts_ndarray *v = NULL;
  CHECK_OK(ts_ndarray_view(2, shape, TS_F32, buf, &v));
  REQUIRE(v);
  CHECK(ts_ndarray_data(v) == buf);
  CHECK(ts_ndarray_get_f64(v, 5) == 6.0);
  ts_ndarray_set_f64(v, 0, 9.0);
  CHECK(buf[0] == 9.0f);
  ts_ndarray_release(v); /* must not free buf (ASan would catch it) */
  CHECK_ERR(ts_ndarray_view(2, shape, TS_F32, NULL, &v), TS_ERR_VALUE,
            "has no data");
}

TEST(dlpack_dtypes) {
  DLDataType d = ts_dtype_to_dl(TS_BOOLT);
  CHECK_EQ_INT(d.code, kDLUInt);
  CHECK_EQ_INT(d.bits, 1);
  CHECK_EQ_INT(d.lanes, 1);
  ts_dtype t;
  CHECK(ts_dtype_from_dl(d, &t));
  CHECK(ts_dtype_eq(t, TS_BOOLT));
  CHECK(ts_dtype_from_dl((DLDataType){6, 8, 1}, &t)); /* newer kDLBool */
  CHECK(ts_dtype_eq(t, TS_BOOLT));
  d = ts_dtype_to_dl(TS_DT(TS_BFLOAT, 16));
  CHECK_EQ_INT(d.code, kDLBfloat);
  CHECK_EQ_INT(d.bits, 16);
  CHECK(ts_dtype_from_dl((DLDataType){kDLUInt, 8, 1}, &t));
  CHECK(ts_dtype_eq(t, TS_DT(TS_UINT, 8)));
  CHECK(ts_dtype_from_dl((DLDataType){kDLFloat, 32, 4}, &t));
  CHECK_EQ_INT(t.lanes, 4);
  CHECK(!ts_dtype_from_dl((DLDataType){kDLComplex, 64, 1}, &t));
  CHECK(!ts_dtype_from_dl((DLDataType){kDLFloat, 24, 1}, &t));
  CHECK(!ts_dtype_from_dl((DLDataType){kDLInt, 7, 1}, &t));

  /* Bool given with bits 1 is normalized; stored as one byte. */
  int64_t shape[1] = {3};
  ts_ndarray *b = make(1, shape, TS_DT(TS_BOOL, 1));
  REQUIRE(b);
  CHECK(ts_dtype_eq(ts_ndarray_dtype(b), TS_BOOLT));
  CHECK_EQ_INT(ts_ndarray_nbytes(b), 3);
  CHECK_EQ_INT(ts_ndarray_dl(b)->dtype.bits, 1);
  ts_ndarray_set_f64(b, 1, -0.5);
  CHECK_EQ_INT(((uint8_t *)ts_ndarray_data(b))[1], 1);
  CHECK(ts_ndarray_get_f64(b, 1) == 1.0);
  ts_ndarray_set_i64(b, 1, 0);
  CHECK_EQ_INT(ts_ndarray_get_i64(b, 1), 0);
  ts_ndarray_release(b);
}

/* Stores v in a float16 (or bfloat16) scalar and returns the bits. */
static uint16_t half_bits(ts_dtype t, double v) {
  ts_ndarray *a = make(0, NULL, t);
  TS_ASSERT(a);
  ts_ndarray_set_f64(a, 0, v);
  uint16_t r = *(uint16_t *)ts_ndarray_data(a);
  ts_ndarray_release(a);
  return r;
}

static double half_value(ts_dtype t, uint16_t bits) {
  ts_ndarray *a = make(0, NULL, t);
  TS_ASSERT(a);
  *(uint16_t *)ts_ndarray_data(a) = bits;
  double r = ts_ndarray_get_f64(a, 0);
  ts_ndarray_release(a);
  return r;
}

TEST(float16) {
  ts_dtype h = TS_F16;
  CHECK_EQ_INT(half_bits(h, 1.0), 0x3c00);
  CHECK_EQ_INT(half_bits(h, -2.5), 0xc100);
  CHECK_EQ_INT(half_bits(h, 0.0), 0x0000);
  CHECK_EQ_INT(half_bits(h, -0.0), 0x8000);
  CHECK_EQ_INT(half_bits(h, 65504.0), 0x7bff);
  CHECK_EQ_INT(half_bits(h, 65519.0), 0x7bff); /* below the halfway point */
  CHECK_EQ_INT(half_bits(h, 65520.0), 0x7c00); /* halfway: to even = inf */
  CHECK_EQ_INT(half_bits(h, 1e10), 0x7c00);
  CHECK_EQ_INT(half_bits(h, -INFINITY), 0xfc00);
  CHECK_EQ_INT(half_bits(h, 0.1), 0x2e66);
  CHECK_EQ_INT(half_bits(h, ldexp(1, -14)), 0x0400);    /* smallest normal */
  CHECK_EQ_INT(half_bits(h, ldexp(1, -24)), 0x0001);    /* smallest subnormal */
  CHECK_EQ_INT(half_bits(h, ldexp(1023, -24)), 0x03ff); /* largest subnormal */
  CHECK_EQ_INT(half_bits(h, ldexp(1, -25)), 0x0000);    /* tie: to even (0) */
  CHECK_EQ_INT(half_bits(h, ldexp(3, -25)), 0x0002);    /* tie: to even (2) */
  CHECK_EQ_INT(half_bits(h, ldexp(1.5, -25)), 0x0001);
  CHECK_EQ_INT(half_bits(h, ldexp(1, -26)), 0x0000);
  CHECK_EQ_INT(half_bits(h, ldexp(2047, -25)), 0x0400); /* rounds to normal */
  CHECK_EQ_INT(half_bits(h, 1.0 + ldexp(1, -11)), 0x3c00); /* tie to even */
  CHECK_EQ_INT(half_bits(h, 1.0 + ldexp(3, -11)), 0x3c02); /* tie to even */
  CHECK_EQ_INT(half_bits(h, 1.0 + ldexp(1, -11) + ldexp(1, -30)), 0x3c01);
  uint16_t nan = half_bits(h, NAN);
  CHECK((nan & 0x7c00) == 0x7c00 && (nan & 0x03ff) != 0);

  CHECK(half_value(h, 0x3c00) == 1.0);
  CHECK(half_value(h, 0xc100) == -2.5);
  CHECK(half_value(h, 0x7bff) == 65504.0);
  CHECK(half_value(h, 0x0001) == ldexp(1, -24));
  CHECK(half_value(h, 0x03ff) == ldexp(1023, -24));
  CHECK(half_value(h, 0x8000) == 0.0 && signbit(half_value(h, 0x8000)));
  CHECK(isinf(half_value(h, 0x7c00)) && half_value(h, 0x7c00) > 0);
  CHECK(isnan(half_value(h, 0x7e00)));
  /* Every finite half survives a round trip through double. */
  int bad = 0;
  for (uint32_t b = 0; b < 0x10000; b++) {
    if ((b & 0x7c00) == 0x7c00)
      continue;
    if (half_bits(h, half_value(h, (uint16_t)b)) != b)
      bad++;
  }
  CHECK_EQ_INT(bad, 0);
  /* get_i64 truncates. */
  ts_ndarray *a = make(0, NULL, h);
  ts_ndarray_set_f64(a, 0, -2.5);
  CHECK_EQ_INT(ts_ndarray_get_i64(a, 0), -2);
  ts_ndarray_set_i64(a, 0, 2049); /* not representable: to even 2048 */
  CHECK(ts_ndarray_get_f64(a, 0) == 2048.0);
  ts_ndarray_release(a);
}

TEST(bfloat16) {
  ts_dtype b = TS_DT(TS_BFLOAT, 16);
  CHECK_EQ_INT(half_bits(b, 1.0), 0x3f80);
  CHECK_EQ_INT(half_bits(b, -2.5), 0xc020);
  CHECK_EQ_INT(half_bits(b, 3.14159265358979), 0x4049);
  CHECK_EQ_INT(half_bits(b, 1.0 + ldexp(1, -8)), 0x3f80); /* tie to even */
  CHECK_EQ_INT(half_bits(b, 1.0 + ldexp(3, -8)), 0x3f82);
  CHECK_EQ_INT(half_bits(b, ldexp(255, 120)), 0x7f7f); /* largest finite */
  CHECK_EQ_INT(half_bits(b, ldexp(511, 119)), 0x7f80); /* tie: to even = inf */
  CHECK_EQ_INT(half_bits(b, 1e39), 0x7f80);
  CHECK_EQ_INT(half_bits(b, ldexp(1, -133)), 0x0001); /* smallest subnormal */
  CHECK(half_value(b, 0x3f80) == 1.0);
  CHECK(half_value(b, 0x4049) == 3.140625);
  CHECK(half_value(b, 0x0001) == ldexp(1, -133));
  CHECK(isnan(half_value(b, 0x7fc0)));
}

TEST(integer_access) {
  int64_t shape[1] = {2};
  ts_ndarray *a = make(1, shape, TS_DT(TS_INT, 8));
  ts_ndarray_set_i64(a, 0, 300); /* wraps */
  CHECK_EQ_INT(ts_ndarray_get_i64(a, 0), 44);
  ts_ndarray_set_i64(a, 1, -128);
  CHECK(ts_ndarray_get_f64(a, 1) == -128.0);
  ts_ndarray_release(a);

  a = make(1, shape, TS_DT(TS_UINT, 64));
  ts_ndarray_set_f64(a, 0, 18446744073709549568.0);
  CHECK(ts_ndarray_get_f64(a, 0) == 18446744073709549568.0);
  ts_ndarray_set_f64(a, 1, 1e30); /* saturates */
  CHECK(((uint64_t *)ts_ndarray_data(a))[0] == 18446744073709549568ULL);
  CHECK(((uint64_t *)ts_ndarray_data(a))[1] == UINT64_MAX);
  ts_ndarray_release(a);

  a = make(1, shape, TS_I32);
  ts_ndarray_set_f64(a, 0, -3.7);
  CHECK_EQ_INT(ts_ndarray_get_i64(a, 0), -3);
  ts_ndarray_set_f64(a, 1, NAN);
  CHECK_EQ_INT(ts_ndarray_get_i64(a, 1), 0);
  ts_ndarray_release(a);

  a = make(1, shape, TS_F32);
  ts_ndarray_set_f64(a, 0, 1e20);
  CHECK_EQ_INT(ts_ndarray_get_i64(a, 0), INT64_MAX);
  ts_ndarray_set_f64(a, 1, NAN);
  CHECK_EQ_INT(ts_ndarray_get_i64(a, 1), 0);
  ts_ndarray_release(a);
}

TEST(fill_random) {
  static const ts_dtype types[] = {
      TS_F32, TS_F64,         TS_F16,          {TS_BFLOAT, 16, 1}, TS_I32,
      TS_I64, {TS_INT, 8, 1}, {TS_UINT, 8, 1}, {TS_UINT, 64, 1},   TS_BOOLT,
  };
  int64_t shape[2] = {50, 40};
  for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
    ts_ndarray *a = make(2, shape, types[k]);
    ts_ndarray *b = make(2, shape, types[k]);
    ts_ndarray *c = make(2, shape, types[k]);
    REQUIRE(a && b && c);
    ts_ndarray_fill_random(a, 42);
    ts_ndarray_fill_random(b, 42);
    ts_ndarray_fill_random(c, 43);
    CHECK(memcmp(ts_ndarray_data(a), ts_ndarray_data(b),
                 ts_ndarray_nbytes(a)) == 0);
    CHECK(memcmp(ts_ndarray_data(a), ts_ndarray_data(c),
                 ts_ndarray_nbytes(a)) != 0);
    double lo = 1e9, hi = -1e9;
    for (int64_t i = 0; i < ts_ndarray_numel(a); i++) {
      double v = ts_ndarray_get_f64(a, i);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
      if (ts_dtype_is_float(types[k])) {
        CHECK(v >= -1.0 && v < 1.0);
      } else if (ts_dtype_is_bool(types[k])) {
        CHECK(v == 0.0 || v == 1.0);
      } else {
        CHECK(v >= 0 && v < 10 && v == floor(v));
      }
    }
    if (ts_dtype_is_float(types[k])) {
      CHECK(lo < -0.9 && hi > 0.9);
    } else if (ts_dtype_is_bool(types[k])) {
      CHECK(lo == 0 && hi == 1);
    } else {
      CHECK(lo == 0 && hi == 9);
    }
    ts_ndarray_release(a);
    ts_ndarray_release(b);
    ts_ndarray_release(c);
  }
}

int main(void) {
  RUN(create_fills_dltensor);
  RUN(retain_release);
  RUN(refcount_is_atomic);
  RUN(scalar_and_empty);
  RUN(create_errors);
  RUN(view_borrows);
  RUN(dlpack_dtypes);
  RUN(float16);
  RUN(bfloat16);
  RUN(integer_access);
  RUN(fill_random);
  return CHECK_DONE();
}
