/* fuzz_artifact.c: the artifact blob parser and verifier (and the
 * disassembler on whatever they accept) on arbitrary bytes.  Seed it with
 * real blobs: `tessera build --emit-c DIR` keeps DIR/blob.bin. */
#include <stdint.h>
#include <stdlib.h>

#include "runtime/bytecode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_bc_program *p = NULL;
  ts_status *st = ts_artifact_parse_blob(data, size, "fuzz.so", &p);
  if (st) {
    ts_status_free(st);
    return 0;
  }
  char *text = ts_bc_disassemble(p);
  free(text);
  ts_bc_program_free(p);
  return 0;
}
