/* Minimal test harness shared by every tests/test_*.c: checks that count and report, a
 * vector-file reader that fails loudly when ../shared/vectors is missing. */
#ifndef AW_TEST_CHECK_H
#define AW_TEST_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "authwire/result.h"

#include "json.h" /* src/util/json.h */

extern unsigned long aw_test_checks;
extern unsigned long aw_test_failures;

void aw_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        aw_test_checks++;                                                                          \
        if (!(cond)) {                                                                             \
            aw_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                  \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        aw_test_checks++;                                                                          \
        if (!(cond)) {                                                                             \
            aw_test_fail(__FILE__, __LINE__, __VA_ARGS__);                                         \
        }                                                                                          \
    } while (0)

/* Expects expr to return the aw_result want; prints both names otherwise. */
#define CHECK_RESULT(expr, want)                                                                   \
    do {                                                                                           \
        aw_test_checks++;                                                                          \
        aw_result check_got_ = (expr);                                                             \
        if (check_got_ != (want)) {                                                                \
            aw_test_fail(__FILE__, __LINE__, "%s returned %s, expected %s", #expr,                 \
                         aw_result_name(check_got_), aw_result_name(want));                        \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr) CHECK_RESULT(expr, AW_OK)

/* Prints the totals; returns the process exit status (0 only when nothing failed and at
 * least one check ran). */
int aw_test_finish(const char *name);

/* Path of a file under ../shared/vectors; exits(1) loudly when the folder is missing. */
const char *aw_test_vector_path(const char *relative);

/* Reads a whole file into a malloc'd buffer (NUL-terminated, not counted in *len). Exits(1)
 * with a message when the file cannot be read. */
uint8_t *aw_test_read_file(const char *path, size_t *len);

/* Reads and parses a JSON file under ../shared/vectors; exits(1) loudly on any error. */
aw_json *aw_json_load_vector(const char *relative);

/* Members of a vector file's JSON object that must be there with that type; exit(1) loudly
 * naming the member otherwise (a vector file that changed shape must not pass quietly). */
const aw_json *aw_test_json_array(const aw_json *obj, const char *key);
const char *aw_test_json_string(const aw_json *obj, const char *key);
double aw_test_json_number(const aw_json *obj, const char *key);

/* Decodes hex into a malloc'd buffer; exits(1) on bad hex. */
uint8_t *aw_test_hex(const char *hex, size_t *len);

#endif
