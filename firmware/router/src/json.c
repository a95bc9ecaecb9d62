#include "json.h"

static void put_escaped(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void key(json_line *j, const char *k)
{
    fputs(j->n++ ? "," : "", j->f);
    put_escaped(j->f, k);
    fputc(':', j->f);
}

void json_begin(json_line *j, FILE *f)
{
    j->f = f;
    j->n = 0;
    fputc('{', f);
}

void json_str(json_line *j, const char *k, const char *val)
{
    key(j, k);
    put_escaped(j->f, val ? val : "");
}

void json_u64(json_line *j, const char *k, uint64_t val)
{
    key(j, k);
    fprintf(j->f, "%llu", (unsigned long long)val);
}

void json_bool(json_line *j, const char *k, int val)
{
    key(j, k);
    fputs(val ? "true" : "false", j->f);
}

void json_end(json_line *j)
{
    fputs("}\n", j->f);
    fflush(j->f);
}
