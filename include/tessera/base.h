/* base.h: errors (status with source location), dtypes, arenas, growable
 * vectors, version.  The lowest layer: everything else may include it, it
 * includes nothing of the project.
 *
 * Error convention: a function that can fail on user input returns
 * `ts_status *`; NULL means success.  A non-NULL status is owned by the caller
 * and must be passed on or freed with ts_status_free().  Broken internal
 * invariants use TS_ASSERT, which prints file:line and aborts. */
#ifndef TESSERA_BASE_H
#define TESSERA_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TS_VERSION_MAJOR 0
#define TS_VERSION_MINOR 1
#define TS_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define TS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TS_NORETURN __attribute__((noreturn))
#else
#define TS_PRINTF(a, b)
#define TS_NORETURN
#endif

/* ---- source locations ---------------------------------------------------- */

/* A place in a source text.  `file` points to a string that outlives every
 * node carrying the location (the module arena or a static).  line and col
 * are 1-based; line == 0 means "no location". */
typedef struct ts_loc {
  const char *file;
  int line;
  int col;
} ts_loc;

/* ---- status ------------------------------------------------------------- */

typedef enum ts_status_code {
  TS_OK = 0,
  TS_ERR_SYNTAX,      /* malformed text */
  TS_ERR_NAME,        /* unknown or duplicate name */
  TS_ERR_TYPE,        /* dtype / shape / struct-info mismatch */
  TS_ERR_VALUE,       /* bad value (attribute, option, index) */
  TS_ERR_IO,          /* file could not be read or written */
  TS_ERR_FORMAT,      /* malformed binary file (.npy, artifact, onnx) */
  TS_ERR_UNSUPPORTED, /* valid input the project does not handle yet */
  TS_ERR_RUNTIME,     /* failure while running a program */
  TS_ERR_INTERNAL,    /* a bug reported as a status (rare) */
} ts_status_code;

typedef struct ts_status ts_status;

/* Makes a status.  The message is formatted printf-style; when loc->line > 0
 * the rendered message starts with "file:line:col: ". */
ts_status *ts_status_make(ts_status_code code, ts_loc loc, const char *fmt, ...)
    TS_PRINTF(3, 4);
ts_status *ts_status_makev(ts_status_code code, ts_loc loc, const char *fmt,
                           va_list ap);
/* Shorthand without location. */
ts_status *ts_error(ts_status_code code, const char *fmt, ...) TS_PRINTF(2, 3);
/* Appends "\n  <context>" to the message: callers add context on the way up.
 * Returns st. */
ts_status *ts_status_annotate(ts_status *st, const char *fmt, ...)
    TS_PRINTF(2, 3);
/* Attaches the source line text shown under the message (with a caret under
 * loc.col).  Copies `line_text` up to its first newline. */
void ts_status_set_source_line(ts_status *st, const char *line_text);
ts_status_code ts_status_code_of(const ts_status *st);
/* The message without the source excerpt ("file:line:col: text"). */
const char *ts_status_message(const ts_status *st);
ts_loc ts_status_loc(const ts_status *st);
/* Message plus source line and caret, as printed by the CLI.  Owned by st. */
const char *ts_status_render(ts_status *st);
void ts_status_free(ts_status *st);

#define TS_RETURN_IF_ERROR(expr)                                               \
  do {                                                                         \
    ts_status *ts__st = (expr);                                                \
    if (ts__st) return ts__st;                                                 \
  } while (0)

/* ---- internal invariants --------------------------------------------------- */

TS_NORETURN void ts_panic(const char *file, int line, const char *fmt, ...)
    TS_PRINTF(3, 4);
#define TS_ASSERT(cond)                                                        \
  do {                                                                         \
    if (!(cond)) ts_panic(__FILE__, __LINE__, "assertion failed: %s", #cond);  \
  } while (0)
#define TS_UNREACHABLE() ts_panic(__FILE__, __LINE__, "unreachable")

/* ---- heap helpers (abort on out-of-memory) ---------------------------------
 */
void *ts_xmalloc(size_t n);
void *ts_xcalloc(size_t count, size_t size);
void *ts_xrealloc(void *p, size_t n);
char *ts_xstrdup(const char *s);
/* Overflow-checked size arithmetic: returns false on overflow. */
bool ts_size_mul(size_t a, size_t b, size_t *out);
bool ts_size_add(size_t a, size_t b, size_t *out);
/* printf into a new heap string. */
char *ts_strdup_printf(const char *fmt, ...) TS_PRINTF(1, 2);

/* ---- dtypes ------------------------------------------------------------------
 */

/* Type codes.  Values for int/uint/float/bfloat match DLPack's DLDataTypeCode.
 */
typedef enum ts_type_code {
  TS_INT = 0,
  TS_UINT = 1,
  TS_FLOAT = 2,
  TS_HANDLE = 3, /* opaque pointer (T.handle) */
  TS_BFLOAT = 4,
  TS_BOOL = 6,
  TS_VOID = 7, /* no value (calls evaluated for effect) */
} ts_type_code;

typedef struct ts_dtype {
  uint8_t code; /* ts_type_code */
  uint8_t bits;
  uint16_t lanes;
} ts_dtype;

#define TS_DT(c, b) ((ts_dtype){(uint8_t)(c), (uint8_t)(b), 1})
#define TS_F32 TS_DT(TS_FLOAT, 32)
#define TS_F64 TS_DT(TS_FLOAT, 64)
#define TS_F16 TS_DT(TS_FLOAT, 16)
#define TS_I32 TS_DT(TS_INT, 32)
#define TS_I64 TS_DT(TS_INT, 64)
#define TS_BOOLT TS_DT(TS_BOOL, 8)
#define TS_HANDLET TS_DT(TS_HANDLE, 64)
#define TS_VOIDT TS_DT(TS_VOID, 0)

bool ts_dtype_eq(ts_dtype a, ts_dtype b);
/* "float32", "int64", "bool", "handle", "void", "float32x4". */
const char *ts_dtype_str(ts_dtype t, char buf[32]);
/* Parses a dtype name; false when unknown. */
bool ts_dtype_parse(const char *s, ts_dtype *out);
/* Bytes of one element (lanes included); bool is 1 byte. */
size_t ts_dtype_bytes(ts_dtype t);
static inline bool ts_dtype_is_float(ts_dtype t) {
  return t.code == TS_FLOAT || t.code == TS_BFLOAT;
}
static inline bool ts_dtype_is_int(ts_dtype t) {
  return t.code == TS_INT || t.code == TS_UINT;
}
static inline bool ts_dtype_is_bool(ts_dtype t) { return t.code == TS_BOOL; }

/* ---- arena ---------------------------------------------------------------- */

/* A bump allocator.  Everything allocated from an arena is freed at once by
 * ts_arena_destroy; nothing is freed individually.  Memory is zeroed and
 * 16-byte aligned. */
typedef struct ts_arena ts_arena;
ts_arena *ts_arena_create(void);
void ts_arena_destroy(ts_arena *a);
void *ts_arena_alloc(ts_arena *a, size_t n);
/* Checked count*size allocation. */
void *ts_arena_array(ts_arena *a, size_t count, size_t size);
char *ts_arena_strdup(ts_arena *a, const char *s);
char *ts_arena_strndup(ts_arena *a, const char *s, size_t n);
char *ts_arena_printf(ts_arena *a, const char *fmt, ...) TS_PRINTF(2, 3);
void *ts_arena_memdup(ts_arena *a, const void *p, size_t n);
/* Zeroed memory aligned to `align` bytes (a power of two, at most 4096). */
void *ts_arena_alloc_aligned(ts_arena *a, size_t n, size_t align);
/* Bytes handed out so far (for tests and statistics). */
size_t ts_arena_used(const ts_arena *a);

/* ---- growable vectors (heap) ------------------------------------------------
 */

/* A vector of T: `TS_VEC(T) v = {0};` then ts_vec_push(&v, x).  Freed with
 * ts_vec_free.  Used while building; final arrays are copied into arenas. */
#define TS_VEC(T)                                                              \
  struct {                                                                     \
    T *data;                                                                   \
    size_t len, cap;                                                           \
  }
#define ts_vec_push(v, x)                                                      \
  do {                                                                         \
    if ((v)->len == (v)->cap) {                                                \
      (v)->cap = (v)->cap ? (v)->cap * 2 : 8;                                  \
      (v)->data = ts_xrealloc((v)->data, (v)->cap * sizeof(*(v)->data));      \
    }                                                                          \
    (v)->data[(v)->len++] = (x);                                               \
  } while (0)
#define ts_vec_free(v)                                                         \
  do {                                                                         \
    free((v)->data);                                                           \
    (v)->data = NULL;                                                          \
    (v)->len = (v)->cap = 0;                                                   \
  } while (0)
/* Copies the vector's elements into the arena; returns NULL when empty. */
#define ts_vec_to_arena(a, v)                                                  \
  ((v)->len ? ts_arena_memdup((a), (v)->data, (v)->len * sizeof(*(v)->data))   \
            : NULL)

/* A growable heap string. */
typedef struct ts_strbuf {
  char *data;
  size_t len, cap;
} ts_strbuf;
void ts_strbuf_append(ts_strbuf *b, const char *s);
void ts_strbuf_appendn(ts_strbuf *b, const char *s, size_t n);
void ts_strbuf_printf(ts_strbuf *b, const char *fmt, ...) TS_PRINTF(2, 3);
void ts_strbuf_vprintf(ts_strbuf *b, const char *fmt, va_list ap);
void ts_strbuf_free(ts_strbuf *b);

/* ---- files ------------------------------------------------------------------ */

/* Reads a whole file (NUL-terminated).  Error names the path. */
ts_status *ts_read_file(const char *path, char **out_data, size_t *out_len);
/* Writes a file atomically: to "path.tmp.<pid>", then rename, so that a
 * failure never leaves a partial file at `path`. */
ts_status *ts_write_file_atomic(const char *path, const void *data, size_t len);

#endif
