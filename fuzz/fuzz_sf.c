/* Fuzz target for the RFC 8941 parser and serialiser.
 *
 * The input is parsed as an item, a list and a dictionary, each in a fixed 64 KiB arena.
 * Whatever parses is serialised; that serialisation must parse again and serialise to the
 * very same bytes (serialise(parse(serialise(x))) == serialise(x)), otherwise abort(). A
 * serialiser that writes something its own parser reads differently would let two
 * components disagree on what a signature covers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/bytes.h"
#include "authwire/sf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FUZZ_ARENA = 64 * 1024 };

typedef enum fuzz_kind {
    FUZZ_ITEM,
    FUZZ_LIST,
    FUZZ_DICT,
} fuzz_kind;

/* Parses input as kind into arena and serialises the result into w. */
static aw_result parse_and_serialise(fuzz_kind kind, aw_span input, aw_arena *arena, aw_writer *w)
{
    const aw_sf_member *members;
    size_t n;
    aw_sf_item item;
    switch (kind) {
    case FUZZ_ITEM:
        AW_GUARD(aw_sf_parse_item(input, arena, &item));
        return aw_sf_serialize_item(&item, w);
    case FUZZ_LIST:
        AW_GUARD(aw_sf_parse_list(input, arena, &members, &n));
        return aw_sf_serialize_list(members, n, w);
    case FUZZ_DICT:
        AW_GUARD(aw_sf_parse_dict(input, 0, arena, &members, &n));
        return aw_sf_serialize_dict(members, n, w);
    default:
        abort();
    }
}

static void round_trip(fuzz_kind kind, const uint8_t *data, size_t size, uint8_t *out1,
                       uint8_t *out2, size_t out_cap)
{
    static uint8_t arena1[FUZZ_ARENA];
    /* The serialisation may need a little more arena than the input (padding restored on
     * byte sequences changes the decode buffer bound), so the second parse gets more. */
    static uint8_t arena2[2 * FUZZ_ARENA];
    aw_arena a;
    aw_writer w1;
    aw_writer w2;

    aw_arena_init(&a, arena1, sizeof(arena1));
    aw_writer_init(&w1, out1, out_cap);
    aw_result r = parse_and_serialise(kind, (aw_span){data, size}, &a, &w1);
    if (r == AW_E_SF_SYNTAX || r == AW_E_BUFFER_TOO_SMALL) {
        return;
    }
    if (r != AW_OK) {
        abort(); /* no other outcome is documented */
    }

    aw_arena_init(&a, arena2, sizeof(arena2));
    aw_writer_init(&w2, out2, out_cap);
    r = parse_and_serialise(kind, aw_writer_span_of(&w1), &a, &w2);
    if (r != AW_OK) {
        abort(); /* our own canonical output must parse */
    }
    if (!aw_span_eq(aw_writer_span_of(&w1), aw_writer_span_of(&w2))) {
        abort(); /* and must be a fixed point */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The canonical form is at most about twice the input ("a,b" becomes "a, b", a short
     * byte sequence regains its padding); four times leaves room to spare. */
    if (size > (SIZE_MAX - 64) / 4) {
        return 0;
    }
    size_t out_cap = 4 * size + 64;
    uint8_t *out1 = malloc(out_cap);
    uint8_t *out2 = malloc(out_cap);
    /* An exact-size copy, so that any read past the end is caught by the sanitizer even when
     * the fuzzer's own buffer is larger. */
    uint8_t *input = malloc(size == 0 ? 1 : size);
    if (out1 == NULL || out2 == NULL || input == NULL) {
        abort();
    }
    if (size > 0) {
        memcpy(input, data, size);
    }
    round_trip(FUZZ_ITEM, input, size, out1, out2, out_cap);
    round_trip(FUZZ_LIST, input, size, out1, out2, out_cap);
    round_trip(FUZZ_DICT, input, size, out1, out2, out_cap);
    free(input);
    free(out1);
    free(out2);
    return 0;
}
