/* build.h: from IRModule to deployment form: C code generation for the
 * TensorIR functions and compilation into a shared object. */
#ifndef TESSERA_BUILD_H
#define TESSERA_BUILD_H

#include "tessera/ir.h"

/* Emits one C translation unit holding a kernel (see kernel_abi.h) for every
 * PrimFunc of the module.  Heap string in *out_source. */
ts_status *ts_codegen_c(const ts_module *m, char **out_source);

/* Compiles C source into a shared object at `so_path` with the system
 * compiler: $TESSERA_CC (default "cc") and $TESSERA_CFLAGS (default
 * "-O3 -march=native -fopenmp -fno-predictive-commoning -fno-trapping-math"),
 * always adding -shared -fPIC.  `extra_args` (may be NULL) is appended to
 * the command line (objects to link, a target's -march: later flags win).
 * When emit_dir is non-NULL the source is kept there as module.c.  A compiler
 * failure is an error quoting the compiler's first lines of output; no file
 * is left at so_path. */
ts_status *ts_compile_c(const char *source, const char *so_path,
                        const char *emit_dir, const char *extra_args);

/* ---- the deployment artifact (src/vm/pack.c) ------------------------------ */

/* Options of ts_build_artifact; NULL means all defaults. */
typedef struct ts_build_options {
  const char *extra_cc_args; /* appended to the compiler command line */
} ts_build_options;

/* Builds the deployment artifact at `so_path`: the C kernels of every
 * PrimFunc (ts_codegen_c), the bytecode of every graph function, the kernel
 * table and the constants, in one shared object loaded by ts_artifact_load
 * (vm.h).  Operators must be legalized first.  With emit_dir, the C source
 * (module.c) and the blob (blob.bin) are kept there.  On any failure no file
 * is left at so_path. */
ts_status *ts_build_artifact(const ts_module *m, const ts_build_options *opts,
                             const char *so_path, const char *emit_dir);

#endif
