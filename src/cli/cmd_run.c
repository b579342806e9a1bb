/* cmd_run.c: `tessera run FILE [--func NAME] [--input NAME=x.npy]...
 * [--random-inputs SEED] [--output-dir DIR] [--interpret] [--repeat N]`.
 *
 * On a graph function the parameters are the inputs.  On a TensorIR function
 * the buffers it only reads are the inputs and those it writes the outputs
 * (destination-passing style), in parameter order.  Inputs made by
 * --random-inputs are written as DIR/input_<name>.npy, outputs as
 * DIR/output_<i>.npy; nothing is written unless the whole run succeeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <math.h>

#include "cli/cli.h"
#include "ir/ir_util.h"
#include "tessera/frontend.h"
#include "tessera/interp.h"
#include "tessera/script.h"
#include "tessera/vm.h"

enum {
  OPT_FUNC, OPT_INPUT, OPT_RANDOM, OPT_OUTDIR, OPT_INTERPRET, OPT_REPEAT,
  OPT_PROFILE, OPT_DUMP, OPT_DISASM, OPT_SCHEDULE, OPT_CHECK, OPT_COUNT
};
static const cli_opt opts[] = {
    {"--func", true, false},          {"--input", true, true},
    {"--random-inputs", true, false}, {"--output-dir", true, false},
    {"--interpret", false, false},    {"--repeat", true, false},
    {"--profile", false, false},      {"--dump-tensors", true, false},
    {"--disassemble", false, false},  {"--schedule", true, false},
    {"--check", false, false},
};

/* ---- symbolic shape evaluation ---------------------------------------- */

typedef struct binding {
  const ts_var *var;
  int64_t value;
} binding;

typedef struct env {
  TS_VEC(binding) b;
} env;

static bool env_get(const env *e, const ts_var *v, int64_t *out) {
  for (size_t i = 0; i < e->b.len; i++)
    if (e->b.data[i].var == v) {
      *out = e->b.data[i].value;
      return true;
    }
  return false;
}

static int64_t floordiv64(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Evaluates an integer shape expression; false when it mentions an unbound
 * variable (its name in *unbound) or is not a plain integer expression. */
static bool eval_int(const env *e, const ts_expr *x, int64_t *out,
                     const char **unbound) {
  int64_t a, b;
  switch (x->kind) {
  case TS_E_INT: *out = x->u.int_value; return true;
  case TS_E_VAR:
    if (env_get(e, x->u.var, out)) return true;
    *unbound = x->u.var->name;
    return false;
  case TS_E_CAST: return eval_int(e, x->u.unary.a, out, unbound);
  case TS_E_ADD: case TS_E_SUB: case TS_E_MUL: case TS_E_FLOORDIV:
  case TS_E_FLOORMOD: case TS_E_MIN: case TS_E_MAX: case TS_E_DIV:
  case TS_E_MOD:
    if (!eval_int(e, x->u.bin.a, &a, unbound) ||
        !eval_int(e, x->u.bin.b, &b, unbound))
      return false;
    switch (x->kind) {
    case TS_E_ADD: *out = a + b; return true;
    case TS_E_SUB: *out = a - b; return true;
    case TS_E_MUL: *out = a * b; return true;
    case TS_E_MIN: *out = a < b ? a : b; return true;
    case TS_E_MAX: *out = a > b ? a : b; return true;
    default: break;
    }
    if (b == 0) return false;
    if (x->kind == TS_E_FLOORDIV) *out = floordiv64(a, b);
    else if (x->kind == TS_E_FLOORMOD) *out = a - floordiv64(a, b) * b;
    else if (x->kind == TS_E_DIV) *out = a / b;
    else *out = a % b;
    return true;
  default: return false;
  }
}

/* ---- inputs ------------------------------------------------------------- */

/* One input or output slot of the function being run. */
typedef struct slot {
  const char *name;     /* as the user names it with --input */
  const char *alt_name; /* TIR: the parameter's handle name, or NULL */
  int ndim;
  ts_expr **shape;            /* NULL when run from an artifact alone */
  const int64_t *static_shape; /* artifact: -1 for symbolic */
  ts_dtype dtype;
  bool is_output;  /* TIR only */
  bool is_scalar;  /* TIR scalar parameter */
  ts_ndarray *array;
  int64_t scalar;
  bool from_random;
} slot;

static ts_status *bind_shape(env *e, slot *s, const char *what) {
  const int64_t *shape = ts_ndarray_shape(s->array);
  char b1[32], b2[32];
  if (ts_ndarray_ndim(s->array) != s->ndim)
    return ts_error(TS_ERR_TYPE, "%s '%s': expected rank %d, got rank %d",
                    what, s->name, s->ndim, ts_ndarray_ndim(s->array));
  if (!ts_dtype_eq(ts_ndarray_dtype(s->array), s->dtype))
    return ts_error(TS_ERR_TYPE, "%s '%s': expected %s, got %s", what, s->name,
                    ts_dtype_str(s->dtype, b1),
                    ts_dtype_str(ts_ndarray_dtype(s->array), b2));
  for (int d = 0; d < s->ndim && s->shape; d++) {
    const ts_expr *x = s->shape[d];
    int64_t v;
    const char *unbound = NULL;
    if (x->kind == TS_E_VAR && !env_get(e, x->u.var, &v)) {
      ts_vec_push(&e->b, ((binding){x->u.var, shape[d]}));
      continue;
    }
    if (!eval_int(e, x, &v, &unbound)) continue; /* checked by the run */
    if (v != shape[d]) {
      if (x->kind == TS_E_VAR)
        return ts_error(TS_ERR_TYPE,
                        "%s '%s': dimension %d (%s) is %lld from an earlier "
                        "input, got %lld",
                        what, s->name, d, x->u.var->name, (long long)v,
                        (long long)shape[d]);
      return ts_error(TS_ERR_TYPE, "%s '%s': dimension %d is %lld, got %lld",
                      what, s->name, d, (long long)v, (long long)shape[d]);
    }
  }
  return NULL;
}

static ts_status *make_array(env *e, slot *s, const char *what) {
  int64_t shape[TS_MAX_NDIM];
  if (s->ndim > TS_MAX_NDIM)
    return ts_error(TS_ERR_UNSUPPORTED, "%s '%s': too many dimensions", what,
                    s->name);
  for (int d = 0; d < s->ndim; d++) {
    const char *unbound = NULL;
    if (!s->shape) {
      shape[d] = s->static_shape[d];
      if (shape[d] < 0)
        return ts_error(TS_ERR_VALUE,
                        "%s '%s' has a symbolic dimension %d; give it with "
                        "--input %s=FILE.npy",
                        what, s->name, d, s->name);
      continue;
    }
    if (!eval_int(e, s->shape[d], &shape[d], &unbound)) {
      if (unbound)
        return ts_error(TS_ERR_VALUE,
                        "%s '%s' has symbolic dimension '%s' that no input "
                        "determines; give it with --input %s=FILE.npy",
                        what, s->name, unbound, s->name);
      return ts_error(TS_ERR_VALUE, "%s '%s': cannot evaluate dimension %d",
                      what, s->name, d);
    }
  }
  return ts_ndarray_create(s->ndim, shape, s->dtype, &s->array);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void print_array(const char *label, const ts_ndarray *a) {
  char desc[128];
  printf("%s: %s\n", label, ts_ndarray_describe(a, desc, sizeof desc));
  int64_t n = ts_ndarray_numel(a), show = n < 64 ? n : 64;
  ts_dtype t = ts_ndarray_dtype(a);
  printf("  [");
  for (int64_t i = 0; i < show; i++) {
    if (i) printf(", ");
    if (ts_dtype_is_float(t))
      printf("%.6g", ts_ndarray_get_f64(a, i));
    else
      printf("%lld", (long long)ts_ndarray_get_i64(a, i));
  }
  printf("%s]\n", show < n ? ", ..." : "");
}

static bool parse_int(const char *s, int64_t *out) {
  char *end;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end) return false;
  *out = v;
  return true;
}

typedef struct run_ctx {
  ts_module *m;       /* NULL when running an artifact file */
  ts_func *f;         /* the function in m, when m */
  const char *fname;  /* the function's name */
  bool is_prim;       /* TensorIR function (a kernel) vs graph function */
  ts_artifact *art;   /* NULL with --interpret */
  slot *slots;
  int n_slots;
  ts_value *results; /* graph results */
  int n_results;
  bool results_from_art;
  char *tmpdir;
} run_ctx;

static void free_results(run_ctx *c) {
  if (!c->results) return;
  if (c->results_from_art) ts_artifact_free_values(c->results, c->n_results);
  else ts_interp_free_values(c->results, c->n_results);
  c->results = NULL;
}

static ts_value *slot_args(run_ctx *c) {
  ts_value *args = ts_xcalloc((size_t)c->n_slots + 1, sizeof(ts_value));
  for (int i = 0; i < c->n_slots; i++) {
    if (c->slots[i].is_scalar)
      args[i] = (ts_value){TS_VAL_INT, {.i = c->slots[i].scalar}};
    else
      args[i] = (ts_value){TS_VAL_TENSOR, {.tensor = c->slots[i].array}};
  }
  return args;
}

static ts_status *run_once(run_ctx *c) {
  ts_value *args = slot_args(c);
  ts_status *st;
  if (c->is_prim) {
    st = c->art ? ts_artifact_call_kernel(c->art, c->fname, args, c->n_slots)
                : ts_interp_primfunc(c->m, c->f->u.prim, args, c->n_slots);
  } else {
    free_results(c);
    c->results_from_art = c->art != NULL;
    st = c->art ? ts_artifact_run(c->art, c->fname, args, c->n_slots,
                                  &c->results, &c->n_results)
                : ts_interp_gfunc(c->m, c->f->u.graph, args, c->n_slots,
                                  &c->results, &c->n_results);
  }
  free(args);
  return st;
}

static int finish(run_ctx *c, env *e, int code) {
  for (int i = 0; i < c->n_slots; i++)
    if (c->slots[i].array) ts_ndarray_release(c->slots[i].array);
  free(c->slots);
  free_results(c);
  ts_vec_free(&e->b);
  if (c->art) ts_artifact_release(c->art);
  if (c->m) ts_module_destroy(c->m);
  cli_remove_temp_dir(c->tmpdir);
  return code;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

/* Slots from the module's function. */
static bool slots_from_module(run_ctx *c) {
  if (c->is_prim) {
    ts_primfunc *pf = c->f->u.prim;
    c->slots = ts_xcalloc((size_t)pf->n_params + 1, sizeof(slot));
    c->n_slots = pf->n_params;
    for (int i = 0; i < pf->n_params; i++) {
      slot *s = &c->slots[i];
      ts_param *p = &pf->params[i];
      if (!p->buffer) {
        s->name = p->var->name;
        s->is_scalar = true;
        continue;
      }
      s->name = p->buffer->name;
      s->alt_name = p->var->name;
      s->ndim = p->buffer->ndim;
      s->shape = p->buffer->shape;
      s->dtype = p->buffer->dtype;
      s->is_output = ts_primfunc_writes(pf, p->buffer);
    }
    return true;
  }
  ts_gfunc *gf = c->f->u.graph;
  c->slots = ts_xcalloc((size_t)gf->n_params + 1, sizeof(slot));
  c->n_slots = gf->n_params;
  for (int i = 0; i < gf->n_params; i++) {
    slot *s = &c->slots[i];
    ts_sinfo *si = gf->params[i]->sinfo;
    s->name = gf->params[i]->name;
    if (!si || si->kind != TS_SI_TENSOR || si->u.tensor.ndim < 0 ||
        !si->u.tensor.shape || si->u.tensor.dtype.code == TS_VOID) {
      cli_fail("run", "parameter '%s' of '%s' must be a tensor of known "
                      "rank, shape and dtype to be given as input",
               s->name, c->fname);
      return false;
    }
    s->ndim = si->u.tensor.ndim;
    s->shape = si->u.tensor.shape;
    s->dtype = si->u.tensor.dtype;
  }
  return true;
}

/* Slots from an artifact's description of the function. */
static ts_status *slots_from_artifact(run_ctx *c) {
  const ts_artifact_param *ps;
  int n;
  if (c->is_prim)
    TS_RETURN_IF_ERROR(ts_artifact_kernel_params(c->art, c->fname, &ps, &n));
  else
    TS_RETURN_IF_ERROR(ts_artifact_function_params(c->art, c->fname, &ps, &n));
  c->slots = ts_xcalloc((size_t)n + 1, sizeof(slot));
  c->n_slots = n;
  for (int i = 0; i < n; i++) {
    slot *s = &c->slots[i];
    s->name = ps[i].name;
    s->is_scalar = !ps[i].is_tensor;
    s->is_output = ps[i].is_output;
    s->ndim = ps[i].ndim;
    s->static_shape = ps[i].shape;
    s->dtype = ps[i].dtype;
    if (ps[i].is_tensor && ps[i].ndim < 0)
      return ts_error(TS_ERR_UNSUPPORTED,
                      "parameter '%s' of '%s' has an unknown rank", s->name,
                      c->fname);
  }
  return NULL;
}

/* Picks the function to run: --func, else "main", else the only one. */
static bool choose_function(run_ctx *c, const char *fname, const char *file) {
  if (c->m) {
    if (fname) {
      c->f = ts_module_lookup(c->m, fname);
      if (!c->f || c->f->kind == TS_FUNC_EXTERN) {
        cli_fail("run", "no function '%s' in %s", fname, file);
        return false;
      }
    } else {
      c->f = ts_module_lookup(c->m, "main");
      if (!c->f && c->m->n_funcs == 1) c->f = &c->m->funcs[0];
      if (!c->f) {
        cli_fail("run", "%s has no function 'main'; choose one with --func",
                 file);
        return false;
      }
    }
    c->fname = c->f->name;
    c->is_prim = c->f->kind == TS_FUNC_PRIM;
    return true;
  }
  const char *const *gn, *const *kn;
  int ng, nk;
  ts_artifact_function_names(c->art, &gn, &ng);
  ts_artifact_kernel_names(c->art, &kn, &nk);
  const char *want = fname ? fname : "main";
  for (int i = 0; i < ng; i++)
    if (!strcmp(gn[i], want)) {
      c->fname = gn[i];
      return true;
    }
  for (int i = 0; i < nk; i++)
    if (!strcmp(kn[i], want)) {
      c->fname = kn[i];
      c->is_prim = true;
      return true;
    }
  if (!fname && ng + nk == 1) {
    c->fname = ng ? gn[0] : kn[0];
    c->is_prim = ng == 0;
    return true;
  }
  cli_fail("run", "no function '%s' in %s", want, file);
  return false;
}

/* Largest |x - y| over the outputs of a compiled run and an interpreted
 * run on the same inputs. */
static ts_status *check_against_interpreter(run_ctx *c, ts_module *ref,
                                            double *out_diff) {
  run_ctx r = *c;
  r.art = NULL;
  r.m = ref;
  r.f = ts_module_lookup(ref, c->fname);
  r.results = NULL;
  r.slots = ts_xcalloc((size_t)c->n_slots + 1, sizeof(slot));
  memcpy(r.slots, c->slots, sizeof(slot) * (size_t)c->n_slots);
  ts_status *st = NULL;
  for (int i = 0; i < r.n_slots && !st; i++)
    if (r.slots[i].is_output) {
      const ts_ndarray *o = c->slots[i].array;
      st = ts_ndarray_create(ts_ndarray_ndim(o), ts_ndarray_shape(o),
                             ts_ndarray_dtype(o), &r.slots[i].array);
    }
  if (!st) st = run_once(&r);
  double worst = 0;
  if (!st) {
    TS_VEC(const ts_ndarray *) a = {0}, b = {0};
    for (int i = 0; i < c->n_slots; i++)
      if (c->slots[i].is_output) {
        ts_vec_push(&a, c->slots[i].array);
        ts_vec_push(&b, r.slots[i].array);
      }
    for (int i = 0; !c->is_prim && i < c->n_results && i < r.n_results; i++) {
      ts_vec_push(&a, c->results[i].u.tensor);
      ts_vec_push(&b, r.results[i].u.tensor);
    }
    for (size_t k = 0; k < a.len; k++)
      for (int64_t e = 0; e < ts_ndarray_numel(a.data[k]); e++) {
        double d = fabs(ts_ndarray_get_f64(a.data[k], e) -
                        ts_ndarray_get_f64(b.data[k], e));
        if (!(d <= worst)) worst = d; /* NaN propagates */
      }
    ts_vec_free(&a);
    ts_vec_free(&b);
  }
  for (int i = 0; i < r.n_slots; i++)
    if (r.slots[i].is_output && r.slots[i].array)
      ts_ndarray_release(r.slots[i].array);
  free(r.slots);
  free_results(&r);
  *out_diff = worst;
  return st;
}

int cmd_run(int argc, char **argv) {
  cli_args a;
  if (!cli_parse("run", opts, OPT_COUNT, argc, argv, &a)) return 2;
  if (a.n_positional == 0) return cli_fail("run", "missing FILE argument");
  if (a.n_positional > 1)
    return cli_fail("run", "expected one file, got %d", a.n_positional);
  const char *file = a.positional[0];
  int64_t seed = 0, repeat = 0;
  const char *seed_s = cli_get(&a, OPT_RANDOM);
  if (seed_s && !parse_int(seed_s, &seed))
    return cli_fail("run", "--random-inputs expects an integer seed, got '%s'",
                    seed_s);
  const char *rep_s = cli_get(&a, OPT_REPEAT);
  if (rep_s && (!parse_int(rep_s, &repeat) || repeat < 1 || repeat > 1000000))
    return cli_fail("run", "--repeat expects a positive integer, got '%s'",
                    rep_s);
  for (int i = 0; i < a.counts[OPT_INPUT]; i++) {
    const char *v = a.values[OPT_INPUT][i];
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1])
      return cli_fail("run", "--input expects NAME=FILE.npy, got '%s'", v);
  }
  const char *outdir = cli_get(&a, OPT_OUTDIR);
  if (outdir) {
    struct stat sb;
    if (stat(outdir, &sb) == 0 && !S_ISDIR(sb.st_mode))
      return cli_fail("run", "--output-dir '%s' is not a directory", outdir);
  }
  const char *dump = cli_get(&a, OPT_DUMP);
  if (dump) {
    struct stat sb;
    if (stat(dump, &sb) != 0 || !S_ISDIR(sb.st_mode))
      return cli_fail("run", "--dump-tensors '%s' is not an existing directory",
                      dump);
  }
  bool interpret = cli_has(&a, OPT_INTERPRET);
  bool is_artifact = ends_with(file, ".so");
  if (interpret && is_artifact)
    return cli_fail("run", "--interpret needs a TVMScript file, not an artifact");
  if (interpret && (cli_has(&a, OPT_PROFILE) || dump || cli_has(&a, OPT_DISASM) ||
                    cli_has(&a, OPT_CHECK)))
    return cli_fail("run", "--profile, --dump-tensors, --disassemble and --check "
                           "apply to compiled runs, not with --interpret");
  if (is_artifact && (cli_has(&a, OPT_SCHEDULE) || cli_has(&a, OPT_CHECK)))
    return cli_fail("run", "--schedule and --check need a TVMScript file, not "
                           "an artifact");

  run_ctx c = {0};
  env e = {0};
  ts_status *st = NULL;
  ts_module *ref = NULL; /* the module as written, for --check */
  if (is_artifact) {
    if ((st = ts_artifact_load(file, &c.art))) return cli_report(st);
  } else {
    st = ends_with(file, ".onnx") ? ts_onnx_import(file, &c.m)
                                  : ts_script_parse_file(file, &c.m);
    if (st) return cli_report(st);
    const char *sched = cli_get(&a, OPT_SCHEDULE);
    if (sched && (st = cli_apply_schedule(&c.m, sched)))
      return finish(&c, &e, cli_report(st));
  }
  if (!choose_function(&c, cli_get(&a, OPT_FUNC), file)) return finish(&c, &e, 2);
  if (c.m && !slots_from_module(&c)) return finish(&c, &e, 2);
  ts_runtime_register_builtins();
  if (c.m && !interpret) {
    /* Compile the module into a temporary artifact and run that. */
    if (cli_has(&a, OPT_CHECK)) ref = ts_module_copy(c.m);
    c.tmpdir = cli_temp_dir();
    if (!c.tmpdir) {
      cli_fail("run", "cannot create a temporary directory");
      if (ref) ts_module_destroy(ref);
      return finish(&c, &e, 2);
    }
    char *so = ts_strdup_printf("%s/module.so", c.tmpdir);
    st = cli_build_module(c.m, NULL, so, NULL);
    if (!st) st = ts_artifact_load(so, &c.art);
    free(so);
    if (st) {
      if (ref) ts_module_destroy(ref);
      return finish(&c, &e, cli_report(st));
    }
  }
  if (!c.m && (st = slots_from_artifact(&c))) return finish(&c, &e, cli_report(st));
  if (c.art) {
    ts_vm_options vo = {cli_has(&a, OPT_PROFILE), dump};
    ts_artifact_set_options(c.art, &vo);
    if (cli_has(&a, OPT_DISASM)) {
      char *text = NULL;
      if ((st = ts_artifact_disassemble(c.art, &text))) {
        if (ref) ts_module_destroy(ref);
        return finish(&c, &e, cli_report(st));
      }
      fputs(text, stdout);
      free(text);
    }
  }

  /* Inputs given as files (or integers for scalar parameters). */
  int code = 0;
  for (int i = 0; i < a.counts[OPT_INPUT] && !code; i++) {
    const char *v = a.values[OPT_INPUT][i];
    const char *eq = strchr(v, '=');
    char *name = ts_xmalloc((size_t)(eq - v) + 1);
    memcpy(name, v, (size_t)(eq - v));
    name[eq - v] = 0;
    slot *s = NULL;
    for (int k = 0; k < c.n_slots; k++)
      if (!strcmp(c.slots[k].name, name) ||
          (c.slots[k].alt_name && !strcmp(c.slots[k].alt_name, name)))
        s = &c.slots[k];
    if (!s || s->is_output) {
      code = cli_fail("run", s ? "'%s' is an output of '%s', not an input"
                               : "'%s' is not an input of '%s'",
                      name, c.fname);
    } else if (s->array || (s->is_scalar && s->from_random)) {
      code = cli_fail("run", "input '%s' given twice", s->name);
    } else if (s->is_scalar) {
      if (!parse_int(eq + 1, &s->scalar))
        code = cli_fail("run", "scalar input '%s' expects an integer, got '%s'",
                        s->name, eq + 1);
      s->from_random = true; /* marks "given" */
    } else if ((st = ts_npy_read(eq + 1, &s->array))) {
      code = cli_report(st);
    }
    free(name);
  }
  /* Bind symbolic dimensions from the given inputs, then make the rest. */
  for (int i = 0; i < c.n_slots && !code; i++) {
    slot *s = &c.slots[i];
    if (s->array && (st = bind_shape(&e, s, "input"))) code = cli_report(st);
  }
  for (int i = 0; i < c.n_slots && !code; i++) {
    slot *s = &c.slots[i];
    if (s->array || s->is_output) continue;
    if (s->is_scalar) {
      if (!s->from_random)
        code = cli_fail("run", "scalar input '%s' needs --input %s=INTEGER",
                        s->name, s->name);
      continue;
    }
    if (!seed_s) {
      code = cli_fail("run", "missing input '%s' (give --input %s=FILE.npy or "
                             "--random-inputs SEED)",
                      s->name, s->name);
      break;
    }
    if ((st = make_array(&e, s, "input"))) {
      code = cli_report(st);
      break;
    }
    ts_ndarray_fill_random(s->array, (uint64_t)seed * 1000003u + (uint64_t)i);
    s->from_random = true;
    if ((st = bind_shape(&e, s, "input"))) code = cli_report(st);
  }
  for (int i = 0; i < c.n_slots && !code; i++) {
    slot *s = &c.slots[i];
    if (s->is_output && (st = make_array(&e, s, "output"))) code = cli_report(st);
  }
  if (code) {
    if (ref) ts_module_destroy(ref);
    return finish(&c, &e, code);
  }

  /* Run. */
  int64_t runs = repeat ? repeat : 1;
  double *times = ts_xcalloc((size_t)runs, sizeof(double));
  for (int64_t r = 0; r < runs && !st; r++) {
    double t0 = now_ms();
    st = run_once(&c);
    times[r] = now_ms() - t0;
  }
  double diff = 0;
  if (!st && ref) st = check_against_interpreter(&c, ref, &diff);
  if (ref) ts_module_destroy(ref);
  if (st) {
    free(times);
    return finish(&c, &e, cli_report(st));
  }

  /* Collect outputs. */
  TS_VEC(ts_ndarray *) outs = {0};
  if (c.is_prim) {
    for (int i = 0; i < c.n_slots; i++)
      if (c.slots[i].is_output) ts_vec_push(&outs, c.slots[i].array);
  } else {
    for (int i = 0; i < c.n_results; i++)
      if (c.results[i].kind == TS_VAL_TENSOR)
        ts_vec_push(&outs, c.results[i].u.tensor);
  }
  if (outdir) {
    mkdir(outdir, 0777);
    for (int i = 0; i < c.n_slots && !st; i++) {
      slot *s = &c.slots[i];
      if (!s->from_random || s->is_scalar) continue;
      char *path = ts_strdup_printf("%s/input_%s.npy", outdir, s->name);
      st = ts_npy_write(path, s->array);
      free(path);
    }
    for (size_t i = 0; i < outs.len && !st; i++) {
      char *path = ts_strdup_printf("%s/output_%zu.npy", outdir, i);
      st = ts_npy_write(path, outs.data[i]);
      free(path);
    }
    if (st) code = cli_report(st);
  }
  if (!code) {
    for (size_t i = 0; i < outs.len; i++) {
      char label[32];
      snprintf(label, sizeof label, "output_%zu", i);
      print_array(label, outs.data[i]);
    }
  }
  if (!code && c.art && cli_has(&a, OPT_PROFILE)) {
    char *rep = ts_artifact_profile_report(c.art);
    fputs(rep, stdout);
    free(rep);
  }
  if (!code && cli_has(&a, OPT_CHECK))
    printf("max_abs_diff_vs_interpreter=%.3g\n", diff);
  if (repeat && !code) {
    qsort(times, (size_t)runs, sizeof(double), cmp_double);
    double med = runs % 2 ? times[runs / 2]
                          : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    printf("median_ms=%.4f min_ms=%.4f max_ms=%.4f\n", med, times[0],
           times[runs - 1]);
  }
  free(times);
  ts_vec_free(&outs);
  return finish(&c, &e, code);
}
