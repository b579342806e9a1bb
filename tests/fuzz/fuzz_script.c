/* fuzz_script.c: the whole TVMScript reader (Python-subset parser, builder,
 * region inference, verifier) on arbitrary bytes; when a module parses, it
 * must also print, parse back and compare equal -- the round-trip invariant
 * the golden tests check, here on fuzzed input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_module *m = NULL;
  ts_status *st = ts_script_parse((const char *)data, size, "fuzz.tvmscript", &m);
  if (st) {
    (void)ts_status_render(st);
    ts_status_free(st);
    return 0;
  }
  char *text = ts_script_print(m, NULL);
  ts_module *m2 = NULL;
  st = ts_script_parse(text, strlen(text), "printed.tvmscript", &m2);
  if (st) {
    /* printed text must always read back */
    fprintf(stderr, "printed module does not parse:\n%s\n%s\n", ts_status_render(st), text);
    abort();
  }
  char *diff = NULL;
  if (!ts_module_equal(m, m2, &diff)) {
    fprintf(stderr, "round trip differs: %s\n%s\n", diff, text);
    abort();
  }
  free(diff);
  free(text);
  ts_module_destroy(m);
  ts_module_destroy(m2);
  return 0;
}
