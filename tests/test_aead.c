/* AES-256-GCM sealing and X25519 generation (include/authwire/crypto.h).
 *
 * Known answers: there are no AES-GCM Wycheproof vectors in ../shared/vectors, so the
 * known-answer cases are Test Cases 13, 14 and 16 of "The Galois/Counter Mode of Operation
 * (GCM)" (McGrew and Viega, 2005 revision, Appendix B; also in NIST's GCM validation
 * vectors), fed to aw_aead_open in our nonce | ciphertext | tag layout. Every way of damaging
 * a sealed box must fail with the one code the header documents, AW_E_SIGNATURE_INVALID: each
 * byte flipped, other associated data, another key, every truncation. */
#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"

#include "check.h"

typedef struct gcm_kat {
    const char *name;
    const char *key, *iv, *pt, *aad, *ct, *tag;
} gcm_kat;

static const gcm_kat kats[] = {
    {"GCM spec test case 13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"GCM spec test case 14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"GCM spec test case 16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
     "49a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
     "56828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

static void test_known_answers(void)
{
    for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
        const gcm_kat *k = &kats[i];
        size_t key_len, iv_len, pt_len, aad_len, ct_len, tag_len, out_len = 0;
        uint8_t *key = aw_test_hex(k->key, &key_len);
        uint8_t *iv = aw_test_hex(k->iv, &iv_len);
        uint8_t *pt = aw_test_hex(k->pt, &pt_len);
        uint8_t *aad = aw_test_hex(k->aad, &aad_len);
        uint8_t *ct = aw_test_hex(k->ct, &ct_len);
        uint8_t *tag = aw_test_hex(k->tag, &tag_len);
        size_t box_len = iv_len + ct_len + tag_len;
        uint8_t *box = malloc(box_len);
        uint8_t *out = malloc(ct_len + 1);
        CHECK(box != NULL && out != NULL && key_len == AW_AEAD_KEY_LEN &&
              iv_len == AW_AEAD_NONCE_LEN);
        memcpy(box, iv, iv_len);
        memcpy(box + iv_len, ct, ct_len);
        memcpy(box + iv_len + ct_len, tag, tag_len);
        CHECK_OK(aw_aead_open(key, aad_len ? aad : NULL, aad_len, box, box_len, out, ct_len + 1,
                              &out_len));
        CHECK_MSG(out_len == pt_len && memcmp(out, pt, pt_len) == 0, "%s: plaintext", k->name);
        /* Its tampered twin: the last tag bit. */
        box[box_len - 1] ^= 1;
        CHECK_RESULT(aw_aead_open(key, aad_len ? aad : NULL, aad_len, box, box_len, out, ct_len + 1,
                                  &out_len),
                     AW_E_SIGNATURE_INVALID);
        free(key);
        free(iv);
        free(pt);
        free(aad);
        free(ct);
        free(tag);
        free(box);
        free(out);
    }
}

static const uint8_t aad_label[] = "authwire/1 test\0alice";

static void test_round_trip_and_tampering(void)
{
    uint8_t key[AW_AEAD_KEY_LEN], other_key[AW_AEAD_KEY_LEN];
    uint8_t pt[32], box[32 + AW_AEAD_OVERHEAD], box2[sizeof(box)], out[sizeof(box)];
    size_t box_len = 0, box2_len = 0, out_len = 0;

    CHECK_OK(aw_random(key, sizeof(key)));
    CHECK_OK(aw_random(other_key, sizeof(other_key)));
    CHECK_OK(aw_random(pt, sizeof(pt)));
    CHECK_OK(aw_aead_seal(key, aad_label, sizeof(aad_label), pt, sizeof(pt), box, sizeof(box),
                          &box_len));
    CHECK(box_len == sizeof(pt) + AW_AEAD_OVERHEAD);
    CHECK_OK(
        aw_aead_open(key, aad_label, sizeof(aad_label), box, box_len, out, sizeof(out), &out_len));
    CHECK(out_len == sizeof(pt) && memcmp(out, pt, sizeof(pt)) == 0);

    /* A fresh random nonce per seal: the same plaintext never seals to the same box. */
    CHECK_OK(aw_aead_seal(key, aad_label, sizeof(aad_label), pt, sizeof(pt), box2, sizeof(box2),
                          &box2_len));
    CHECK(box2_len == box_len && memcmp(box, box2, AW_AEAD_NONCE_LEN) != 0 &&
          memcmp(box, box2, box_len) != 0);

    /* Every bit of every byte: nonce, ciphertext and tag. */
    unsigned flipped_ok = 0;
    for (size_t i = 0; i < box_len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            box[i] ^= (uint8_t)(1u << bit);
            memset(out, 0xaa, sizeof(out));
            aw_result r = aw_aead_open(key, aad_label, sizeof(aad_label), box, box_len, out,
                                       sizeof(out), &out_len);
            if (r == AW_E_SIGNATURE_INVALID && out_len == 0) {
                flipped_ok++;
            }
            box[i] ^= (uint8_t)(1u << bit);
        }
    }
    CHECK_MSG(flipped_ok == box_len * 8, "%u of %zu bit flips rejected", flipped_ok, box_len * 8);
    /* The plaintext is wiped when the tag fails (GCM decrypts before it authenticates). */
    box[AW_AEAD_NONCE_LEN] ^= 1;
    memset(out, 0xaa, sizeof(out));
    CHECK_RESULT(
        aw_aead_open(key, aad_label, sizeof(aad_label), box, box_len, out, sizeof(out), &out_len),
        AW_E_SIGNATURE_INVALID);
    uint8_t zero[32] = {0};
    CHECK(memcmp(out, zero, sizeof(zero)) == 0);
    box[AW_AEAD_NONCE_LEN] ^= 1;

    /* Other associated data (one byte changed, one byte shorter, none) and another key. */
    uint8_t aad2[sizeof(aad_label)];
    memcpy(aad2, aad_label, sizeof(aad2));
    aad2[sizeof(aad2) - 2] ^= 0x20;
    CHECK_RESULT(aw_aead_open(key, aad2, sizeof(aad2), box, box_len, out, sizeof(out), &out_len),
                 AW_E_SIGNATURE_INVALID);
    CHECK_RESULT(aw_aead_open(key, aad_label, sizeof(aad_label) - 1, box, box_len, out, sizeof(out),
                              &out_len),
                 AW_E_SIGNATURE_INVALID);
    CHECK_RESULT(aw_aead_open(key, NULL, 0, box, box_len, out, sizeof(out), &out_len),
                 AW_E_SIGNATURE_INVALID);
    CHECK_RESULT(aw_aead_open(other_key, aad_label, sizeof(aad_label), box, box_len, out,
                              sizeof(out), &out_len),
                 AW_E_SIGNATURE_INVALID);

    /* Every truncation, down to nothing, and one byte too many. */
    unsigned truncated_ok = 0;
    for (size_t len = 0; len < box_len; len++) {
        if (aw_aead_open(key, aad_label, sizeof(aad_label), box, len, out, sizeof(out), &out_len) ==
            AW_E_SIGNATURE_INVALID) {
            truncated_ok++;
        }
    }
    CHECK_MSG(truncated_ok == box_len, "%u of %zu truncations rejected", truncated_ok, box_len);
    uint8_t longer[sizeof(box) + 1];
    memcpy(longer, box, box_len);
    longer[box_len] = 0;
    CHECK_RESULT(aw_aead_open(key, aad_label, sizeof(aad_label), longer, box_len + 1, out,
                              sizeof(out), &out_len),
                 AW_E_SIGNATURE_INVALID);

    /* The original still opens: nothing above changed it. */
    CHECK_OK(
        aw_aead_open(key, aad_label, sizeof(aad_label), box, box_len, out, sizeof(out), &out_len));

    aw_wipe(key, sizeof(key));
    aw_wipe(out, sizeof(out));
}

static void test_edges(void)
{
    uint8_t key[AW_AEAD_KEY_LEN] = {1};
    uint8_t box[AW_AEAD_OVERHEAD + 4], out[4];
    size_t box_len = 0, out_len = 0;

    /* Empty plaintext: the box is a nonce and a tag, and still authenticates the AAD. */
    CHECK_OK(aw_aead_seal(key, aad_label, sizeof(aad_label), NULL, 0, box, sizeof(box), &box_len));
    CHECK(box_len == AW_AEAD_OVERHEAD);
    CHECK_OK(aw_aead_open(key, aad_label, sizeof(aad_label), box, box_len, NULL, 0, &out_len));
    CHECK(out_len == 0);
    CHECK_RESULT(aw_aead_open(key, NULL, 0, box, box_len, NULL, 0, &out_len),
                 AW_E_SIGNATURE_INVALID);

    /* Buffers too small, NULL misuse. */
    CHECK_RESULT(
        aw_aead_seal(key, NULL, 0, (const uint8_t *)"abcd", 4, box, sizeof(box) - 1, &box_len),
        AW_E_BUFFER_TOO_SMALL);
    CHECK_OK(aw_aead_seal(key, NULL, 0, (const uint8_t *)"abcd", 4, box, sizeof(box), &box_len));
    CHECK_RESULT(aw_aead_open(key, NULL, 0, box, box_len, out, 3, &out_len), AW_E_BUFFER_TOO_SMALL);
    CHECK_OK(aw_aead_open(key, NULL, 0, box, box_len, out, 4, &out_len));
    CHECK(out_len == 4 && memcmp(out, "abcd", 4) == 0);
    CHECK_RESULT(aw_aead_seal(NULL, NULL, 0, NULL, 0, box, sizeof(box), &box_len),
                 AW_E_INVALID_ARG);
    CHECK_RESULT(aw_aead_seal(key, NULL, 3, NULL, 0, box, sizeof(box), &box_len), AW_E_INVALID_ARG);
}

static void test_x25519(void)
{
    uint8_t pub[AW_X25519_PUBLIC_LEN], pub2[AW_X25519_PUBLIC_LEN], again[AW_X25519_PUBLIC_LEN];
    char pem[256], pem2[256];
    size_t pem_len = 0, pem2_len = 0, need = 0;

    CHECK_OK(aw_x25519_generate(pub, pem, sizeof(pem), &pem_len));
    CHECK(pem_len == strlen(pem) && strstr(pem, "-----BEGIN PRIVATE KEY-----") != NULL);
    CHECK_OK(aw_x25519_public_from_pem(pem, pem_len, again));
    CHECK(memcmp(pub, again, sizeof(pub)) == 0);
    CHECK_OK(aw_x25519_generate(pub2, pem2, sizeof(pem2), &pem2_len));
    CHECK(memcmp(pub, pub2, sizeof(pub)) != 0);
    CHECK_RESULT(aw_x25519_generate(pub2, pem2, 16, &need), AW_E_BUFFER_TOO_SMALL);
    CHECK(need == pem_len);

    /* An Ed25519 PEM is not an X25519 key, and garbage is nothing. */
    aw_ed25519_key *ed = NULL;
    char ed_pem[256];
    size_t ed_len = 0;
    CHECK_OK(aw_ed25519_generate(&ed));
    CHECK_OK(aw_ed25519_private_pem(ed, ed_pem, sizeof(ed_pem), &ed_len));
    CHECK_RESULT(aw_x25519_public_from_pem(ed_pem, ed_len, again), AW_E_KEY_INVALID);
    CHECK_RESULT(aw_x25519_public_from_pem("garbage", 7, again), AW_E_KEY_INVALID);
    aw_ed25519_free(ed);
    aw_wipe(pem, sizeof(pem));
    aw_wipe(pem2, sizeof(pem2));
    aw_wipe(ed_pem, sizeof(ed_pem));
}

int main(void)
{
    test_known_answers();
    test_round_trip_and_tampering();
    test_edges();
    test_x25519();
    return aw_test_finish("test_aead");
}
