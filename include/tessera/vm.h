/* vm.h: loading and running a deployment artifact.  An artifact is one
 * shared object made by ts_build_artifact (build.h): the generated kernels
 * (`tsk_<name>`, kernel_abi.h) plus a blob (`ts_artifact_blob`) holding the
 * bytecode of the graph functions, the kernel table and the constants.  All
 * of this is in libtessera_runtime; a deployment links nothing else.
 *
 * Ownership: an artifact is reference counted (ts_artifact_retain/release).
 * Strings and parameter descriptions it returns live as long as it does.
 * Output tensors of ts_artifact_run are new references (free the array with
 * ts_artifact_free_values).  An artifact may be run from several threads at
 * once unless profiling or dumping is on (their counters are not guarded). */
#ifndef TESSERA_VM_H
#define TESSERA_VM_H

#include "tessera/kernel_abi.h"
#include "tessera/runtime.h"

typedef struct ts_artifact ts_artifact;

/* Loads an artifact (dlopen RTLD_LOCAL|RTLD_NOW), parses and verifies its
 * blob, resolves every kernel and copies the constants into NDArrays.
 * Errors: "x.so: cannot load: <dlerror>", "x.so: not a Tessera artifact (no
 * ts_artifact_blob symbol)", "x.so: artifact format version 7 is not
 * supported (expected 1)", "x.so: corrupt artifact: <what>", "x.so: missing
 * kernel tsk_f". */
ts_status *ts_artifact_load(const char *path, ts_artifact **out);
ts_artifact *ts_artifact_retain(ts_artifact *a);
void ts_artifact_release(ts_artifact *a);

/* The graph functions' names, in module order. */
void ts_artifact_function_names(const ts_artifact *a, const char *const **out_names,
                                int *out_n);

/* A parameter (graph function) or buffer/scalar (kernel) description: enough
 * to make inputs.  ndim -1: unknown rank; shape[i] -1: symbolic. */
typedef struct ts_artifact_param {
  const char *name;
  bool is_tensor;  /* false: an int64 scalar (kernel parameters only) */
  bool is_output;  /* kernels: the buffer is written (destination) */
  ts_dtype dtype;
  int ndim;
  const int64_t *shape;
} ts_artifact_param;

/* Parameters of graph function `func`; "unknown function 'foo'". */
ts_status *ts_artifact_function_params(const ts_artifact *a, const char *func,
                                       const ts_artifact_param **out_params,
                                       int *out_n);

/* Runs graph function `func` on `inputs` (tensors).  Results go to
 * *out_values (heap array of *out_n values; a returned tuple is flattened in
 * order; tensors are new references).  Errors: "unknown function 'foo'",
 * "main expects 3 inputs, got 2", "main: parameter 'x': expected float32,
 * got float64", "main: parameter 'x': dimension 0 (n) is 4 from an earlier
 * argument, got 5", ... */
ts_status *ts_artifact_run(ts_artifact *a, const char *func,
                           const ts_value *inputs, int n_inputs,
                           ts_value **out_values, int *out_n);
void ts_artifact_free_values(ts_value *values, int n);

/* The kernel of TensorIR function `name` (raw, no checks); "unknown kernel
 * 'f'" when absent. */
ts_status *ts_artifact_kernel(const ts_artifact *a, const char *name,
                              ts_kernel_fn *out_fn);
/* Kernel names in module order, and one kernel's parameters. */
void ts_artifact_kernel_names(const ts_artifact *a, const char *const **out_names,
                              int *out_n);
ts_status *ts_artifact_kernel_params(const ts_artifact *a, const char *name,
                                     const ts_artifact_param **out_params,
                                     int *out_n);
/* Calls kernel `name` after checking every argument against its parameters
 * (tensors: dtype, rank, dimensions, symbolic ones consistent; scalars:
 * TS_VAL_INT).  Errors name the kernel, the parameter and the dimension. */
ts_status *ts_artifact_call_kernel(ts_artifact *a, const char *name,
                                   const ts_value *args, int n_args);

/* A listing of the bytecode, the kernel table and the constants (heap
 * string, caller frees). */
ts_status *ts_artifact_disassemble(const ts_artifact *a, char **out_text);

/* Debugging hooks.  profile: accumulate per kernel / library function the
 * number of calls and the time spent.  dump_dir: write each kernel or
 * library call's inputs and outputs as DIR/<binding>__in<i>.npy and
 * DIR/<binding>__out.npy (__out<i> when several); the folder must exist. */
typedef struct ts_vm_options {
  bool profile;
  const char *dump_dir; /* copied; NULL: no dumping */
} ts_vm_options;
void ts_artifact_set_options(ts_artifact *a, const ts_vm_options *opts);
/* The profile so far as a table (name, calls, total ms, share %), sorted by
 * total time (heap string, caller frees); resets nothing. */
char *ts_artifact_profile_report(const ts_artifact *a);
void ts_artifact_profile_reset(ts_artifact *a);

/* Bytes the VM allocated for tensors computed by graph functions since load
 * or the last reset: each ALLOC (an unplanned tensor, e.g. a function's
 * output) and each ALLOC_STORAGE (one storage token of a memory plan, see
 * the plan-memory pass); views into planned storage cost nothing.  Updated
 * atomically, so it may be read while other threads run the artifact. */
uint64_t ts_artifact_alloc_bytes(const ts_artifact *a);
void ts_artifact_alloc_bytes_reset(ts_artifact *a);

/* Bytes of planned storage the artifact keeps for reuse across runs: the
 * first run allocates a plan's storage tokens, later runs take them back
 * (untouched by the zero fill and the page faults of fresh memory). */
uint64_t ts_artifact_storage_pool_bytes(ts_artifact *a);

#endif
