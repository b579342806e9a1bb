/* artifact_internal.h: the loaded artifact, shared by artifact.c (loading,
 * tables, hooks) and vm.c (the interpreter).  Runtime-private. */
#ifndef TESSERA_RUNTIME_ARTIFACT_INTERNAL_H
#define TESSERA_RUNTIME_ARTIFACT_INTERNAL_H

#include "runtime/bytecode.h"
#include "tessera/vm.h"

typedef struct ts_prof_entry {
  uint64_t calls;
  uint64_t ns;
} ts_prof_entry;

#define TS_STORAGE_POOL 64

struct ts_artifact {
  int refcount;
  void *dl;           /* dlopen handle; NULL for programs run from memory */
  char *path;
  ts_bc_program *prog;
  ts_kernel_fn *kfns; /* one per kernel */
  ts_ndarray **consts;
  const char **func_names;
  const char **kernel_names;
  ts_artifact_param **fparams; /* per function */
  ts_artifact_param **kparams; /* per kernel */
  int64_t **kshapes;           /* per kernel: storage for kparams shapes */
  bool profile;
  char *dump_dir;
  ts_prof_entry *prof_kernels; /* n_kernels */
  ts_prof_entry *prof_strings; /* n_strings (library functions by name) */
  /* bytes allocated by ALLOC and ALLOC_STORAGE (updated atomically) */
  uint64_t alloc_bytes;
  /* Storage tokens kept across runs (ALLOC_STORAGE takes a pooled one that
   * no run holds, best fit, before it allocates): a model's planned memory
   * is allocated, page-faulted and zeroed once, not on every call.  Guarded
   * by pool_lock (a spin lock: the sections are a few compares). */
  int pool_lock;
  int n_pool;
  ts_ndarray *pool[TS_STORAGE_POOL];
};

/* Checks kernel `ki`'s arguments against its parameter table. */
ts_status *ts_vm_check_kernel_args(const ts_artifact *a, uint32_t ki,
                                   const ts_kernel_arg *args);

#endif
