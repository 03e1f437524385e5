/* src/util/json: the reader's strictness (repeated members, UTF-8, depth, trailing data) and
 * the writer's escaping, shape checks and overflow; writer output always reads back. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"

static aw_result parse(const char *text, aw_json **out)
{
    return aw_json_parse(text, strlen(text), out, NULL, NULL);
}

static void test_reader(void)
{
    aw_json *j = NULL;
    const char *why = NULL;
    size_t where = 0;

    CHECK_OK(
        parse(" {\"a\": [1, -2.5e3, true, false, null], \"b\": \"x\\u00e9\\ud83d\\ude00\"} ", &j));
    const aw_json *a = aw_json_get(j, "a");
    CHECK(a != NULL && a->type == AW_JSON_ARRAY && a->n == 5);
    CHECK(a != NULL && a->items[1]->number == -2500.0 && strcmp(a->items[1]->text, "-2.5e3") == 0);
    CHECK(a != NULL && a->items[2]->type == AW_JSON_BOOL && a->items[2]->boolean);
    CHECK(a != NULL && a->items[4]->type == AW_JSON_NULL);
    const char *b = aw_json_get_string(j, "b");
    CHECK(b != NULL && strcmp(b, "x\xc3\xa9\xf0\x9f\x98\x80") == 0);
    CHECK(aw_json_get_string(j, "a") == NULL && aw_json_get(j, "missing") == NULL);
    aw_json_free(j);

    /* A string with an escaped NUL keeps its length. */
    CHECK_OK(parse("\"a\\u0000b\"", &j));
    CHECK(j != NULL && j->text_len == 3 && j->text[1] == '\0');
    aw_json_free(j);

    static const struct {
        const char *text;
        aw_result want;
        const char *why;
    } bad[] = {
        {"", AW_E_MALFORMED, "unexpected end of input"},
        {"{\"a\":1,\"a\":2}", AW_E_MALFORMED, "repeated member name"},
        {"{\"b\":1,\"a\":{},\"c\":3,\"a\":4}", AW_E_MALFORMED, "repeated member name"},
        {"{\"a\\u0000\":1}", AW_E_MALFORMED, "member name contains U+0000"},
        {"\"\xff\"", AW_E_MALFORMED, "string is not valid UTF-8"},
        {"\"\xc0\xaf\"", AW_E_MALFORMED, "string is not valid UTF-8"},         /* overlong */
        {"\"\xed\xa0\x80\"", AW_E_MALFORMED, "string is not valid UTF-8"},     /* surrogate */
        {"\"\xf4\x90\x80\x80\"", AW_E_MALFORMED, "string is not valid UTF-8"}, /* > U+10FFFF */
        {"\"\xe2\x82\"", AW_E_MALFORMED, "string is not valid UTF-8"},         /* truncated */
        {"\"\\ud800\"", AW_E_MALFORMED, "lone high surrogate"},
        {"\"\\udc00\"", AW_E_MALFORMED, "lone low surrogate"},
        {"\"a\nb\"", AW_E_MALFORMED, "control character in string"},
        {"\"abc", AW_E_MALFORMED, "unterminated string"},
        {"\"\\x\"", AW_E_MALFORMED, "bad escape"},
        {"1 2", AW_E_MALFORMED, "trailing data after the value"},
        {"[1,]", AW_E_MALFORMED, "unexpected character"},
        {"{\"a\" 1}", AW_E_MALFORMED, "expected ':'"},
        {"01", AW_E_MALFORMED, "trailing data after the value"},
        {"-", AW_E_MALFORMED, "bad number"},
        {"tru", AW_E_MALFORMED, "bad literal"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = (aw_json *)1;
        why = NULL;
        aw_result r = aw_json_parse(bad[i].text, strlen(bad[i].text), &j, &why, &where);
        CHECK_MSG(r == bad[i].want && j == NULL && why != NULL && strcmp(why, bad[i].why) == 0,
                  "bad[%zu] %s: got %s (%s)", i, bad[i].text, aw_result_name(r),
                  why ? why : "no reason");
    }

    /* Depth: AW_JSON_MAX_DEPTH nested arrays parse, one more is too large. */
    size_t depth = AW_JSON_MAX_DEPTH + 1;
    char *deep = malloc(2 * depth + 1);
    CHECK(deep != NULL);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    CHECK_RESULT(aw_json_parse(deep + 1, 2 * depth - 2, &j, NULL, NULL), AW_OK);
    aw_json_free(j);
    CHECK_RESULT(aw_json_parse(deep, 2 * depth, &j, &why, NULL), AW_E_TOO_LARGE);
    free(deep);

    /* Many members: the repeated-name check stays fast (sorted), and still finds one. */
    size_t members = 20000;
    char *big = malloc(members * 16 + 16);
    CHECK(big != NULL);
    size_t n = 0;
    big[n++] = '{';
    for (size_t i = 0; i < members; i++) {
        n += (size_t)sprintf(big + n, "%s\"k%zu\":0", i ? "," : "", i);
    }
    big[n++] = '}';
    CHECK_OK(aw_json_parse(big, n, &j, NULL, NULL));
    CHECK(j != NULL && j->n == members);
    aw_json_free(j);
    n--;
    n += (size_t)sprintf(big + n, ",\"k7\":1}");
    CHECK_RESULT(aw_json_parse(big, n, &j, &why, NULL), AW_E_MALFORMED);
    free(big);
}

/* Writes with fn into a buffer and returns the text (static). */
static char g_out[4096];

static aw_result write_doc(void (*fn)(aw_json_writer *), bool pretty, size_t cap)
{
    aw_writer w;
    aw_json_writer jw;
    aw_writer_init(&w, (uint8_t *)g_out, cap);
    aw_json_writer_init(&jw, &w, pretty);
    fn(&jw);
    aw_result r = aw_json_writer_result(&jw);
    g_out[w.len < sizeof(g_out) ? w.len : sizeof(g_out) - 1] = '\0';
    return r;
}

static void doc_escapes(aw_json_writer *jw)
{
    static const uint8_t raw[] = "q\"b\\s/n\nr\rt\tb\bf\f\x01\x1f\x7f\xc3\xa9\xff\xe2\x82 end";
    aw_json_begin_object(jw);
    aw_json_key(jw, "k\"ey");
    aw_json_string_n(jw, raw, sizeof(raw) - 1);
    aw_json_key(jw, "n");
    aw_json_int(jw, INT64_MIN);
    aw_json_key(jw, "u");
    aw_json_uint(jw, UINT64_MAX);
    aw_json_key(jw, "list");
    aw_json_begin_array(jw);
    aw_json_bool(jw, true);
    aw_json_null(jw);
    aw_json_string(jw, NULL);
    aw_json_begin_object(jw);
    aw_json_end_object(jw);
    aw_json_begin_array(jw);
    aw_json_end_array(jw);
    aw_json_end_array(jw);
    aw_json_end_object(jw);
}

static void test_writer(void)
{
    CHECK_OK(write_doc(doc_escapes, false, sizeof(g_out)));
    CHECK_MSG(strcmp(g_out, "{\"k\\\"ey\":\"q\\\"b\\\\s/n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f\x7f"
                            "\xc3\xa9\\ufffd\\ufffd\\ufffd end\",\"n\":-9223372036854775808,"
                            "\"u\":18446744073709551615,\"list\":[true,null,null,{},[]]}") == 0,
              "compact: %s", g_out);
    /* It reads back, the escapes decode to the bytes written (bad UTF-8 as U+FFFD). */
    aw_json *j = NULL;
    CHECK_OK(parse(g_out, &j));
    const char *s = aw_json_get_string(j, "k\"ey");
    CHECK(s != NULL &&
          strcmp(s, "q\"b\\s/n\nr\rt\tb\bf\f\x01\x1f\x7f\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd"
                    "\xef\xbf\xbd end") == 0);
    aw_json_free(j);

    CHECK_OK(write_doc(doc_escapes, true, sizeof(g_out)));
    CHECK(strstr(g_out, "{\n  \"k\\\"ey\": \"q") != NULL);
    CHECK(strstr(g_out, "\"list\": [\n    true,\n    null,\n    null,\n    {},\n    []\n  ]\n}") !=
          NULL);
    CHECK_OK(parse(g_out, &j));
    aw_json_free(j);

    /* Overflow is sticky and reported at the end, at every size below the needed one. */
    size_t need = strlen(g_out);
    unsigned overflow_ok = 0;
    for (size_t cap = 0; cap < need; cap++) {
        if (write_doc(doc_escapes, true, cap) == AW_E_BUFFER_TOO_SMALL) {
            overflow_ok++;
        }
    }
    CHECK_MSG(overflow_ok == need, "%u of %zu short buffers reported", overflow_ok, need);
    CHECK_OK(write_doc(doc_escapes, true, need));
}

static void doc_value_without_key(aw_json_writer *jw)
{
    aw_json_begin_object(jw);
    aw_json_int(jw, 1);
    aw_json_end_object(jw);
}

static void doc_key_in_array(aw_json_writer *jw)
{
    aw_json_begin_array(jw);
    aw_json_key(jw, "a");
    aw_json_end_array(jw);
}

static void doc_unbalanced(aw_json_writer *jw)
{
    aw_json_begin_object(jw);
    aw_json_end_array(jw);
}

static void doc_unfinished(aw_json_writer *jw)
{
    aw_json_begin_object(jw);
    aw_json_key(jw, "a");
}

static void doc_two_values(aw_json_writer *jw)
{
    aw_json_int(jw, 1);
    aw_json_int(jw, 2);
}

static void doc_empty(aw_json_writer *jw)
{
    (void)jw;
}

static void doc_too_deep(aw_json_writer *jw)
{
    for (int i = 0; i <= AW_JSON_WRITER_DEPTH; i++) {
        aw_json_begin_array(jw);
    }
}

static void doc_scalar(aw_json_writer *jw)
{
    aw_json_string(jw, "top");
}

static void test_writer_misuse(void)
{
    CHECK_RESULT(write_doc(doc_value_without_key, false, sizeof(g_out)), AW_E_INVALID_ARG);
    CHECK_RESULT(write_doc(doc_key_in_array, false, sizeof(g_out)), AW_E_INVALID_ARG);
    CHECK_RESULT(write_doc(doc_unbalanced, false, sizeof(g_out)), AW_E_INVALID_ARG);
    CHECK_RESULT(write_doc(doc_unfinished, false, sizeof(g_out)), AW_E_INVALID_ARG);
    CHECK_RESULT(write_doc(doc_two_values, false, sizeof(g_out)), AW_E_INVALID_ARG);
    CHECK_RESULT(write_doc(doc_empty, false, sizeof(g_out)), AW_E_INVALID_ARG);
    CHECK_RESULT(write_doc(doc_too_deep, false, sizeof(g_out)), AW_E_INVALID_ARG);
    CHECK_OK(write_doc(doc_scalar, false, sizeof(g_out)));
    CHECK(strcmp(g_out, "\"top\"") == 0);
}

int main(void)
{
    test_reader();
    test_writer();
    test_writer_misuse();
    return aw_test_finish("test_json");
}
