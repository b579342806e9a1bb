/* sampling.c: sample_perfect_tile, sample_categorical,
 * sample_compute_location.  Draws come from s->rng (splitmix64), so a seed
 * reproduces a schedule; each trace line records its `decision=` so that a
 * replay (ts_trace_apply) reproduces it without the seed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/sch_internal.h"

static uint64_t rng_next(ts_schedule *s) {
  uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static int64_t rng_below(ts_schedule *s, int64_t n) {
  return n <= 1 ? 0 : (int64_t)(rng_next(s) % (uint64_t)n);
}

static double rng_unit(ts_schedule *s) {
  return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Shortest %g rendering that reads back to the same double. */
static void print_double(ts_strbuf *b, double v) {
  char buf[64];
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, v);
    if (strtod(buf, NULL) == v) break;
  }
  if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
  ts_strbuf_append(b, buf);
}

/* ---- sample_perfect_tile ------------------------------------------------------ */

ts_status *sch_sample_perfect_tile(ts_schedule *s, ts_rv loop, int n,
                                   int max_innermost_factor,
                                   const int64_t *decision, ts_rv **out) {
  static const char *P = "sample_perfect_tile";
  ts_stmt *l;
  TS_RETURN_IF_ERROR(sch_loop(s, loop, &l));
  int64_t ext;
  if (!ts_expr_is_const_int(l->u.for_.extent, &ext) || ext <= 0)
    return sch_error(P, "loop %s has no constant extent",
                     sch_loop_desc(s, loop, l));
  if (n < 1 || n > 64) return sch_error(P, "n must be in [1, 64], got %d", n);
  if (max_innermost_factor < -1 || max_innermost_factor == 0)
    return sch_error(P, "max_innermost_factor must be positive (or -1), got "
                        "%d",
                     max_innermost_factor);
  int64_t maxin = max_innermost_factor < 0 ? ext : max_innermost_factor;
  int64_t *f = calloc((size_t)n, sizeof(int64_t));
  if (decision) {
    int64_t prod = 1;
    for (int i = 0; i < n; i++) {
      if (decision[i] <= 0) {
        free(f);
        return sch_error(P, "decision factor %lld is not positive",
                         (long long)decision[i]);
      }
      prod *= decision[i];
      f[i] = decision[i];
    }
    if (prod != ext) {
      free(f);
      return sch_error(P, "decision factors multiply to %lld, but loop %s has "
                          "extent %lld",
                       (long long)prod, sch_loop_desc(s, loop, l),
                       (long long)ext);
    }
    if (f[n - 1] > maxin) {
      int64_t inner = f[n - 1];
      free(f);
      return sch_error(P, "decision's innermost factor %lld exceeds "
                          "max_innermost_factor %d",
                       (long long)inner, max_innermost_factor);
    }
  } else {
    /* prime factors, each assigned to a random position; retried until the
     * innermost factor fits, then the innermost gets no primes */
    int64_t primes[64];
    int np = 0;
    int64_t x = ext;
    for (int64_t p = 2; p * p <= x && np < 64; p++)
      while (x % p == 0 && np < 64) {
        primes[np++] = p;
        x /= p;
      }
    if (x > 1 && np < 64) primes[np++] = x;
    bool done = false;
    for (int attempt = 0; attempt < 32 && !done; attempt++) {
      for (int i = 0; i < n; i++) f[i] = 1;
      for (int i = 0; i < np; i++) f[rng_below(s, n)] *= primes[i];
      done = f[n - 1] <= maxin;
    }
    if (!done) {
      for (int i = 0; i < n; i++) f[i] = 1;
      for (int i = 0; i < np; i++)
        f[n > 1 ? rng_below(s, n - 1) : 0] *= primes[i];
      if (n == 1 && f[0] > maxin) {
        free(f);
        return sch_error(P, "loop %s has extent %lld, larger than "
                            "max_innermost_factor %d with n=1",
                         sch_loop_desc(s, loop, l), (long long)ext,
                         max_innermost_factor);
      }
    }
  }
  ts_rv *rvs = ts_xmalloc((size_t)n * sizeof(ts_rv));
  for (int i = 0; i < n; i++) rvs[i] = sch_new_int(s, f[i]);
  ts_strbuf b = {0};
  char *names = sch_rv_list(s, rvs, n, false);
  ts_strbuf_printf(&b, "%s = sch.sample_perfect_tile(loop=%s, n=%d, "
                       "max_innermost_factor=%d, decision=[",
                   names, ts_schedule_rv_name(s, loop), n,
                   max_innermost_factor);
  for (int i = 0; i < n; i++)
    ts_strbuf_printf(&b, "%s%lld", i ? ", " : "", (long long)f[i]);
  ts_strbuf_append(&b, "])");
  sch_record(s, "%s", b.data);
  ts_strbuf_free(&b);
  free(names);
  free(f);
  if (out) *out = rvs;
  else free(rvs);
  return NULL;
}

ts_status *ts_sch_sample_perfect_tile(ts_schedule *s, ts_rv loop, int n,
                                      int max_innermost_factor, ts_rv **out) {
  return sch_sample_perfect_tile(s, loop, n, max_innermost_factor, NULL, out);
}

/* ---- sample_categorical ------------------------------------------------------- */

ts_status *sch_sample_categorical(ts_schedule *s, const int64_t *candidates,
                                  const double *probs, int n,
                                  const int64_t *decision, ts_rv *out) {
  static const char *P = "sample_categorical";
  if (n < 1) return sch_error(P, "no candidates");
  double total = 0;
  for (int i = 0; i < n; i++) {
    if (!(probs[i] >= 0))
      return sch_error(P, "probability %d is negative", i);
    total += probs[i];
  }
  if (!(total > 0)) return sch_error(P, "probabilities sum to zero");
  int64_t k;
  if (decision) {
    k = *decision;
    if (k < 0 || k >= n)
      return sch_error(P, "decision %lld is out of range for %d candidates",
                       (long long)k, n);
  } else {
    double u = rng_unit(s) * total, acc = 0;
    k = n - 1;
    for (int i = 0; i < n; i++) {
      acc += probs[i];
      if (u < acc && probs[i] > 0) {
        k = i;
        break;
      }
    }
  }
  ts_rv r = sch_new_int(s, candidates[k]);
  ts_strbuf b = {0};
  ts_strbuf_printf(&b, "%s = sch.sample_categorical(candidates=[",
                   ts_schedule_rv_name(s, r));
  for (int i = 0; i < n; i++)
    ts_strbuf_printf(&b, "%s%lld", i ? ", " : "", (long long)candidates[i]);
  ts_strbuf_append(&b, "], probs=[");
  for (int i = 0; i < n; i++) {
    if (i) ts_strbuf_append(&b, ", ");
    print_double(&b, probs[i]);
  }
  ts_strbuf_printf(&b, "], decision=%lld)", (long long)k);
  sch_record(s, "%s", b.data);
  ts_strbuf_free(&b);
  if (out) *out = r;
  return NULL;
}

ts_status *ts_sch_sample_categorical(ts_schedule *s, const int64_t *candidates,
                                     const double *probs, int n, ts_rv *out) {
  return sch_sample_categorical(s, candidates, probs, n, NULL, out);
}

/* ---- sample_compute_location --------------------------------------------------- */

static bool is_ancestor(ts_primfunc *f, ts_stmt *anc, ts_stmt *node) {
  for (ts_stmt *p = sch_parent(f, node, NULL); p; p = sch_parent(f, p, NULL))
    if (p == anc) return true;
  return false;
}

/* Candidate loops: loops of the block's scope that enclose every consumer of
 * the block (blocks of the scope that read a buffer it writes) and do not
 * enclose the block itself, outermost first. */
static void compute_locations(ts_primfunc *f, ts_stmt *realize,
                              ts_stmt ***out, int *out_n) {
  TS_VEC(ts_stmt *) cands = {0};
  ts_stmt *scope = sch_enclosing_block(f, realize);
  ts_block *b = realize->u.realize.block;
  ts_stmt **kids = NULL;
  int nk = 0;
  TS_VEC(ts_stmt *) consumers = {0};
  if (scope) {
    /* every block under the scope (not only direct children) */
    TS_VEC(ts_stmt *) work = {0};
    sch_child_blocks(scope, &kids, &nk);
    for (int i = 0; i < nk; i++) ts_vec_push(&work, kids[i]);
    free(kids);
    for (size_t i = 0; i < work.len; i++) {
      ts_stmt *r = work.data[i];
      if (r == realize) continue;
      ts_block *c = r->u.realize.block;
      bool reads = false;
      for (int w = 0; w < b->n_writes; w++)
        for (int k = 0; k < c->n_reads; k++)
          if (c->reads[k].buffer == b->writes[w].buffer) reads = true;
      if (reads) ts_vec_push(&consumers, r);
    }
    ts_vec_free(&work);
  }
  if (consumers.len > 0) {
    ts_stmt **loops;
    int nl;
    sch_enclosing_loops(f, consumers.data[0], &loops, &nl);
    for (int i = 0; i < nl; i++) {
      if (is_ancestor(f, loops[i], realize)) continue;
      bool all = true;
      for (size_t c = 1; c < consumers.len; c++)
        if (!is_ancestor(f, loops[i], consumers.data[c])) all = false;
      if (all) ts_vec_push(&cands, loops[i]);
    }
    free(loops);
  }
  ts_vec_free(&consumers);
  *out = cands.data;
  *out_n = (int)cands.len;
}

ts_status *sch_sample_compute_location(ts_schedule *s, ts_rv block,
                                       const int64_t *decision, ts_rv *out) {
  static const char *P = "sample_compute_location";
  ts_stmt *realize;
  TS_RETURN_IF_ERROR(sch_block(s, block, &realize));
  ts_primfunc *f = sch_rv_func(s, block);
  ts_stmt **cands;
  int nc;
  compute_locations(f, realize, &cands, &nc);
  int64_t k;
  if (decision) {
    k = *decision;
    if (k < -2 || k >= nc) {
      free(cands);
      return sch_error(P, "decision %lld is out of range: block %s has %d "
                          "candidate location(s)",
                       (long long)k, realize->u.realize.block->name, nc);
    }
  } else {
    k = rng_below(s, nc + 1) - 1; /* -1: root */
  }
  ts_rv r;
  if (k >= 0) {
    r = sch_new_rv(s, SCH_RV_LOOP, cands[k], f);
  } else {
    r = sch_new_rv(s, SCH_RV_LOOP, NULL, f);
    s->rvs.data[r].valid = false; /* root / inline: no loop */
  }
  free(cands);
  sch_record(s, "%s = sch.sample_compute_location(block=%s, decision=%lld)",
             ts_schedule_rv_name(s, r), ts_schedule_rv_name(s, block),
             (long long)k);
  if (out) *out = r;
  return NULL;
}

ts_status *ts_sch_sample_compute_location(ts_schedule *s, ts_rv block,
                                          ts_rv *out) {
  return sch_sample_compute_location(s, block, NULL, out);
}
