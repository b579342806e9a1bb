/* fuzz_npy.c: libFuzzer target for the .npy parser.  Any input must either
 * parse into an array that serializes and parses back to the same bytes, or
 * fail with a status naming the input; never crash, leak or read out of
 * bounds. */
#include <stdlib.h>
#include <string.h>

#include "tessera/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_ndarray *a = NULL;
  ts_status *st = ts_npy_parse(data, size, "fuzz.npy", &a);
  if (st) {
    TS_ASSERT(a == NULL);
    TS_ASSERT(strncmp(ts_status_message(st), "fuzz.npy", 8) == 0);
    ts_status_free(st);
    return 0;
  }
  void *buf;
  size_t len;
  st = ts_npy_serialize(a, &buf, &len);
  TS_ASSERT(st == NULL);
  ts_ndarray *b = NULL;
  st = ts_npy_parse(buf, len, "again.npy", &b);
  TS_ASSERT(st == NULL);
  TS_ASSERT(ts_ndarray_nbytes(a) == ts_ndarray_nbytes(b));
  TS_ASSERT(memcmp(ts_ndarray_data(a), ts_ndarray_data(b),
                   ts_ndarray_nbytes(a)) == 0);
  free(buf);
  ts_ndarray_release(a);
  ts_ndarray_release(b);
  return 0;
}
