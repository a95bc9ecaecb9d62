/* Minimal JSON line writer for the CLI's output (one object per line, fields in call order). */
#ifndef TINYBIFF_JSON_H
#define TINYBIFF_JSON_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    int n; /* fields written so far */
} json_line;

void json_begin(json_line *j, FILE *f);
void json_str(json_line *j, const char *key, const char *val);
void json_u64(json_line *j, const char *key, uint64_t val);
void json_bool(json_line *j, const char *key, int val);
void json_end(json_line *j);

#endif
