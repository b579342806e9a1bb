/* artifact.c: loading a deployment artifact (dlopen, the blob symbol, parse
 * and verify, kernels by dlsym "tsk_<name>", constants copied into
 * NDArrays), its tables for callers (function and kernel parameters), the
 * checked kernel call, the disassembler entry point and the profiling and
 * dumping hooks.  The interpreter itself is vm.c. */
#include <dlfcn.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/artifact_internal.h"

static void artifact_free(ts_artifact *a) {
  if (!a) return;
  ts_bc_program *p = a->prog;
  if (p) {
    for (uint32_t i = 0; i < p->n_funcs; i++) free(a->fparams ? a->fparams[i] : NULL);
    for (uint32_t i = 0; i < p->n_kernels; i++) {
      free(a->kparams ? a->kparams[i] : NULL);
      free(a->kshapes ? a->kshapes[i] : NULL);
    }
    for (uint32_t i = 0; a->consts && i < p->n_consts; i++)
      if (a->consts[i]) ts_ndarray_release(a->consts[i]);
  }
  free(a->fparams);
  free(a->kparams);
  free(a->kshapes);
  free(a->consts);
  free(a->kfns);
  free(a->func_names);
  free(a->kernel_names);
  free(a->prof_kernels);
  free(a->prof_strings);
  free(a->dump_dir);
  for (int i = 0; i < a->n_pool; i++) ts_ndarray_release(a->pool[i]);
  ts_bc_program_free(p);
  if (a->dl) dlclose(a->dl);
  free(a->path);
  free(a);
}

/* Builds the caller-facing tables and the constants from a verified
 * program.  Kernel functions are resolved by the caller. */
static ts_status *artifact_init_tables(ts_artifact *a) {
  ts_bc_program *p = a->prog;
  a->kfns = ts_xcalloc(p->n_kernels + 1, sizeof(ts_kernel_fn));
  a->consts = ts_xcalloc(p->n_consts + 1, sizeof(ts_ndarray *));
  a->func_names = ts_xcalloc(p->n_funcs + 1, sizeof(char *));
  a->kernel_names = ts_xcalloc(p->n_kernels + 1, sizeof(char *));
  a->fparams = ts_xcalloc(p->n_funcs + 1, sizeof(ts_artifact_param *));
  a->kparams = ts_xcalloc(p->n_kernels + 1, sizeof(ts_artifact_param *));
  a->kshapes = ts_xcalloc(p->n_kernels + 1, sizeof(int64_t *));
  a->prof_kernels = ts_xcalloc(p->n_kernels + 1, sizeof(ts_prof_entry));
  a->prof_strings = ts_xcalloc(p->n_strings + 1, sizeof(ts_prof_entry));
  for (uint32_t i = 0; i < p->n_funcs; i++) {
    const ts_bc_func *f = &p->funcs[i];
    a->func_names[i] = p->strings[f->name];
    a->fparams[i] = ts_xcalloc(f->n_params + 1, sizeof(ts_artifact_param));
    for (uint32_t j = 0; j < f->n_params; j++) {
      ts_artifact_param *ap = &a->fparams[i][j];
      ap->name = p->strings[f->params[j].name];
      ap->is_tensor = true;
      ap->dtype = f->params[j].dtype;
      ap->ndim = f->params[j].ndim;
      ap->shape = f->params[j].dims;
    }
  }
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    const ts_bc_kernel *k = &p->kernels[i];
    a->kernel_names[i] = p->strings[k->name];
    a->kparams[i] = ts_xcalloc(k->n_params + 1, sizeof(ts_artifact_param));
    size_t nd = 0;
    for (uint32_t j = 0; j < k->n_params; j++) nd += k->params[j].ndim;
    a->kshapes[i] = ts_xcalloc(nd + 1, sizeof(int64_t));
    int64_t *sh = a->kshapes[i];
    for (uint32_t j = 0; j < k->n_params; j++) {
      const ts_bc_kparam *kp = &k->params[j];
      ts_artifact_param *ap = &a->kparams[i][j];
      ap->name = p->strings[kp->name];
      ap->is_tensor = kp->flags & TS_BC_KPARAM_BUFFER;
      ap->is_output = kp->flags & TS_BC_KPARAM_WRITTEN;
      ap->dtype = ap->is_tensor ? kp->dtype : TS_I64;
      ap->ndim = ap->is_tensor ? (int)kp->ndim : 0;
      ap->shape = sh;
      for (uint32_t d = 0; d < kp->ndim; d++)
        *sh++ = kp->dims[3 * d] == TS_BC_DIM_IMM ? ts_bc_dim_value(kp->dims + 3 * d) : -1;
    }
  }
  for (uint32_t i = 0; i < p->n_consts; i++) {
    const ts_bc_const *c = &p->consts[i];
    TS_RETURN_IF_ERROR(ts_ndarray_create((int)c->ndim, c->shape, c->dtype, &a->consts[i]));
    if (c->nbytes) memcpy(ts_ndarray_data(a->consts[i]), c->data, c->nbytes);
  }
  return NULL;
}

/* dlopen maps an ELF file's segments without comparing them with the file's
 * size: a truncated shared object then faults (SIGBUS) on first touch.  So
 * the ELF header, program headers and section header table are checked
 * against the file first. */
static ts_status *check_elf(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL; /* dlopen reports it */
  Elf64_Ehdr eh;
  ts_status *st = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  rewind(f);
  if (size < (long)sizeof eh || fread(&eh, sizeof eh, 1, f) != 1 ||
      memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    fclose(f);
    return ts_error(TS_ERR_IO, "%s: cannot load: not a 64-bit ELF shared object", path);
  }
  uint64_t usize = (uint64_t)size;
  if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
      eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > usize ||
      (eh.e_shnum && eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize > usize))
    st = ts_error(TS_ERR_IO, "%s: cannot load: truncated ELF file (%ld bytes)", path, size);
  for (int i = 0; !st && i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    if (fseek(f, (long)(eh.e_phoff + (uint64_t)i * sizeof ph), SEEK_SET) != 0 ||
        fread(&ph, sizeof ph, 1, f) != 1 || ph.p_offset + ph.p_filesz > usize)
      st = ts_error(TS_ERR_IO, "%s: cannot load: truncated ELF file (%ld bytes)", path,
                    size);
  }
  fclose(f);
  return st;
}

ts_status *ts_artifact_load(const char *path, ts_artifact **out) {
  *out = NULL;
  TS_RETURN_IF_ERROR(check_elf(path));
  ts_runtime_register_builtins();
  dlerror();
  /* dlopen of a bare name searches the library path; make it a path. */
  char *open_path = strchr(path, '/') ? ts_xstrdup(path) : ts_strdup_printf("./%s", path);
  ts_runtime_num_threads(); /* keeps libgomp loaded, see threads.c */
  void *dl = dlopen(open_path, RTLD_LOCAL | RTLD_NOW);
  if (!dl) {
    const char *e = dlerror();
    if (!e) e = "unknown error";
    /* dlerror repeats the path: "./x.so: cannot open shared object file" */
    size_t n = strlen(open_path);
    if (!strncmp(e, open_path, n) && !strncmp(e + n, ": ", 2)) e += n + 2;
    ts_status *st = ts_error(TS_ERR_IO, "%s: cannot load: %s", path, e);
    free(open_path);
    return st;
  }
  free(open_path);
  const unsigned char *blob = dlsym(dl, "ts_artifact_blob");
  const unsigned char *blob_end = dlsym(dl, "ts_artifact_blob_end");
  if (!blob || !blob_end || blob_end < blob) {
    dlclose(dl);
    return ts_error(TS_ERR_FORMAT, "%s: not a Tessera artifact (no ts_artifact_blob symbol)",
                    path);
  }
  ts_artifact *a = ts_xcalloc(1, sizeof *a);
  a->refcount = 1;
  a->dl = dl;
  a->path = ts_xstrdup(path);
  ts_status *st = ts_artifact_parse_blob(blob, (size_t)(blob_end - blob), path, &a->prog);
  if (!st) st = artifact_init_tables(a);
  for (uint32_t i = 0; !st && i < a->prog->n_kernels; i++) {
    char *sym = ts_strdup_printf(TS_KERNEL_PREFIX "%s", a->kernel_names[i]);
    *(void **)&a->kfns[i] = dlsym(dl, sym);
    if (!a->kfns[i])
      st = ts_error(TS_ERR_FORMAT, "%s: corrupt artifact: missing kernel %s", path, sym);
    free(sym);
  }
  if (st) {
    artifact_free(a);
    return st;
  }
  *out = a;
  return NULL;
}

ts_artifact *ts_artifact_retain(ts_artifact *a) {
  if (a) __atomic_add_fetch(&a->refcount, 1, __ATOMIC_RELAXED);
  return a;
}

void ts_artifact_release(ts_artifact *a) {
  if (a && __atomic_sub_fetch(&a->refcount, 1, __ATOMIC_ACQ_REL) == 0) artifact_free(a);
}

void ts_artifact_function_names(const ts_artifact *a, const char *const **out_names,
                                int *out_n) {
  *out_names = a->func_names;
  *out_n = (int)a->prog->n_funcs;
}

void ts_artifact_kernel_names(const ts_artifact *a, const char *const **out_names,
                              int *out_n) {
  *out_names = a->kernel_names;
  *out_n = (int)a->prog->n_kernels;
}

static long find_name(const char **names, uint32_t n, const char *name) {
  for (uint32_t i = 0; i < n; i++)
    if (!strcmp(names[i], name)) return (long)i;
  return -1;
}

ts_status *ts_artifact_function_params(const ts_artifact *a, const char *func,
                                       const ts_artifact_param **out_params,
                                       int *out_n) {
  long i = find_name(a->func_names, a->prog->n_funcs, func);
  if (i < 0) return ts_error(TS_ERR_NAME, "unknown function '%s'", func);
  *out_params = a->fparams[i];
  *out_n = (int)a->prog->funcs[i].n_params;
  return NULL;
}

ts_status *ts_artifact_kernel_params(const ts_artifact *a, const char *name,
                                     const ts_artifact_param **out_params,
                                     int *out_n) {
  long i = find_name(a->kernel_names, a->prog->n_kernels, name);
  if (i < 0) return ts_error(TS_ERR_NAME, "unknown kernel '%s'", name);
  *out_params = a->kparams[i];
  *out_n = (int)a->prog->kernels[i].n_params;
  return NULL;
}

ts_status *ts_artifact_kernel(const ts_artifact *a, const char *name,
                              ts_kernel_fn *out_fn) {
  long i = find_name(a->kernel_names, a->prog->n_kernels, name);
  if (i < 0) return ts_error(TS_ERR_NAME, "unknown kernel '%s'", name);
  *out_fn = a->kfns[i];
  return NULL;
}

ts_status *ts_artifact_call_kernel(ts_artifact *a, const char *name,
                                   const ts_value *args, int n_args) {
  long ki = find_name(a->kernel_names, a->prog->n_kernels, name);
  if (ki < 0) return ts_error(TS_ERR_NAME, "unknown kernel '%s'", name);
  const ts_bc_kernel *k = &a->prog->kernels[ki];
  if (n_args != (int)k->n_params)
    return ts_error(TS_ERR_VALUE, "kernel '%s' expects %u arguments, got %d", name,
                    k->n_params, n_args);
  ts_kernel_arg *ka = ts_xcalloc((size_t)n_args + 1, sizeof *ka);
  ts_status *st = NULL;
  for (int i = 0; i < n_args && !st; i++) {
    bool buf = k->params[i].flags & TS_BC_KPARAM_BUFFER;
    if (buf && args[i].kind == TS_VAL_TENSOR && args[i].u.tensor)
      ka[i].tensor = ts_ndarray_dl(args[i].u.tensor);
    else if (!buf && args[i].kind == TS_VAL_INT)
      ka[i].i = args[i].u.i;
    else
      st = ts_error(TS_ERR_TYPE, "kernel '%s': parameter '%s': expected %s", name,
                    a->prog->strings[k->params[i].name], buf ? "a tensor" : "an integer");
  }
  if (!st) st = ts_vm_check_kernel_args(a, (uint32_t)ki, ka);
  if (!st && a->kfns[ki](ka, n_args) != 0)
    st = ts_error(TS_ERR_RUNTIME, "kernel '%s' failed", name);
  free(ka);
  return st;
}

ts_status *ts_artifact_disassemble(const ts_artifact *a, char **out_text) {
  *out_text = ts_bc_disassemble(a->prog);
  return NULL;
}

void ts_artifact_set_options(ts_artifact *a, const ts_vm_options *opts) {
  free(a->dump_dir);
  a->dump_dir = opts && opts->dump_dir ? ts_xstrdup(opts->dump_dir) : NULL;
  a->profile = opts && opts->profile;
}

void ts_artifact_profile_reset(ts_artifact *a) {
  memset(a->prof_kernels, 0, (a->prog->n_kernels + 1) * sizeof(ts_prof_entry));
  memset(a->prof_strings, 0, (a->prog->n_strings + 1) * sizeof(ts_prof_entry));
}

typedef struct prof_row {
  const char *name;
  const char *kind;
  ts_prof_entry e;
} prof_row;

static int row_cmp(const void *x, const void *y) {
  const prof_row *a = x, *b = y;
  if (a->e.ns != b->e.ns) return a->e.ns < b->e.ns ? 1 : -1;
  return strcmp(a->name, b->name);
}

char *ts_artifact_profile_report(const ts_artifact *a) {
  const ts_bc_program *p = a->prog;
  prof_row *rows = ts_xcalloc(p->n_kernels + p->n_strings + 1, sizeof *rows);
  size_t n = 0;
  uint64_t total = 0;
  for (uint32_t i = 0; i < p->n_kernels; i++)
    if (a->prof_kernels[i].calls)
      rows[n++] = (prof_row){a->kernel_names[i], "kernel", a->prof_kernels[i]};
  for (uint32_t i = 0; i < p->n_strings; i++)
    if (a->prof_strings[i].calls)
      rows[n++] = (prof_row){p->strings[i], "library", a->prof_strings[i]};
  for (size_t i = 0; i < n; i++) total += rows[i].e.ns;
  qsort(rows, n, sizeof *rows, row_cmp);
  ts_strbuf o = {0};
  ts_strbuf_printf(&o, "%-32s %-8s %8s %12s %8s\n", "name", "kind", "calls", "total ms",
                   "share %");
  for (size_t i = 0; i < n; i++)
    ts_strbuf_printf(&o, "%-32s %-8s %8llu %12.3f %8.1f\n", rows[i].name, rows[i].kind,
                     (unsigned long long)rows[i].e.calls, rows[i].e.ns / 1e6,
                     total ? 100.0 * (double)rows[i].e.ns / (double)total : 0.0);
  ts_strbuf_printf(&o, "%-32s %-8s %8s %12.3f %8.1f\n", "total", "", "", total / 1e6,
                   total ? 100.0 : 0.0);
  free(rows);
  return o.data;
}
