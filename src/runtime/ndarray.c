/* ndarray.c: the runtime's tensor: a refcounted, compact row-major array on
 * the CPU whose DLPack view (DLTensor) is kept filled in.
 *
 * Conventions:
 * - Storage is 64-byte aligned, zero-filled, and at least 64 bytes (so a
 *   zero-size array still has a non-NULL data pointer).
 * - Supported element types: bool (one byte, 0/1), int8..64, uint8..64,
 *   float16/32/64, bfloat16; lanes == 1.  A bool dtype given with bits 1 is
 *   normalized to TS_BOOLT (bits 8).
 * - Element conversions: float -> int truncates toward zero and saturates to
 *   the int64 (uint64 for uint64) range, NaN becomes 0; narrower integer
 *   types then wrap as C's unsigned conversion does.  double -> float16 and
 *   double -> bfloat16 round to nearest even directly from the double (no
 *   double rounding through float). */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ndarray_internal.h"
#include "tessera/runtime.h"

struct ts_ndarray {
  atomic_int refcount;
  bool owns_data;
  ts_dtype dtype;
  int64_t numel;
  size_t nbytes;
  int64_t shape[TS_MAX_NDIM]; /* dl.shape points here */
  DLTensor dl;
};

#define TS_NDARRAY_ALIGN 64

/* ---- dtypes ------------------------------------------------------ */

/* Normalizes `t` to a supported tensor element type; false when unsupported.
 */
static bool normalize_dtype(ts_dtype t, ts_dtype *out) {
  if (t.lanes != 1)
    return false;
  switch (t.code) {
  case TS_BOOL:
    if (t.bits != 1 && t.bits != 8)
      return false;
    *out = TS_BOOLT;
    return true;
  case TS_INT:
  case TS_UINT:
    if (t.bits != 8 && t.bits != 16 && t.bits != 32 && t.bits != 64)
      return false;
    break;
  case TS_FLOAT:
    if (t.bits != 16 && t.bits != 32 && t.bits != 64)
      return false;
    break;
  case TS_BFLOAT:
    if (t.bits != 16)
      return false;
    break;
  default:
    return false;
  }
  *out = t;
  return true;
}

static size_t elem_bytes(ts_dtype t) {
  return t.code == TS_BOOL ? 1 : (size_t)t.bits / 8;
}

DLDataType ts_dtype_to_dl(ts_dtype t) {
  DLDataType d;
  if (t.code == TS_BOOL) {
    d.code = kDLUInt;
    d.bits = 1;
    d.lanes = t.lanes;
    return d;
  }
  d.code = t.code; /* int/uint/float/bfloat codes match DLPack's */
  d.bits = t.bits;
  d.lanes = t.lanes;
  return d;
}

bool ts_dtype_from_dl(DLDataType t, ts_dtype *out) {
  ts_dtype r;
  /* Bool: {kDLUInt, 1} (TVM) or kDLBool == 6 (newer DLPack), bits 1 or 8. */
  if ((t.code == kDLUInt && t.bits == 1) ||
      (t.code == 6 && (t.bits == 1 || t.bits == 8))) {
    r = TS_BOOLT;
    r.lanes = t.lanes;
    *out = r;
    return true;
  }
  switch (t.code) {
  case kDLInt:
  case kDLUInt:
    if (t.bits != 8 && t.bits != 16 && t.bits != 32 && t.bits != 64)
      return false;
    break;
  case kDLFloat:
    if (t.bits != 16 && t.bits != 32 && t.bits != 64)
      return false;
    break;
  case kDLBfloat:
    if (t.bits != 16)
      return false;
    break;
  case kDLOpaqueHandle:
    if (t.bits != 64)
      return false;
    break;
  default:
    return false;
  }
  if (t.lanes == 0)
    return false;
  r.code = t.code;
  r.bits = t.bits;
  r.lanes = t.lanes;
  *out = r;
  return true;
}

/* ---- creation ---------------------------------------------------- */

static void describe_shape(ts_strbuf *b, int ndim, const int64_t *shape) {
  ts_strbuf_append(b, "(");
  for (int i = 0; i < ndim; i++)
    ts_strbuf_printf(b, "%s%lld", i ? ", " : "", (long long)shape[i]);
  ts_strbuf_append(b, ndim == 1 ? ",)" : ")");
}

/* Validates ndim/shape/dtype and computes element count and byte size. */
static ts_status *check_layout(int ndim, const int64_t *shape, ts_dtype dtype,
                               ts_dtype *out_dtype, int64_t *out_numel,
                               size_t *out_nbytes) {
  char buf[32];
  if (!normalize_dtype(dtype, out_dtype))
    return ts_error(TS_ERR_UNSUPPORTED, "unsupported tensor dtype '%s'",
                    ts_dtype_str(dtype, buf));
  if (ndim < 0 || ndim > TS_MAX_NDIM)
    return ts_error(TS_ERR_VALUE, "tensor has %d dimensions; expected 0 to %d",
                    ndim, TS_MAX_NDIM);
  TS_ASSERT(ndim == 0 || shape != NULL);
  size_t n = 1;
  bool overflow = false;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return ts_error(TS_ERR_VALUE, "tensor dimension %d is negative (%lld)", i,
                      (long long)shape[i]);
    if (!ts_size_mul(n, (size_t)shape[i], &n))
      overflow = true;
  }
  size_t nbytes = 0;
  if (overflow || n > (size_t)INT64_MAX ||
      !ts_size_mul(n, elem_bytes(*out_dtype), &nbytes) ||
      nbytes > (size_t)INT64_MAX - TS_NDARRAY_ALIGN) {
    /* A zero dimension anywhere makes the product 0, never an overflow. */
    bool has_zero = false;
    for (int i = 0; i < ndim; i++)
      if (shape[i] == 0)
        has_zero = true;
    if (!has_zero) {
      ts_strbuf b = {0};
      describe_shape(&b, ndim, shape);
      ts_status *st = ts_error(TS_ERR_VALUE, "tensor too large: %s %s", b.data,
                               ts_dtype_str(*out_dtype, buf));
      ts_strbuf_free(&b);
      return st;
    }
    n = 0;
    nbytes = 0;
  }
  *out_numel = (int64_t)n;
  *out_nbytes = nbytes;
  return NULL;
}

static ts_ndarray *new_header(int ndim, const int64_t *shape, ts_dtype dtype,
                              int64_t numel, size_t nbytes) {
  ts_ndarray *a = ts_xcalloc(1, sizeof(*a));
  atomic_init(&a->refcount, 1);
  a->dtype = dtype;
  a->numel = numel;
  a->nbytes = nbytes;
  for (int i = 0; i < ndim; i++)
    a->shape[i] = shape[i];
  a->dl.device.device_type = kDLCPU;
  a->dl.device.device_id = 0;
  a->dl.ndim = ndim;
  a->dl.dtype = ts_dtype_to_dl(dtype);
  a->dl.shape = a->shape;
  a->dl.strides = NULL;
  a->dl.byte_offset = 0;
  return a;
}

static ts_status *create(int ndim, const int64_t *shape, ts_dtype dtype, bool zero,
                         ts_ndarray **out) {
  ts_dtype dt;
  int64_t numel;
  size_t nbytes;
  *out = NULL;
  TS_RETURN_IF_ERROR(check_layout(ndim, shape, dtype, &dt, &numel, &nbytes));
  size_t cap =
      (nbytes + TS_NDARRAY_ALIGN - 1) / TS_NDARRAY_ALIGN * TS_NDARRAY_ALIGN;
  if (cap == 0)
    cap = TS_NDARRAY_ALIGN;
  void *data = aligned_alloc(TS_NDARRAY_ALIGN, cap);
  if (!data) {
    char buf[32];
    ts_strbuf b = {0};
    describe_shape(&b, ndim, shape);
    ts_status *st = ts_error(
        TS_ERR_RUNTIME, "out of memory allocating tensor %s %s (%zu bytes)",
        b.data, ts_dtype_str(dt, buf), nbytes);
    ts_strbuf_free(&b);
    return st;
  }
  if (zero)
    memset(data, 0, cap);
#ifdef TESSERA_POISON_UNINIT
  else
    memset(data, 0xff, cap);
#endif
  ts_ndarray *a = new_header(ndim, shape, dt, numel, nbytes);
  a->owns_data = true;
  a->dl.data = data;
  *out = a;
  return NULL;
}

ts_status *ts_ndarray_create(int ndim, const int64_t *shape, ts_dtype dtype,
                             ts_ndarray **out) {
  return create(ndim, shape, dtype, true, out);
}

ts_status *ts_ndarray_create_uninit(int ndim, const int64_t *shape,
                                    ts_dtype dtype, ts_ndarray **out) {
  return create(ndim, shape, dtype, false, out);
}

bool ts_ndarray_is_unique(ts_ndarray *a) {
  return atomic_load_explicit(&a->refcount, memory_order_acquire) == 1;
}

ts_status *ts_ndarray_view(int ndim, const int64_t *shape, ts_dtype dtype,
                           void *data, ts_ndarray **out) {
  ts_dtype dt;
  int64_t numel;
  size_t nbytes;
  *out = NULL;
  TS_RETURN_IF_ERROR(check_layout(ndim, shape, dtype, &dt, &numel, &nbytes));
  if (!data && nbytes > 0)
    return ts_error(TS_ERR_VALUE, "tensor view of %zu bytes has no data",
                    nbytes);
  ts_ndarray *a = new_header(ndim, shape, dt, numel, nbytes);
  a->owns_data = false;
  a->dl.data = data;
  *out = a;
  return NULL;
}

ts_ndarray *ts_ndarray_retain(ts_ndarray *a) {
  if (a)
    atomic_fetch_add_explicit(&a->refcount, 1, memory_order_relaxed);
  return a;
}

void ts_ndarray_release(ts_ndarray *a) {
  if (!a)
    return;
  int old = atomic_fetch_sub_explicit(&a->refcount, 1, memory_order_acq_rel);
  TS_ASSERT(old > 0);
  if (old != 1)
    return;
  if (a->owns_data)
    free(a->dl.data);
  free(a);
}

/* ---- accessors --------------------------------------------------- */

DLTensor *ts_ndarray_dl(ts_ndarray *a) { return &a->dl; }
void *ts_ndarray_data(const ts_ndarray *a) { return a->dl.data; }
int ts_ndarray_ndim(const ts_ndarray *a) { return a->dl.ndim; }
const int64_t *ts_ndarray_shape(const ts_ndarray *a) { return a->shape; }
ts_dtype ts_ndarray_dtype(const ts_ndarray *a) { return a->dtype; }
int64_t ts_ndarray_numel(const ts_ndarray *a) { return a->numel; }
size_t ts_ndarray_nbytes(const ts_ndarray *a) { return a->nbytes; }

const char *ts_ndarray_describe(const ts_ndarray *a, char *buf, size_t n) {
  char dt[32];
  ts_strbuf b = {0};
  describe_shape(&b, a->dl.ndim, a->shape);
  ts_strbuf_printf(&b, " %s", ts_dtype_str(a->dtype, dt));
  if (n > 0)
    snprintf(buf, n, "%s", b.data);
  ts_strbuf_free(&b);
  return buf;
}

/* ---- float16 / bfloat16 ------------------------------------------ */

/* Rounds a double to a binary float with `ebits` exponent bits and `mbits`
 * mantissa bits (IEEE layout, at most 16 bits), round-to-nearest-even. */
static uint16_t f64_to_small_float(double v, int ebits, int mbits) {
  uint64_t b;
  memcpy(&b, &v, sizeof(b));
  uint16_t sign = (uint16_t)((b >> 63) << (ebits + mbits));
  int exp = (int)((b >> 52) & 0x7ff);
  uint64_t mant = b & ((UINT64_C(1) << 52) - 1);
  int bias = (1 << (ebits - 1)) - 1;
  uint16_t exp_max = (uint16_t)((1 << ebits) - 1);
  uint16_t inf = (uint16_t)(exp_max << mbits);
  if (exp == 0x7ff) {
    if (!mant)
      return sign | inf;
    /* Quiet NaN keeping the top payload bits. */
    return (uint16_t)(sign | inf | (1u << (mbits - 1)) |
                      (uint16_t)(mant >> (52 - mbits)));
  }
  if (exp == 0)
    return sign;             /* double zero/subnormal: far below range */
  int e = exp - 1023 + bias; /* target biased exponent */
  if (e >= (int)exp_max)
    return sign | inf;
  uint64_t m;
  int shift;
  uint64_t base;
  if (e <= 0) {
    /* Subnormal in the target: value = h * 2^(1 - bias - mbits). */
    m = mant | (UINT64_C(1) << 52);
    shift = 53 - mbits - e;
    if (shift > 53)
      return sign;
    base = 0;
  } else {
    m = mant;
    shift = 52 - mbits;
    base = (uint64_t)e << mbits;
  }
  uint64_t h = m >> shift;
  uint64_t rem = m & ((UINT64_C(1) << shift) - 1);
  uint64_t half = UINT64_C(1) << (shift - 1);
  if (rem > half || (rem == half && (h & 1)))
    h++;
  /* A mantissa carry rolls into the exponent (up to infinity): correct. */
  return (uint16_t)(sign | (base + h));
}

static double small_float_to_f64(uint16_t x, int ebits, int mbits) {
  int bias = (1 << (ebits - 1)) - 1;
  int exp_max = (1 << ebits) - 1;
  int sign = (x >> (ebits + mbits)) & 1;
  int exp = (x >> mbits) & exp_max;
  uint32_t mant = x & ((1u << mbits) - 1);
  double r;
  if (exp == exp_max) {
    r = mant ? (double)NAN : (double)INFINITY;
  } else if (exp == 0) {
    r = ldexp((double)mant, 1 - bias - mbits);
  } else {
    r = ldexp((double)(mant | (1u << mbits)), exp - bias - mbits);
  }
  return sign ? -r : r;
}

/* ---- element access ---------------------------------------------- */

static int64_t f64_to_i64_sat(double v) {
  if (v != v)
    return 0;
  if (v >= 9223372036854775807.0)
    return INT64_MAX;
  if (v <= -9223372036854775808.0)
    return INT64_MIN;
  return (int64_t)v;
}

static uint64_t f64_to_u64_sat(double v) {
  if (v != v || v <= 0)
    return v <= -1 ? (uint64_t)f64_to_i64_sat(v) : 0;
  if (v >= 18446744073709551615.0)
    return UINT64_MAX;
  return (uint64_t)v;
}

static void *elem_ptr(const ts_ndarray *a, int64_t i) {
  TS_ASSERT(i >= 0 && i < a->numel);
  return (char *)a->dl.data + (size_t)i * elem_bytes(a->dtype);
}

#define LOAD(T, p) (*(const T *)(p))
#define STORE(T, p, v) (*(T *)(p) = (v))

double ts_ndarray_get_f64(const ts_ndarray *a, int64_t i) {
  const void *p = elem_ptr(a, i);
  ts_dtype t = a->dtype;
  switch (t.code) {
  case TS_BOOL:
    return LOAD(uint8_t, p) ? 1.0 : 0.0;
  case TS_INT:
    switch (t.bits) {
    case 8:
      return LOAD(int8_t, p);
    case 16:
      return LOAD(int16_t, p);
    case 32:
      return LOAD(int32_t, p);
    case 64:
      return (double)LOAD(int64_t, p);
    }
    break;
  case TS_UINT:
    switch (t.bits) {
    case 8:
      return LOAD(uint8_t, p);
    case 16:
      return LOAD(uint16_t, p);
    case 32:
      return LOAD(uint32_t, p);
    case 64:
      return (double)LOAD(uint64_t, p);
    }
    break;
  case TS_FLOAT:
    switch (t.bits) {
    case 16:
      return small_float_to_f64(LOAD(uint16_t, p), 5, 10);
    case 32:
      return LOAD(float, p);
    case 64:
      return LOAD(double, p);
    }
    break;
  case TS_BFLOAT:
    return small_float_to_f64(LOAD(uint16_t, p), 8, 7);
  }
  TS_UNREACHABLE();
}

void ts_ndarray_set_f64(ts_ndarray *a, int64_t i, double v) {
  void *p = elem_ptr(a, i);
  ts_dtype t = a->dtype;
  switch (t.code) {
  case TS_BOOL:
    STORE(uint8_t, p, v != 0);
    return;
  case TS_INT:
  case TS_UINT:
    if (t.code == TS_UINT && t.bits == 64)
      STORE(uint64_t, p, f64_to_u64_sat(v));
    else
      ts_ndarray_set_i64(a, i, f64_to_i64_sat(v));
    return;
  case TS_FLOAT:
    switch (t.bits) {
    case 16:
      STORE(uint16_t, p, f64_to_small_float(v, 5, 10));
      return;
    case 32:
      STORE(float, p, (float)v);
      return;
    case 64:
      STORE(double, p, v);
      return;
    }
    break;
  case TS_BFLOAT:
    STORE(uint16_t, p, f64_to_small_float(v, 8, 7));
    return;
  }
  TS_UNREACHABLE();
}

int64_t ts_ndarray_get_i64(const ts_ndarray *a, int64_t i) {
  const void *p = elem_ptr(a, i);
  ts_dtype t = a->dtype;
  switch (t.code) {
  case TS_BOOL:
    return LOAD(uint8_t, p) != 0;
  case TS_INT:
    switch (t.bits) {
    case 8:
      return LOAD(int8_t, p);
    case 16:
      return LOAD(int16_t, p);
    case 32:
      return LOAD(int32_t, p);
    case 64:
      return LOAD(int64_t, p);
    }
    break;
  case TS_UINT:
    switch (t.bits) {
    case 8:
      return LOAD(uint8_t, p);
    case 16:
      return LOAD(uint16_t, p);
    case 32:
      return LOAD(uint32_t, p);
    case 64:
      return (int64_t)LOAD(uint64_t, p);
    }
    break;
  case TS_FLOAT:
  case TS_BFLOAT:
    return f64_to_i64_sat(ts_ndarray_get_f64(a, i));
  }
  TS_UNREACHABLE();
}

void ts_ndarray_set_i64(ts_ndarray *a, int64_t i, int64_t v) {
  void *p = elem_ptr(a, i);
  ts_dtype t = a->dtype;
  uint64_t u = (uint64_t)v; /* integer stores wrap */
  switch (t.code) {
  case TS_BOOL:
    STORE(uint8_t, p, v != 0);
    return;
  case TS_INT:
  case TS_UINT:
    switch (t.bits) {
    case 8:
      STORE(uint8_t, p, (uint8_t)u);
      return;
    case 16:
      STORE(uint16_t, p, (uint16_t)u);
      return;
    case 32:
      STORE(uint32_t, p, (uint32_t)u);
      return;
    case 64:
      STORE(uint64_t, p, u);
      return;
    }
    break;
  case TS_FLOAT:
  case TS_BFLOAT:
    ts_ndarray_set_f64(a, i, (double)v);
    return;
  }
  TS_UNREACHABLE();
}

/* ---- random fill ------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

void ts_ndarray_fill_random(ts_ndarray *a, uint64_t seed) {
  uint64_t state = seed;
  ts_dtype t = a->dtype;
  for (int64_t i = 0; i < a->numel; i++) {
    uint64_t r = splitmix64(&state);
    if (ts_dtype_is_float(t)) {
      /* k uniform in [0, 2^p), p the significand width, so that
       * k / 2^(p-1) - 1 is exact in the dtype and never rounds up to 1. */
      int p = t.code == TS_BFLOAT ? 8
              : t.bits == 16      ? 11
              : t.bits == 32      ? 24
                                  : 53;
      double k = (double)(r >> (64 - p));
      ts_ndarray_set_f64(a, i, ldexp(k, 1 - p) - 1.0);
    } else if (ts_dtype_is_bool(t)) {
      ts_ndarray_set_i64(a, i, (int64_t)(r >> 63));
    } else {
      ts_ndarray_set_i64(a, i, (int64_t)((r >> 32) % 10));
    }
  }
}
