/* Fuzz target for the attack proxy's framing (aw_http_frame, src/attack/wire.c) and its
 * editable messages (aw_pmsg, src/attack/pmsg.c), in both directions.
 *
 * A frame must lie inside the input. Whatever parses is written out again; that output must
 * frame as exactly one whole message (or one running until the close), parse, and write out
 * to the very same bytes (the proxy's output is a fixed point), otherwise abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGE 65536

static void round_trip(const uint8_t *raw, size_t len, bool response)
{
    aw_pmsg m, again;
    if (aw_pmsg_parse((aw_span){raw, len}, &m) != AW_OK) {
        aw_pmsg_free(&m);
        return;
    }
    (void)response; /* a status line framed as a request (or the reverse) may still parse */
    uint8_t *out = NULL, *out2 = NULL;
    size_t out_len = 0, out2_len = 0, framed = 0;
    if (aw_pmsg_serialize(&m, &out, &out_len) != AW_OK) {
        abort();
    }
    aw_frame f = aw_http_frame(out, out_len, m.response, SIZE_MAX, &framed);
    if ((f != AW_FRAME_COMPLETE && f != AW_FRAME_UNTIL_CLOSE) || framed != out_len) {
        abort();
    }
    if (aw_pmsg_parse((aw_span){out, out_len}, &again) != AW_OK ||
        aw_pmsg_serialize(&again, &out2, &out2_len) != AW_OK || out2_len != out_len ||
        memcmp(out, out2, out_len) != 0) {
        abort();
    }
    free(out);
    free(out2);
    aw_pmsg_free(&again);
    aw_pmsg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int response = 0; response < 2; response++) {
        size_t len = 0;
        aw_frame f = aw_http_frame(data, size, response != 0, MAX_MESSAGE, &len);
        if (f == AW_FRAME_COMPLETE || f == AW_FRAME_UNTIL_CLOSE) {
            if (len > size || len > MAX_MESSAGE) {
                abort();
            }
            round_trip(data, len, response != 0);
        }
    }
    return 0;
}
