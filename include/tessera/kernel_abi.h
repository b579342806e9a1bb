/* kernel_abi.h: the tiny, stable ABI between generated kernels and the
 * runtime.  Every TensorIR function `f` of a module compiles to
 *
 *     int32_t tsk_f(const ts_kernel_arg *args, int32_t n_args);
 *
 * with one argument per PrimFunc parameter, in order: buffers as DLTensor
 * pointers (compact row-major, shapes already checked by the caller, except
 * that symbolic dimensions are read from them), scalars as int64.  It
 * returns 0 on success and non-zero when n_args is wrong.  Generated code
 * includes only the C library, OpenMP and this header's DLPack dependency. */
#ifndef TESSERA_KERNEL_ABI_H
#define TESSERA_KERNEL_ABI_H

#include <dlpack/dlpack.h>
#include <stdint.h>

typedef union ts_kernel_arg {
  DLTensor *tensor;
  int64_t i;
  double f;
} ts_kernel_arg;

typedef int32_t (*ts_kernel_fn)(const ts_kernel_arg *args, int32_t n_args);

#define TS_KERNEL_PREFIX "tsk_"

#endif
