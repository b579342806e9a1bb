/* pyast.c: lexer and recursive-descent parser for the Python subset described
 * in pyast.h, plus the expression renderer.
 *
 * Conventions:
 * - The lexer is lazy: the parser asks for tokens through peek(), which lexes
 *   on demand into a heap vector, so errors are reported in source order.
 *   Tokens are values; a `const tok *` from peek() is valid only until the
 *   next peek() or advance().
 * - Errors unwind with longjmp to py_parse, which turns them into a status.
 *   Every node and string lives in the caller's arena; the only heap
 *   temporaries (token vector, string scratch buffer, parser state) hang off
 *   the parser state and are freed by py_parse on both paths.
 * - The source need not be NUL-terminated: every read checks `pos < len`.
 * - Locations are 1-based (line, byte column).  A composite expression's loc
 *   is that of its first token (so `(a + b) * c` starts at the '(').
 * - Depth: the lexer refuses more than MAX_BRACKETS open brackets and
 *   MAX_INDENT indentation levels; the parser counts the depth of the tree it
 *   builds (recursion and left-deep chains like a.b.c or a + b + c) and
 *   refuses more than MAX_DEPTH, so consumers may recurse over the tree. */
#include "script/pyast.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BRACKETS 200
#define MAX_INDENT 100
#define MAX_DEPTH 1000

/* ---- tokens ---------------------------------------------------------------
 */

typedef enum tk_kind {
  TK_EOF,
  TK_NEWLINE,
  TK_INDENT,
  TK_DEDENT,
  TK_NAME,  /* identifiers and keywords: text */
  TK_INT,   /* ival (<= 2^63; big when exactly 2^63, valid only negated) */
  TK_FLOAT, /* fval */
  TK_STR,   /* sval/slen: decoded bytes (NUL-terminated in the arena) */
  TK_OP,    /* text */
} tk_kind;

typedef struct tok {
  tk_kind kind;
  ts_loc loc;
  const char *text; /* source span */
  size_t n;
  uint64_t ival;
  double fval;
  const char *sval;
  size_t slen;
} tok;

typedef struct parser {
  ts_arena *a;
  const char *src;
  size_t len;
  const char *file;

  /* lexer */
  size_t pos;
  int line;
  size_t line_start;
  int prev_line_end_col; /* column of the last '\n' seen (for EOF locs) */
  int indents[MAX_INDENT + 1];
  int n_indents;
  struct {
    char c;
    ts_loc loc;
  } brackets[MAX_BRACKETS];
  int n_brackets;
  bool at_bol;          /* at the beginning of a logical line */
  bool line_has_tokens; /* the current logical line produced a token */
  bool eof_done;
  char *sbuf; /* scratch for strings and numbers */
  size_t slen, scap;

  /* token vector */
  tok *toks;
  size_t ntoks, captoks, cur;

  int depth;
  jmp_buf jb;
  ts_status *err;
} parser;

static const char *const keywords[] = {
    "False",  "None",   "True",    "and",      "as",       "assert", "async",
    "await",  "break",  "class",   "continue", "def",      "del",    "elif",
    "else",   "except", "finally", "for",      "from",     "global", "if",
    "import", "in",     "is",      "lambda",   "nonlocal", "not",    "or",
    "pass",   "raise",  "return",  "try",      "while",    "with",   "yield",
};

static bool span_eq(const char *s, size_t n, const char *lit) {
  size_t m = strlen(lit);
  return n == m && memcmp(s, lit, n) == 0;
}

static bool is_keyword_span(const char *s, size_t n) {
  for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
    if (span_eq(s, n, keywords[i]))
      return true;
  return false;
}

static bool tok_is_op(const tok *t, const char *s) {
  return t->kind == TK_OP && span_eq(t->text, t->n, s);
}
static bool tok_is_kw(const tok *t, const char *s) {
  return t->kind == TK_NAME && span_eq(t->text, t->n, s);
}
static bool tok_is_ident(const tok *t) {
  return t->kind == TK_NAME && !is_keyword_span(t->text, t->n);
}

/* ---- errors ------------------------------------------------------------- */

/* Attaches line `line` of src[0..len) to st. */
static void attach_source_line(ts_status *st, const char *src, size_t len,
                               int line) {
  if (!src || line <= 0)
    return;
  size_t i = 0;
  for (int l = 1; l < line; l++) {
    const char *nl = memchr(src + i, '\n', len - i);
    if (!nl)
      return;
    i = (size_t)(nl - src) + 1;
  }
  size_t e = i;
  while (e < len && src[e] != '\n')
    e++;
  if (e > i && src[e - 1] == '\r')
    e--;
  char *copy = ts_xmalloc(e - i + 1);
  /* Stray '\r' and NUL bytes would cut the copy short (the caret then
   * points past its end): show them as spaces. */
  for (size_t k = i; k < e; k++)
    copy[k - i] = (src[k] == '\r' || src[k] == '\0') ? ' ' : src[k];
  copy[e - i] = 0;
  ts_status_set_source_line(st, copy);
  free(copy);
}

TS_PRINTF(3, 4)
TS_NORETURN static void perr(parser *p, ts_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  p->err = ts_status_makev(TS_ERR_SYNTAX, loc, fmt, ap);
  va_end(ap);
  attach_source_line(p->err, p->src, p->len, loc.line);
  longjmp(p->jb, 1);
}

ts_status *py_error_at(const char *src, ts_loc loc, ts_status_code code,
                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ts_status *st = ts_status_makev(code, loc, fmt, ap);
  va_end(ap);
  if (src)
    attach_source_line(st, src, strlen(src), loc.line);
  return st;
}

/* A short description of a token for "found X" messages. */
static const char *tok_desc(const tok *t, char buf[64]) {
  switch (t->kind) {
  case TK_EOF:
    return "end of file";
  case TK_NEWLINE:
    return "end of line";
  case TK_INDENT:
    return "indent";
  case TK_DEDENT:
    return "unindent";
  case TK_STR:
    return "string literal";
  default: {
    int n = t->n > 40 ? 40 : (int)t->n;
    snprintf(buf, 64, "'%.*s%s'", n, t->text, t->n > 40 ? "..." : "");
    return buf;
  }
  }
}

TS_NORETURN static void unexpected(parser *p, const tok *t) {
  char buf[64];
  if (t->kind == TK_INDENT)
    perr(p, t->loc, "unexpected indent");
  if (t->kind == TK_OP)
    perr(p, t->loc, "unexpected token %s", tok_desc(t, buf));
  perr(p, t->loc, "unexpected %s", tok_desc(t, buf));
}

/* ---- lexer -------------------------------------------------------------- */

static ts_loc loc_at(parser *p, size_t pos) {
  size_t col = pos - p->line_start + 1;
  return (ts_loc){p->file, p->line, col > INT_MAX ? INT_MAX : (int)col};
}

/* Records the newline at src[nl]. */
static void newline_at(parser *p, size_t nl) {
  size_t col = nl - p->line_start + 1;
  p->prev_line_end_col = col > INT_MAX ? INT_MAX : (int)col;
  if (p->line < INT_MAX)
    p->line++;
  p->line_start = nl + 1;
}

/* Where end of file is reported: the end of the last line, not the empty
 * line after a final newline. */
static ts_loc eof_loc(parser *p) {
  if (p->pos == p->line_start && p->line > 1)
    return (ts_loc){p->file, p->line - 1, p->prev_line_end_col};
  return loc_at(p, p->pos);
}

static void push_tok(parser *p, tok t) {
  if (p->ntoks == p->captoks) {
    p->captoks = p->captoks ? p->captoks * 2 : 256;
    p->toks = ts_xrealloc(p->toks, p->captoks * sizeof(tok));
  }
  p->toks[p->ntoks++] = t;
}

static void push_simple(parser *p, tk_kind k, ts_loc loc) {
  push_tok(p, (tok){.kind = k, .loc = loc, .text = "", .n = 0});
}

static void sbuf_add(parser *p, char c) {
  if (p->slen == p->scap) {
    p->scap = p->scap ? p->scap * 2 : 64;
    p->sbuf = ts_xrealloc(p->sbuf, p->scap);
  }
  p->sbuf[p->slen++] = c;
}

static bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
static int hex_val(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

TS_NORETURN static void invalid_char(parser *p, size_t pos) {
  unsigned char c = (unsigned char)p->src[pos];
  if (c > 0x20 && c < 0x7f)
    perr(p, loc_at(p, pos), "invalid character '%c'", c);
  perr(p, loc_at(p, pos), "invalid byte 0x%02x", c);
}

/* At the start of a logical line outside brackets: skips blank and
 * comment-only lines, then compares the indentation with the stack.
 * Returns true when it pushed INDENT/DEDENT tokens. */
static bool lex_indent(parser *p) {
  for (;;) {
    size_t q = p->pos;
    int col = 0;
    while (q < p->len) {
      char c = p->src[q];
      if (c == ' ')
        col++;
      else if (c == '\t')
        col = (col / 8 + 1) * 8;
      else if (c == '\f')
        col = 0;
      else if (c != '\r')
        break;
      if (col > 1000000)
        col = 1000000; /* keeps the arithmetic defined */
      q++;
    }
    if (q < p->len && p->src[q] == '#')
      while (q < p->len && p->src[q] != '\n')
        q++;
    if (q >= p->len) {
      p->pos = q;
      return false;
    }
    if (p->src[q] == '\n') {
      newline_at(p, q);
      p->pos = q + 1;
      continue;
    }
    p->pos = q;
    p->at_bol = false;
    int top = p->indents[p->n_indents - 1];
    if (col > top) {
      if (p->n_indents > MAX_INDENT)
        perr(p, loc_at(p, q), "too many levels of indentation");
      p->indents[p->n_indents++] = col;
      push_simple(p, TK_INDENT, loc_at(p, q));
      return true;
    }
    if (col < top) {
      int n = 0;
      while (p->n_indents > 1 && p->indents[p->n_indents - 1] > col) {
        p->n_indents--;
        n++;
      }
      if (p->indents[p->n_indents - 1] != col)
        perr(p, loc_at(p, q),
             "unindent does not match any outer indentation level");
      for (int i = 0; i < n; i++)
        push_simple(p, TK_DEDENT, loc_at(p, q));
      return true;
    }
    return false;
  }
}

/* Skips spaces, comments, backslash continuations, and newlines inside
 * brackets. */
static void skip_space(parser *p) {
  while (p->pos < p->len) {
    char c = p->src[p->pos];
    if (c == ' ' || c == '\t' || c == '\f' || c == '\r') {
      p->pos++;
    } else if (c == '#') {
      while (p->pos < p->len && p->src[p->pos] != '\n')
        p->pos++;
    } else if (c == '\\') {
      size_t q = p->pos + 1;
      if (q < p->len && p->src[q] == '\r')
        q++;
      if (q >= p->len)
        perr(p, loc_at(p, p->pos),
             "unexpected end of file after line continuation character");
      if (p->src[q] != '\n')
        perr(p, loc_at(p, p->pos),
             "unexpected character after line continuation character");
      newline_at(p, q);
      p->pos = q + 1;
    } else if (c == '\n' && p->n_brackets > 0) {
      newline_at(p, p->pos);
      p->pos++;
    } else {
      break;
    }
  }
}

static void lex_eof(parser *p) {
  ts_loc loc = eof_loc(p);
  if (p->n_brackets > 0) {
    int i = p->n_brackets - 1;
    perr(p, loc, "unclosed '%c' opened at %d:%d", p->brackets[i].c,
         p->brackets[i].loc.line, p->brackets[i].loc.col);
  }
  if (p->line_has_tokens) {
    p->line_has_tokens = false;
    push_simple(p, TK_NEWLINE, loc);
    return;
  }
  while (p->n_indents > 1) {
    p->n_indents--;
    push_simple(p, TK_DEDENT, loc);
  }
  push_simple(p, TK_EOF, loc);
  p->eof_done = true;
}

/* Decodes one escape sequence after the backslash at p->pos (inside a
 * non-raw string) into sbuf. */
static void lex_escape(parser *p, bool bytes) {
  size_t bs = p->pos;
  p->pos++; /* the backslash; the caller checked pos < len */
  char c = p->src[p->pos];
  switch (c) {
  case '\n':
    newline_at(p, p->pos);
    p->pos++;
    return;
  case '\r':
    if (p->pos + 1 < p->len && p->src[p->pos + 1] == '\n') {
      newline_at(p, p->pos + 1);
      p->pos += 2;
      return;
    }
    break;
  case '\\':
    sbuf_add(p, '\\');
    p->pos++;
    return;
  case '\'':
    sbuf_add(p, '\'');
    p->pos++;
    return;
  case '"':
    sbuf_add(p, '"');
    p->pos++;
    return;
  case 'a':
    sbuf_add(p, '\a');
    p->pos++;
    return;
  case 'b':
    sbuf_add(p, '\b');
    p->pos++;
    return;
  case 'f':
    sbuf_add(p, '\f');
    p->pos++;
    return;
  case 'n':
    sbuf_add(p, '\n');
    p->pos++;
    return;
  case 'r':
    sbuf_add(p, '\r');
    p->pos++;
    return;
  case 't':
    sbuf_add(p, '\t');
    p->pos++;
    return;
  case 'v':
    sbuf_add(p, '\v');
    p->pos++;
    return;
  default:
    break;
  }
  if (c >= '0' && c <= '7') {
    unsigned v = 0;
    for (int i = 0; i < 3 && p->pos < p->len && p->src[p->pos] >= '0' &&
                    p->src[p->pos] <= '7';
         i++)
      v = v * 8 + (unsigned)(p->src[p->pos++] - '0');
    if (v == 0)
      perr(p, loc_at(p, bs), "null character in string literal");
    if (v > 0xff)
      perr(p, loc_at(p, bs), "invalid octal escape in string literal");
    sbuf_add(p, (char)v);
    return;
  }
  int ndig = c == 'x'               ? 2
             : (!bytes && c == 'u') ? 4
             : (!bytes && c == 'U') ? 8
                                    : 0;
  if (ndig == 0) { /* unknown escape: kept as written, like Python */
    sbuf_add(p, '\\');
    return;
  }
  p->pos++;
  uint32_t v = 0;
  for (int i = 0; i < ndig; i++) {
    int h = p->pos < p->len ? hex_val(p->src[p->pos]) : -1;
    if (h < 0)
      perr(p, loc_at(p, bs), "truncated \\%c escape in string literal", c);
    v = v * 16 + (uint32_t)h;
    p->pos++;
  }
  if (v == 0)
    perr(p, loc_at(p, bs), "null character in string literal");
  if (c == 'x') {
    sbuf_add(p, (char)v);
  } else if (v > 0x10ffff) {
    perr(p, loc_at(p, bs), "invalid \\%c escape in string literal", c);
  } else if (v < 0x80) { /* UTF-8 */
    sbuf_add(p, (char)v);
  } else if (v < 0x800) {
    sbuf_add(p, (char)(0xc0 | (v >> 6)));
    sbuf_add(p, (char)(0x80 | (v & 0x3f)));
  } else if (v < 0x10000) {
    sbuf_add(p, (char)(0xe0 | (v >> 12)));
    sbuf_add(p, (char)(0x80 | ((v >> 6) & 0x3f)));
    sbuf_add(p, (char)(0x80 | (v & 0x3f)));
  } else {
    sbuf_add(p, (char)(0xf0 | (v >> 18)));
    sbuf_add(p, (char)(0x80 | ((v >> 12) & 0x3f)));
    sbuf_add(p, (char)(0x80 | ((v >> 6) & 0x3f)));
    sbuf_add(p, (char)(0x80 | (v & 0x3f)));
  }
}

/* A string literal whose prefix starts at `start` and whose opening quote is
 * at p->pos. */
static void lex_string(parser *p, size_t start, bool raw, bool bytes) {
  ts_loc loc = loc_at(p, start);
  char q = p->src[p->pos];
  bool triple =
      p->pos + 2 < p->len && p->src[p->pos + 1] == q && p->src[p->pos + 2] == q;
  p->pos += triple ? 3 : 1;
  p->slen = 0;
  for (;;) {
    if (p->pos >= p->len)
      perr(p, loc,
           triple ? "unterminated triple-quoted string literal"
                  : "unterminated string literal");
    char c = p->src[p->pos];
    if (c == q) {
      if (!triple) {
        p->pos++;
        break;
      }
      if (p->pos + 2 < p->len && p->src[p->pos + 1] == q &&
          p->src[p->pos + 2] == q) {
        p->pos += 3;
        break;
      }
      sbuf_add(p, c);
      p->pos++;
    } else if (c == '\n') {
      if (!triple)
        perr(p, loc, "unterminated string literal");
      sbuf_add(p, '\n');
      newline_at(p, p->pos);
      p->pos++;
    } else if (c == '\r' && p->pos + 1 < p->len && p->src[p->pos + 1] == '\n') {
      p->pos++; /* \r\n reads as \n */
    } else if (c == '\\') {
      if (p->pos + 1 >= p->len)
        perr(p, loc,
             triple ? "unterminated triple-quoted string literal"
                    : "unterminated string literal");
      if (raw) {
        /* A raw string keeps the backslash and the next character, which
         * cannot end the string. */
        sbuf_add(p, '\\');
        p->pos++;
        char d = p->src[p->pos];
        if (d == '\n') {
          if (!triple) {
            sbuf_add(p, '\n');
            newline_at(p, p->pos);
            p->pos++;
            continue;
          }
          newline_at(p, p->pos);
        }
        if (d == '\0')
          perr(p, loc, "null character in string literal");
        sbuf_add(p, d);
        p->pos++;
      } else {
        lex_escape(p, bytes);
      }
    } else if (c == '\0') {
      perr(p, loc_at(p, p->pos), "null character in string literal");
    } else {
      sbuf_add(p, c);
      p->pos++;
    }
  }
  char *s = ts_arena_alloc(p->a, p->slen + 1);
  if (p->slen)
    memcpy(s, p->sbuf, p->slen);
  s[p->slen] = 0;
  push_tok(p, (tok){.kind = TK_STR,
                    .loc = loc,
                    .text = p->src + start,
                    .n = p->pos - start,
                    .sval = s,
                    .slen = p->slen});
}

/* Skips a run of decimal digits with single underscores between them. */
static size_t scan_digits(parser *p, size_t q) {
  while (q < p->len) {
    if (is_digit(p->src[q]))
      q++;
    else if (p->src[q] == '_' && q + 1 < p->len && is_digit(p->src[q + 1]))
      q++;
    else
      break;
  }
  return q;
}

#define INT_LIMIT ((uint64_t)1 << 63)

static void lex_number(parser *p) {
  size_t start = p->pos, q = start;
  ts_loc loc = loc_at(p, start);
  const char *s = p->src;
  tok t = {.kind = TK_INT, .loc = loc, .text = s + start};
  if (s[q] == '0' && q + 1 < p->len && strchr("xXoObB", s[q + 1]) != NULL &&
      s[q + 1] != '\0') {
    char k = (char)(s[q + 1] | 0x20);
    int base = k == 'x' ? 16 : k == 'o' ? 8 : 2;
    const char *what = k == 'x' ? "hexadecimal" : k == 'o' ? "octal" : "binary";
    q += 2;
    uint64_t v = 0;
    int ndig = 0;
    for (;;) {
      if (q < p->len && s[q] == '_')
        q++;
      int d = q < p->len ? hex_val(s[q]) : -1;
      if (d < 0 || d >= base)
        break;
      if (v > (INT_LIMIT - (uint64_t)d) / (uint64_t)base)
        perr(p, loc, "integer literal too large");
      v = v * (uint64_t)base + (uint64_t)d;
      ndig++;
      q++;
    }
    if (ndig == 0 || (q < p->len && is_ident_char(s[q])) || s[q - 1] == '_')
      perr(p, loc, "invalid %s literal", what);
    t.ival = v;
  } else {
    bool is_float = false;
    q = scan_digits(p, q);
    size_t int_end = q;
    if (q < p->len && s[q] == '.') {
      is_float = true;
      q++;
      if (q < p->len && is_digit(s[q]))
        q = scan_digits(p, q);
    }
    if (q < p->len && (s[q] == 'e' || s[q] == 'E')) {
      size_t e = q + 1;
      if (e < p->len && (s[e] == '+' || s[e] == '-'))
        e++;
      if (!(e < p->len && is_digit(s[e])))
        perr(p, loc, "invalid decimal literal");
      q = scan_digits(p, e);
      is_float = true;
    }
    if (q < p->len && (s[q] == 'j' || s[q] == 'J'))
      perr(p, loc, "complex literals are not supported");
    if (q < p->len && is_ident_char(s[q]))
      perr(p, loc, "invalid decimal literal");
    if (is_float) {
      p->slen = 0;
      for (size_t i = start; i < q; i++)
        if (s[i] != '_')
          sbuf_add(p, s[i]);
      sbuf_add(p, '\0');
      t.kind = TK_FLOAT;
      t.fval = strtod(p->sbuf, NULL); /* overflow gives inf, like Python */
    } else {
      uint64_t v = 0;
      bool nonzero = false;
      for (size_t i = start; i < int_end; i++) {
        if (s[i] == '_')
          continue;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (d)
          nonzero = true;
        if (v > (INT_LIMIT - d) / 10)
          perr(p, loc, "integer literal too large");
        v = v * 10 + d;
      }
      if (s[start] == '0' && nonzero)
        perr(p, loc,
             "leading zeros in decimal integer literals are not permitted");
      t.ival = v;
    }
  }
  t.n = q - start;
  p->pos = q;
  push_tok(p, t);
}

static const char *const ops3[] = {"**=", "//=", ">>=", "<<=", "..."};
static const char *const ops2[] = {
    "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "->", "+=",
    "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":="};
static const char ops1[] = "+-*/%@&|^~<>()[]{},:.;=";

static void lex_op(parser *p) {
  size_t start = p->pos, rest = p->len - start;
  const char *s = p->src + start;
  ts_loc loc = loc_at(p, start);
  size_t n = 0;
  for (size_t i = 0; !n && i < sizeof ops3 / sizeof *ops3; i++)
    if (rest >= 3 && memcmp(s, ops3[i], 3) == 0)
      n = 3;
  for (size_t i = 0; !n && i < sizeof ops2 / sizeof *ops2; i++)
    if (rest >= 2 && memcmp(s, ops2[i], 2) == 0)
      n = 2;
  if (!n && *s && strchr(ops1, *s))
    n = 1;
  if (!n)
    invalid_char(p, start);
  if (n == 1 && strchr("([{", *s)) {
    if (p->n_brackets >= MAX_BRACKETS)
      perr(p, loc, "too many nested parentheses");
    p->brackets[p->n_brackets].c = *s;
    p->brackets[p->n_brackets].loc = loc;
    p->n_brackets++;
  } else if (n == 1 && strchr(")]}", *s)) {
    if (p->n_brackets == 0)
      perr(p, loc, "unmatched '%c'", *s);
    int i = p->n_brackets - 1;
    char open = p->brackets[i].c;
    char want = open == '(' ? ')' : open == '[' ? ']' : '}';
    if (*s != want)
      perr(p, loc, "closing '%c' does not match opening '%c' at %d:%d", *s,
           open, p->brackets[i].loc.line, p->brackets[i].loc.col);
    p->n_brackets--;
  }
  p->pos += n;
  push_tok(p, (tok){.kind = TK_OP, .loc = loc, .text = s, .n = n});
}

/* Recognizes a string prefix (r, b, u, f and the two-letter mixes). */
static bool string_prefix(const char *s, size_t n, bool *raw, bool *bytes,
                          bool *fstr) {
  if (n > 2)
    return false;
  *raw = *bytes = *fstr = false;
  bool u = false;
  for (size_t i = 0; i < n; i++) {
    char c = (char)(s[i] | 0x20);
    bool *flag = c == 'r'   ? raw
                 : c == 'b' ? bytes
                 : c == 'f' ? fstr
                 : c == 'u' ? &u
                            : NULL;
    if (!flag || *flag)
      return false;
    *flag = true;
  }
  if (u && n > 1)
    return false;
  if (*bytes && *fstr)
    return false;
  return true;
}

/* Lexes at least one token onto the vector. */
static void lex_one(parser *p) {
  for (;;) {
    if (p->eof_done) {
      push_simple(p, TK_EOF, eof_loc(p));
      return;
    }
    if (p->at_bol && p->n_brackets == 0 && lex_indent(p))
      return;
    skip_space(p);
    if (p->pos >= p->len) {
      lex_eof(p);
      return;
    }
    size_t start = p->pos;
    char c = p->src[start];
    if (c == '\n') {
      ts_loc loc = loc_at(p, start);
      newline_at(p, start);
      p->pos++;
      p->at_bol = true;
      if (p->line_has_tokens) {
        p->line_has_tokens = false;
        push_simple(p, TK_NEWLINE, loc);
        return;
      }
      continue;
    }
    p->line_has_tokens = true;
    if (is_ident_start(c)) {
      size_t e = start;
      while (e < p->len && is_ident_char(p->src[e]))
        e++;
      bool raw, bytes, fstr;
      if (e < p->len && (p->src[e] == '\'' || p->src[e] == '"') &&
          string_prefix(p->src + start, e - start, &raw, &bytes, &fstr)) {
        if (fstr)
          perr(p, loc_at(p, start), "f-strings are not supported");
        p->pos = e;
        lex_string(p, start, raw, bytes);
        return;
      }
      p->pos = e;
      push_tok(p, (tok){.kind = TK_NAME,
                        .loc = loc_at(p, start),
                        .text = p->src + start,
                        .n = e - start});
      return;
    }
    if (is_digit(c) ||
        (c == '.' && start + 1 < p->len && is_digit(p->src[start + 1]))) {
      lex_number(p);
      return;
    }
    if (c == '\'' || c == '"') {
      lex_string(p, start, false, false);
      return;
    }
    lex_op(p);
    return;
  }
}

static const tok *peek(parser *p, size_t k) {
  while (p->ntoks <= p->cur + k)
    lex_one(p);
  return &p->toks[p->cur + k];
}
static const tok *cur(parser *p) { return peek(p, 0); }
static tok advance(parser *p) {
  tok t = *peek(p, 0);
  if (t.kind != TK_EOF)
    p->cur++;
  return t;
}
static bool at_op(parser *p, const char *s) { return tok_is_op(cur(p), s); }
static bool at_kw(parser *p, const char *s) { return tok_is_kw(cur(p), s); }
static bool accept_op(parser *p, const char *s) {
  if (!at_op(p, s))
    return false;
  p->cur++;
  return true;
}
static bool accept_kw(parser *p, const char *s) {
  if (!at_kw(p, s))
    return false;
  p->cur++;
  return true;
}

/* Expects operator `s`; `what` completes "expected 's' <what>" or is NULL
 * for "expected 's', found X". */
static tok expect_op(parser *p, const char *s, const char *what) {
  const tok *t = cur(p);
  if (!tok_is_op(t, s)) {
    char buf[64];
    if (what)
      perr(p, t->loc, "expected '%s' %s", s, what);
    perr(p, t->loc, "expected '%s', found %s", s, tok_desc(t, buf));
  }
  return advance(p);
}

static const char *expect_ident(parser *p, const char *what) {
  const tok *t = cur(p);
  if (!tok_is_ident(t)) {
    char buf[64];
    perr(p, t->loc, "expected %s, found %s", what, tok_desc(t, buf));
  }
  tok n = advance(p);
  return ts_arena_strndup(p->a, n.text, n.n);
}

static void end_of_line(parser *p, const char *what) {
  const tok *t = cur(p);
  if (t->kind == TK_NEWLINE) {
    p->cur++;
    return;
  }
  if (what) {
    char buf[64];
    perr(p, t->loc, "expected end of line %s, found %s", what,
         tok_desc(t, buf));
  }
  unexpected(p, t);
}

/* ---- depth accounting ---------------------------------------------------- */

static void enter(parser *p, ts_loc loc) {
  if (++p->depth > MAX_DEPTH)
    perr(p, loc, "expression nested too deeply");
}

/* ---- arena vectors --------------------------------------------------------
 */

/* Grows an arena array (old copies are abandoned in the arena: total waste is
 * bounded by the final size). */
static void *agrow(parser *p, void *data, int *cap, int n, size_t elsz,
                   ts_loc loc) {
  if (*cap > INT_MAX / 2)
    perr(p, loc, "too many items");
  int nc = *cap ? *cap * 2 : 4;
  void *nd = ts_arena_array(p->a, (size_t)nc, elsz);
  if (n)
    memcpy(nd, data, (size_t)n * elsz);
  *cap = nc;
  return nd;
}
#define APUSH(p, arr, n, cap, x, loc)                                          \
  do {                                                                         \
    if ((n) == (cap))                                                          \
      (arr) = agrow((p), (arr), &(cap), (n), sizeof(*(arr)), (loc));           \
    (arr)[(n)++] = (x);                                                        \
  } while (0)

typedef struct evec {
  py_expr **items;
  int n, cap;
} evec;
static void evec_push(parser *p, evec *v, py_expr *e) {
  APUSH(p, v->items, v->n, v->cap, e, e->loc);
}

typedef struct svec {
  py_stmt **items;
  int n, cap;
} svec;

/* ---- node constructors ------------------------------------------------------
 */

static py_expr *mk_expr(parser *p, py_expr_kind k, ts_loc loc) {
  py_expr *e = ts_arena_alloc(p->a, sizeof *e);
  e->kind = k;
  e->loc = loc;
  return e;
}
static py_stmt *mk_stmt(parser *p, py_stmt_kind k, ts_loc loc) {
  py_stmt *s = ts_arena_alloc(p->a, sizeof *s);
  s->kind = k;
  s->loc = loc;
  return s;
}
static py_expr *mk_seq(parser *p, py_expr_kind k, ts_loc loc, evec *v) {
  py_expr *e = mk_expr(p, k, loc);
  e->u.seq.items = v->items;
  e->u.seq.n = v->n;
  return e;
}

/* ---- expressions
 * --------------------------------------------------------------
 *
 * test:        lambda | or_test ['if' or_test 'else' test]
 * lambda:      'lambda' [NAME (',' NAME)* [',']] ':' test
 * or_test:     and_test ('or' and_test)*
 * and_test:    not_test ('and' not_test)*
 * not_test:    'not' not_test | comparison
 * comparison:  binary (comp_op binary)*
 * binary:      factor (binop factor)*     by precedence: | ^ & << >> + - * /
 * ... factor:      ('+'|'-'|'~') factor | power power:       primary ['**'
 * factor] primary:     atom ('(' args ')' | '[' subscripts ']' | '.' NAME)*
 * atom:        NAME | NUMBER | STRING+ | None | True | False
 *              | '(' [testlist] ')' | '[' [testlist] ']' | '{' [dict] '}'
 */

static py_expr *parse_test(parser *p);
static py_expr *parse_factor(parser *p);
static py_expr *parse_binary(parser *p, int min_prec);

/* Whether token t can begin an expression (used for trailing commas). */
static bool starts_expr(const tok *t) {
  switch (t->kind) {
  case TK_NAME:
    return !is_keyword_span(t->text, t->n) || tok_is_kw(t, "None") ||
           tok_is_kw(t, "True") || tok_is_kw(t, "False") ||
           tok_is_kw(t, "lambda") || tok_is_kw(t, "not");
  case TK_INT:
  case TK_FLOAT:
  case TK_STR:
    return true;
  case TK_OP:
    return tok_is_op(t, "(") || tok_is_op(t, "[") || tok_is_op(t, "{") ||
           tok_is_op(t, "-") || tok_is_op(t, "+") || tok_is_op(t, "~") ||
           tok_is_op(t, "*") || tok_is_op(t, "...");
  default:
    return false;
  }
}

/* test, or '*' expr where starred items are allowed. */
static py_expr *parse_test_or_star(parser *p) {
  if (at_op(p, "*")) {
    tok t = advance(p);
    py_expr *e = mk_expr(p, PY_STARRED, t.loc);
    enter(p, t.loc);
    e->u.unary.operand = parse_binary(p, 1); /* Python: '*' bitwise_or */
    p->depth--;
    return e;
  }
  return parse_test(p);
}

TS_NORETURN static void no_starred(parser *p, py_expr *e) {
  perr(p, e->loc, "can't use starred expression here");
}

static void check_comprehension(parser *p) {
  if (at_kw(p, "for"))
    perr(p, cur(p)->loc, "comprehensions are not supported");
}

/* Comma-separated items up to `close` (already past the opener); returns
 * whether a comma was seen. */
static bool parse_items(parser *p, evec *v, const char *close) {
  bool comma = false;
  while (!at_op(p, close)) {
    evec_push(p, v, parse_test_or_star(p));
    check_comprehension(p);
    if (accept_op(p, ",")) {
      comma = true;
      continue;
    }
    if (!at_op(p, close)) {
      char buf[64];
      perr(p, cur(p)->loc, "expected ',' or '%s', found %s", close,
           tok_desc(cur(p), buf));
    }
  }
  advance(p);
  return comma;
}

static py_expr *parse_dict(parser *p, ts_loc loc) {
  py_expr *d = mk_expr(p, PY_DICT, loc);
  int cap_k = 0, cap_v = 0;
  while (!at_op(p, "}")) {
    if (at_op(p, "**"))
      perr(p, cur(p)->loc, "dict unpacking is not supported");
    py_expr *k = parse_test(p);
    check_comprehension(p);
    if (!at_op(p, ":")) {
      if (d->u.dict.n == 0 && (at_op(p, ",") || at_op(p, "}")))
        perr(p, loc, "set literals are not supported");
      char buf[64];
      perr(p, cur(p)->loc, "expected ':' after dict key, found %s",
           tok_desc(cur(p), buf));
    }
    advance(p);
    py_expr *v = parse_test(p);
    check_comprehension(p);
    int n = d->u.dict.n;
    APUSH(p, d->u.dict.keys, n, cap_k, k, k->loc);
    n = d->u.dict.n;
    APUSH(p, d->u.dict.values, n, cap_v, v, v->loc);
    d->u.dict.n = n;
    if (accept_op(p, ","))
      continue;
    if (!at_op(p, "}")) {
      char buf[64];
      perr(p, cur(p)->loc, "expected ',' or '}', found %s",
           tok_desc(cur(p), buf));
    }
  }
  advance(p);
  return d;
}

static py_expr *parse_atom(parser *p) {
  const tok *t = cur(p);
  ts_loc loc = t->loc;
  char buf[64];
  switch (t->kind) {
  case TK_NAME: {
    if (tok_is_kw(t, "None")) {
      advance(p);
      return mk_expr(p, PY_NONE, loc);
    }
    if (tok_is_kw(t, "True")) {
      advance(p);
      return mk_expr(p, PY_TRUE, loc);
    }
    if (tok_is_kw(t, "False")) {
      advance(p);
      return mk_expr(p, PY_FALSE, loc);
    }
    if (is_keyword_span(t->text, t->n))
      perr(p, loc, "expected expression, found %s", tok_desc(t, buf));
    py_expr *e = mk_expr(p, PY_NAME, loc);
    e->u.name = ts_arena_strndup(p->a, t->text, t->n);
    advance(p);
    return e;
  }
  case TK_INT: {
    if (t->ival >= INT_LIMIT)
      perr(p, loc, "integer literal too large");
    py_expr *e = mk_expr(p, PY_INT, loc);
    e->u.int_value = (int64_t)t->ival;
    advance(p);
    return e;
  }
  case TK_FLOAT: {
    py_expr *e = mk_expr(p, PY_FLOAT, loc);
    e->u.float_value = t->fval;
    advance(p);
    return e;
  }
  case TK_STR: {
    /* Adjacent literals concatenate. */
    size_t total = 0, n = 0;
    while (peek(p, n)->kind == TK_STR) {
      if (!ts_size_add(total, peek(p, n)->slen, &total))
        perr(p, loc, "string literal too long");
      n++;
    }
    char *s = ts_arena_alloc(p->a, total + 1);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
      tok st = advance(p);
      memcpy(s + off, st.sval, st.slen);
      off += st.slen;
    }
    s[total] = 0;
    py_expr *e = mk_expr(p, PY_STR, loc);
    e->u.str = s;
    return e;
  }
  case TK_OP: {
    if (tok_is_op(t, "(")) {
      advance(p);
      if (accept_op(p, ")"))
        return mk_expr(p, PY_TUPLE, loc);
      py_expr *first = parse_test_or_star(p);
      check_comprehension(p);
      if (accept_op(p, ")")) {
        if (first->kind == PY_STARRED)
          no_starred(p, first);
        return first; /* parenthesized expression */
      }
      if (!at_op(p, ",")) {
        perr(p, cur(p)->loc, "expected ',' or ')', found %s",
             tok_desc(cur(p), buf));
      }
      advance(p);
      evec v = {0};
      evec_push(p, &v, first);
      parse_items(p, &v, ")");
      return mk_seq(p, PY_TUPLE, loc, &v);
    }
    if (tok_is_op(t, "[")) {
      advance(p);
      evec v = {0};
      parse_items(p, &v, "]");
      return mk_seq(p, PY_LIST, loc, &v);
    }
    if (tok_is_op(t, "{")) {
      advance(p);
      return parse_dict(p, loc);
    }
    if (tok_is_op(t, "..."))
      perr(p, loc, "'...' (Ellipsis) is not supported");
    break;
  }
  default:
    break;
  }
  if (t->kind == TK_INDENT)
    unexpected(p, t);
  perr(p, loc, "expected expression, found %s", tok_desc(t, buf));
}

/* Call arguments after '('. */
static void parse_call_args(parser *p, py_expr *call) {
  int cap_a = 0, cap_k = 0;
  bool seen_kw = false, seen_kw_unpack = false;
  char buf[64];
  while (!at_op(p, ")")) {
    const tok *t = cur(p);
    ts_loc loc = t->loc;
    if (tok_is_op(t, "**")) {
      advance(p);
      py_keyword kw = {NULL, parse_test(p), loc};
      APUSH(p, call->u.call.kwargs, call->u.call.n_kwargs, cap_k, kw, loc);
      seen_kw = seen_kw_unpack = true;
    } else if (tok_is_op(t, "*")) {
      if (seen_kw_unpack)
        perr(p, loc,
             "iterable argument unpacking follows keyword argument unpacking");
      py_expr *e = parse_test_or_star(p);
      APUSH(p, call->u.call.args, call->u.call.n_args, cap_a, e, loc);
    } else if (tok_is_ident(t) && tok_is_op(peek(p, 1), "=")) {
      tok name = advance(p);
      advance(p);
      for (int i = 0; i < call->u.call.n_kwargs; i++) {
        const char *k = call->u.call.kwargs[i].name;
        if (k && span_eq(name.text, name.n, k))
          perr(p, loc, "keyword argument repeated: '%s'", k);
      }
      py_keyword kw = {ts_arena_strndup(p->a, name.text, name.n), parse_test(p),
                       loc};
      APUSH(p, call->u.call.kwargs, call->u.call.n_kwargs, cap_k, kw, loc);
      seen_kw = true;
    } else {
      py_expr *e = parse_test(p);
      if (at_kw(p, "for"))
        perr(p, cur(p)->loc, "generator expressions are not supported");
      if (at_op(p, "="))
        perr(p, loc,
             "expression cannot contain assignment, perhaps you "
             "meant \"==\"?");
      if (seen_kw_unpack)
        perr(p, loc, "positional argument follows keyword argument unpacking");
      if (seen_kw)
        perr(p, loc, "positional argument follows keyword argument");
      APUSH(p, call->u.call.args, call->u.call.n_args, cap_a, e, loc);
    }
    if (accept_op(p, ","))
      continue;
    if (!at_op(p, ")"))
      perr(p, cur(p)->loc, "expected ',' or ')' after argument, found %s",
           tok_desc(cur(p), buf));
  }
  advance(p);
}

/* One subscript element: test or slice [test] ':' [test] [':' [test]]. */
static py_expr *parse_subscript_elem(parser *p) {
  ts_loc loc = cur(p)->loc;
  py_expr *lo = NULL;
  if (!at_op(p, ":")) {
    lo = parse_test(p);
    if (!at_op(p, ":"))
      return lo;
  }
  advance(p);
  py_expr *s = mk_expr(p, PY_SLICE, loc);
  s->u.slice.lo = lo;
  if (!at_op(p, ":") && !at_op(p, ",") && !at_op(p, "]"))
    s->u.slice.hi = parse_test(p);
  if (accept_op(p, ":") && !at_op(p, ",") && !at_op(p, "]"))
    s->u.slice.step = parse_test(p);
  return s;
}

static py_expr *parse_primary(parser *p) {
  ts_loc start = cur(p)->loc;
  int saved = p->depth;
  py_expr *e = parse_atom(p);
  for (;;) {
    const tok *t = cur(p);
    if (tok_is_op(t, "(")) {
      enter(p, t->loc);
      advance(p);
      py_expr *c = mk_expr(p, PY_CALL, start);
      c->u.call.func = e;
      parse_call_args(p, c);
      e = c;
    } else if (tok_is_op(t, "[")) {
      enter(p, t->loc);
      advance(p);
      evec v = {0};
      bool comma = false;
      ts_loc iloc = cur(p)->loc;
      for (;;) {
        evec_push(p, &v, parse_subscript_elem(p));
        if (!accept_op(p, ","))
          break;
        comma = true;
        if (at_op(p, "]"))
          break;
      }
      if (!at_op(p, "]")) {
        char buf[64];
        perr(p, cur(p)->loc, "expected ',' or ']', found %s",
             tok_desc(cur(p), buf));
      }
      advance(p);
      py_expr *s = mk_expr(p, PY_SUBSCRIPT, start);
      s->u.subscript.value = e;
      s->u.subscript.index =
          (v.n == 1 && !comma) ? v.items[0] : mk_seq(p, PY_TUPLE, iloc, &v);
      e = s;
    } else if (tok_is_op(t, ".")) {
      enter(p, t->loc);
      advance(p);
      py_expr *a = mk_expr(p, PY_ATTR, start);
      a->u.attr.value = e;
      a->u.attr.name = expect_ident(p, "attribute name after '.'");
      e = a;
    } else {
      break;
    }
  }
  p->depth = saved;
  return e;
}

static py_expr *parse_power(parser *p) {
  ts_loc start = cur(p)->loc;
  py_expr *e = parse_primary(p);
  if (at_op(p, "**")) {
    tok t = advance(p);
    enter(p, t.loc);
    py_expr *b = mk_expr(p, PY_BINOP, start);
    b->u.binop.op = PY_OP_POW;
    b->u.binop.left = e;
    b->u.binop.right = parse_factor(p);
    p->depth--;
    e = b;
  }
  return e;
}

static py_expr *parse_factor(parser *p) {
  const tok *t = cur(p);
  py_op op;
  if (tok_is_op(t, "-"))
    op = PY_OP_NEG;
  else if (tok_is_op(t, "+"))
    op = PY_OP_POS;
  else if (tok_is_op(t, "~"))
    op = PY_OP_INVERT;
  else
    return parse_power(p);
  ts_loc loc = t->loc;
  /* -9223372036854775808 is the one literal that needs its minus sign. */
  if (op == PY_OP_NEG && peek(p, 1)->kind == TK_INT &&
      peek(p, 1)->ival == INT_LIMIT) {
    const tok *after = peek(p, 2);
    if (!tok_is_op(after, "**") && !tok_is_op(after, ".") &&
        !tok_is_op(after, "(") && !tok_is_op(after, "[")) {
      advance(p);
      advance(p);
      py_expr *e = mk_expr(p, PY_INT, loc);
      e->u.int_value = INT64_MIN;
      return e;
    }
  }
  advance(p);
  enter(p, loc);
  py_expr *e = mk_expr(p, PY_UNARYOP, loc);
  e->u.unary.op = op;
  e->u.unary.operand = parse_factor(p);
  p->depth--;
  return e;
}

/* Binary operator precedence (higher binds tighter), 0 when not one. */
static int binop_prec(const tok *t, py_op *op) {
  static const struct {
    const char *s;
    py_op op;
    int prec;
  } table[] = {
      {"|", PY_OP_BITOR, 1},   {"^", PY_OP_BITXOR, 2},
      {"&", PY_OP_BITAND, 3},  {"<<", PY_OP_LSHIFT, 4},
      {">>", PY_OP_RSHIFT, 4}, {"+", PY_OP_ADD, 5},
      {"-", PY_OP_SUB, 5},     {"*", PY_OP_MUL, 6},
      {"/", PY_OP_DIV, 6},     {"//", PY_OP_FLOORDIV, 6},
      {"%", PY_OP_MOD, 6},     {"@", PY_OP_MATMUL, 6},
  };
  if (t->kind != TK_OP)
    return 0;
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (tok_is_op(t, table[i].s)) {
      *op = table[i].op;
      return table[i].prec;
    }
  return 0;
}

/* Precedence climbing over the left-associative binary operators. */
static py_expr *parse_binary(parser *p, int min_prec) {
  ts_loc start = cur(p)->loc;
  int saved = p->depth;
  py_expr *e = parse_factor(p);
  for (;;) {
    py_op op;
    int prec = binop_prec(cur(p), &op);
    if (!prec || prec < min_prec)
      break;
    tok t = advance(p);
    enter(p, t.loc);
    py_expr *r = parse_binary(p, prec + 1);
    py_expr *b = mk_expr(p, PY_BINOP, start);
    b->u.binop.op = op;
    b->u.binop.left = e;
    b->u.binop.right = r;
    e = b;
  }
  p->depth = saved;
  return e;
}

/* A comparison operator at the cursor: consumes it and returns true. */
static bool accept_comp_op(parser *p, py_op *op) {
  tok tv = *cur(p); /* by value: peek(p, 1) below may move the vector */
  const tok *t = &tv;
  static const struct {
    const char *s;
    py_op op;
  } table[] = {{"==", PY_OP_EQ}, {"!=", PY_OP_NE}, {"<", PY_OP_LT},
               {"<=", PY_OP_LE}, {">", PY_OP_GT},  {">=", PY_OP_GE}};
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (tok_is_op(t, table[i].s)) {
      *op = table[i].op;
      advance(p);
      return true;
    }
  if (tok_is_kw(t, "in")) {
    *op = PY_OP_IN;
    advance(p);
    return true;
  }
  if (tok_is_kw(t, "not") && tok_is_kw(peek(p, 1), "in")) {
    *op = PY_OP_NOT_IN;
    advance(p);
    advance(p);
    return true;
  }
  if (tok_is_kw(t, "is")) {
    advance(p);
    *op = accept_kw(p, "not") ? PY_OP_IS_NOT : PY_OP_IS;
    return true;
  }
  return false;
}

static py_expr *parse_comparison(parser *p) {
  ts_loc start = cur(p)->loc;
  py_expr *e = parse_binary(p, 1);
  py_op op;
  if (!accept_comp_op(p, &op))
    return e;
  py_expr *c = mk_expr(p, PY_COMPARE, start);
  c->u.compare.left = e;
  int cap_o = 0, cap_c = 0, n;
  do {
    py_expr *r = parse_binary(p, 1);
    n = c->u.compare.n;
    APUSH(p, c->u.compare.ops, n, cap_o, op, r->loc);
    n = c->u.compare.n;
    APUSH(p, c->u.compare.comparators, n, cap_c, r, r->loc);
    c->u.compare.n = n;
  } while (accept_comp_op(p, &op));
  return c;
}

static py_expr *parse_not(parser *p) {
  if (!at_kw(p, "not"))
    return parse_comparison(p);
  tok t = advance(p);
  enter(p, t.loc);
  py_expr *e = mk_expr(p, PY_UNARYOP, t.loc);
  e->u.unary.op = PY_OP_NOT;
  e->u.unary.operand = parse_not(p);
  p->depth--;
  return e;
}

/* and_test / or_test: level 0 is 'and' over not_test, level 1 'or'. */
static py_expr *parse_boolop(parser *p, int level) {
  const char *kw = level ? "or" : "and";
  ts_loc start = cur(p)->loc;
  py_expr *e = level ? parse_boolop(p, 0) : parse_not(p);
  if (!at_kw(p, kw))
    return e;
  py_expr *b = mk_expr(p, PY_BOOLOP, start);
  b->u.boolop.op = level ? PY_OP_OR : PY_OP_AND;
  evec v = {0};
  evec_push(p, &v, e);
  while (accept_kw(p, kw))
    evec_push(p, &v, level ? parse_boolop(p, 0) : parse_not(p));
  b->u.boolop.values = v.items;
  b->u.boolop.n = v.n;
  return b;
}

static py_expr *parse_lambda(parser *p) {
  tok t = advance(p); /* 'lambda' */
  py_expr *e = mk_expr(p, PY_LAMBDA, t.loc);
  int cap = 0;
  char buf[64];
  while (!at_op(p, ":")) {
    const tok *n = cur(p);
    if (tok_is_op(n, "*") || tok_is_op(n, "**") || tok_is_op(n, "/"))
      perr(p, n->loc, "'%.*s' parameters are not supported in lambda",
           (int)n->n, n->text);
    if (!tok_is_ident(n))
      perr(p, n->loc, "expected parameter name or ':' in lambda, found %s",
           tok_desc(n, buf));
    for (int i = 0; i < e->u.lambda_.n_params; i++)
      if (span_eq(n->text, n->n, e->u.lambda_.params[i]))
        perr(p, n->loc, "duplicate parameter '%s' in lambda",
             e->u.lambda_.params[i]);
    const char *name = ts_arena_strndup(p->a, n->text, n->n);
    ts_loc nloc = n->loc;
    advance(p);
    APUSH(p, e->u.lambda_.params, e->u.lambda_.n_params, cap, name, nloc);
    if (at_op(p, "="))
      perr(p, cur(p)->loc, "lambda parameter defaults are not supported");
    if (accept_op(p, ","))
      continue;
    if (!at_op(p, ":"))
      perr(p, cur(p)->loc, "expected ',' or ':' in lambda, found %s",
           tok_desc(cur(p), buf));
  }
  advance(p);
  e->u.lambda_.body = parse_test(p);
  return e;
}

static py_expr *parse_test(parser *p) {
  ts_loc start = cur(p)->loc;
  enter(p, start);
  py_expr *e;
  if (at_kw(p, "lambda")) {
    e = parse_lambda(p);
  } else {
    e = parse_boolop(p, 1);
    if (accept_kw(p, "if")) {
      py_expr *c = mk_expr(p, PY_IFEXP, start);
      c->u.ifexp.body = e;
      c->u.ifexp.cond = parse_boolop(p, 1);
      if (!accept_kw(p, "else"))
        perr(p, cur(p)->loc, "expected 'else' in conditional expression");
      c->u.ifexp.orelse = parse_test(p);
      e = c;
    }
  }
  p->depth--;
  return e;
}

/* testlist / testlist_star_expr: a bare tuple when there is a comma. */
static py_expr *parse_testlist(parser *p, bool star) {
  ts_loc start = cur(p)->loc;
  py_expr *e = star ? parse_test_or_star(p) : parse_test(p);
  if (!at_op(p, ","))
    return e;
  evec v = {0};
  evec_push(p, &v, e);
  while (accept_op(p, ",") && starts_expr(cur(p)))
    evec_push(p, &v, star ? parse_test_or_star(p) : parse_test(p));
  return mk_seq(p, PY_TUPLE, start, &v);
}

/* exprlist, the target of 'for': binary-level items (no 'in' comparisons). */
static py_expr *parse_exprlist(parser *p) {
  ts_loc start = cur(p)->loc;
  evec v = {0};
  bool comma = false;
  for (;;) {
    py_expr *e;
    if (at_op(p, "*")) {
      tok t = advance(p);
      e = mk_expr(p, PY_STARRED, t.loc);
      e->u.unary.operand = parse_binary(p, 1);
    } else {
      e = parse_binary(p, 1);
    }
    evec_push(p, &v, e);
    if (!accept_op(p, ","))
      break;
    comma = true;
    if (!starts_expr(cur(p)))
      break;
  }
  if (v.n == 1 && !comma)
    return v.items[0];
  return mk_seq(p, PY_TUPLE, start, &v);
}

/* ---- statements -------------------------------------------------------------
 */

static const char *expr_desc(const py_expr *e) {
  switch (e->kind) {
  case PY_CALL:
    return "function call";
  case PY_INT:
  case PY_FLOAT:
  case PY_STR:
  case PY_DICT:
    return "literal";
  case PY_NONE:
    return "None";
  case PY_TRUE:
    return "True";
  case PY_FALSE:
    return "False";
  case PY_COMPARE:
    return "comparison";
  case PY_LAMBDA:
    return "lambda";
  case PY_IFEXP:
    return "conditional expression";
  case PY_TUPLE:
    return "tuple";
  case PY_LIST:
    return "list";
  case PY_STARRED:
    return "starred";
  default:
    return "expression";
  }
}

/* Checks that e may be assigned to (seq: tuple/list targets allowed). */
static void check_target(parser *p, const py_expr *e, bool seq) {
  switch (e->kind) {
  case PY_NAME:
  case PY_ATTR:
  case PY_SUBSCRIPT:
    return;
  case PY_TUPLE:
  case PY_LIST:
    if (!seq)
      break;
    for (int i = 0; i < e->u.seq.n; i++) {
      const py_expr *it = e->u.seq.items[i];
      check_target(p, it->kind == PY_STARRED ? it->u.unary.operand : it, true);
    }
    return;
  case PY_STARRED:
    if (seq)
      perr(p, e->loc, "starred assignment target must be in a list or tuple");
    break;
  default:
    break;
  }
  perr(p, e->loc, "cannot assign to %s", expr_desc(e));
}

static bool at_stmt_end(parser *p) {
  return cur(p)->kind == TK_NEWLINE || at_op(p, ";");
}

static py_op augassign_op(const tok *t, bool *ok) {
  static const struct {
    const char *s;
    py_op op;
  } table[] = {
      {"+=", PY_OP_ADD},     {"-=", PY_OP_SUB},       {"*=", PY_OP_MUL},
      {"/=", PY_OP_DIV},     {"//=", PY_OP_FLOORDIV}, {"%=", PY_OP_MOD},
      {"**=", PY_OP_POW},    {"@=", PY_OP_MATMUL},    {"<<=", PY_OP_LSHIFT},
      {">>=", PY_OP_RSHIFT}, {"|=", PY_OP_BITOR},     {"^=", PY_OP_BITXOR},
      {"&=", PY_OP_BITAND}};
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (tok_is_op(t, table[i].s)) {
      *ok = true;
      return table[i].op;
    }
  *ok = false;
  return PY_OP_ADD;
}

/* expr_stmt: testlist (annassign | augassign testlist | ('=' testlist)*) */
static py_stmt *parse_expr_stmt(parser *p) {
  ts_loc start = cur(p)->loc;
  py_expr *first = parse_testlist(p, true);
  bool aug;
  py_op op = augassign_op(cur(p), &aug);
  if (at_op(p, ":")) {
    advance(p);
    if (first->kind == PY_TUPLE || first->kind == PY_LIST)
      perr(p, first->loc, "only single target (not %s) can be annotated",
           expr_desc(first));
    check_target(p, first, false);
    py_stmt *s = mk_stmt(p, PY_S_ANNASSIGN, start);
    s->u.annassign.target = first;
    s->u.annassign.annotation = parse_test(p);
    if (accept_op(p, "=")) {
      s->u.annassign.value = parse_testlist(p, true);
      if (s->u.annassign.value->kind == PY_STARRED)
        no_starred(p, s->u.annassign.value);
    }
    return s;
  }
  if (aug) {
    advance(p);
    if (first->kind == PY_TUPLE || first->kind == PY_LIST)
      perr(p, first->loc, "illegal expression for augmented assignment");
    check_target(p, first, false);
    py_stmt *s = mk_stmt(p, PY_S_AUGASSIGN, start);
    s->u.augassign.target = first;
    s->u.augassign.op = op;
    s->u.augassign.value = parse_testlist(p, false);
    return s;
  }
  if (at_op(p, "=")) {
    py_stmt *s = mk_stmt(p, PY_S_ASSIGN, start);
    evec targets = {0};
    py_expr *e = first;
    while (accept_op(p, "=")) {
      check_target(p, e, true);
      evec_push(p, &targets, e);
      e = parse_testlist(p, true);
    }
    if (e->kind == PY_STARRED)
      no_starred(p, e);
    s->u.assign.targets = targets.items;
    s->u.assign.n_targets = targets.n;
    s->u.assign.value = e;
    return s;
  }
  if (first->kind == PY_STARRED)
    no_starred(p, first);
  py_stmt *s = mk_stmt(p, PY_S_EXPR, start);
  s->u.expr.value = first;
  return s;
}

/* dotted_name: NAME ('.' NAME)*, appended to sbuf. */
static void parse_dotted_name(parser *p, const char *what) {
  do {
    const tok *t = cur(p);
    if (!tok_is_ident(t)) {
      char buf[64];
      perr(p, t->loc, "expected %s, found %s", what, tok_desc(t, buf));
    }
    for (size_t i = 0; i < t->n; i++)
      sbuf_add(p, t->text[i]);
    advance(p);
    if (!at_op(p, "."))
      break;
    sbuf_add(p, '.');
  } while (accept_op(p, "."));
}

/* import_name:  'import' dotted_name ['as' NAME] (',' ...)*
 * import_from:  'from' ('.'* dotted_name | '.'+) 'import'
 *               ('*' | '(' names ')' | names)      names: NAME ['as' NAME], */
static py_stmt *parse_import(parser *p) {
  tok t = advance(p);
  py_stmt *s = mk_stmt(p, PY_S_IMPORT, t.loc);
  p->slen = 0;
  if (span_eq(t.text, t.n, "import")) {
    for (;;) {
      parse_dotted_name(p, "module name after 'import'");
      if (accept_kw(p, "as"))
        expect_ident(p, "name after 'as'");
      if (!accept_op(p, ","))
        break;
      sbuf_add(p, ',');
      sbuf_add(p, ' ');
    }
  } else {
    bool dots = false;
    for (;;) {
      if (at_op(p, ".")) {
        sbuf_add(p, '.');
      } else if (at_op(p, "...")) {
        sbuf_add(p, '.');
        sbuf_add(p, '.');
        sbuf_add(p, '.');
      } else {
        break;
      }
      advance(p);
      dots = true;
    }
    if (!dots || !at_kw(p, "import"))
      parse_dotted_name(p, "module name after 'from'");
    if (!accept_kw(p, "import"))
      perr(p, cur(p)->loc, "expected 'import' after module name");
    if (!accept_op(p, "*")) {
      bool paren = accept_op(p, "(");
      for (;;) {
        expect_ident(p, "name to import");
        if (accept_kw(p, "as"))
          expect_ident(p, "name after 'as'");
        if (!accept_op(p, ","))
          break;
        if (paren && at_op(p, ")"))
          break;
      }
      if (paren)
        expect_op(p, ")", "to close the import list");
    }
  }
  char *m = ts_arena_alloc(p->a, p->slen + 1);
  if (p->slen)
    memcpy(m, p->sbuf, p->slen);
  s->u.import_.module = m;
  return s;
}

static py_stmt *parse_small_stmt(parser *p) {
  const tok *t = cur(p);
  ts_loc loc = t->loc;
  if (t->kind == TK_NAME) {
    if (tok_is_kw(t, "pass") || tok_is_kw(t, "break") ||
        tok_is_kw(t, "continue")) {
      py_stmt_kind k = tok_is_kw(t, "pass")    ? PY_S_PASS
                       : tok_is_kw(t, "break") ? PY_S_BREAK
                                               : PY_S_CONTINUE;
      advance(p);
      return mk_stmt(p, k, loc);
    }
    if (tok_is_kw(t, "return")) {
      advance(p);
      py_stmt *s = mk_stmt(p, PY_S_RETURN, loc);
      if (!at_stmt_end(p)) {
        s->u.expr.value = parse_testlist(p, true);
        if (s->u.expr.value->kind == PY_STARRED)
          no_starred(p, s->u.expr.value);
      }
      return s;
    }
    if (tok_is_kw(t, "assert")) {
      advance(p);
      py_stmt *s = mk_stmt(p, PY_S_ASSERT, loc);
      s->u.assert_.cond = parse_test(p);
      if (accept_op(p, ","))
        s->u.assert_.msg = parse_test(p);
      return s;
    }
    if (tok_is_kw(t, "import") || tok_is_kw(t, "from"))
      return parse_import(p);
    static const char *const unsupported[] = {
        "del",   "global", "nonlocal", "raise",  "try",
        "yield", "async",  "await",    "except", "finally"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
      if (tok_is_kw(t, unsupported[i]))
        perr(p, loc, "'%s' statements are not supported", unsupported[i]);
    if (tok_is_kw(t, "else") || tok_is_kw(t, "elif") || tok_is_kw(t, "in") ||
        tok_is_kw(t, "as") || tok_is_kw(t, "and") || tok_is_kw(t, "or") ||
        tok_is_kw(t, "is"))
      unexpected(p, t);
  }
  return parse_expr_stmt(p);
}

/* simple_stmts: small_stmt (';' small_stmt)* [';'] NEWLINE */
static void parse_simple_stmts(parser *p, svec *out) {
  for (;;) {
    py_stmt *s = parse_small_stmt(p);
    APUSH(p, out->items, out->n, out->cap, s, s->loc);
    if (!accept_op(p, ";"))
      break;
    if (cur(p)->kind == TK_NEWLINE)
      break;
  }
  end_of_line(p, NULL);
}

static void parse_stmt(parser *p, svec *out);

/* block: NEWLINE INDENT stmt+ DEDENT | simple_stmts */
static py_body parse_block(parser *p) {
  svec v = {0};
  if (cur(p)->kind == TK_NEWLINE) {
    advance(p);
    const tok *t = cur(p);
    if (t->kind != TK_INDENT)
      perr(p, t->loc, "expected an indented block");
    advance(p);
    while (cur(p)->kind != TK_DEDENT && cur(p)->kind != TK_EOF)
      parse_stmt(p, &v);
    advance(p);
  } else {
    parse_simple_stmts(p, &v);
  }
  return (py_body){v.items, v.n};
}

static void expect_colon(parser *p, const char *what) {
  expect_op(p, ":", what);
}

/* if_stmt: 'if' test ':' block ('elif' test ':' block)* ['else' ':' block]
 * The elif chain is built iteratively (nested ifs in orelse). */
static py_stmt *parse_if(parser *p) {
  tok t = advance(p);
  py_stmt *top = mk_stmt(p, PY_S_IF, t.loc);
  top->u.if_.cond = parse_test(p);
  expect_colon(p, "after 'if' condition");
  top->u.if_.body = parse_block(p);
  py_stmt *last = top;
  int saved = p->depth;
  while (at_kw(p, "elif")) {
    tok e = advance(p);
    enter(p, e.loc);
    py_stmt *s = mk_stmt(p, PY_S_IF, e.loc);
    s->u.if_.cond = parse_test(p);
    expect_colon(p, "after 'elif' condition");
    s->u.if_.body = parse_block(p);
    py_stmt **one = ts_arena_alloc(p->a, sizeof *one);
    one[0] = s;
    last->u.if_.orelse = (py_body){one, 1};
    last = s;
  }
  p->depth = saved;
  if (accept_kw(p, "else")) {
    expect_colon(p, "after 'else'");
    last->u.if_.orelse = parse_block(p);
  }
  return top;
}

static py_stmt *parse_for(parser *p) {
  tok t = advance(p);
  py_stmt *s = mk_stmt(p, PY_S_FOR, t.loc);
  s->u.for_.target = parse_exprlist(p);
  check_target(p, s->u.for_.target, true);
  if (!accept_kw(p, "in"))
    perr(p, cur(p)->loc, "expected 'in' after 'for' target");
  s->u.for_.iter = parse_testlist(p, true);
  expect_colon(p, "after 'for' header");
  s->u.for_.body = parse_block(p);
  if (at_kw(p, "else"))
    perr(p, cur(p)->loc, "'else' after 'for' is not supported");
  return s;
}

static py_stmt *parse_while(parser *p) {
  tok t = advance(p);
  py_stmt *s = mk_stmt(p, PY_S_WHILE, t.loc);
  s->u.while_.cond = parse_test(p);
  expect_colon(p, "after 'while' condition");
  s->u.while_.body = parse_block(p);
  if (at_kw(p, "else"))
    perr(p, cur(p)->loc, "'else' after 'while' is not supported");
  return s;
}

static py_stmt *parse_with(parser *p) {
  tok t = advance(p);
  py_stmt *s = mk_stmt(p, PY_S_WITH, t.loc);
  int cap = 0;
  do {
    py_with_item it = {parse_test(p), NULL};
    if (accept_kw(p, "as")) {
      it.target = parse_binary(p, 1);
      check_target(p, it.target, true);
    }
    APUSH(p, s->u.with.items, s->u.with.n_items, cap, it, it.context->loc);
  } while (accept_op(p, ","));
  expect_colon(p, "after 'with' items");
  s->u.with.body = parse_block(p);
  return s;
}

/* funcdef: 'def' NAME '(' [param (',' param)* [',']] ')' ['->' test] ':' block
 * param:   NAME [':' test] ['=' test] */
static py_stmt *parse_def(parser *p, evec *decorators) {
  tok t = advance(p);
  py_stmt *s = mk_stmt(p, PY_S_DEF, t.loc);
  s->u.def.name = expect_ident(p, "function name after 'def'");
  s->u.def.decorators = decorators->items;
  s->u.def.n_decorators = decorators->n;
  expect_op(p, "(", "after function name");
  int cap = 0;
  bool seen_default = false;
  char buf[64];
  while (!at_op(p, ")")) {
    const tok *n = cur(p);
    if (tok_is_op(n, "*") || tok_is_op(n, "**") || tok_is_op(n, "/"))
      perr(p, n->loc, "'%.*s' parameters are not supported", (int)n->n,
           n->text);
    if (!tok_is_ident(n))
      perr(p, n->loc, "expected parameter name, found %s", tok_desc(n, buf));
    py_param prm = {ts_arena_strndup(p->a, n->text, n->n), NULL, NULL, n->loc};
    for (int i = 0; i < s->u.def.n_params; i++)
      if (strcmp(s->u.def.params[i].name, prm.name) == 0)
        perr(p, prm.loc, "duplicate parameter '%s' in function definition",
             prm.name);
    advance(p);
    if (accept_op(p, ":"))
      prm.annotation = parse_test(p);
    if (accept_op(p, "=")) {
      prm.default_value = parse_test(p);
      seen_default = true;
    } else if (seen_default) {
      perr(p, prm.loc,
           "parameter without a default follows parameter with a default");
    }
    APUSH(p, s->u.def.params, s->u.def.n_params, cap, prm, prm.loc);
    if (accept_op(p, ","))
      continue;
    if (!at_op(p, ")"))
      perr(p, cur(p)->loc, "expected ',' or ')' after parameter, found %s",
           tok_desc(cur(p), buf));
  }
  advance(p);
  if (accept_op(p, "->"))
    s->u.def.returns = parse_test(p);
  expect_colon(p, "after 'def' header");
  s->u.def.body = parse_block(p);
  return s;
}

/* classdef: 'class' NAME ['(' [bases] ')'] ':' block */
static py_stmt *parse_class(parser *p, evec *decorators) {
  tok t = advance(p);
  py_stmt *s = mk_stmt(p, PY_S_CLASS, t.loc);
  s->u.class_.name = expect_ident(p, "class name after 'class'");
  s->u.class_.decorators = decorators->items;
  s->u.class_.n_decorators = decorators->n;
  if (at_op(p, "(")) {
    tok o = advance(p);
    py_expr call = {.kind = PY_CALL, .loc = o.loc};
    parse_call_args(p, &call);
    if (call.u.call.n_kwargs)
      perr(p, call.u.call.kwargs[0].loc,
           "class keyword arguments are not supported");
    s->u.class_.bases = call.u.call.args;
    s->u.class_.n_bases = call.u.call.n_args;
  }
  expect_colon(p, "after 'class' header");
  s->u.class_.body = parse_block(p);
  return s;
}

/* stmt: decorator* (funcdef | classdef) | if | for | while | with
 *       | simple_stmts */
static void parse_stmt(parser *p, svec *out) {
  const tok *t = cur(p);
  py_stmt *s;
  if (t->kind == TK_INDENT)
    unexpected(p, t);
  if (tok_is_op(t, "@") || tok_is_kw(t, "def") || tok_is_kw(t, "class")) {
    evec decorators = {0};
    while (at_op(p, "@")) {
      advance(p);
      evec_push(p, &decorators, parse_test(p));
      end_of_line(p, "after decorator");
    }
    if (at_kw(p, "def")) {
      s = parse_def(p, &decorators);
    } else if (at_kw(p, "class")) {
      s = parse_class(p, &decorators);
    } else {
      char buf[64];
      perr(p, cur(p)->loc,
           "expected 'def' or 'class' after decorator, found %s",
           tok_desc(cur(p), buf));
    }
  } else if (tok_is_kw(t, "if")) {
    s = parse_if(p);
  } else if (tok_is_kw(t, "for")) {
    s = parse_for(p);
  } else if (tok_is_kw(t, "while")) {
    s = parse_while(p);
  } else if (tok_is_kw(t, "with")) {
    s = parse_with(p);
  } else {
    parse_simple_stmts(p, out);
    return;
  }
  APUSH(p, out->items, out->n, out->cap, s, s->loc);
}

static py_body parse_file(parser *p) {
  svec v = {0};
  while (cur(p)->kind != TK_EOF)
    parse_stmt(p, &v);
  return (py_body){v.items, v.n};
}

/* The only function that calls setjmp; its caller's state is read only
 * through `p`, which is not modified after setjmp. */
static bool parse_protected(parser *p, py_body *out) {
  if (setjmp(p->jb))
    return false;
  *out = parse_file(p);
  return true;
}

ts_status *py_parse(ts_arena *a, const char *src, size_t len,
                    const char *filename, py_body *out) {
  TS_ASSERT(a && out && (src || len == 0));
  out->stmts = NULL;
  out->n = 0;
  parser *p = ts_xcalloc(1, sizeof *p);
  p->a = a;
  p->src = src ? src : "";
  p->len = len;
  p->file = ts_arena_strdup(a, filename ? filename : "<input>");
  p->line = 1;
  p->n_indents = 1;
  p->at_bol = true;
  py_body body;
  ts_status *st = NULL;
  if (parse_protected(p, &body)) {
    *out = body;
  } else {
    st = p->err;
  }
  free(p->toks);
  free(p->sbuf);
  free(p);
  return st;
}

/* ---- rendering
 * --------------------------------------------------------------- */

const char *py_op_str(py_op op) {
  switch (op) {
  case PY_OP_ADD:
    return "+";
  case PY_OP_SUB:
    return "-";
  case PY_OP_MUL:
    return "*";
  case PY_OP_DIV:
    return "/";
  case PY_OP_FLOORDIV:
    return "//";
  case PY_OP_MOD:
    return "%";
  case PY_OP_POW:
    return "**";
  case PY_OP_MATMUL:
    return "@";
  case PY_OP_LSHIFT:
    return "<<";
  case PY_OP_RSHIFT:
    return ">>";
  case PY_OP_BITOR:
    return "|";
  case PY_OP_BITXOR:
    return "^";
  case PY_OP_BITAND:
    return "&";
  case PY_OP_NEG:
    return "-";
  case PY_OP_POS:
    return "+";
  case PY_OP_INVERT:
    return "~";
  case PY_OP_NOT:
    return "not";
  case PY_OP_EQ:
    return "==";
  case PY_OP_NE:
    return "!=";
  case PY_OP_LT:
    return "<";
  case PY_OP_LE:
    return "<=";
  case PY_OP_GT:
    return ">";
  case PY_OP_GE:
    return ">=";
  case PY_OP_IN:
    return "in";
  case PY_OP_NOT_IN:
    return "not in";
  case PY_OP_IS:
    return "is";
  case PY_OP_IS_NOT:
    return "is not";
  case PY_OP_AND:
    return "and";
  case PY_OP_OR:
    return "or";
  }
  return "?";
}

/* Rendering precedence, loosest first. */
enum {
  PR_TUPLE,
  PR_LAMBDA,
  PR_IFEXP,
  PR_OR,
  PR_AND,
  PR_NOT,
  PR_CMP,
  PR_BITOR,
  PR_BITXOR,
  PR_BITAND,
  PR_SHIFT,
  PR_ARITH,
  PR_TERM,
  PR_UNARY,
  PR_POW,
  PR_PRIMARY,
  PR_ATOM,
};

static int op_prec(py_op op) {
  switch (op) {
  case PY_OP_BITOR:
    return PR_BITOR;
  case PY_OP_BITXOR:
    return PR_BITXOR;
  case PY_OP_BITAND:
    return PR_BITAND;
  case PY_OP_LSHIFT:
  case PY_OP_RSHIFT:
    return PR_SHIFT;
  case PY_OP_ADD:
  case PY_OP_SUB:
    return PR_ARITH;
  case PY_OP_POW:
    return PR_POW;
  case PY_OP_NOT:
    return PR_NOT;
  case PY_OP_NEG:
  case PY_OP_POS:
  case PY_OP_INVERT:
    return PR_UNARY;
  case PY_OP_AND:
    return PR_AND;
  case PY_OP_OR:
    return PR_OR;
  default:
    return PR_TERM;
  }
}

static int expr_prec(const py_expr *e) {
  switch (e->kind) {
  case PY_LAMBDA:
    return PR_LAMBDA;
  case PY_IFEXP:
    return PR_IFEXP;
  case PY_BOOLOP:
    return op_prec(e->u.boolop.op);
  case PY_UNARYOP:
    return op_prec(e->u.unary.op);
  case PY_BINOP:
    return op_prec(e->u.binop.op);
  case PY_COMPARE:
    return PR_CMP;
  case PY_CALL:
  case PY_ATTR:
  case PY_SUBSCRIPT:
    return PR_PRIMARY;
  case PY_INT:
    return e->u.int_value < 0 ? PR_UNARY : PR_ATOM;
  case PY_FLOAT:
    return signbit(e->u.float_value) ? PR_UNARY : PR_ATOM;
  case PY_STARRED:
    return PR_BITOR;
  case PY_SLICE:
    return PR_TUPLE;
  default:
    return PR_ATOM;
  }
}

static void render(ts_strbuf *b, const py_expr *e, int min_prec);

static void render_str(ts_strbuf *b, const char *s) {
  ts_strbuf_append(b, "\"");
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    switch (*c) {
    case '\\':
      ts_strbuf_append(b, "\\\\");
      break;
    case '"':
      ts_strbuf_append(b, "\\\"");
      break;
    case '\n':
      ts_strbuf_append(b, "\\n");
      break;
    case '\t':
      ts_strbuf_append(b, "\\t");
      break;
    case '\r':
      ts_strbuf_append(b, "\\r");
      break;
    default:
      if (*c < 0x20 || *c == 0x7f)
        ts_strbuf_printf(b, "\\x%02x", *c);
      else
        ts_strbuf_appendn(b, (const char *)c, 1);
    }
  }
  ts_strbuf_append(b, "\"");
}

static void render_float(ts_strbuf *b, double v) {
  if (isnan(v)) {
    ts_strbuf_append(b, "nan");
    return;
  }
  if (isinf(v)) {
    ts_strbuf_append(b, v < 0 ? "-1e309" : "1e309");
    return;
  }
  /* The shortest text that reads back, positional in Python's range. */
  char buf[64];
  double av = fabs(v);
  if (av == 0 || (av >= 1e-4 && av < 1e16)) {
    for (int d = 0; d <= 30; d++) {
      snprintf(buf, sizeof buf, "%.*f", d, v);
      if (strtod(buf, NULL) == v)
        break;
    }
  } else {
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(buf, sizeof buf, "%.*g", prec, v);
      if (strtod(buf, NULL) == v)
        break;
    }
  }
  ts_strbuf_append(b, buf);
  if (!strpbrk(buf, ".e"))
    ts_strbuf_append(b, ".0");
}

static void render_list(ts_strbuf *b, py_expr *const *items, int n) {
  for (int i = 0; i < n; i++) {
    if (i)
      ts_strbuf_append(b, ", ");
    render(b, items[i], PR_LAMBDA);
  }
}

/* A subscript element: slices render bare. */
static void render_index_elem(ts_strbuf *b, const py_expr *e) {
  if (e->kind != PY_SLICE) {
    render(b, e, PR_LAMBDA);
    return;
  }
  if (e->u.slice.lo)
    render(b, e->u.slice.lo, PR_IFEXP);
  ts_strbuf_append(b, ":");
  if (e->u.slice.hi)
    render(b, e->u.slice.hi, PR_IFEXP);
  if (e->u.slice.step) {
    ts_strbuf_append(b, ":");
    render(b, e->u.slice.step, PR_IFEXP);
  }
}

static void render(ts_strbuf *b, const py_expr *e, int min_prec) {
  int prec = expr_prec(e);
  bool paren = prec < min_prec;
  if (paren)
    ts_strbuf_append(b, "(");
  switch (e->kind) {
  case PY_NAME:
    ts_strbuf_append(b, e->u.name);
    break;
  case PY_INT:
    ts_strbuf_printf(b, "%" PRId64, e->u.int_value);
    break;
  case PY_FLOAT:
    render_float(b, e->u.float_value);
    break;
  case PY_STR:
    render_str(b, e->u.str);
    break;
  case PY_NONE:
    ts_strbuf_append(b, "None");
    break;
  case PY_TRUE:
    ts_strbuf_append(b, "True");
    break;
  case PY_FALSE:
    ts_strbuf_append(b, "False");
    break;
  case PY_ATTR:
    /* `1.x` would lex as a float: an int value needs parentheses. */
    render(b, e->u.attr.value,
           e->u.attr.value->kind == PY_INT ? PR_ATOM + 1 : PR_PRIMARY);
    ts_strbuf_append(b, ".");
    ts_strbuf_append(b, e->u.attr.name);
    break;
  case PY_CALL:
    render(b, e->u.call.func, PR_PRIMARY);
    ts_strbuf_append(b, "(");
    render_list(b, e->u.call.args, e->u.call.n_args);
    for (int i = 0; i < e->u.call.n_kwargs; i++) {
      const py_keyword *k = &e->u.call.kwargs[i];
      if (i || e->u.call.n_args)
        ts_strbuf_append(b, ", ");
      if (k->name) {
        ts_strbuf_append(b, k->name);
        ts_strbuf_append(b, "=");
      } else {
        ts_strbuf_append(b, "**");
      }
      render(b, k->value, PR_LAMBDA);
    }
    ts_strbuf_append(b, ")");
    break;
  case PY_SUBSCRIPT: {
    render(b, e->u.subscript.value, PR_PRIMARY);
    ts_strbuf_append(b, "[");
    const py_expr *ix = e->u.subscript.index;
    if (ix->kind == PY_TUPLE && ix->u.seq.n > 0) {
      for (int i = 0; i < ix->u.seq.n; i++) {
        if (i)
          ts_strbuf_append(b, ", ");
        render_index_elem(b, ix->u.seq.items[i]);
      }
      if (ix->u.seq.n == 1)
        ts_strbuf_append(b, ",");
    } else {
      render_index_elem(b, ix);
    }
    ts_strbuf_append(b, "]");
    break;
  }
  case PY_SLICE:
    render_index_elem(b, e);
    break;
  case PY_TUPLE:
    ts_strbuf_append(b, "(");
    render_list(b, e->u.seq.items, e->u.seq.n);
    if (e->u.seq.n == 1)
      ts_strbuf_append(b, ",");
    ts_strbuf_append(b, ")");
    break;
  case PY_LIST:
    ts_strbuf_append(b, "[");
    render_list(b, e->u.seq.items, e->u.seq.n);
    ts_strbuf_append(b, "]");
    break;
  case PY_DICT:
    ts_strbuf_append(b, "{");
    for (int i = 0; i < e->u.dict.n; i++) {
      if (i)
        ts_strbuf_append(b, ", ");
      render(b, e->u.dict.keys[i], PR_IFEXP);
      ts_strbuf_append(b, ": ");
      render(b, e->u.dict.values[i], PR_LAMBDA);
    }
    ts_strbuf_append(b, "}");
    break;
  case PY_BINOP: {
    bool pow = e->u.binop.op == PY_OP_POW;
    /* Left-associative: the right operand binds tighter; ** is the mirror
     * image, and its right operand may be a unary expression. */
    render(b, e->u.binop.left, pow ? PR_PRIMARY : prec);
    ts_strbuf_printf(b, " %s ", py_op_str(e->u.binop.op));
    render(b, e->u.binop.right, pow ? PR_UNARY : prec + 1);
    break;
  }
  case PY_UNARYOP:
    ts_strbuf_append(b, py_op_str(e->u.unary.op));
    if (e->u.unary.op == PY_OP_NOT)
      ts_strbuf_append(b, " ");
    render(b, e->u.unary.operand, prec);
    break;
  case PY_COMPARE:
    render(b, e->u.compare.left, PR_BITOR);
    for (int i = 0; i < e->u.compare.n; i++) {
      ts_strbuf_printf(b, " %s ", py_op_str(e->u.compare.ops[i]));
      render(b, e->u.compare.comparators[i], PR_BITOR);
    }
    break;
  case PY_BOOLOP:
    for (int i = 0; i < e->u.boolop.n; i++) {
      if (i)
        ts_strbuf_printf(b, " %s ", py_op_str(e->u.boolop.op));
      render(b, e->u.boolop.values[i], prec + 1);
    }
    break;
  case PY_IFEXP:
    render(b, e->u.ifexp.body, PR_OR);
    ts_strbuf_append(b, " if ");
    render(b, e->u.ifexp.cond, PR_OR);
    ts_strbuf_append(b, " else ");
    render(b, e->u.ifexp.orelse, PR_LAMBDA);
    break;
  case PY_LAMBDA:
    ts_strbuf_append(b, "lambda");
    for (int i = 0; i < e->u.lambda_.n_params; i++) {
      ts_strbuf_append(b, i ? ", " : " ");
      ts_strbuf_append(b, e->u.lambda_.params[i]);
    }
    ts_strbuf_append(b, ": ");
    render(b, e->u.lambda_.body, PR_LAMBDA);
    break;
  case PY_STARRED:
    ts_strbuf_append(b, "*");
    render(b, e->u.unary.operand, PR_BITOR);
    break;
  }
  if (paren)
    ts_strbuf_append(b, ")");
}

char *py_expr_to_string(const py_expr *e) {
  ts_strbuf b = {0};
  render(&b, e, PR_TUPLE);
  return b.data ? b.data : ts_xstrdup("");
}
