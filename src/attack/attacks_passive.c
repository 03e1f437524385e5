/* Passive capture: what crosses the wire, read by an observer who sees everything the user
 * and the gateway exchange (in plain HTTP, or with TLS intercepted by the rogue CA). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks.h"

/* The user's key in every form: the HMAC secret, or the Ed25519 private key (PKCS#8 DER
 * from the PEM, and the 32-byte seed at its end). */
static void secret_forms_of(const aw_credentials *c, aw_secret_forms *s)
{
    memset(s, 0, sizeof(*s));
    if (c->secret != NULL) {
        aw_secret_forms_encodings(s, "HMAC key", c->secret, c->secret_len);
        return;
    }
    if (c->private_pem == NULL) {
        return;
    }
    /* The base64 between the PEM lines. */
    const char *begin = strstr(c->private_pem, "-----\n");
    const char *end = begin != NULL ? strstr(begin + 6, "\n-----END") : NULL;
    if (end == NULL) {
        return;
    }
    char b64[512];
    size_t n = 0;
    for (const char *p = begin + 6; p < end && n + 1 < sizeof(b64); p++) {
        if (*p != '\n' && *p != '\r') {
            b64[n++] = *p;
        }
    }
    uint8_t der[256];
    size_t der_len = 0;
    if (aw_base64_decode((aw_span){(const uint8_t *)b64, n}, 0, der, sizeof(der), &der_len) !=
            AW_OK ||
        der_len < AW_ED25519_SEED_LEN) {
        return;
    }
    aw_secret_forms_add(s, "Ed25519 key (PKCS#8 DER)", der, der_len);
    aw_secret_forms_add(s, "Ed25519 key (PEM text)", (const uint8_t *)b64, n > 64 ? 64 : n);
    aw_secret_forms_encodings(s, "Ed25519 seed", der + der_len - AW_ED25519_SEED_LEN,
                              AW_ED25519_SEED_LEN);
    aw_wipe(der, sizeof(der));
    aw_wipe(b64, sizeof(b64));
}

static aw_result passive_capture(aw_attack_ctx *ctx, aw_attack_result *out)
{
    AW_GUARD(aw_attack_watch(ctx));
    aw_attack_send_get(ctx, AW_PATH_BALANCE);
    aw_attack_send_note(ctx, "a note an observer can read");
    aw_secret_forms *s = aw_attack_alloc(ctx, sizeof(*s));
    AW_ENSURE(s != NULL, AW_E_INTERNAL);
    secret_forms_of(aw_attack_cred(ctx), s);
    aw_capture_scan scan;
    aw_attack_scan_capture(ctx, s, &scan);
    size_t forms = s->n;
    aw_wipe(s, sizeof(*s));
    if (forms == 0) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the credential holds no key to look for");
        return AW_OK;
    }
    aw_attack_observe(out,
                      "%zu messages, %zu bytes, all readable (%s): methods, paths, bodies, "
                      "signatures; no key material",
                      scan.messages, scan.bytes,
                      aw_attack_tls(ctx) ? "TLS intercepted" : "plain HTTP");
    if (scan.found[0] != '\0') {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL, "the user's key crossed the wire: %s",
                      scan.found);
        aw_attack_observe(out, "the user's key: %s", scan.found);
    } else if (scan.truncated) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the capture filled up before the end");
    } else {
        aw_attack_set(out, AW_ATTACK_BLOCKED, "keys_not_on_wire",
                      "searched every captured byte, both directions, for the user's key (raw, "
                      "base64, base64url, hex%s): not there",
                      aw_attack_cred(ctx)->secret != NULL ? "" : ", PKCS#8, seed");
    }
    return AW_OK;
}

static const aw_attack passive[] = {
    {"passive-capture",
     "record a signed GET and POST in both directions and search every byte for the user's key",
     "Network attacker (Dolev-Yao)", "keys_not_on_wire", 0, passive_capture},
};

AW_ATTACK_FAMILY(aw_attacks_passive, passive);
