/* Fuzz target for the server's readers of enrollment frames: HELLO (aw_enroll_frame_parse,
 * then aw_enroll_server_welcome) and CONFIRM (into a genuine session after WELCOME).
 *
 * The first input byte picks the reader: even HELLO, odd CONFIRM. Invariants, abort()
 * otherwise: only the genuine frame is accepted (every other one fails the handshake), and a
 * refused frame leaves a dead, wiped session. */
#include "enroll_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fixture fx;
static int ready;

static void check_dead(const aw_enroll_server *st)
{
    aw_enroll_server zero;
    memset(&zero, 0, sizeof(zero));
    zero.step = -1;
    if (memcmp(st, &zero, sizeof(zero)) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_enroll_server st;
    aw_enroll_frame f;
    aw_enroll_confirmation conf;
    uint8_t out[AW_ENROLL_FRAME_MAX];
    size_t out_len = 0;
    aw_enroll_server_keys keys;

    if (!ready) {
        fixture_init(&fx);
        ready = 1;
    }
    if (size < 1) {
        return 0;
    }
    keys = (aw_enroll_server_keys){fx.s, fx.e_s, fx.psk, NULL};
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    if ((data[0] & 1) == 0) {
        if (aw_enroll_frame_parse(in, len, &f) != AW_OK || f.type != AW_ENROLL_HELLO) {
            return 0;
        }
        aw_result r = aw_enroll_server_welcome(&st, &f, &keys, fx.session, &fx.params, out,
                                               sizeof(out), &out_len);
        if (r == AW_OK) {
            if (len != fx.hello_len || memcmp(in, fx.hello, len) != 0 ||
                out_len != fx.welcome_len || memcmp(out, fx.welcome, out_len) != 0) {
                abort();
            }
            aw_enroll_server_wipe(&st);
        } else {
            check_dead(&st);
        }
        return 0;
    }
    if (aw_enroll_frame_parse(fx.hello, fx.hello_len, &f) != AW_OK ||
        aw_enroll_server_welcome(&st, &f, &keys, fx.session, &fx.params, out, sizeof(out),
                                 &out_len) != AW_OK) {
        abort();
    }
    if (aw_enroll_frame_parse(in, len, &f) != AW_OK || f.type != AW_ENROLL_CONFIRM) {
        aw_enroll_server_wipe(&st);
        return 0;
    }
    aw_result r = aw_enroll_server_confirm(&st, &f, &conf, 1790000001, out, sizeof(out), &out_len);
    if (r == AW_OK) {
        if (len != fx.confirm_len || memcmp(in, fx.confirm, len) != 0 || out_len != fx.done_len ||
            memcmp(out, fx.done, out_len) != 0) {
            abort();
        }
        aw_enroll_server_wipe(&st);
    } else {
        check_dead(&st);
    }
    return 0;
}
