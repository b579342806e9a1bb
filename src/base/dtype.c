/* dtype.c: dtype names, parsing and sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/base.h"

bool ts_dtype_eq(ts_dtype a, ts_dtype b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

const char *ts_dtype_str(ts_dtype t, char buf[32]) {
  const char *base;
  switch (t.code) {
  case TS_INT: base = "int"; break;
  case TS_UINT: base = "uint"; break;
  case TS_FLOAT: base = "float"; break;
  case TS_BFLOAT: base = "bfloat"; break;
  case TS_BOOL: snprintf(buf, 32, "bool"); goto lanes;
  case TS_HANDLE: snprintf(buf, 32, "handle"); return buf;
  case TS_VOID: snprintf(buf, 32, "void"); return buf;
  default: snprintf(buf, 32, "unknown%d", t.code); return buf;
  }
  snprintf(buf, 32, "%s%d", base, t.bits);
lanes:
  if (t.lanes > 1) {
    size_t n = strlen(buf);
    snprintf(buf + n, 32 - n, "x%d", t.lanes);
  }
  return buf;
}

bool ts_dtype_parse(const char *s, ts_dtype *out) {
  static const struct {
    const char *prefix;
    uint8_t code;
  } bases[] = {{"bfloat", TS_BFLOAT}, {"float", TS_FLOAT}, {"uint", TS_UINT},
               {"int", TS_INT}};
  if (!strcmp(s, "bool")) {
    *out = TS_BOOLT;
    return true;
  }
  if (!strcmp(s, "handle")) {
    *out = TS_HANDLET;
    return true;
  }
  if (!strcmp(s, "void")) {
    *out = TS_VOIDT;
    return true;
  }
  for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
    size_t n = strlen(bases[i].prefix);
    if (strncmp(s, bases[i].prefix, n)) continue;
    const char *p = s + n;
    char *end;
    long bits = strtol(p, &end, 10);
    if (end == p) return false;
    long lanes = 1;
    if (*end == 'x') {
      const char *q = end + 1;
      lanes = strtol(q, &end, 10);
      if (end == q || lanes < 1 || lanes > 65535) return false;
    }
    if (*end) return false;
    uint8_t code = bases[i].code;
    bool ok = (code == TS_FLOAT && (bits == 16 || bits == 32 || bits == 64)) ||
              (code == TS_BFLOAT && bits == 16) ||
              ((code == TS_INT || code == TS_UINT) &&
               (bits == 8 || bits == 16 || bits == 32 || bits == 64 ||
                (code == TS_UINT && bits == 1)));
    if (!ok) return false;
    *out = (ts_dtype){code, (uint8_t)bits, (uint16_t)lanes};
    if (code == TS_UINT && bits == 1) *out = TS_BOOLT;
    return true;
  }
  return false;
}

size_t ts_dtype_bytes(ts_dtype t) {
  size_t bits = t.code == TS_BOOL ? 8 : t.bits;
  return (bits + 7) / 8 * (t.lanes ? t.lanes : 1);
}
