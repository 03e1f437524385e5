/* A small JSON reader for tests only (vector files: Wycheproof, structured-field-tests,
 * Noise). Not part of libauthwire. Everything is malloc'd; free the root with aw_json_free. */
#ifndef AW_TEST_JSON_H
#define AW_TEST_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef enum aw_json_type {
    AW_JSON_NULL,
    AW_JSON_BOOL,
    AW_JSON_NUMBER,
    AW_JSON_STRING,
    AW_JSON_ARRAY,
    AW_JSON_OBJECT,
} aw_json_type;

typedef struct aw_json {
    aw_json_type type;
    bool boolean;
    double number;
    char *text;      /* NUMBER: the literal as written; STRING: decoded UTF-8, NUL-terminated */
    size_t text_len; /* STRING: decoded length (may contain NULs) */
    struct aw_json **items; /* ARRAY elements or OBJECT values */
    char **keys;            /* OBJECT keys, parallel to items */
    size_t n;
} aw_json;

/* Parses text; returns NULL (and prints where) on a syntax error. */
aw_json *aw_json_parse(const char *text, size_t len);
/* Reads and parses a file under ../shared/vectors; exits(1) loudly on any error. */
aw_json *aw_json_load_vector(const char *relative);
/* Member of an object, or NULL. */
const aw_json *aw_json_get(const aw_json *obj, const char *key);
/* String member of an object, or NULL when absent or not a string. */
const char *aw_json_get_string(const aw_json *obj, const char *key);
void aw_json_free(aw_json *j);

#endif
