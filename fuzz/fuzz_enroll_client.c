/* Fuzz target for the client's readers of enrollment frames: KEY (aw_enroll_client_hello,
 * with the pin check), WELCOME (aw_enroll_client_welcome, with the parameters) and DONE
 * (aw_enroll_client_done), each at its genuine place in the handshake.
 *
 * The first input byte picks the reader (mod 3). Invariants, abort() otherwise: only the
 * genuine frame is accepted, and a refused one leaves a dead, wiped client state. */
#include "enroll_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fixture fx;
static int ready;

static void check_dead(const aw_enroll_client *c)
{
    static aw_enroll_client zero;
    zero.step = -1;
    if (memcmp(c, &zero, sizeof(zero)) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static aw_enroll_client c;
    uint8_t out[256];
    size_t out_len = 0;

    if (!ready) {
        fixture_init(&fx);
        ready = 1;
    }
    if (size < 1) {
        return 0;
    }
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    int which = data[0] % 3;
    const uint8_t *genuine = which == 0 ? fx.key : which == 1 ? fx.welcome : fx.done;
    size_t genuine_len = which == 0 ? fx.key_len : which == 1 ? fx.welcome_len : fx.done_len;
    aw_result r;

    fixture_must(aw_enroll_client_init(&c, &fx.token));
    if (which == 0) {
        r = aw_enroll_client_hello(&c, in, len, fx.e_c, out, sizeof(out), &out_len);
    } else {
        fixture_must(
            aw_enroll_client_hello(&c, fx.key, fx.key_len, fx.e_c, out, sizeof(out), &out_len));
        if (which == 1) {
            r = aw_enroll_client_welcome(&c, in, len);
        } else {
            fixture_must(aw_enroll_client_welcome(&c, fx.welcome, fx.welcome_len));
            fixture_must(aw_enroll_client_confirm(&c, NULL, out, sizeof(out), &out_len));
            r = aw_enroll_client_done(&c, in, len);
        }
    }
    if (r == AW_OK) {
        if (len != genuine_len || memcmp(in, genuine, len) != 0) {
            abort();
        }
        aw_enroll_client_wipe(&c);
    } else {
        check_dead(&c);
    }
    return 0;
}
