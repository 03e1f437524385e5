/* The Noise handshake (include/authwire/noise.h) and the primitives under it.
 *
 *   noise/nkpsk0_vectors.json            every vector (NKpsk0, NNpsk0, NKpsk2) reproduced from
 *                                        both sides: handshake messages, handshake hash,
 *                                        transport messages
 *   wycheproof/x25519_test.json          aw_x25519_dh; every low-order case refused
 *   wycheproof/chacha20_poly1305_test.json  aw_chachapoly_* (96-bit nonces; the API takes no
 *                                        other size)
 *   wycheproof/hkdf_sha256_test.json     aw_hkdf_sha256
 *
 * and the failures enrollment relies on: every byte of either handshake message flipped,
 * every truncation, another PSK, another server key, another prologue, a low-order
 * ephemeral key, and transport tampering and replay. */
#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"
#include "authwire/noise.h"

#include "check.h"

/* Decodes a hex member that must be exactly len bytes into out. */
static void hex_exact(const aw_json *obj, const char *key, uint8_t *out, size_t len)
{
    size_t n = 0;
    uint8_t *b = aw_test_hex(aw_test_json_string(obj, key), &n);
    CHECK_MSG(n == len, "%s: %zu bytes, expected %zu", key, n, len);
    memcpy(out, b, n < len ? n : len);
    free(b);
}

static bool has_flag(const aw_json *test, const char *flag)
{
    const aw_json *flags = aw_test_json_array(test, "flags");
    for (size_t i = 0; i < flags->n; i++) {
        if (flags->items[i]->type == AW_JSON_STRING && strcmp(flags->items[i]->text, flag) == 0) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------------------------ */
/* The published Noise vectors */

typedef struct side_keys {
    aw_noise_keys init, resp;
    uint8_t prologue[64];
    size_t prologue_len;
    aw_noise_pattern_id id;
} side_keys;

static bool pattern_of(const char *name, aw_noise_pattern_id *id)
{
    const aw_noise_pattern_id ids[] = {AW_NOISE_NKPSK0, AW_NOISE_NNPSK0, AW_NOISE_NKPSK2};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if (strcmp(aw_noise_protocol_name(ids[i]), name) == 0) {
            *id = ids[i];
            return true;
        }
    }
    return false;
}

static void load_side_keys(const aw_json *v, side_keys *k)
{
    const aw_json *ipsks = aw_test_json_array(v, "init_psks");
    const aw_json *rpsks = aw_test_json_array(v, "resp_psks");
    uint8_t *prologue;
    size_t len = 0;

    memset(k, 0, sizeof(*k));
    CHECK(pattern_of(aw_test_json_string(v, "protocol_name"), &k->id));
    prologue = aw_test_hex(aw_test_json_string(v, "init_prologue"), &len);
    CHECK(len <= sizeof(k->prologue) && strcmp(aw_test_json_string(v, "init_prologue"),
                                               aw_test_json_string(v, "resp_prologue")) == 0);
    memcpy(k->prologue, prologue, len < sizeof(k->prologue) ? len : sizeof(k->prologue));
    k->prologue_len = len;
    free(prologue);

    hex_exact(v, "init_ephemeral", k->init.e, AW_NOISE_DH_LEN);
    k->init.has_e = true;
    hex_exact(v, "resp_ephemeral", k->resp.e, AW_NOISE_DH_LEN);
    k->resp.has_e = true;
    CHECK(ipsks->n == 1 && rpsks->n == 1 && ipsks->items[0]->type == AW_JSON_STRING &&
          rpsks->items[0]->type == AW_JSON_STRING);
    {
        size_t n1 = 0, n2 = 0;
        uint8_t *p1 = aw_test_hex(ipsks->items[0]->text, &n1);
        uint8_t *p2 = aw_test_hex(rpsks->items[0]->text, &n2);
        CHECK(n1 == AW_NOISE_KEY_LEN && n2 == AW_NOISE_KEY_LEN);
        memcpy(k->init.psk, p1, AW_NOISE_KEY_LEN);
        memcpy(k->resp.psk, p2, AW_NOISE_KEY_LEN);
        k->init.has_psk = k->resp.has_psk = true;
        free(p1);
        free(p2);
    }
    if (aw_json_get(v, "resp_static") != NULL) {
        uint8_t pub[AW_NOISE_DH_LEN];
        hex_exact(v, "resp_static", k->resp.s, AW_NOISE_DH_LEN);
        k->resp.has_s = true;
        hex_exact(v, "init_remote_static", k->init.rs, AW_NOISE_DH_LEN);
        k->init.has_rs = true;
        /* The README's quick check: the pinned key is the responder's public key. */
        CHECK_OK(aw_x25519_public_from_private(k->resp.s, pub));
        CHECK(memcmp(pub, k->init.rs, AW_NOISE_DH_LEN) == 0);
    }
}

static unsigned g_vectors, g_nkpsk0_vectors, g_handshake_msgs, g_transport_msgs;

static void run_vector(const aw_json *v)
{
    side_keys k;
    aw_noise_handshake ini, res;
    aw_noise_cipher ini_send, ini_recv, res_send, res_recv;
    const aw_json *msgs = aw_test_json_array(v, "messages");
    uint8_t hash[AW_NOISE_HASH_LEN], h1[AW_NOISE_HASH_LEN], h2[AW_NOISE_HASH_LEN];
    const char *name = aw_test_json_string(v, "protocol_name");

    load_side_keys(v, &k);
    hex_exact(v, "handshake_hash", hash, sizeof(hash));
    CHECK_OK(aw_noise_handshake_init(&ini, k.id, AW_NOISE_INITIATOR, k.prologue, k.prologue_len,
                                     &k.init));
    CHECK_OK(aw_noise_handshake_init(&res, k.id, AW_NOISE_RESPONDER, k.prologue, k.prologue_len,
                                     &k.resp));
    CHECK(msgs->n == 6);
    for (size_t i = 0; i < msgs->n; i++) {
        size_t pl_len = 0, ct_len = 0, out_len = 0, got_len = 0;
        uint8_t *pl = aw_test_hex(aw_test_json_string(msgs->items[i], "payload"), &pl_len);
        uint8_t *ct = aw_test_hex(aw_test_json_string(msgs->items[i], "ciphertext"), &ct_len);
        uint8_t out[512], got[512];
        bool from_init = i % 2 == 0;
        aw_noise_handshake *w = from_init ? &ini : &res;
        aw_noise_handshake *r = from_init ? &res : &ini;
        if (i < 2) {
            CHECK(aw_noise_is_my_turn(w) && !aw_noise_is_my_turn(r));
            CHECK(aw_noise_message_len(w, pl_len) == ct_len);
            CHECK_OK(aw_noise_write_message(w, pl, pl_len, out, sizeof(out), &out_len));
            CHECK_MSG(out_len == ct_len && memcmp(out, ct, ct_len) == 0,
                      "%s: handshake message %zu differs", name, i);
            CHECK_OK(aw_noise_read_message(r, ct, ct_len, got, sizeof(got), &got_len));
            g_handshake_msgs++;
            if (i == 1) {
                CHECK(aw_noise_handshake_done(&ini) && aw_noise_handshake_done(&res));
                CHECK_OK(aw_noise_handshake_hash(&ini, h1));
                CHECK_OK(aw_noise_handshake_hash(&res, h2));
                CHECK_MSG(memcmp(h1, hash, sizeof(hash)) == 0 &&
                              memcmp(h2, hash, sizeof(hash)) == 0,
                          "%s: handshake hash differs", name);
                CHECK_OK(aw_noise_split(&ini, &ini_send, &ini_recv));
                CHECK_OK(aw_noise_split(&res, &res_send, &res_recv));
                /* Split wiped the state but kept the hash, and cannot run twice. */
                CHECK_OK(aw_noise_handshake_hash(&ini, h1));
                CHECK(memcmp(h1, hash, sizeof(hash)) == 0);
                CHECK_RESULT(aw_noise_split(&ini, &ini_send, &ini_recv), AW_E_INVALID_ARG);
            }
        } else {
            aw_noise_cipher *enc = from_init ? &ini_send : &res_send;
            aw_noise_cipher *dec = from_init ? &res_recv : &ini_recv;
            CHECK_OK(aw_noise_encrypt(enc, NULL, 0, pl, pl_len, out, sizeof(out), &out_len));
            CHECK_MSG(out_len == ct_len && memcmp(out, ct, ct_len) == 0,
                      "%s: transport message %zu differs", name, i);
            CHECK_OK(aw_noise_decrypt(dec, NULL, 0, ct, ct_len, got, sizeof(got), &got_len));
            g_transport_msgs++;
        }
        CHECK_MSG(got_len == pl_len && memcmp(got, pl, pl_len) == 0, "%s: payload %zu differs",
                  name, i);
        free(pl);
        free(ct);
    }
    g_vectors++;
    if (k.id == AW_NOISE_NKPSK0) {
        g_nkpsk0_vectors++;
    }
    aw_noise_handshake_wipe(&ini);
    aw_noise_handshake_wipe(&res);
    aw_noise_cipher_wipe(&ini_send);
    aw_noise_cipher_wipe(&ini_recv);
    aw_noise_cipher_wipe(&res_send);
    aw_noise_cipher_wipe(&res_recv);
}

static void test_noise_vectors(void)
{
    aw_json *root = aw_json_load_vector("noise/nkpsk0_vectors.json");
    const aw_json *vectors = aw_test_json_array(root, "vectors");
    for (size_t i = 0; i < vectors->n; i++) {
        run_vector(vectors->items[i]);
    }
    CHECK_MSG(g_vectors == 3 && g_nkpsk0_vectors == 1, "%u vectors, %u NKpsk0", g_vectors,
              g_nkpsk0_vectors);
    printf("noise vectors: %u reproduced (NKpsk0: %u), %u handshake and %u transport messages "
           "byte for byte, handshake hash on both sides\n",
           g_vectors, g_nkpsk0_vectors, g_handshake_msgs, g_transport_msgs);
    aw_json_free(root);
}

/* ------------------------------------------------------------------------------------------ */
/* Failures, on the NKpsk0 vector's keys */

static side_keys g_nk; /* the NKpsk0 vector's keys */

static void load_nk(void)
{
    aw_json *root = aw_json_load_vector("noise/nkpsk0_vectors.json");
    const aw_json *vectors = aw_test_json_array(root, "vectors");
    for (size_t i = 0; i < vectors->n; i++) {
        if (strcmp(aw_test_json_string(vectors->items[i], "protocol_name"),
                   aw_noise_protocol_name(AW_NOISE_NKPSK0)) == 0) {
            load_side_keys(vectors->items[i], &g_nk);
        }
    }
    aw_json_free(root);
}

static const uint8_t payload1[] = "enroll: invite 7";
static const uint8_t payload2[] = "welcome";

/* Runs message 1 from init to resp; returns resp's read result. msg/len get message 1. */
static aw_result first_message(const aw_noise_keys *ik, const uint8_t *ip, size_t ip_len,
                               const aw_noise_keys *rk, const uint8_t *rp, size_t rp_len,
                               aw_noise_handshake *ini, aw_noise_handshake *res, uint8_t *msg,
                               size_t *len)
{
    uint8_t got[64];
    size_t got_len = 0;
    CHECK_OK(aw_noise_handshake_init(ini, AW_NOISE_NKPSK0, AW_NOISE_INITIATOR, ip, ip_len, ik));
    CHECK_OK(aw_noise_handshake_init(res, AW_NOISE_NKPSK0, AW_NOISE_RESPONDER, rp, rp_len, rk));
    CHECK_OK(aw_noise_write_message(ini, payload1, sizeof(payload1), msg, 256, len));
    return aw_noise_read_message(res, msg, *len, got, sizeof(got), &got_len);
}

static void test_wrong_keys(void)
{
    aw_noise_handshake ini, res;
    uint8_t msg[256], got[64];
    size_t len = 0, got_len = 0;
    aw_noise_keys ik = g_nk.init;
    const uint8_t *pro = g_nk.prologue;
    size_t pro_len = g_nk.prologue_len;
    unsigned cases = 0;

    /* The happy path first, as a control. */
    CHECK_OK(
        first_message(&g_nk.init, pro, pro_len, &g_nk.resp, pro, pro_len, &ini, &res, msg, &len));
    cases++;

    /* Another PSK (a mistyped or forged invite secret). */
    ik.psk[0] ^= 1;
    CHECK_RESULT(first_message(&ik, pro, pro_len, &g_nk.resp, pro, pro_len, &ini, &res, msg, &len),
                 AW_E_SIGNATURE_INVALID);
    CHECK(res.failed);
    /* A failed handshake stays failed. */
    CHECK_RESULT(aw_noise_read_message(&res, msg, len, got, sizeof(got), &got_len),
                 AW_E_INVALID_ARG);
    cases++;

    /* Another server key: the initiator pinned a key the responder does not hold (a relay
     * substituting its own static key), in both directions. */
    ik = g_nk.init;
    ik.rs[5] ^= 0x40;
    CHECK_RESULT(first_message(&ik, pro, pro_len, &g_nk.resp, pro, pro_len, &ini, &res, msg, &len),
                 AW_E_SIGNATURE_INVALID);
    cases++;
    {
        aw_noise_keys rk = g_nk.resp;
        uint8_t other_pub[AW_NOISE_DH_LEN];
        CHECK_OK(aw_x25519_keypair(rk.s, other_pub));
        CHECK_RESULT(
            first_message(&g_nk.init, pro, pro_len, &rk, pro, pro_len, &ini, &res, msg, &len),
            AW_E_SIGNATURE_INVALID);
        cases++;
    }

    /* Another prologue (another invite id). */
    {
        static const uint8_t other[] = "John Gall";
        CHECK_RESULT(first_message(&g_nk.init, pro, pro_len, &g_nk.resp, other, sizeof(other) - 1,
                                   &ini, &res, msg, &len),
                     AW_E_SIGNATURE_INVALID);
        cases++;
    }

    /* A relay that swaps in its own ephemeral key without the PSK: a fresh initiator with the
     * right server key and a guessed PSK produces a message the responder refuses. */
    {
        aw_noise_keys relay = g_nk.init;
        uint8_t pub[AW_NOISE_DH_LEN];
        CHECK_OK(aw_x25519_keypair(relay.e, pub));
        CHECK_OK(aw_random(relay.psk, sizeof(relay.psk)));
        CHECK_RESULT(
            first_message(&relay, pro, pro_len, &g_nk.resp, pro, pro_len, &ini, &res, msg, &len),
            AW_E_SIGNATURE_INVALID);
        cases++;
    }

    /* A low-order ephemeral key in message 1: refused at the es DH, not used. The point of
     * order 1 (u = 0) and u = 1 (order 4 on the curve). */
    {
        static const uint8_t low[2][AW_NOISE_DH_LEN] = {{0}, {1}};
        for (size_t i = 0; i < 2; i++) {
            CHECK_OK(first_message(&g_nk.init, pro, pro_len, &g_nk.resp, pro, pro_len, &ini, &res,
                                   msg, &len));
            memcpy(msg, low[i], AW_NOISE_DH_LEN);
            CHECK_OK(aw_noise_handshake_init(&res, AW_NOISE_NKPSK0, AW_NOISE_RESPONDER, pro,
                                             pro_len, &g_nk.resp));
            CHECK_RESULT(aw_noise_read_message(&res, msg, len, got, sizeof(got), &got_len),
                         AW_E_KEY_INVALID);
            cases++;
        }
    }

    /* Keys the pattern does not take, or lacks. */
    {
        aw_noise_keys bad = g_nk.init;
        bad.has_s = true;
        CHECK_RESULT(
            aw_noise_handshake_init(&ini, AW_NOISE_NKPSK0, AW_NOISE_INITIATOR, pro, pro_len, &bad),
            AW_E_INVALID_ARG);
        bad = g_nk.resp;
        bad.has_psk = false;
        CHECK_RESULT(
            aw_noise_handshake_init(&res, AW_NOISE_NKPSK0, AW_NOISE_RESPONDER, pro, pro_len, &bad),
            AW_E_INVALID_ARG);
        bad = g_nk.init;
        bad.has_rs = false;
        CHECK_RESULT(
            aw_noise_handshake_init(&ini, AW_NOISE_NKPSK0, AW_NOISE_INITIATOR, pro, pro_len, &bad),
            AW_E_INVALID_ARG);
        cases++;
    }
    aw_noise_handshake_wipe(&ini);
    aw_noise_handshake_wipe(&res);
    printf("noise wrong keys: %u cases (psk, server key both ways, prologue, relay ephemeral, "
           "low-order ephemerals, key misuse)\n",
           cases);
}

/* Every byte of each handshake message flipped, and every truncation and extension: each
 * one fails, and fails the reader's handshake. */
static void test_tampering(void)
{
    const uint8_t *pro = g_nk.prologue;
    size_t pro_len = g_nk.prologue_len;
    aw_noise_handshake ini, res, ini2, res2;
    uint8_t m1[256], m2[256], bad[300], got[64];
    size_t m1_len = 0, m2_len = 0, got_len = 0;
    unsigned flips = 0, cuts = 0;

    CHECK_OK(
        first_message(&g_nk.init, pro, pro_len, &g_nk.resp, pro, pro_len, &ini, &res, m1, &m1_len));
    CHECK_OK(aw_noise_write_message(&res, payload2, sizeof(payload2), m2, sizeof(m2), &m2_len));

    for (size_t which = 0; which < 2; which++) {
        const uint8_t *m = which == 0 ? m1 : m2;
        size_t m_len = which == 0 ? m1_len : m2_len;
        for (size_t i = 0; i < m_len; i++) {
            for (int bit = 0; bit < 8; bit += 7) {
                aw_result r;
                memcpy(bad, m, m_len);
                bad[i] ^= (uint8_t)(1u << bit);
                if (which == 0) {
                    CHECK_OK(aw_noise_handshake_init(&res2, AW_NOISE_NKPSK0, AW_NOISE_RESPONDER,
                                                     pro, pro_len, &g_nk.resp));
                    r = aw_noise_read_message(&res2, bad, m_len, got, sizeof(got), &got_len);
                } else {
                    CHECK_OK(first_message(&g_nk.init, pro, pro_len, &g_nk.resp, pro, pro_len,
                                           &ini2, &res2, bad, &got_len));
                    memcpy(bad, m, m_len);
                    bad[i] ^= (uint8_t)(1u << bit);
                    r = aw_noise_read_message(&ini2, bad, m_len, got, sizeof(got), &got_len);
                }
                CHECK_MSG(r == AW_E_SIGNATURE_INVALID,
                          "message %zu byte %zu bit %d: %s, expected signature_invalid", which + 1,
                          i, bit, aw_result_name(r));
                CHECK(got_len == 0);
                flips++;
            }
        }
        /* Truncations, and one byte more than was sent. */
        for (size_t cut = 0; cut <= m_len + 1; cut++) {
            aw_result r;
            if (cut == m_len) {
                continue;
            }
            memcpy(bad, m, m_len);
            bad[m_len] = 0;
            if (which == 0) {
                CHECK_OK(aw_noise_handshake_init(&res2, AW_NOISE_NKPSK0, AW_NOISE_RESPONDER, pro,
                                                 pro_len, &g_nk.resp));
                r = aw_noise_read_message(&res2, bad, cut, got, sizeof(got), &got_len);
            } else {
                uint8_t tmp[256];
                size_t tmp_len = 0;
                CHECK_OK(first_message(&g_nk.init, pro, pro_len, &g_nk.resp, pro, pro_len, &ini2,
                                       &res2, tmp, &tmp_len));
                r = aw_noise_read_message(&ini2, bad, cut, got, sizeof(got), &got_len);
            }
            CHECK_MSG(r == AW_E_SIGNATURE_INVALID || r == AW_E_MALFORMED,
                      "message %zu cut to %zu: %s", which + 1, cut, aw_result_name(r));
            if (cut < 48) {
                CHECK(r == AW_E_MALFORMED);
            }
            cuts++;
        }
    }
    /* The untouched reply still reads: the tampering above never touched these states. */
    CHECK_OK(aw_noise_read_message(&ini, m2, m2_len, got, sizeof(got), &got_len));
    CHECK(got_len == sizeof(payload2) && memcmp(got, payload2, got_len) == 0);

    /* Out of turn: the responder cannot read again, the initiator cannot write again. */
    CHECK_RESULT(aw_noise_read_message(&res, m1, m1_len, got, sizeof(got), &got_len),
                 AW_E_INVALID_ARG);
    CHECK_RESULT(aw_noise_write_message(&ini, payload1, 1, bad, sizeof(bad), &got_len),
                 AW_E_INVALID_ARG);
    aw_noise_handshake_wipe(&ini);
    aw_noise_handshake_wipe(&res);
    aw_noise_handshake_wipe(&ini2);
    aw_noise_handshake_wipe(&res2);
    printf("noise tampering: %u bit flips and %u truncations/extensions refused\n", flips, cuts);
}

/* A too-small buffer leaves the state as it was, so the caller can retry. */
static void test_buffers(void)
{
    const uint8_t *pro = g_nk.prologue;
    size_t pro_len = g_nk.prologue_len;
    aw_noise_handshake ini, res;
    uint8_t m1[256], got[64];
    size_t len = 0, got_len = 0;

    CHECK_OK(aw_noise_handshake_init(&ini, AW_NOISE_NKPSK0, AW_NOISE_INITIATOR, pro, pro_len,
                                     &g_nk.init));
    CHECK_OK(aw_noise_handshake_init(&res, AW_NOISE_NKPSK0, AW_NOISE_RESPONDER, pro, pro_len,
                                     &g_nk.resp));
    CHECK(aw_noise_message_len(&ini, sizeof(payload1)) == 32 + sizeof(payload1) + 16);
    CHECK_RESULT(aw_noise_write_message(&ini, payload1, sizeof(payload1), m1, 40, &len),
                 AW_E_BUFFER_TOO_SMALL);
    CHECK_OK(aw_noise_write_message(&ini, payload1, sizeof(payload1), m1, sizeof(m1), &len));
    CHECK_RESULT(aw_noise_read_message(&res, m1, len, got, 4, &got_len), AW_E_BUFFER_TOO_SMALL);
    CHECK_OK(aw_noise_read_message(&res, m1, len, got, sizeof(got), &got_len));
    CHECK(got_len == sizeof(payload1) && memcmp(got, payload1, got_len) == 0);
    CHECK_RESULT(aw_noise_write_message(&res, m1, AW_NOISE_MAX_MESSAGE, got, sizeof(got), &len),
                 AW_E_TOO_LARGE);
    aw_noise_handshake_wipe(&ini);
    aw_noise_handshake_wipe(&res);
}

/* Transport: a tampered or replayed message fails and does not move the nonce. */
static void test_transport(void)
{
    const uint8_t *pro = g_nk.prologue;
    size_t pro_len = g_nk.prologue_len;
    aw_noise_handshake ini, res;
    aw_noise_cipher is, ir, rs, rr;
    uint8_t m[256], got[64], c1[64], c2[64];
    size_t len = 0, got_len = 0, c1_len = 0, c2_len = 0;

    CHECK_OK(
        first_message(&g_nk.init, pro, pro_len, &g_nk.resp, pro, pro_len, &ini, &res, m, &len));
    CHECK_OK(aw_noise_write_message(&res, NULL, 0, m, sizeof(m), &len));
    CHECK(len == 48);
    CHECK_OK(aw_noise_read_message(&ini, m, len, NULL, 0, &got_len));
    CHECK(got_len == 0);
    CHECK_OK(aw_noise_split(&ini, &is, &ir));
    CHECK_OK(aw_noise_split(&res, &rs, &rr));

    CHECK_OK(aw_noise_encrypt(&is, NULL, 0, payload1, 5, c1, sizeof(c1), &c1_len));
    CHECK_OK(aw_noise_encrypt(&is, NULL, 0, payload1, 5, c2, sizeof(c2), &c2_len));
    CHECK(memcmp(c1, c2, c1_len) != 0); /* a new nonce each time */
    /* Out of order: the second message first fails (nonce 0 expected), nonce unchanged. */
    CHECK_RESULT(aw_noise_decrypt(&rr, NULL, 0, c2, c2_len, got, sizeof(got), &got_len),
                 AW_E_SIGNATURE_INVALID);
    CHECK(rr.n == 0);
    c1[3] ^= 1;
    CHECK_RESULT(aw_noise_decrypt(&rr, NULL, 0, c1, c1_len, got, sizeof(got), &got_len),
                 AW_E_SIGNATURE_INVALID);
    c1[3] ^= 1;
    CHECK_OK(aw_noise_decrypt(&rr, NULL, 0, c1, c1_len, got, sizeof(got), &got_len));
    /* Replay of the first: nonce 1 now. */
    CHECK_RESULT(aw_noise_decrypt(&rr, NULL, 0, c1, c1_len, got, sizeof(got), &got_len),
                 AW_E_SIGNATURE_INVALID);
    CHECK_OK(aw_noise_decrypt(&rr, NULL, 0, c2, c2_len, got, sizeof(got), &got_len));
    /* Associated data is bound; the other direction uses the other key. */
    CHECK_OK(aw_noise_encrypt(&rs, (const uint8_t *)"ad", 2, payload2, 3, c1, sizeof(c1), &c1_len));
    CHECK_RESULT(
        aw_noise_decrypt(&ir, (const uint8_t *)"ae", 2, c1, c1_len, got, sizeof(got), &got_len),
        AW_E_SIGNATURE_INVALID);
    CHECK_OK(
        aw_noise_decrypt(&ir, (const uint8_t *)"ad", 2, c1, c1_len, got, sizeof(got), &got_len));
    /* The reserved nonce. */
    is.n = UINT64_MAX;
    CHECK_RESULT(aw_noise_encrypt(&is, NULL, 0, payload1, 1, c1, sizeof(c1), &c1_len),
                 AW_E_INVALID_ARG);
    aw_noise_cipher_wipe(&is);
    aw_noise_cipher_wipe(&ir);
    aw_noise_cipher_wipe(&rs);
    aw_noise_cipher_wipe(&rr);
    aw_noise_handshake_wipe(&ini);
    aw_noise_handshake_wipe(&res);
}

/* ------------------------------------------------------------------------------------------ */
/* Wycheproof */

static void test_wycheproof_x25519(void)
{
    aw_json *root = aw_json_load_vector("wycheproof/x25519_test.json");
    const aw_json *groups = aw_test_json_array(root, "testGroups");
    unsigned total = 0, computed = 0, low_order = 0;
    for (size_t g = 0; g < groups->n; g++) {
        const aw_json *tests = aw_test_json_array(groups->items[g], "tests");
        for (size_t i = 0; i < tests->n; i++) {
            const aw_json *t = tests->items[i];
            int tc = (int)aw_test_json_number(t, "tcId");
            uint8_t priv[32], pub[32], want[32], got[32];
            static const uint8_t zero[32];
            aw_result r;
            hex_exact(t, "private", priv, 32);
            hex_exact(t, "public", pub, 32);
            hex_exact(t, "shared", want, 32);
            r = aw_x25519_dh(priv, pub, got);
            /* Every "valid" and "acceptable" case is computed; a zero result never is. */
            if (memcmp(want, zero, 32) == 0 || has_flag(t, "LowOrderPublic")) {
                CHECK_MSG(r == AW_E_KEY_INVALID && memcmp(got, zero, 32) == 0,
                          "tcId %d (low order): %s", tc, aw_result_name(r));
                CHECK(has_flag(t, "ZeroSharedSecret"));
                low_order++;
            } else {
                CHECK_MSG(r == AW_OK && memcmp(got, want, 32) == 0, "tcId %d: %s", tc,
                          aw_result_name(r));
                computed++;
            }
            total++;
        }
    }
    CHECK(total == (unsigned)aw_test_json_number(root, "numberOfTests"));
    CHECK_MSG(total == 518 && low_order == 31, "%u cases, %u low-order", total, low_order);
    printf("wycheproof x25519: %u cases, %u shared secrets computed, %u low-order refused\n", total,
           computed, low_order);
    aw_json_free(root);
}

static void test_wycheproof_chachapoly(void)
{
    aw_json *root = aw_json_load_vector("wycheproof/chacha20_poly1305_test.json");
    const aw_json *groups = aw_test_json_array(root, "testGroups");
    unsigned total = 0, valid = 0, invalid = 0, other_nonce = 0;
    for (size_t g = 0; g < groups->n; g++) {
        const aw_json *tests = aw_test_json_array(groups->items[g], "tests");
        bool nonce96 = (int)aw_test_json_number(groups->items[g], "ivSize") == 96;
        for (size_t i = 0; i < tests->n; i++) {
            const aw_json *t = tests->items[i];
            int tc = (int)aw_test_json_number(t, "tcId");
            bool want = strcmp(aw_test_json_string(t, "result"), "valid") == 0;
            size_t kl, il, al, ml, cl, tl, out_len = 0;
            uint8_t *key = aw_test_hex(aw_test_json_string(t, "key"), &kl);
            uint8_t *iv = aw_test_hex(aw_test_json_string(t, "iv"), &il);
            uint8_t *aad = aw_test_hex(aw_test_json_string(t, "aad"), &al);
            uint8_t *msg = aw_test_hex(aw_test_json_string(t, "msg"), &ml);
            uint8_t *ct = aw_test_hex(aw_test_json_string(t, "ct"), &cl);
            uint8_t *tag = aw_test_hex(aw_test_json_string(t, "tag"), &tl);
            uint8_t *box = malloc(cl + tl + 1);
            uint8_t *out = malloc(cl + tl + 1);
            total++;
            if (!nonce96) {
                /* The API takes exactly 12 bytes: another nonce size cannot even be passed. */
                CHECK(!want && il != AW_CHACHAPOLY_NONCE_LEN);
                other_nonce++;
            } else {
                aw_result r;
                memcpy(box, ct, cl);
                memcpy(box + cl, tag, tl);
                r = aw_chachapoly_decrypt(key, iv, al ? aad : NULL, al, box, cl + tl, out, cl + 1,
                                          &out_len);
                if (want) {
                    CHECK_MSG(r == AW_OK && out_len == ml && memcmp(out, msg, ml) == 0,
                              "tcId %d (valid): %s", tc, aw_result_name(r));
                    CHECK_OK(aw_chachapoly_encrypt(key, iv, al ? aad : NULL, al, ml ? msg : NULL,
                                                   ml, out, cl + tl + 1, &out_len));
                    CHECK_MSG(out_len == cl + tl && memcmp(out, box, out_len) == 0,
                              "tcId %d: encryption differs", tc);
                    valid++;
                } else {
                    CHECK_MSG(r == AW_E_SIGNATURE_INVALID, "tcId %d (invalid): %s", tc,
                              aw_result_name(r));
                    invalid++;
                }
            }
            free(key);
            free(iv);
            free(aad);
            free(msg);
            free(ct);
            free(tag);
            free(box);
            free(out);
        }
    }
    CHECK(total == (unsigned)aw_test_json_number(root, "numberOfTests"));
    printf("wycheproof chacha20_poly1305: %u cases, %u valid, %u invalid refused, %u with other "
           "nonce sizes (not expressible)\n",
           total, valid, invalid, other_nonce);
    aw_json_free(root);
}

static void test_wycheproof_hkdf(void)
{
    aw_json *root = aw_json_load_vector("wycheproof/hkdf_sha256_test.json");
    const aw_json *groups = aw_test_json_array(root, "testGroups");
    unsigned total = 0, valid = 0, invalid = 0;
    for (size_t g = 0; g < groups->n; g++) {
        const aw_json *tests = aw_test_json_array(groups->items[g], "tests");
        for (size_t i = 0; i < tests->n; i++) {
            const aw_json *t = tests->items[i];
            int tc = (int)aw_test_json_number(t, "tcId");
            bool want = strcmp(aw_test_json_string(t, "result"), "valid") == 0;
            size_t il, sl, nl, ol, size = (size_t)aw_test_json_number(t, "size");
            uint8_t *ikm = aw_test_hex(aw_test_json_string(t, "ikm"), &il);
            uint8_t *salt = aw_test_hex(aw_test_json_string(t, "salt"), &sl);
            uint8_t *info = aw_test_hex(aw_test_json_string(t, "info"), &nl);
            uint8_t *okm = aw_test_hex(aw_test_json_string(t, "okm"), &ol);
            uint8_t *out = malloc(size + 1);
            aw_result r = aw_hkdf_sha256(sl ? salt : NULL, sl, il ? ikm : NULL, il,
                                         nl ? info : NULL, nl, out, size);
            if (want) {
                CHECK_MSG(r == AW_OK && ol == size && memcmp(out, okm, size) == 0,
                          "tcId %d (valid): %s", tc, aw_result_name(r));
                valid++;
            } else {
                CHECK_MSG(r == AW_E_INVALID_ARG, "tcId %d (invalid): %s", tc, aw_result_name(r));
                invalid++;
            }
            total++;
            free(ikm);
            free(salt);
            free(info);
            free(okm);
            free(out);
        }
    }
    CHECK(total == (unsigned)aw_test_json_number(root, "numberOfTests"));
    printf("wycheproof hkdf_sha256: %u cases, %u valid, %u invalid refused\n", total, valid,
           invalid);
    aw_json_free(root);
}

int main(void)
{
    test_noise_vectors();
    load_nk();
    test_wrong_keys();
    test_tampering();
    test_buffers();
    test_transport();
    test_wycheproof_x25519();
    test_wycheproof_chachapoly();
    test_wycheproof_hkdf();
    return aw_test_finish("test_noise");
}
