/* fuzz_pyast.c: libFuzzer target for the Python-subset parser.  Parses the
 * input; for every top-level expression statement, also checks that the
 * rendered text parses back to the same rendering (a renderer bug aborts).
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *     tests/fuzz/fuzz_pyast.c src/script/pyast.c src/base/[a-z]*.c -lm */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/pyast.h"

static void check_round_trip(const py_expr *e) {
  char *r1 = py_expr_to_string(e);
  ts_arena *a = ts_arena_create();
  py_body body;
  ts_status *st = py_parse(a, r1, strlen(r1), "render", &body);
  if (st) {
    /* Rendering may add parentheses (`(1).real`), which can cross a depth
     * limit; any other failure is a bug. */
    const char *m = ts_status_message(st);
    if (!strstr(m, "nested")) {
      fprintf(stderr, "rendered text does not parse: %s\n%s\n", r1, m);
      abort();
    }
    ts_status_free(st);
  } else {
    if (body.n != 1 || body.stmts[0]->kind != PY_S_EXPR) {
      fprintf(stderr, "rendered text is not one expression: %s\n", r1);
      abort();
    }
    char *r2 = py_expr_to_string(body.stmts[0]->u.expr.value);
    if (strcmp(r1, r2) != 0) {
      fprintf(stderr, "render round trip differs:\n  %s\n  %s\n", r1, r2);
      abort();
    }
    free(r2);
  }
  ts_arena_destroy(a);
  free(r1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_arena *a = ts_arena_create();
  py_body body;
  ts_status *st = py_parse(a, (const char *)data, size, "fuzz.py", &body);
  if (st) {
    (void)ts_status_render(st);
    ts_status_free(st);
  } else {
    for (int i = 0; i < body.n; i++)
      if (body.stmts[i]->kind == PY_S_EXPR)
        check_round_trip(body.stmts[i]->u.expr.value);
  }
  ts_arena_destroy(a);
  return 0;
}
