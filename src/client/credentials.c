/* The client credential file (see credentials.h): JSON through src/util, written atomically
 * 0600, read only when private. Every buffer that held the key is wiped. */
#include "credentials.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/bytes.h"
#include "files.h"
#include "json.h"

/* A credential file is a few kilobytes (the CA certificate is the largest member). */
#define CREDENTIALS_MAX (1u << 20)
#define KEYID_MAX       256

/* The reason for the last failure of this thread; *why points here. */
static _Thread_local char g_why[160];

static aw_result fail(const char **why, aw_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static aw_result fail(const char **why, aw_result r, const char *fmt, ...)
{
    if (why != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_why, sizeof(g_why), fmt, ap);
        va_end(ap);
        *why = g_why;
    }
    return r;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n + 1);
    }
    return d;
}

/* A keyid goes into an RFC 8941 string: printable ASCII without '"' and '\'. */
static bool keyid_valid(const char *s, size_t len)
{
    if (len == 0 || len > KEYID_MAX || strlen(s) != len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\') {
            return false;
        }
    }
    return true;
}

static bool url_valid(const char *s)
{
    return (strncmp(s, "https://", 8) == 0 && s[8] != '\0') ||
           (strncmp(s, "http://", 7) == 0 && s[7] != '\0');
}

/* A required string member, or NULL with *why set. */
static const aw_json *member_string(const aw_json *root, const char *name, bool required,
                                    aw_result *r, const char **why)
{
    const aw_json *m = aw_json_get(root, name);
    if (m == NULL || (!required && m->type == AW_JSON_NULL)) {
        if (required) {
            *r = fail(why, AW_E_MALFORMED, "member \"%s\" is missing", name);
        }
        return NULL;
    }
    if (m->type != AW_JSON_STRING) {
        *r = fail(why, AW_E_MALFORMED, "member \"%s\" is not a string", name);
        return NULL;
    }
    return m;
}

/* A raw 32-byte public key (Ed25519 or X25519) in standard base64. */
static bool decode_public_key(const aw_json *m, uint8_t out[32])
{
    size_t n = 0;
    return aw_base64_decode((aw_span){(const uint8_t *)m->text, m->text_len}, 0, out, 32, &n) ==
               AW_OK &&
           n == 32;
}

static aw_result decode_members(const aw_json *root, aw_credentials *c, const char **why)
{
    aw_result r = AW_OK;
    const aw_json *version = aw_json_get(root, "version");
    const aw_json *url, *keyid, *alg, *key, *mode, *spk, *ca, *enroll_key;

    if (root->type != AW_JSON_OBJECT) {
        return fail(why, AW_E_MALFORMED, "the file is not a JSON object");
    }
    if (version != NULL && (version->type != AW_JSON_NUMBER || strcmp(version->text, "1") != 0)) {
        return fail(why, AW_E_UNSUPPORTED, "member \"%s\" is not 1 (a newer authwire?)", "version");
    }
    /* In the order of the file, so the first problem reported is the first one there. */
    if ((url = member_string(root, "url", true, &r, why)) == NULL ||
        (keyid = member_string(root, "keyid", true, &r, why)) == NULL ||
        (alg = member_string(root, "alg", true, &r, why)) == NULL ||
        (key = member_string(root, "key", true, &r, why)) == NULL ||
        (mode = member_string(root, "mode", true, &r, why)) == NULL ||
        (spk = member_string(root, "server_public_key", true, &r, why)) == NULL) {
        return r;
    }
    ca = member_string(root, "ca", false, &r, why);
    AW_GUARD(r);
    enroll_key = member_string(root, "enroll_key", false, &r, why);
    AW_GUARD(r);

    if (!url_valid(url->text) || strlen(url->text) != url->text_len) {
        return fail(why, AW_E_MALFORMED, "member \"%s\" is not an http:// or https:// URL", "url");
    }
    if (!keyid_valid(keyid->text, keyid->text_len)) {
        return fail(why, AW_E_MALFORMED,
                    "member \"%s\" must be 1..256 printable ASCII characters without '\"' or "
                    "'\\'",
                    "keyid");
    }
    c->alg = aw_alg_from_name((aw_span){(const uint8_t *)alg->text, alg->text_len});
    if (c->alg == AW_ALG_NONE) {
        return fail(why, AW_E_MALFORMED, "member \"%s\" is not hmac-sha256 or ed25519", "alg");
    }
    if (!aw_fresh_mode_from_name((aw_span){(const uint8_t *)mode->text, mode->text_len},
                                 &c->mode)) {
        return fail(why, AW_E_MALFORMED, "member \"%s\" is not timestamp, sequence or challenge",
                    "mode");
    }
    if (!decode_public_key(spk, c->server_public_key)) {
        return fail(why, AW_E_MALFORMED,
                    "member \"%s\" is not the base64 of a 32-byte Ed25519 public key",
                    "server_public_key");
    }
    if (enroll_key != NULL) {
        if (!decode_public_key(enroll_key, c->enroll_key)) {
            return fail(why, AW_E_MALFORMED,
                        "member \"%s\" is not the base64 of a 32-byte X25519 public key",
                        "enroll_key");
        }
        c->has_enroll_key = true;
    }

    if (c->alg == AW_ALG_HMAC_SHA256) {
        size_t cap = key->text_len + 1;
        c->secret = malloc(cap);
        if (c->secret == NULL) {
            return fail(why, AW_E_INTERNAL, "out of memory reading \"%s\"", "key");
        }
        if (aw_base64_decode((aw_span){(const uint8_t *)key->text, key->text_len}, 0, c->secret,
                             cap, &c->secret_len) != AW_OK ||
            c->secret_len < 16 || c->secret_len > AW_HMAC_KEY_MAX) {
            /* A partial decode is still secret bytes. */
            aw_wipe(c->secret, cap);
            c->secret_len = 0;
            return fail(why, AW_E_MALFORMED,
                        "member \"%s\" is not the base64 of a 16..1024-byte HMAC secret", "key");
        }
    } else {
        aw_ed25519_key *k = NULL;
        bool ok =
            aw_ed25519_from_pem(key->text, key->text_len, &k) == AW_OK && aw_ed25519_has_private(k);
        aw_ed25519_free(k);
        if (!ok) {
            return fail(why, AW_E_MALFORMED, "member \"%s\" is not an Ed25519 private key (PEM)",
                        "key");
        }
        if ((c->private_pem = dup_string(key->text)) == NULL) {
            return fail(why, AW_E_INTERNAL, "out of memory reading \"%s\"", "key");
        }
    }
    if ((c->url = dup_string(url->text)) == NULL || (c->keyid = dup_string(keyid->text)) == NULL ||
        (ca != NULL && (c->ca_pem = dup_string(ca->text)) == NULL)) {
        return fail(why, AW_E_INTERNAL, "out of memory");
    }
    return AW_OK;
}

aw_result aw_credentials_read(const char *path, aw_credentials *out, const char **why)
{
    uint8_t *text = NULL;
    size_t len = 0;
    aw_json *root = NULL;
    const char *json_why = NULL;
    size_t where = 0;
    aw_result r;

    AW_ENSURE(path != NULL && out != NULL, AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    r = aw_file_read(path, CREDENTIALS_MAX, AW_FILE_PRIVATE, &text, &len);
    switch (r) {
    case AW_OK:
        break;
    case AW_E_FORBIDDEN:
        return fail(why, r,
                    "group or others may access the file; it holds a secret (chmod 600 it)");
    case AW_E_NOT_FOUND:
        return fail(why, r, "no such file");
    case AW_E_TOO_LARGE:
        return fail(why, r, "larger than 1 MiB: not a credential file");
    default:
        return fail(why, r, "cannot read the file: %s", strerror(errno));
    }
    r = aw_json_parse((const char *)text, len, &root, &json_why, &where);
    aw_file_free(text, len);
    if (r != AW_OK) {
        return fail(why, r == AW_E_TOO_LARGE ? AW_E_MALFORMED : r, "not valid JSON: %s at byte %zu",
                    json_why, where);
    }
    r = decode_members(root, out, why);
    aw_json_free(root);
    if (r != AW_OK) {
        aw_credentials_free(out);
    }
    return r;
}

/* "name": base64 of a raw 32-byte public key. */
static void write_public_key(aw_json_writer *jw, const char *name, const uint8_t key[32])
{
    char text[48];
    aw_writer w;
    aw_writer_init(&w, (uint8_t *)text, sizeof(text));
    aw_writer_base64(&w, key, 32);
    aw_json_key(jw, name);
    aw_json_string_n(jw, w.buf, w.len);
}

static aw_result write_file(const char *path, const aw_credentials *c, unsigned flags)
{
    aw_result r;
    aw_writer w;
    aw_json_writer jw;
    uint8_t *buf;
    size_t cap;
    char key_b64[((AW_HMAC_KEY_MAX + 2) / 3) * 4 + 1];
    aw_writer kw;
    const char *mode_name;

    AW_ENSURE(path != NULL && c != NULL && c->url != NULL && c->keyid != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(url_valid(c->url) && keyid_valid(c->keyid, strlen(c->keyid)), AW_E_INVALID_ARG);
    mode_name = aw_fresh_mode_name(c->mode);
    AW_ENSURE(mode_name != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(c->alg != AW_ALG_HMAC_SHA256 ||
                  (c->secret != NULL && c->secret_len >= 16 && c->secret_len <= AW_HMAC_KEY_MAX),
              AW_E_INVALID_ARG);
    AW_ENSURE(c->alg != AW_ALG_ED25519 || c->private_pem != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(c->alg == AW_ALG_HMAC_SHA256 || c->alg == AW_ALG_ED25519, AW_E_INVALID_ARG);

    /* Escaping at most doubles PEM text (each newline becomes \n); 4 KiB for the rest. */
    cap = 4096 +
          2 * (strlen(c->url) + strlen(c->keyid) + (c->private_pem ? strlen(c->private_pem) : 0) +
               (c->ca_pem ? strlen(c->ca_pem) : 0)) +
          sizeof(key_b64);
    buf = malloc(cap);
    if (buf == NULL) {
        return AW_E_INTERNAL;
    }
    aw_writer_init(&w, buf, cap);
    aw_json_writer_init(&jw, &w, true);
    aw_json_begin_object(&jw);
    aw_json_key(&jw, "version");
    aw_json_int(&jw, 1);
    aw_json_key(&jw, "url");
    aw_json_string(&jw, c->url);
    aw_json_key(&jw, "keyid");
    aw_json_string(&jw, c->keyid);
    aw_json_key(&jw, "alg");
    aw_json_string(&jw, aw_alg_name(c->alg));
    aw_json_key(&jw, "key");
    if (c->alg == AW_ALG_HMAC_SHA256) {
        aw_writer_init(&kw, (uint8_t *)key_b64, sizeof(key_b64));
        aw_writer_base64(&kw, c->secret, c->secret_len);
        aw_json_string_n(&jw, kw.buf, kw.len);
        aw_wipe(key_b64, sizeof(key_b64));
    } else {
        aw_json_string(&jw, c->private_pem);
    }
    aw_json_key(&jw, "mode");
    aw_json_string(&jw, mode_name);
    write_public_key(&jw, "server_public_key", c->server_public_key);
    if (c->ca_pem != NULL) {
        aw_json_key(&jw, "ca");
        aw_json_string(&jw, c->ca_pem);
    }
    if (c->has_enroll_key) {
        write_public_key(&jw, "enroll_key", c->enroll_key);
    }
    aw_json_end_object(&jw);
    aw_writer_byte(&w, '\n');
    r = aw_json_writer_result(&jw);
    if (r == AW_OK) {
        r = aw_file_write_atomic(path, buf, w.len, 0600, flags);
    }
    aw_wipe(buf, cap);
    free(buf);
    return r;
}

aw_result aw_credentials_write(const char *path, const aw_credentials *c)
{
    return write_file(path, c, AW_FILE_NO_REPLACE);
}

aw_result aw_credentials_replace(const char *path, const aw_credentials *c)
{
    return write_file(path, c, 0);
}

void aw_credentials_free(aw_credentials *c)
{
    if (c == NULL) {
        return;
    }
    if (c->secret != NULL) {
        aw_wipe(c->secret, c->secret_len);
        free(c->secret);
    }
    if (c->private_pem != NULL) {
        aw_wipe(c->private_pem, strlen(c->private_pem));
        free(c->private_pem);
    }
    free(c->url);
    free(c->keyid);
    free(c->ca_pem);
    memset(c, 0, sizeof(*c));
}
