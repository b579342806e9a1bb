/* ndarray_internal.h: runtime-private NDArray entry points (the VM's
 * storage pool). */
#ifndef TESSERA_RUNTIME_NDARRAY_INTERNAL_H
#define TESSERA_RUNTIME_NDARRAY_INTERNAL_H

#include <stdbool.h>

#include "tessera/runtime.h"

/* ts_ndarray_create without the zero fill: for storage whose every byte is
 * written before it is read (a memory plan's storage tokens). */
ts_status *ts_ndarray_create_uninit(int ndim, const int64_t *shape,
                                    ts_dtype dtype, ts_ndarray **out);

/* True when the caller's reference is the only one. */
bool ts_ndarray_is_unique(ts_ndarray *a);

#endif
