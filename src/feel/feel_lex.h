/*
 * feel_lex.h — private to src/feel/: the FEEL tokenizer used by feel_parse.c.
 */
#ifndef FEEL_LEX_H
#define FEEL_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { T_EOF, T_NUM, T_STR, T_AT, T_NAME, T_PUNCT } tok_kind_t;

typedef struct tok {
    tok_kind_t k;
    const char *s;      /* start in the source (string/@ bodies: after the quote) */
    size_t len;
    char p[3];          /* punctuation text */
    int line, col;
} tok_t;

typedef struct lexer {
    const char *src, *p, *line_start;
    int line;
    char err[96];
} lexer_t;

void lex_init(lexer_t *l, const char *src);
bool lex_next(lexer_t *l, tok_t *t);        /* false: l->err says why */
size_t lex_unescape(const char *s, size_t len, char *out);
bool lex_word_start(unsigned char c);
bool lex_word_char(unsigned char c);

#endif
