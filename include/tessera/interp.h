/* interp.h: the reference interpreter.  Runs any TensorIR function and any
 * graph function of a module directly on NDArrays: slow and obviously
 * correct, it is the oracle every transformation is tested against.
 * Library functions are called through the runtime registry. */
#ifndef TESSERA_INTERP_H
#define TESSERA_INTERP_H

#include "tessera/ir.h"
#include "tessera/runtime.h"

/* Runs PrimFunc `f` with one NDArray per buffer parameter and one int64 per
 * scalar parameter (args[i] for params[i]; scalar params use TS_VAL_INT).
 * Symbolic buffer dimensions are bound from the arrays' shapes; a mismatch
 * is an error naming the parameter and the dimension.  Out-of-bounds
 * accesses are errors naming the buffer and the index. */
ts_status *ts_interp_primfunc(ts_module *m, ts_primfunc *f,
                              const ts_value *args, int n_args);

/* Runs graph function `f`; inputs as its parameters.  Writes the results to
 * *out_values (heap array of *out_n values; tuples are flattened in order;
 * tensors are new references), free with ts_interp_free_values. */
ts_status *ts_interp_gfunc(ts_module *m, ts_gfunc *f, const ts_value *inputs,
                           int n_inputs, ts_value **out_values, int *out_n);
void ts_interp_free_values(ts_value *values, int n);

#endif
