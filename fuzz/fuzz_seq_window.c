/* libFuzzer target: aw_seq_window against a naive model (the list of accepted numbers, the
 * top and the restored high-water mark, no window arithmetic shared with the code under
 * test); abort() on the first disagreement.
 *
 * The input is a list of ops: one kind byte, then an operand, 8 bytes big endian for kinds
 * 5 and 6, 2 bytes otherwise (a short tail is ignored). Numbers are mostly relative to the
 * top, so that short inputs reach the window edges, the ring wrap and UINT64_MAX:
 *   0: accept top + v        1: accept top - v         2: check top - v
 *   3: accept top - 8192 + (v % 32) - 16 (around the left edge)
 *   4: accept top + v * 16   5: accept v (absolute)    6: init(v) (restore a mark)
 *   7: accept UINT64_MAX - (v % 8) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/freshness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODEL_MAX 65536

static uint64_t model_set[MODEL_MAX];
static size_t model_len;
static uint64_t model_top;
static uint64_t model_floor;

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return UINT64_MAX - a > b ? a + b : UINT64_MAX;
}

/* The rule, written from the definition: 0 is invalid; above the top is new; more than
 * 8191 below the top is too old; otherwise it is a replay when it was accepted or lies at or
 * below a restored mark. */
static aw_result model_check(uint64_t seq)
{
    if (seq == 0) {
        return AW_E_SEQ_TOO_OLD;
    }
    if (seq > model_top) {
        return AW_OK;
    }
    if (model_top - seq > AW_SEQ_WINDOW_BITS - 1) {
        return AW_E_SEQ_TOO_OLD;
    }
    if (seq <= model_floor) {
        return AW_E_SEQ_REPLAY;
    }
    for (size_t i = 0; i < model_len; i++) {
        if (model_set[i] == seq) {
            return AW_E_SEQ_REPLAY;
        }
    }
    return AW_OK;
}

static void expect(int cond)
{
    if (!cond) {
        abort();
    }
}

static void probe(const aw_seq_window *w, uint64_t seq)
{
    expect(aw_seq_check(w, seq) == model_check(seq));
}

static void do_accept(aw_seq_window *w, uint64_t seq)
{
    aw_result want = model_check(seq);
    aw_seq_window before = *w;
    expect(aw_seq_check(w, seq) == want);
    expect(memcmp(&before, w, sizeof(before)) == 0); /* check never changes state */
    aw_result got = aw_seq_accept(w, seq);
    expect(got == want);
    if (got == AW_OK) {
        model_set[model_len++] = seq;
        if (seq > model_top) {
            model_top = seq;
        }
    } else {
        expect(memcmp(&before, w, sizeof(before)) == 0); /* nor does a refusal */
    }
    expect(w->top == model_top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static aw_seq_window w;
    aw_seq_window_init(&w, 0);
    model_len = 0;
    model_top = 0;
    model_floor = 0;

    size_t pos = 0;
    while (pos < size && model_len < MODEL_MAX) {
        unsigned kind = data[pos++] % 8u;
        size_t width = (kind == 5 || kind == 6) ? 8 : 2;
        if (size - pos < width) {
            break;
        }
        uint64_t v = 0;
        for (size_t i = 0; i < width; i++) {
            v = v << 8 | data[pos + i];
        }
        pos += width;

        switch (kind) {
        case 0:
            do_accept(&w, add_sat(model_top, v));
            break;
        case 1:
            do_accept(&w, sub_sat(model_top, v));
            break;
        case 2:
            probe(&w, sub_sat(model_top, v));
            break;
        case 3:
            do_accept(&w, add_sat(sub_sat(model_top, AW_SEQ_WINDOW_BITS + 16), v % 32));
            break;
        case 4:
            do_accept(&w, add_sat(model_top, v * 16));
            break;
        case 5:
            do_accept(&w, v);
            break;
        case 6:
            aw_seq_window_init(&w, v);
            model_len = 0;
            model_top = v;
            model_floor = v;
            break;
        case 7:
            do_accept(&w, UINT64_MAX - (v % 8));
            break;
        default:
            /* kind is reduced mod 8 above; anything else is a bug in this harness. */
            abort();
        }
    }

    /* Final sweep: the edges of the window and every accepted number with its neighbours. */
    probe(&w, 0);
    probe(&w, model_top);
    probe(&w, add_sat(model_top, 1));
    probe(&w, sub_sat(model_top, AW_SEQ_WINDOW_BITS - 1));
    probe(&w, sub_sat(model_top, AW_SEQ_WINDOW_BITS));
    for (size_t i = 0; i < model_len; i++) {
        probe(&w, sub_sat(model_set[i], 1));
        probe(&w, model_set[i]);
        probe(&w, add_sat(model_set[i], 1));
    }
    return 0;
}
