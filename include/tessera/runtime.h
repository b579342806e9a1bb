/* runtime.h: the deployment runtime's public API: NDArray (on DLPack),
 * .npy files, and the global function registry that library functions live
 * in.  Everything here is in libtessera_runtime, which never links the
 * compiler.
 *
 * Ownership rule (the only one): an NDArray is reference counted.  A function
 * that returns an NDArray through `out_*` hands the caller one reference; the
 * caller releases it with ts_ndarray_release.  A function that takes an
 * NDArray argument borrows it (retains it itself if it keeps it).  Data is
 * 64-byte aligned and owned by the NDArray unless created as a view. */
#ifndef TESSERA_RUNTIME_H
#define TESSERA_RUNTIME_H

#include <dlpack/dlpack.h>

#include "tessera/base.h"

/* ---- NDArray -------------------------------------------------------------- */

typedef struct ts_ndarray ts_ndarray;

#define TS_MAX_NDIM 16

/* A new zero-filled array (compact row-major).  Fails on negative dimensions,
 * too many dimensions, or a size that overflows. */
ts_status *ts_ndarray_create(int ndim, const int64_t *shape, ts_dtype dtype,
                             ts_ndarray **out);
/* A new array that borrows `data` (not freed by the array); `data` must
 * outlive it. */
ts_status *ts_ndarray_view(int ndim, const int64_t *shape, ts_dtype dtype,
                           void *data, ts_ndarray **out);
ts_ndarray *ts_ndarray_retain(ts_ndarray *a);
void ts_ndarray_release(ts_ndarray *a);

/* The DLPack view: data, device (kDLCPU), ndim, dtype, shape, strides (NULL:
 * compact), byte_offset 0.  Valid while the array lives. */
DLTensor *ts_ndarray_dl(ts_ndarray *a);
void *ts_ndarray_data(const ts_ndarray *a);
int ts_ndarray_ndim(const ts_ndarray *a);
const int64_t *ts_ndarray_shape(const ts_ndarray *a);
ts_dtype ts_ndarray_dtype(const ts_ndarray *a);
int64_t ts_ndarray_numel(const ts_ndarray *a);
size_t ts_ndarray_nbytes(const ts_ndarray *a);
/* "(1, 784) float32" into buf. */
const char *ts_ndarray_describe(const ts_ndarray *a, char *buf, size_t n);

/* Converting between ts_dtype and DLPack's DLDataType (bool is {kDLUInt,
 * 1, 1} stored in one byte, as TVM does). */
DLDataType ts_dtype_to_dl(ts_dtype t);
bool ts_dtype_from_dl(DLDataType t, ts_dtype *out);

/* Element access as double / int64 (any dtype), by flat index. */
double ts_ndarray_get_f64(const ts_ndarray *a, int64_t i);
void ts_ndarray_set_f64(ts_ndarray *a, int64_t i, double v);
int64_t ts_ndarray_get_i64(const ts_ndarray *a, int64_t i);
void ts_ndarray_set_i64(ts_ndarray *a, int64_t i, int64_t v);

/* Fills with reproducible pseudo-random values: floats uniform in [-1, 1),
 * ints in [0, 10), bools 0/1. */
void ts_ndarray_fill_random(ts_ndarray *a, uint64_t seed);

/* ---- .npy files ---------------------------------------------------------- */

/* Reads a .npy file (format versions 1.0, 2.0, 3.0; little-endian; C order;
 * dtypes bool, int8/16/32/64, uint8/16/32/64, float16/32/64).  Errors name
 * the path and what is wrong ("x.npy: truncated data: expected 3136 bytes,
 * found 100"). */
ts_status *ts_npy_read(const char *path, ts_ndarray **out);
/* Parses .npy bytes; `name` is used in error messages. */
ts_status *ts_npy_parse(const void *buf, size_t len, const char *name,
                        ts_ndarray **out);
/* Writes format 1.0 atomically (no partial file on failure). */
ts_status *ts_npy_write(const char *path, const ts_ndarray *a);
/* Serializes into a heap buffer (caller frees). */
ts_status *ts_npy_serialize(const ts_ndarray *a, void **out_buf,
                            size_t *out_len);

/* ---- values and the function registry ----------------------------------- */

typedef enum ts_value_kind {
  TS_VAL_NONE,
  TS_VAL_TENSOR, /* tensor (borrowed) */
  TS_VAL_INT,    /* i */
  TS_VAL_FLOAT,  /* f */
  TS_VAL_STR,    /* s (borrowed) */
} ts_value_kind;

typedef struct ts_value {
  ts_value_kind kind;
  union {
    ts_ndarray *tensor;
    int64_t i;
    double f;
    const char *s;
  } u;
} ts_value;

/* The uniform calling convention of library functions: destination-passing
 * style, inputs first, then the outputs, all already allocated.  Returns NULL
 * on success or a status naming the function and the bad argument. */
typedef ts_status *(*ts_packed_fn)(const ts_value *args, int n_args,
                                   void *user_data);

/* Registers `fn` under `name` (e.g. "env.linear"); replaces an existing
 * entry when `override` is true, otherwise fails when the name is taken.
 * The registry is global and guarded by a mutex.  A name ending in '*'
 * ("env.dnnl.conv2d.*") registers a family: any name with that prefix
 * resolves to `fn`, called with user_data = the full name (const char *),
 * so attributes can be encoded in the name. */
ts_status *ts_registry_register(const char *name, ts_packed_fn fn,
                                void *user_data, bool override);
/* false when absent. */
bool ts_registry_lookup(const char *name, ts_packed_fn *out_fn,
                        void **out_user_data);
/* Calls a registered function; error "unresolved library function 'name'"
 * when absent. */
ts_status *ts_registry_call(const char *name, const ts_value *args,
                            int n_args);
/* The number of threads kernels run with: $TESSERA_NUM_THREADS when set to
 * a positive integer, else OpenMP's default (all cores).  Applied once, at
 * the first call (every artifact load makes it). */
int ts_runtime_num_threads(void);

/* Registers the built-in library functions (env.linear, env.matmul,
 * env.relu, ...).  Idempotent; called by every entry point that runs code. */
void ts_runtime_register_builtins(void);

#endif
