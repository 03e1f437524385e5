/* What the passive rows share: the forms of a secret an observer would look for, and a search
 * of everything the row's man in the middle captured (see attacks.h). */
#include <stdio.h>
#include <string.h>

#include "attacks.h"

void aw_secret_forms_add(aw_secret_forms *s, const char *what, const uint8_t *bytes, size_t len)
{
    if (s->n < sizeof(s->form) / sizeof(s->form[0]) && len >= 16 &&
        len <= sizeof(s->form[0].bytes)) {
        snprintf(s->form[s->n].what, sizeof(s->form[s->n].what), "%s", what);
        memcpy(s->form[s->n].bytes, bytes, len);
        s->form[s->n].len = len;
        s->n++;
    }
}

void aw_secret_forms_encodings(aw_secret_forms *s, const char *name, const uint8_t *key, size_t len)
{
    char what[sizeof(s->form[0].what)];
    uint8_t text[256];
    aw_writer w;
    snprintf(what, sizeof(what), "%s (raw)", name);
    aw_secret_forms_add(s, what, key, len);
    aw_writer_init(&w, text, sizeof(text));
    aw_writer_base64(&w, key, len);
    snprintf(what, sizeof(what), "%s (base64)", name);
    /* A padded encoding's last group depends on what follows; the part before it does not. */
    aw_secret_forms_add(s, what, text, w.overflow ? 0 : w.len - 4);
    aw_writer_init(&w, text, sizeof(text));
    aw_writer_base64url(&w, key, len);
    snprintf(what, sizeof(what), "%s (base64url)", name);
    aw_secret_forms_add(s, what, text, w.overflow ? 0 : w.len - 4);
    if (len * 2 < sizeof(text)) {
        aw_hex_encode(key, len, (char *)text); /* NUL-terminated: one byte to spare */
        snprintf(what, sizeof(what), "%s (hex)", name);
        aw_secret_forms_add(s, what, text, 2 * len);
    }
    aw_wipe(text, sizeof(text));
}

const char *aw_secret_forms_find(const aw_secret_forms *s, const uint8_t *data, size_t len)
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

void aw_attack_scan_capture(aw_attack_ctx *ctx, const aw_secret_forms *s, aw_capture_scan *out)
{
    memset(out, 0, sizeof(*out));
    aw_proxy *p = aw_attack_proxy(ctx);
    size_t n = p != NULL ? aw_proxy_record_count(p) : 0;
    const char *found = NULL;
    for (size_t i = 0; i < n && found == NULL; i++) {
        aw_proxy_record rec;
        if (aw_proxy_record_get(p, i, &rec) != AW_OK) {
            continue;
        }
        out->bytes += rec.len;
        out->messages++;
        found = aw_secret_forms_find(s, rec.data, rec.len);
        if (found == NULL && rec.sent != NULL) {
            found = aw_secret_forms_find(s, rec.sent, rec.sent_len);
        }
        aw_proxy_record_free(&rec);
    }
    if (found != NULL) {
        snprintf(out->found, sizeof(out->found), "%s", found);
    }
    out->truncated = p != NULL && aw_proxy_record_truncated(p);
}
