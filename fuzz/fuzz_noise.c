/* Fuzz target for the two NKpsk0 handshake message readers (aw_noise_read_message).
 *
 * The first input byte picks the reader: even, the responder reading message 1; odd, the
 * initiator reading message 2 after it sent the genuine message 1. The keys are those of
 * the shared NKpsk0 vector (Cacophony's), so the seed corpus holds the genuine messages and
 * the genuine path is covered too. Invariants, abort() otherwise: an accepted message yields
 * exactly len - overhead payload bytes and a finished handshake; a refused one fails the
 * handshake (every later call refused) and leaves no payload behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void hex(const char *s, uint8_t *out)
{
    for (size_t i = 0; s[2 * i] != '\0'; i++) {
        unsigned v = 0;
        for (size_t j = 0; j < 2; j++) {
            char c = s[2 * i + j];
            v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        out[i] = (uint8_t)v;
    }
}

static const uint8_t prologue[] = "John Galt";
static const uint8_t payload1[] = "Ludwig von Mises";

static void keys(aw_noise_keys *ini, aw_noise_keys *res)
{
    static const char psk[] = "54686973206973206d7920417573747269616e20706572737065637469766521";
    memset(ini, 0, sizeof(*ini));
    memset(res, 0, sizeof(*res));
    hex("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a", ini->e);
    hex("31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62", ini->rs);
    hex(psk, ini->psk);
    ini->has_e = ini->has_rs = ini->has_psk = true;
    hex("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b", res->e);
    hex("4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893", res->s);
    hex(psk, res->psk);
    res->has_e = res->has_s = res->has_psk = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_noise_keys ik, rk;
    aw_noise_handshake ini, res;
    aw_noise_handshake *reader;
    uint8_t m1[128], out[AW_NOISE_MAX_MESSAGE];
    size_t m1_len = 0, out_len = 0, overhead;
    aw_result r;

    if (size < 1) {
        return 0;
    }
    keys(&ik, &rk);
    if (aw_noise_handshake_init(&ini, AW_NOISE_NKPSK0, AW_NOISE_INITIATOR, prologue,
                                sizeof(prologue) - 1, &ik) != AW_OK ||
        aw_noise_handshake_init(&res, AW_NOISE_NKPSK0, AW_NOISE_RESPONDER, prologue,
                                sizeof(prologue) - 1, &rk) != AW_OK) {
        abort();
    }
    if (data[0] % 2 == 0) {
        reader = &res;
        overhead = 32 + 16;
    } else {
        if (aw_noise_write_message(&ini, payload1, sizeof(payload1) - 1, m1, sizeof(m1), &m1_len) !=
            AW_OK) {
            abort();
        }
        reader = &ini;
        overhead = 32 + 16;
    }
    r = aw_noise_read_message(reader, data + 1, size - 1, out, sizeof(out), &out_len);
    if (r == AW_OK) {
        if (out_len != size - 1 - overhead) {
            abort();
        }
        if (reader == &ini && !aw_noise_handshake_done(&ini)) {
            abort();
        }
    } else {
        if (out_len != 0 || !reader->failed) {
            abort();
        }
        if (aw_noise_read_message(reader, data + 1, size - 1, out, sizeof(out), &out_len) !=
            AW_E_INVALID_ARG) {
            abort();
        }
    }
    aw_noise_handshake_wipe(&ini);
    aw_noise_handshake_wipe(&res);
    return 0;
}
