/* test_schedule_golden.c: runs every golden file tests/schedule/NAME.sched.
 *
 * A file holds three sections:
 *     # ---- input
 *     <TVMScript module>
 *     # ---- schedule
 *     <schedule script (TVM trace syntax or the MLC course's style)>
 *     # ---- expected
 *     <TVMScript module after the schedule>
 * For each file: parse the input, apply the schedule, require a module
 * structurally equal to the expected one (printing the difference and the
 * actual module otherwise); run every PrimFunc of the input and of the
 * result in the reference interpreter on the same random inputs and require
 * equal buffers (max abs difference <= 1e-4 relative: reductions may sum in
 * another order); print the trace, replay it on a fresh schedule of the
 * input and require the same module (trace round trip). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include <unistd.h>

#include "tessera/build.h"
#include "tessera/interp.h"
#include "tessera/vm.h"
#include "tessera/schedule.h"
#include "tessera/script.h"

static const char *dir = "schedule";

typedef struct sections {
  char *input, *schedule, *expected; /* heap */
  int schedule_line;                 /* first line of the schedule text */
} sections;

static char *dup_range(const char *a, const char *b) {
  char *s = malloc((size_t)(b - a) + 1);
  memcpy(s, a, (size_t)(b - a));
  s[b - a] = '\0';
  return s;
}

static bool split_sections(const char *text, sections *out) {
  const char *m[3] = {"# ---- input\n", "# ---- schedule\n",
                      "# ---- expected\n"};
  const char *p[3];
  for (int i = 0; i < 3; i++) {
    p[i] = strstr(text, m[i]);
    if (!p[i]) return false;
  }
  if (!(p[0] < p[1] && p[1] < p[2])) return false;
  out->input = dup_range(p[0] + strlen(m[0]), p[1]);
  out->schedule = dup_range(p[1] + strlen(m[1]), p[2]);
  out->expected = strdup(p[2] + strlen(m[2]));
  out->schedule_line = 1;
  for (const char *q = text; q < p[1] + strlen(m[1]); q++)
    if (*q == '\n') out->schedule_line++;
  return true;
}

/* Runs f with random buffers (seeded); *out_arrays gets one array per
 * parameter.  Returns false (after a CHECK failure) when it cannot run. */
static bool run_func(ts_module *m, ts_primfunc *f, ts_ndarray **arrays) {
  ts_value args[32];
  if (f->n_params > 32) return false;
  for (int i = 0; i < f->n_params; i++) {
    ts_buffer *b = f->params[i].buffer;
    if (!b) return false; /* scalar parameters: skipped */
    int64_t shape[TS_MAX_NDIM];
    for (int d = 0; d < b->ndim; d++) {
      int64_t x = 0;
      const ts_expr *e = b->shape[d];
      if (e->kind != TS_E_INT) return false; /* symbolic: skipped */
      x = e->u.int_value;
      shape[d] = x;
    }
    ts_status *st = ts_ndarray_create(b->ndim, shape, b->dtype, &arrays[i]);
    if (st) {
      CHECK_OK(st);
      return false;
    }
    ts_ndarray_fill_random(arrays[i], 1000 + (uint64_t)i);
    args[i].kind = TS_VAL_TENSOR;
    args[i].u.tensor = arrays[i];
  }
  ts_status *st = ts_interp_primfunc(m, f, args, f->n_params);
  if (st) {
    fprintf(stderr, "interpreter: %s\n", ts_status_render(st));
    ts_status_free(st);
    check_cur_failed_ = 1;
    return false;
  }
  return true;
}

static void compare_numerics(const char *name, ts_module *before,
                             ts_module *after) {
  for (int i = 0; i < before->n_funcs; i++) {
    if (before->funcs[i].kind != TS_FUNC_PRIM) continue;
    ts_primfunc *f0 = before->funcs[i].u.prim;
    ts_primfunc *f1 = ts_module_primfunc(after, f0->name);
    if (!f1) continue;
    ts_ndarray *a0[32] = {0}, *a1[32] = {0};
    bool ok = run_func(before, f0, a0) && run_func(after, f1, a1);
    for (int p = 0; ok && p < f0->n_params; p++) {
      int64_t n = ts_ndarray_numel(a0[p]);
      double maxabs = 0, maxdiff = 0;
      for (int64_t k = 0; k < n; k++) {
        double x = ts_ndarray_get_f64(a0[p], k), y = ts_ndarray_get_f64(a1[p], k);
        double d = x > y ? x - y : y - x;
        if (d > maxdiff || d != d) maxdiff = d;
        if ((x > 0 ? x : -x) > maxabs) maxabs = x > 0 ? x : -x;
      }
      if (!(maxdiff <= 1e-4 * (maxabs > 1 ? maxabs : 1))) {
        fprintf(stderr, "%s: function '%s', buffer '%s': max abs difference "
                        "%g after the schedule\n",
                name, f0->name, f0->params[p].buffer->name, maxdiff);
        check_cur_failed_ = 1;
      }
    }
    for (int p = 0; p < 32; p++) {
      if (a0[p]) ts_ndarray_release(a0[p]);
      if (a1[p]) ts_ndarray_release(a1[p]);
    }
  }
}

/* The scheduled module compiled (C backend) must agree with the
 * interpreter on it: every PrimFunc, same random inputs. */
static void compare_compiled(const char *name, ts_module *after) {
  char tmpl[] = "/tmp/ts_sched_XXXXXX";
  if (!mkdtemp(tmpl)) return;
  char *so = ts_strdup_printf("%s/m.so", tmpl);
  ts_artifact *art = NULL;
  ts_status *st = ts_build_artifact(after, NULL, so, NULL);
  if (!st) st = ts_artifact_load(so, &art);
  if (st) {
    fprintf(stderr, "%s: build: %s\n", name, ts_status_render(st));
    ts_status_free(st);
    check_cur_failed_ = 1;
  }
  for (int i = 0; art && i < after->n_funcs; i++) {
    if (after->funcs[i].kind != TS_FUNC_PRIM) continue;
    ts_primfunc *f = after->funcs[i].u.prim;
    ts_ndarray *ref[32] = {0}, *got[32] = {0};
    ts_value args[32];
    bool ok = run_func(after, f, ref);
    for (int p = 0; ok && p < f->n_params; p++) {
      ts_status *cs = ts_ndarray_create(ts_ndarray_ndim(ref[p]), ts_ndarray_shape(ref[p]),
                                        ts_ndarray_dtype(ref[p]), &got[p]);
      if (cs) {
        CHECK_OK(cs);
        ok = false;
        break;
      }
      ts_ndarray_fill_random(got[p], 1000 + (uint64_t)p);
      args[p].kind = TS_VAL_TENSOR;
      args[p].u.tensor = got[p];
    }
    if (ok) {
      ts_status *rs = ts_artifact_call_kernel(art, f->name, args, f->n_params);
      if (rs) {
        fprintf(stderr, "%s: compiled '%s': %s\n", name, f->name, ts_status_render(rs));
        ts_status_free(rs);
        check_cur_failed_ = 1;
      }
    }
    for (int p = 0; ok && p < f->n_params; p++) {
      double maxabs = 0, maxdiff = 0;
      for (int64_t k = 0; k < ts_ndarray_numel(ref[p]); k++) {
        double x = ts_ndarray_get_f64(ref[p], k), y = ts_ndarray_get_f64(got[p], k);
        double d = x > y ? x - y : y - x;
        if (d > maxdiff || d != d) maxdiff = d;
        if ((x > 0 ? x : -x) > maxabs) maxabs = x > 0 ? x : -x;
      }
      if (!(maxdiff <= 1e-4 * (maxabs > 1 ? maxabs : 1))) {
        fprintf(stderr, "%s: function '%s', buffer '%s': compiled differs from "
                        "the interpreter by %g\n",
                name, f->name, f->params[p].buffer->name, maxdiff);
        check_cur_failed_ = 1;
      }
    }
    for (int p = 0; p < 32; p++) {
      if (ref[p]) ts_ndarray_release(ref[p]);
      if (got[p]) ts_ndarray_release(got[p]);
    }
  }
  if (art) ts_artifact_release(art);
  unlink(so);
  rmdir(tmpl);
  free(so);
}

static void run_one(const char *path, const char *name) {
  char *text = NULL;
  size_t len = 0;
  ts_status *st = ts_read_file(path, &text, &len);
  if (st) {
    CHECK_OK(st);
    return;
  }
  sections sec = {0};
  if (!split_sections(text, &sec)) {
    fprintf(stderr, "%s: missing '# ---- input/schedule/expected' sections\n",
            path);
    check_cur_failed_ = 1;
    free(text);
    return;
  }
  ts_module *in = NULL, *want = NULL;
  st = ts_script_parse(sec.input, strlen(sec.input), path, &in);
  if (st) {
    fprintf(stderr, "%s: input: %s\n", name, ts_status_render(st));
    ts_status_free(st);
    check_cur_failed_ = 1;
    goto done;
  }
  st = ts_script_parse(sec.expected, strlen(sec.expected), path, &want);
  if (st) {
    fprintf(stderr, "%s: expected: %s\n", name, ts_status_render(st));
    ts_status_free(st);
    check_cur_failed_ = 1;
    goto done;
  }
  /* pad the schedule with newlines so that messages carry file lines */
  size_t pad = (size_t)sec.schedule_line - 1;
  size_t slen = strlen(sec.schedule);
  char *sched = malloc(pad + slen + 1);
  memset(sched, '\n', pad);
  memcpy(sched + pad, sec.schedule, slen + 1);
  ts_schedule *s = ts_schedule_create(in, 0);
  st = ts_trace_apply(s, sched, pad + slen, path);
  if (st) {
    fprintf(stderr, "%s: schedule: %s\n", name, ts_status_render(st));
    ts_status_free(st);
    check_cur_failed_ = 1;
  } else {
    ts_module *got = ts_schedule_module(s);
    char *diff = NULL;
    if (!ts_module_equal(got, want, &diff)) {
      char *printed = ts_script_print(got, NULL);
      fprintf(stderr, "%s: result differs from the expected module: %s\n"
                      "---- actual:\n%s\n",
              name, diff ? diff : "?", printed);
      free(printed);
      check_cur_failed_ = 1;
    }
    free(diff);
    st = ts_module_verify(got);
    if (st) {
      fprintf(stderr, "%s: verifier: %s\n", name, ts_status_render(st));
      ts_status_free(st);
      check_cur_failed_ = 1;
    }
    compare_numerics(name, in, got);
    compare_compiled(name, got);
    /* trace round trip */
    char *trace = ts_schedule_trace_text(s);
    ts_schedule *s2 = ts_schedule_create(in, 0);
    st = ts_trace_apply(s2, trace, strlen(trace), "trace.py");
    if (st) {
      fprintf(stderr, "%s: replaying the trace:\n%s\n%s\n", name, trace,
              ts_status_render(st));
      ts_status_free(st);
      check_cur_failed_ = 1;
    } else {
      char *d2 = NULL;
      if (!ts_module_equal(ts_schedule_module(s2), got, &d2)) {
        fprintf(stderr, "%s: the replayed trace gives another module: %s\n"
                        "trace:\n%s\n", name, d2 ? d2 : "?", trace);
        check_cur_failed_ = 1;
      }
      free(d2);
      char *trace2 = ts_schedule_trace_text(s2);
      if (strcmp(trace, trace2)) {
        fprintf(stderr, "%s: the replayed trace prints differently:\n%s\n"
                        "vs\n%s\n", name, trace, trace2);
        check_cur_failed_ = 1;
      }
      free(trace2);
    }
    ts_schedule_destroy(s2);
    free(trace);
  }
  ts_schedule_destroy(s);
  free(sched);
done:
  if (in) ts_module_destroy(in);
  if (want) ts_module_destroy(want);
  free(sec.input);
  free(sec.schedule);
  free(sec.expected);
  free(text);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "cannot open %s/ (run from tests/)\n", dir);
    return 1;
  }
  char *names[512];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 512) {
    size_t l = strlen(e->d_name);
    if (l > 6 && !strcmp(e->d_name + l - 6, ".sched"))
      names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp_str);
  for (int i = 0; i < n; i++) {
    if (argc > 1 && !strstr(names[i], argv[1])) {
      free(names[i]);
      continue;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    check_cur_failed_ = 0;
    check_run_tests_++;
    run_one(path, names[i]);
    if (check_cur_failed_) check_failed_tests_++;
    fprintf(stderr, "%s %s\n", check_cur_failed_ ? "FAIL" : "ok  ", names[i]);
    free(names[i]);
  }
  if (n == 0) {
    fprintf(stderr, "no .sched files in %s/\n", dir);
    return 1;
  }
  return CHECK_DONE();
}
