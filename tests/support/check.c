#include "check.h"

#include "authwire/bytes.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

unsigned long aw_test_checks;
unsigned long aw_test_failures;

void aw_test_fail(const char *file, int line, const char *fmt, ...)
{
    aw_test_failures++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int aw_test_finish(const char *name)
{
    printf("%s: %lu checks, %lu failed\n", name, aw_test_checks, aw_test_failures);
    if (aw_test_checks == 0) {
        fprintf(stderr, "%s: no check ran\n", name);
        return 1;
    }
    return aw_test_failures == 0 ? 0 : 1;
}

const char *aw_test_vector_path(const char *relative)
{
    static char path[4096];
    struct stat st;
    if (stat(AW_VECTORS_DIR, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "FATAL: the shared vectors folder %s is missing; the tests need it\n",
                AW_VECTORS_DIR);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s", AW_VECTORS_DIR, relative);
    return path;
}

uint8_t *aw_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "FATAL: cannot read %s\n", path);
        exit(1);
    }
    size_t cap = 1 << 16;
    size_t n = 0;
    uint8_t *buf = malloc(cap + 1);
    for (;;) {
        if (buf == NULL) {
            fprintf(stderr, "FATAL: out of memory reading %s\n", path);
            exit(1);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

uint8_t *aw_test_hex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out = malloc(n / 2 + 1);
    if (out == NULL ||
        aw_hex_decode((aw_span){(const uint8_t *)hex, n}, out, n / 2 + 1, len) != AW_OK) {
        fprintf(stderr, "FATAL: bad hex %s\n", hex);
        exit(1);
    }
    return out;
}

aw_json *aw_json_load_vector(const char *relative)
{
    const char *path = aw_test_vector_path(relative);
    const char *why = NULL;
    size_t where = 0;
    size_t len;
    aw_json *root = NULL;
    uint8_t *text = aw_test_read_file(path, &len);
    aw_result r = aw_json_parse((const char *)text, len, &root, &why, &where);
    free(text);
    if (r != AW_OK) {
        fprintf(stderr, "FATAL: %s is not valid JSON: %s at byte %zu\n", path, why, where);
        exit(1);
    }
    return root;
}

static const aw_json *json_member(const aw_json *obj, const char *key, aw_json_type type,
                                  const char *what)
{
    const aw_json *v = aw_json_get(obj, key);
    if (v == NULL || v->type != type) {
        fprintf(stderr, "FATAL: JSON member %s is missing or not %s\n", key, what);
        exit(1);
    }
    return v;
}

const aw_json *aw_test_json_array(const aw_json *obj, const char *key)
{
    return json_member(obj, key, AW_JSON_ARRAY, "an array");
}

const char *aw_test_json_string(const aw_json *obj, const char *key)
{
    return json_member(obj, key, AW_JSON_STRING, "a string")->text;
}

double aw_test_json_number(const aw_json *obj, const char *key)
{
    return json_member(obj, key, AW_JSON_NUMBER, "a number")->number;
}
