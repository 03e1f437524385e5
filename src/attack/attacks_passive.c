/* Passive capture: what crosses the wire, read by an observer who sees everything the user
 * and the gateway exchange (in plain HTTP, or with TLS intercepted by the rogue CA). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks.h"

/* The encodings of a key an observer would look for. */
typedef struct secret_forms {
    size_t n;
    struct {
        char what[32];
        uint8_t bytes[256];
        size_t len;
    } form[12];
} secret_forms;

static void add_form(secret_forms *s, const char *what, const uint8_t *bytes, size_t len)
{
    if (s->n < sizeof(s->form) / sizeof(s->form[0]) && len >= 16 &&
        len <= sizeof(s->form[0].bytes)) {
        snprintf(s->form[s->n].what, sizeof(s->form[s->n].what), "%s", what);
        memcpy(s->form[s->n].bytes, bytes, len);
        s->form[s->n].len = len;
        s->n++;
    }
}

/* Raw, base64, base64url and hex of key. */
static void add_encodings(secret_forms *s, const char *name, const uint8_t *key, size_t len)
{
    char what[32];
    uint8_t text[256];
    aw_writer w;
    snprintf(what, sizeof(what), "%s (raw)", name);
    add_form(s, what, key, len);
    aw_writer_init(&w, text, sizeof(text));
    aw_writer_base64(&w, key, len);
    snprintf(what, sizeof(what), "%s (base64)", name);
    /* A padded encoding's last group depends on what follows; the part before it does not. */
    add_form(s, what, text, w.overflow ? 0 : w.len - 4);
    aw_writer_init(&w, text, sizeof(text));
    aw_writer_base64url(&w, key, len);
    snprintf(what, sizeof(what), "%s (base64url)", name);
    add_form(s, what, text, w.overflow ? 0 : w.len - 4);
    static const char hex[] = "0123456789abcdef";
    if (len * 2 <= sizeof(text)) {
        for (size_t i = 0; i < len; i++) {
            text[2 * i] = (uint8_t)hex[key[i] >> 4];
            text[2 * i + 1] = (uint8_t)hex[key[i] & 15];
        }
        snprintf(what, sizeof(what), "%s (hex)", name);
        add_form(s, what, text, 2 * len);
    }
}

/* The user's key in every form: the HMAC secret, or the Ed25519 private key (PKCS#8 DER
 * from the PEM, and the 32-byte seed at its end). */
static void secret_forms_of(const aw_credentials *c, secret_forms *s)
{
    memset(s, 0, sizeof(*s));
    if (c->secret != NULL) {
        add_encodings(s, "HMAC key", c->secret, c->secret_len);
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
    add_form(s, "Ed25519 key (PKCS#8 DER)", der, der_len);
    add_form(s, "Ed25519 key (PEM text)", (const uint8_t *)b64, n > 64 ? 64 : n);
    add_encodings(s, "Ed25519 seed", der + der_len - AW_ED25519_SEED_LEN, AW_ED25519_SEED_LEN);
    aw_wipe(der, sizeof(der));
    aw_wipe(b64, sizeof(b64));
}

static const char *find_secret(const secret_forms *s, const uint8_t *data, size_t len)
{
    for (size_t f = 0; f < s->n; f++) {
        size_t k = s->form[f].len;
        for (size_t i = 0; k <= len && i + k <= len; i++) {
            if (data[i] == s->form[f].bytes[0] && memcmp(data + i, s->form[f].bytes, k) == 0) {
                return s->form[f].what;
            }
        }
    }
    return NULL;
}

static aw_result passive_capture(aw_attack_ctx *ctx, aw_attack_result *out)
{
    AW_GUARD(aw_attack_watch(ctx));
    aw_attack_send_get(ctx, AW_PATH_BALANCE);
    aw_attack_send_note(ctx, "a note an observer can read");
    secret_forms *s = aw_attack_alloc(ctx, sizeof(*s));
    AW_ENSURE(s != NULL, AW_E_INTERNAL);
    secret_forms_of(aw_attack_cred(ctx), s);
    aw_proxy *p = aw_attack_proxy(ctx);
    size_t n = aw_proxy_record_count(p), bytes = 0, messages = 0;
    const char *found = NULL;
    for (size_t i = 0; i < n && found == NULL; i++) {
        aw_proxy_record rec;
        if (aw_proxy_record_get(p, i, &rec) != AW_OK) {
            continue;
        }
        bytes += rec.len;
        messages++;
        found = find_secret(s, rec.data, rec.len);
        if (found == NULL && rec.sent != NULL) {
            found = find_secret(s, rec.sent, rec.sent_len);
        }
        aw_proxy_record_free(&rec);
    }
    size_t forms = s->n;
    char what[32] = "";
    if (found != NULL) {
        snprintf(what, sizeof(what), "%s", found);
    }
    aw_wipe(s, sizeof(*s));
    if (forms == 0) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the credential holds no key to look for");
        return AW_OK;
    }
    aw_attack_observe(out,
                      "%zu messages, %zu bytes, all readable (%s): methods, paths, bodies, "
                      "signatures; no key material",
                      messages, bytes, aw_attack_tls(ctx) ? "TLS intercepted" : "plain HTTP");
    if (what[0] != '\0') {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL, "the user's key crossed the wire: %s", what);
        aw_attack_observe(out, "the user's key: %s", what);
    } else if (aw_proxy_record_truncated(p)) {
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
