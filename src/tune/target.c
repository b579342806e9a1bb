/* target.c: target strings ("cpu -mcpu=native -mattr=+avx2") -> ISA
 * features, vector width and cache sizes.  "native" asks the CPU
 * (__builtin_cpu_supports) and sysfs
 * (/sys/devices/system/cpu/cpu0/cache/index<k>/{level,type,size}); named CPUs
 * come from a small table; -mattr edits the features afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/tune.h"

typedef struct cpu_row {
  const char *name;
  bool avx, avx2, fma, avx512f;
} cpu_row;

static const cpu_row cpus[] = {
    {"x86-64", false, false, false, false},
    {"generic", false, false, false, false},
    {"haswell", true, true, true, false},
    {"skylake", true, true, true, false},
    {"znver2", true, true, true, false},
    {"znver3", true, true, true, false},
    {"skylake-avx512", true, true, true, true},
    {"cascadelake", true, true, true, true},
    {"icelake-server", true, true, true, true},
    {"sapphirerapids", true, true, true, true},
    {"znver4", true, true, true, true},
};

static int64_t parse_size(const char *s) {
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*end == 'K') v *= 1024;
  else if (*end == 'M') v *= 1024 * 1024;
  return v;
}

/* Cache size of `level` (data or unified) from sysfs; 0 when unknown. */
static int64_t sysfs_cache(int level) {
  for (int k = 0; k < 8; k++) {
    char path[96], buf[64];
    int lv = 0;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", k);
    FILE *f = fopen(path, "r");
    if (!f) break;
    if (fscanf(f, "%d", &lv) != 1) lv = 0;
    fclose(f);
    if (lv != level) continue;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", k);
    f = fopen(path, "r");
    if (!f) continue;
    bool inst = fgets(buf, sizeof buf, f) && !strncmp(buf, "Instruction", 11);
    fclose(f);
    if (inst) continue;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", k);
    f = fopen(path, "r");
    if (!f) continue;
    int64_t v = fgets(buf, sizeof buf, f) ? parse_size(buf) : 0;
    fclose(f);
    if (v > 0) return v;
  }
  return 0;
}

static void set_native(ts_target *t) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  t->sse2 = __builtin_cpu_supports("sse2");
  t->avx = __builtin_cpu_supports("avx");
  t->avx2 = __builtin_cpu_supports("avx2");
  t->fma = __builtin_cpu_supports("fma");
  t->avx512f = __builtin_cpu_supports("avx512f");
#endif
}

static void finish(ts_target *t) {
  t->vector_bytes = t->avx512f ? 64 : t->avx ? 32 : 16;
  t->num_vregs = t->avx512f ? 32 : 16;
}

static ts_status *apply_mattr(ts_target *t, const char *list) {
  char *dup = ts_xstrdup(list);
  ts_status *st = NULL;
  for (char *tok = strtok(dup, ","); tok && !st; tok = strtok(NULL, ",")) {
    bool on = tok[0] != '-';
    const char *name = (tok[0] == '+' || tok[0] == '-') ? tok + 1 : tok;
    if (!strcmp(name, "avx512f")) t->avx512f = on;
    else if (!strcmp(name, "avx2")) t->avx2 = on;
    else if (!strcmp(name, "avx")) t->avx = on;
    else if (!strcmp(name, "fma")) t->fma = on;
    else if (!strcmp(name, "sse2")) t->sse2 = on;
    else
      st = ts_error(TS_ERR_VALUE, "target: unknown feature '%s' in -mattr "
                                    "(known: avx512f, avx2, avx, fma, sse2)", name);
  }
  free(dup);
  return st;
}

ts_status *ts_target_parse(const char *text, ts_target *out) {
  ts_target t;
  memset(&t, 0, sizeof t);
  snprintf(t.kind, sizeof t.kind, "cpu");
  snprintf(t.mcpu, sizeof t.mcpu, "native");
  char *dup = ts_xstrdup(text ? text : "");
  char *mattr = NULL;
  ts_status *st = NULL;
  int idx = 0;
  long cores = 0, l1_kb = 0, l2_kb = 0;
  for (char *tok = strtok(dup, " \t"); tok && !st; tok = strtok(NULL, " \t"), idx++) {
    if (idx == 0 && tok[0] != '-') {
      if (strcmp(tok, "cpu") && strcmp(tok, "llvm") && strcmp(tok, "c"))
        st = ts_error(TS_ERR_VALUE, "target: unknown kind '%s' (expected cpu)", tok);
      continue;
    }
    if (!strncmp(tok, "-mcpu=", 6)) {
      snprintf(t.mcpu, sizeof t.mcpu, "%s", tok + 6);
    } else if (!strncmp(tok, "-mattr=", 7)) {
      mattr = tok + 7;
    } else if (!strncmp(tok, "-num-cores=", 11)) {
      char *end;
      cores = strtol(tok + 11, &end, 10);
      if (*end || cores < 1 || cores > 4096)
        st = ts_error(TS_ERR_VALUE, "target: bad -num-cores value '%s'", tok + 11);
    } else if (!strncmp(tok, "-l1d-kb=", 8) || !strncmp(tok, "-l2-kb=", 7)) {
      /* cache sizes of another machine (else read from the OS) */
      char *eq = strchr(tok, '='), *end;
      long kb = strtol(eq + 1, &end, 10);
      if (*end || eq[1] == '\0' || kb < 1 || kb > (1L << 20))
        st = ts_error(TS_ERR_VALUE, "target: bad %.*s value '%s'", (int)(eq - tok), tok, eq + 1);
      else if (tok[2] == '1')
        l1_kb = kb;
      else
        l2_kb = kb;
    } else {
      st = ts_error(TS_ERR_VALUE, "target: unknown option '%s' (known: -mcpu=, "
                                    "-mattr=, -num-cores=, -l1d-kb=, -l2-kb=)", tok);
    }
  }
  if (!st) {
    if (!strcmp(t.mcpu, "native")) {
      set_native(&t);
    } else {
      bool found = false;
      for (size_t i = 0; i < sizeof cpus / sizeof cpus[0]; i++)
        if (!strcmp(cpus[i].name, t.mcpu)) {
          found = true;
          t.sse2 = true;
          t.avx = cpus[i].avx;
          t.avx2 = cpus[i].avx2;
          t.fma = cpus[i].fma;
          t.avx512f = cpus[i].avx512f;
        }
      if (!found) st = ts_error(TS_ERR_VALUE, "target: unknown -mcpu '%s'", t.mcpu);
    }
  }
  if (!st && mattr) st = apply_mattr(&t, mattr);
  free(dup);
  if (st) return st;
  finish(&t);
  t.l1d_bytes = sysfs_cache(1);
  t.l2_bytes = sysfs_cache(2);
  t.l3_bytes = sysfs_cache(3);
  if (t.l1d_bytes <= 0) t.l1d_bytes = 32 * 1024;
  if (t.l2_bytes <= 0) t.l2_bytes = 512 * 1024;
  if (t.l3_bytes <= 0) t.l3_bytes = 8 * 1024 * 1024;
  if (l1_kb) t.l1d_bytes = l1_kb * 1024;
  if (l2_kb) t.l2_bytes = l2_kb * 1024;
  long n = cores ? cores : sysconf(_SC_NPROCESSORS_ONLN);
  t.num_cores = n > 0 ? (int)n : 1;
  *out = t;
  return NULL;
}

char *ts_target_cflags(const ts_target *t) {
  /* the CPU's -march (x86-64 for "generic"), then every feature the rules
   * read, on or off, so that -mattr edits reach the compiler too */
  const char *arch = !strcmp(t->mcpu, "generic") ? "x86-64" : t->mcpu;
  return ts_strdup_printf("-march=%s -m%savx -m%savx2 -m%sfma -m%savx512f", arch,
                          t->avx ? "" : "no-", t->avx2 ? "" : "no-", t->fma ? "" : "no-",
                          t->avx512f ? "" : "no-");
}

char *ts_target_describe(const ts_target *t) {
  return ts_strdup_printf("%s -mcpu=%s: %s%s%s%s, %d-byte vectors x %d, L1d %lld KiB, "
                          "L2 %lld KiB, L3 %lld KiB, %d cores",
                          t->kind, t->mcpu, t->avx512f ? "avx512f " : "",
                          t->avx2 ? "avx2 " : "", t->fma ? "fma " : "",
                          t->avx ? "avx" : "sse2", t->vector_bytes, t->num_vregs,
                          (long long)(t->l1d_bytes / 1024), (long long)(t->l2_bytes / 1024),
                          (long long)(t->l3_bytes / 1024), t->num_cores);
}
