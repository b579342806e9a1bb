/* fuzz_onnx.c: libFuzzer target for the ONNX importer.  Any input must either
 * import into a module that verifies and prints, or fail with a status whose
 * message starts with the model's name; never crash, leak or read out of
 * bounds.  Seed the corpus with small ONNX models (the node tests of the
 * onnx wheel: scripts/fuzz.sh does it). */
#include <stdlib.h>
#include <string.h>

#include "tessera/frontend.h"
#include "tessera/script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_module *m = NULL;
  ts_status *st = ts_onnx_import_buffer(data, size, "fuzz.onnx", &m);
  if (st) {
    TS_ASSERT(m == NULL);
    TS_ASSERT(strncmp(ts_status_message(st), "fuzz.onnx", 9) == 0);
    ts_status_free(st);
    return 0;
  }
  char *text = ts_script_print(m, NULL);
  TS_ASSERT(text != NULL);
  free(text);
  ts_module_destroy(m);
  return 0;
}
