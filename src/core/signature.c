/* Signing and verification of HTTP messages (RFC 9421 Sections 3.1 and 3.2) under a policy,
 * and Content-Digest (RFC 9530). */
#include "authwire/signature.h"

#include <string.h>

#include "authwire/freshness.h"
#include "authwire/sigbase.h"

/* Largest signature base we build; a typical authwire/1 request base is about 300 bytes. */
#define SIGBASE_MAX 16384

const char *aw_alg_name(aw_alg alg)
{
    switch (alg) {
    case AW_ALG_HMAC_SHA256:
        return "hmac-sha256";
    case AW_ALG_ED25519:
        return "ed25519";
    case AW_ALG_NONE:
    default:
        return NULL;
    }
}

aw_alg aw_alg_from_name(aw_span name)
{
    if (aw_span_eq(name, AW_SPAN_LIT("hmac-sha256"))) {
        return AW_ALG_HMAC_SHA256;
    }
    if (aw_span_eq(name, AW_SPAN_LIT("ed25519"))) {
        return AW_ALG_ED25519;
    }
    return AW_ALG_NONE;
}

void aw_policy_authwire_request(aw_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->label = AW_LABEL;
    p->required = AW_COMPONENTS_REQUEST;
    p->cover_content_type = true;
    p->require_created = true;
    p->require_nonce = true;
    p->require_keyid = true;
    p->tag = AW_TAG_REQUEST;
    p->min_nonce_len = 22;
    p->max_age = 30;
    p->skew = 30;
    p->check_content_digest = true;
}

void aw_policy_authwire_response(aw_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->label = AW_LABEL;
    p->required = AW_COMPONENTS_RESPONSE;
    p->cover_content_type = true;
    p->require_created = true;
    p->require_keyid = true;
    p->tag = AW_TAG_RESPONSE;
    p->skew = 30;
    p->check_content_digest = true;
}

void aw_policy_rfc9421(aw_policy *p)
{
    memset(p, 0, sizeof(*p));
}

/* RFC 8941 key syntax, which labels must follow. */
static bool is_sf_key(const char *s)
{
    if (s == NULL || !((*s >= 'a' && *s <= 'z') || *s == '*')) {
        return false;
    }
    for (; *s != '\0'; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.' || c == '*')) {
            return false;
        }
    }
    return true;
}

/* Parses inner-list contents such as AW_COMPONENTS_REQUEST into an inner list member. */
static aw_result parse_components(const char *components, aw_arena *scratch,
                                  const aw_sf_member **out)
{
    size_t len = strlen(components);
    uint8_t *text = aw_arena_alloc(scratch, len + 2, 1);
    AW_ENSURE(text != NULL, AW_E_BUFFER_TOO_SMALL);
    text[0] = '(';
    memcpy(text + 1, components, len);
    text[len + 1] = ')';
    size_t n;
    aw_result r = aw_sf_parse_list((aw_span){text, len + 2}, scratch, out, &n);
    AW_ENSURE(r != AW_E_SF_SYNTAX, AW_E_INVALID_ARG);
    AW_GUARD(r);
    AW_ENSURE(n == 1, AW_E_INVALID_ARG);
    return AW_OK;
}

static aw_result alloc_base_writer(aw_arena *scratch, aw_writer *w)
{
    size_t cap = SIGBASE_MAX;
    uint8_t *buf = aw_arena_alloc(scratch, cap, 1);
    AW_ENSURE(buf != NULL, AW_E_BUFFER_TOO_SMALL);
    aw_writer_init(w, buf, cap);
    return AW_OK;
}

aw_result aw_sign(const aw_message *msg, const aw_message *request, const aw_key *key,
                  const aw_sign_params *params, aw_arena *scratch, aw_writer *sig_input,
                  aw_writer *signature, aw_writer *base)
{
    AW_ENSURE(is_sf_key(params->label), AW_E_INVALID_ARG);
    AW_ENSURE(params->components != NULL, AW_E_INVALID_ARG);
    const char *alg_name = aw_alg_name(key->alg);
    AW_ENSURE(alg_name != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(key->alg != AW_ALG_HMAC_SHA256 || key->hmac != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(key->alg != AW_ALG_ED25519 || key->ed25519 != NULL, AW_E_INVALID_ARG);

    const aw_sf_member *parsed;
    AW_GUARD(parse_components(params->components, scratch, &parsed));

    /* Parameters in a fixed order: created, expires, nonce, keyid, alg, tag. */
    aw_sf_param *p = aw_arena_alloc(scratch, 6 * sizeof(*p), _Alignof(aw_sf_param));
    AW_ENSURE(p != NULL, AW_E_BUFFER_TOO_SMALL);
    size_t n = 0;
    if (params->has_created) {
        p[n++] = (aw_sf_param){AW_SPAN_LIT("created"), {AW_SF_INTEGER, params->created, {0}}};
    }
    if (params->has_expires) {
        p[n++] = (aw_sf_param){AW_SPAN_LIT("expires"), {AW_SF_INTEGER, params->expires, {0}}};
    }
    if (params->nonce.len > 0) {
        p[n++] = (aw_sf_param){AW_SPAN_LIT("nonce"), {AW_SF_STRING, 0, params->nonce}};
    }
    if (params->keyid.len > 0) {
        p[n++] = (aw_sf_param){AW_SPAN_LIT("keyid"), {AW_SF_STRING, 0, params->keyid}};
    }
    if (params->with_alg) {
        p[n++] = (aw_sf_param){AW_SPAN_LIT("alg"), {AW_SF_STRING, 0, aw_span_cstr(alg_name)}};
    }
    if (params->tag.len > 0) {
        p[n++] = (aw_sf_param){AW_SPAN_LIT("tag"), {AW_SF_STRING, 0, params->tag}};
    }
    aw_sf_member member = *parsed;
    member.item.params = p;
    member.item.n_params = n;

    aw_writer bw;
    AW_GUARD(alloc_base_writer(scratch, &bw));
    AW_GUARD(aw_sigbase_build(msg, request, &member, scratch, &bw));

    uint8_t sig[AW_ED25519_SIG_LEN];
    size_t sig_len;
    if (key->alg == AW_ALG_HMAC_SHA256) {
        AW_GUARD(aw_hmac_sha256(key->hmac, bw.buf, bw.len, sig));
        sig_len = AW_HMAC_SHA256_LEN;
    } else {
        AW_GUARD(aw_ed25519_sign(key->ed25519, bw.buf, bw.len, sig));
        sig_len = AW_ED25519_SIG_LEN;
    }

    aw_writer_cstr(sig_input, params->label);
    aw_writer_byte(sig_input, '=');
    AW_GUARD(aw_sf_serialize_member(&member, sig_input));
    aw_writer_cstr(signature, params->label);
    aw_writer_cstr(signature, "=:");
    aw_writer_base64(signature, sig, sig_len);
    aw_writer_byte(signature, ':');
    if (base != NULL) {
        aw_writer_span(base, aw_writer_span_of(&bw));
        AW_GUARD(aw_writer_result(base));
    }
    AW_GUARD(aw_writer_result(sig_input));
    return aw_writer_result(signature);
}

/* The fields a verification reads, found in one pass over the header lines instead of one
 * scan per lookup. Names compare case-insensitively, as in aw_message_field. A field on one
 * line is used in place; a field on several lines is joined by aw_message_field where it is
 * needed, exactly as a direct lookup would. */
enum { F_SIGNATURE_INPUT, F_SIGNATURE, F_CONTENT_DIGEST, F_CONTENT_TYPE, F_COUNT };

static const aw_span known_field_names[F_COUNT] = {
    AW_SPAN_LIT("signature-input"),
    AW_SPAN_LIT("signature"),
    AW_SPAN_LIT("content-digest"),
    AW_SPAN_LIT("content-type"),
};

typedef struct known_fields {
    size_t count[F_COUNT];
    aw_span first[F_COUNT]; /* the value of the first line */
} known_fields;

/* Eight bytes of p as a word (any byte order: both sides are loaded alike). */
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* aw_span_eq_nocase(name, lower) for a literal lower of name.len (8 to 16) bytes made of
 * lower-case letters, digits and '-', a word at a time: at a letter position (bit 0x40 set in
 * the literal) the name's byte may differ from it in bit 0x20 only, which is exactly its
 * upper-case form; at any other position it must be equal. Two words cover such a name: the
 * first eight bytes and the last eight (overlapping them). */
static inline bool name_word_is(const uint8_t *name, const uint8_t *lower)
{
    const uint64_t letter_bits = 0x4040404040404040u;
    uint64_t lit = load64(lower);
    return (load64(name) | ((lit & letter_bits) >> 1)) == lit;
}

static inline bool name_is(aw_span name, const uint8_t *lower)
{
    size_t n = name.len;
    return name_word_is(name.ptr, lower) && name_word_is(name.ptr + n - 8, lower + n - 8);
}

static void find_fields(const aw_message *msg, known_fields *f)
{
    /* The known field of each name length from 9 to 15, or -1. */
    static const signed char by_len[7] = {
        F_SIGNATURE, -1, -1, F_CONTENT_TYPE, -1, F_CONTENT_DIGEST, F_SIGNATURE_INPUT};
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < msg->n_headers; i++) {
        aw_span name = msg->headers[i].name;
        if (name.len - 9 >= 7) { /* also below 9: the subtraction wraps */
            continue;
        }
        int id = by_len[name.len - 9];
        if (id < 0) {
            continue;
        }
        if (name_is(name, known_field_names[id].ptr) && f->count[id]++ == 0) {
            f->first[id] = msg->headers[i].value;
        }
    }
}

/* aw_message_field for one of the known fields. */
static aw_result known_field(const aw_message *msg, const known_fields *f, int id,
                             aw_arena *scratch, aw_span *value)
{
    if (f->count[id] == 1) {
        *value = f->first[id];
        return AW_OK;
    }
    AW_ENSURE(f->count[id] > 0, AW_E_COMPONENT_MISSING);
    return aw_message_field(msg, known_field_names[id], scratch, value);
}

/* Parses a Signature-Input or Signature field strictly: no repeated label (two verifiers
 * could check different signatures) and no repeated parameter (a hidden first copy of
 * keyid, created or nonce would be read by other parsers). Each is told apart from other
 * syntax errors for the logs. */
static aw_result parse_sig_dict(const aw_message *msg, const known_fields *f, int id,
                                aw_arena *scratch, const aw_sf_member **members, size_t *n)
{
    aw_span value;
    aw_result r = known_field(msg, f, id, scratch, &value);
    AW_ENSURE(r != AW_E_COMPONENT_MISSING, AW_E_SIG_MISSING);
    AW_GUARD(r);
    size_t mark = scratch->used;
    r = aw_sf_parse_dict(value, AW_SF_REJECT_DUPLICATE_KEYS | AW_SF_REJECT_DUPLICATE_PARAMS,
                         scratch, members, n);
    if (r != AW_E_SF_SYNTAX) {
        return r;
    }
    scratch->used = mark;
    if (aw_sf_parse_dict(value, AW_SF_REJECT_DUPLICATE_PARAMS, scratch, members, n) == AW_OK) {
        return AW_E_SIG_DUPLICATE_LABEL;
    }
    scratch->used = mark;
    if (aw_sf_parse_dict(value, 0, scratch, members, n) == AW_OK) {
        return AW_E_SIG_BAD_PARAMS;
    }
    return AW_E_SF_SYNTAX;
}

/* Whether key is the literal lit (a string constant). */
#define KEY_IS(key, lit)                                                                           \
    ((key).len == sizeof(lit) - 1 && memcmp((key).ptr, lit, sizeof(lit) - 1) == 0)

/* Reads the signature parameters RFC 9421 Section 2.3 defines; others are left alone (they
 * are covered by @signature-params anyway). Dispatched on the key's length first. */
static aw_result read_params(const aw_sf_member *m, aw_verified *out, aw_span *alg)
{
    *alg = (aw_span){NULL, 0};
    for (size_t i = 0; i < m->item.n_params; i++) {
        const aw_sf_param *p = &m->item.params[i];
        aw_sf_type t = p->value.type;
        switch (p->key.len) {
        case 7:
            if (KEY_IS(p->key, "created")) {
                AW_ENSURE(t == AW_SF_INTEGER, AW_E_SIG_BAD_PARAMS);
                out->has_created = true;
                out->created = p->value.integer;
            } else if (KEY_IS(p->key, "expires")) {
                AW_ENSURE(t == AW_SF_INTEGER, AW_E_SIG_BAD_PARAMS);
                out->has_expires = true;
                out->expires = p->value.integer;
            }
            break;
        case 5:
            if (KEY_IS(p->key, "nonce")) {
                AW_ENSURE(t == AW_SF_STRING, AW_E_SIG_BAD_PARAMS);
                out->nonce = p->value.str;
            } else if (KEY_IS(p->key, "keyid")) {
                AW_ENSURE(t == AW_SF_STRING, AW_E_SIG_BAD_PARAMS);
                out->keyid = p->value.str;
            }
            break;
        case 3:
            if (KEY_IS(p->key, "tag")) {
                AW_ENSURE(t == AW_SF_STRING, AW_E_SIG_BAD_PARAMS);
                out->tag = p->value.str;
            } else if (KEY_IS(p->key, "alg")) {
                AW_ENSURE(t == AW_SF_STRING, AW_E_SIG_BAD_PARAMS);
                *alg = p->value.str;
            }
            break;
        default:
            break;
        }
    }
    return AW_OK;
}

/* The canonical identifiers a signature covers, serialised once per verification. */
typedef struct covered_set {
    aw_span ident[AW_SIGBASE_MAX_COMPONENTS];
    size_t n;
} covered_set;

/* The canonical identifier of a string item without parameters, taken from the received
 * text when it is there: the parser borrows a string from its input exactly when it had no
 * escapes (it then checked it holds only visible ASCII or SP, no DQUOTE and no backslash),
 * and such a string serialises as itself between DQUOTEs. m is the member the item was
 * parsed from; anything else (escapes, parameters, a member built in memory) is false. */
static bool received_identifier(const aw_sf_member *m, const aw_sf_item *item, aw_span *out)
{
    aw_span s = item->value.str;
    if (item->n_params != 0 || s.len == 0 || m->raw.len == 0) {
        return false;
    }
    uintptr_t lo = (uintptr_t)m->raw.ptr;
    uintptr_t hi = lo + m->raw.len;
    uintptr_t p = (uintptr_t)s.ptr;
    if (p <= lo || p >= hi || s.len >= hi - p || s.ptr[-1] != '"' || s.ptr[s.len] != '"') {
        return false;
    }
    *out = (aw_span){s.ptr - 1, s.len + 2};
    return true;
}

static aw_result collect_identifiers(const aw_sf_member *m, aw_arena *scratch, covered_set *out)
{
    AW_ENSURE(m->n_inner <= AW_SIGBASE_MAX_COMPONENTS, AW_E_TOO_LARGE);
    out->n = 0;
    for (size_t i = 0; i < m->n_inner; i++) {
        const aw_sf_item *item = &m->inner[i];
        AW_ENSURE(item->value.type == AW_SF_STRING, AW_E_SIG_BAD_PARAMS);
        if (received_identifier(m, item, &out->ident[out->n])) {
            out->n++;
            continue;
        }
        /* Worst case: every string byte escaped, byte sequences base64 (4/3 + padding),
         * integers 16 characters, plus quotes, ';', '=' and ':'. */
        size_t cap = 2 * item->value.str.len + 2;
        for (size_t k = 0; k < item->n_params; k++) {
            cap += 1 + item->params[k].key.len + 1 + 2 * item->params[k].value.str.len + 24;
        }
        uint8_t *buf = aw_arena_alloc(scratch, cap, 1);
        AW_ENSURE(buf != NULL, AW_E_BUFFER_TOO_SMALL);
        aw_writer w;
        aw_writer_init(&w, buf, cap);
        AW_GUARD(aw_sf_serialize_item(item, &w));
        out->ident[out->n++] = aw_writer_span_of(&w);
    }
    return AW_OK;
}

/* Whether the signature covers the component whose canonical identifier is ident. The
 * identifier after the previous hit (*from) is tried first: signers list components in the
 * order the policy names them, so a lookup usually hits at once. Otherwise all are tried. */
static inline bool covers_from(const covered_set *set, aw_span ident, size_t *from)
{
    size_t i = *from;
    if (i < set->n && aw_span_eq(set->ident[i], ident)) {
        *from = i + 1;
        return true;
    }
    for (i = 0; i < set->n; i++) {
        if (aw_span_eq(set->ident[i], ident)) {
            *from = i + 1;
            return true;
        }
    }
    return false;
}

static bool covers(const covered_set *set, aw_span ident)
{
    size_t from = 0;
    return covers_from(set, ident, &from);
}

/* Whether the signature covers this message's field name, with any parameters but ;req. */
static bool covers_field(const aw_sf_member *m, aw_span name)
{
    for (size_t i = 0; i < m->n_inner; i++) {
        const aw_sf_item *item = &m->inner[i];
        if (item->value.type == AW_SF_STRING && aw_span_eq(item->value.str, name) &&
            aw_sf_param_find(item->params, item->n_params, "req") == NULL) {
            return true;
        }
    }
    return false;
}

/* Checks that every identifier of the space-separated canonical list required is covered.
 * Identifiers contain no space outside quoted strings, which is all we need to split. */
static aw_result check_coverage(const covered_set *set, const char *required)
{
    size_t from = 0;
    const char *s = required;
    while (*s != '\0') {
        while (*s == ' ') {
            s++;
        }
        const char *start = s;
        while (*s != '\0' && *s != ' ') {
            if (*s == '"') {
                /* A quoted string runs to the next DQUOTE, spaces included (or to the end). */
                const char *close = strchr(s + 1, '"');
                s = close != NULL ? close + 1 : s + strlen(s);
            } else {
                s++;
            }
        }
        if (s > start) {
            aw_span ident = {(const uint8_t *)start, (size_t)(s - start)};
            AW_ENSURE(covers_from(set, ident, &from), AW_E_COVERAGE_INSUFFICIENT);
        }
    }
    return AW_OK;
}

/* Whether the received inner list m begins with exactly the required identifiers: its text
 * as received is "(" + required + SP or ")", and required has no ';' (no parameters). Then
 * each required identifier is the whole text of one of the first items, an item without
 * parameters, which collect_identifiers made sure is a string; a string has one serialisation
 * only, so that text is the item's canonical identifier: all are covered without splitting
 * required. Anything else (another order, parameters, a member built in memory) says false
 * and the identifiers are looked up one by one, as before. */
static bool required_prefix(const aw_sf_member *m, const char *required)
{
    size_t len = strlen(required);
    const uint8_t *raw = m->raw.ptr;
    return m->raw.len > len + 1 && raw[0] == '(' && (raw[len + 1] == ' ' || raw[len + 1] == ')') &&
           memcmp(raw + 1, required, len) == 0 && memchr(required, ';', len) == NULL;
}

static aw_result check_policy(const known_fields *fields, const aw_policy *policy, int64_t now,
                              const aw_sf_member *m, const covered_set *set, const aw_verified *v)
{
    AW_ENSURE(!policy->require_created || v->has_created, AW_E_PARAM_MISSING);
    AW_ENSURE(!policy->require_nonce || v->nonce.len > 0, AW_E_PARAM_MISSING);
    AW_ENSURE(!policy->require_keyid || v->keyid.len > 0, AW_E_PARAM_MISSING);
    if (policy->tag != NULL) {
        AW_ENSURE(v->tag.ptr != NULL, AW_E_PARAM_MISSING);
        AW_ENSURE(aw_span_eq(v->tag, aw_span_cstr(policy->tag)), AW_E_TAG_MISMATCH);
    }
    if (policy->require_nonce) {
        /* Never longer than the replay cache takes, so a verified nonce can always be used. */
        AW_ENSURE(v->nonce.len >= policy->min_nonce_len && v->nonce.len <= AW_NONCE_CACHE_NONCE_MAX,
                  AW_E_NONCE_INVALID);
    }
    if (policy->required != NULL && !required_prefix(m, policy->required)) {
        AW_GUARD(check_coverage(set, policy->required));
    }
    if (policy->cover_content_type && fields->count[F_CONTENT_TYPE] > 0) {
        AW_ENSURE(covers(set, AW_SPAN_LIT("\"content-type\"")), AW_E_COVERAGE_INSUFFICIENT);
    }
    if (policy->check_content_digest) {
        AW_ENSURE(covers(set, AW_SPAN_LIT("\"content-digest\"")), AW_E_COVERAGE_INSUFFICIENT);
    }
    /* created and expires are RFC 8941 integers (|v| < 10^15) and aw_verify bounds now,
     * skew and max_age likewise, so none of these sums can overflow. */
    if (v->has_created && policy->require_created) {
        AW_ENSURE(v->created <= now + policy->skew, AW_E_CREATED_IN_FUTURE);
        if (policy->max_age > 0) {
            AW_ENSURE(now - v->created <= policy->max_age, AW_E_EXPIRED);
        }
    }
    if (v->has_expires) {
        AW_ENSURE(now <= v->expires, AW_E_EXPIRED);
    }
    return AW_OK;
}

static aw_result check_signature(const aw_key *key, aw_span base, aw_span sig)
{
    switch (key->alg) {
    case AW_ALG_HMAC_SHA256:
        AW_ENSURE(key->hmac != NULL, AW_E_INVALID_ARG);
        return aw_hmac_sha256_verify(key->hmac, base.ptr, base.len, sig.ptr, sig.len);
    case AW_ALG_ED25519:
        AW_ENSURE(key->ed25519 != NULL, AW_E_INVALID_ARG);
        return aw_ed25519_verify(key->ed25519, base.ptr, base.len, sig.ptr, sig.len);
    case AW_ALG_NONE:
    default:
        return AW_E_INVALID_ARG;
    }
}

static aw_result verify_signature(const aw_message *msg, const aw_message *request,
                                  const aw_policy *policy, int64_t now, aw_key_lookup_fn lookup,
                                  void *lookup_ctx, aw_arena *scratch, aw_verified *out);
static aw_result content_digest_check_value(const aw_message *msg, aw_span value,
                                            aw_arena *scratch);

aw_result aw_verify(const aw_message *msg, const aw_message *request, const aw_policy *policy,
                    int64_t now, aw_key_lookup_fn lookup, void *lookup_ctx, aw_arena *scratch,
                    aw_verified *out)
{
    memset(out, 0, sizeof(*out));
    /* Bounds that keep the time arithmetic exact (see check_policy). A required nonce is only
     * remembered for a bounded time, so a signature must then expire (max_age > 0). */
    AW_ENSURE(now >= 0 && now < AW_TIME_MAX, AW_E_INVALID_ARG);
    AW_ENSURE(policy->skew >= 0 && policy->skew <= AW_WINDOW_MAX, AW_E_INVALID_ARG);
    AW_ENSURE(policy->max_age >= 0 && policy->max_age <= AW_WINDOW_MAX, AW_E_INVALID_ARG);
    AW_ENSURE(!policy->require_nonce || policy->max_age > 0, AW_E_INVALID_ARG);
    aw_result r = verify_signature(msg, request, policy, now, lookup, lookup_ctx, scratch, out);
    /* Running out of scratch while reading a peer's message means the message is too big
     * for this verifier: a 4xx for the peer, not an internal error. */
    return r == AW_E_BUFFER_TOO_SMALL ? AW_E_TOO_LARGE : r;
}

static aw_result verify_signature(const aw_message *msg, const aw_message *request,
                                  const aw_policy *policy, int64_t now, aw_key_lookup_fn lookup,
                                  void *lookup_ctx, aw_arena *scratch, aw_verified *out)
{
    const aw_sf_member *inputs;
    size_t n_inputs;
    const aw_sf_member *sigs;
    size_t n_sigs;
    known_fields fields;
    find_fields(msg, &fields);
    AW_GUARD(parse_sig_dict(msg, &fields, F_SIGNATURE_INPUT, scratch, &inputs, &n_inputs));
    AW_GUARD(parse_sig_dict(msg, &fields, F_SIGNATURE, scratch, &sigs, &n_sigs));
    AW_ENSURE(n_inputs > 0, AW_E_SIG_MISSING);

    const aw_sf_member *m = &inputs[0];
    if (policy->label != NULL) {
        m = aw_sf_dict_find(inputs, n_inputs, aw_span_cstr(policy->label));
        AW_ENSURE(m != NULL, AW_E_SIG_MISSING);
    }
    out->label = m->key;
    out->params = m;
    const aw_sf_member *sig = aw_sf_dict_find(sigs, n_sigs, m->key);
    AW_ENSURE(sig != NULL, AW_E_SIG_UNPAIRED);
    AW_ENSURE(m->item.value.type == AW_SF_INNER_LIST, AW_E_SIG_BAD_PARAMS);
    AW_ENSURE(sig->item.value.type == AW_SF_BYTES, AW_E_SIG_BAD_PARAMS);
    covered_set set;
    AW_GUARD(collect_identifiers(m, scratch, &set));

    aw_span alg_param;
    AW_GUARD(read_params(m, out, &alg_param));
    AW_GUARD(check_policy(&fields, policy, now, m, &set, out));

    const aw_key *key = NULL;
    AW_GUARD(lookup(lookup_ctx, out->keyid, &key));
    AW_ENSURE(key != NULL, AW_E_KEY_UNKNOWN);
    out->alg = key->alg;
    /* The key decides the algorithm; alg may only confirm it (RFC 9421 Section 3.2 step 6). */
    if (alg_param.ptr != NULL) {
        AW_ENSURE(aw_alg_from_name(alg_param) == key->alg, AW_E_ALG_MISMATCH);
    }

    /* Build the base with the parameters as received; every conforming signer sends them
     * canonically, so this is the base it signed. Only if that fails and the received text
     * is not canonical is the canonical base tried too (RFC 9421 Section 2.3). */
    /* Fields on a single line are handed to the base builder so it need not look them up. */
    aw_header cached[F_COUNT];
    size_t n_cached = 0;
    for (int id = 0; id < F_COUNT; id++) {
        if (fields.count[id] == 1) {
            cached[n_cached++] = (aw_header){known_field_names[id], fields.first[id]};
        }
    }
    /* m and its raw text come from aw_sf_parse_dict just above. */
    const aw_sigbase_opts opts = {set.ident, true, cached, n_cached, true};
    aw_writer bw;
    AW_GUARD(alloc_base_writer(scratch, &bw));
    AW_GUARD(aw_sigbase_build_opts(msg, request, m, &opts, scratch, &bw));
    out->base = aw_writer_span_of(&bw);
    aw_result r = check_signature(key, out->base, sig->item.value.str);
    if (r == AW_E_SIGNATURE_INVALID) {
        uint8_t canon_buf[2048];
        aw_writer canon;
        aw_writer_init(&canon, canon_buf, sizeof(canon_buf));
        if (m->raw.len > 0 && aw_sf_serialize_member(m, &canon) == AW_OK &&
            !aw_span_eq(aw_writer_span_of(&canon), m->raw)) {
            /* @signature-params is the last line and everything before it is the same:
             * swap the received text for the canonical one instead of rebuilding. */
            bw.len -= m->raw.len;
            aw_writer_span(&bw, aw_writer_span_of(&canon));
            AW_GUARD(aw_writer_result(&bw));
            out->base = aw_writer_span_of(&bw);
            r = check_signature(key, out->base, sig->item.value.str);
        }
    }
    AW_GUARD(r);

    /* The signature covers the Content-Digest field; this binds the body to it. Any
     * coverage of the field (;sf, ;bs, ;key too) commits to a digest, so check the body
     * whenever this message's Content-Digest is covered at all. */
    if (policy->check_content_digest || covers_field(m, AW_SPAN_LIT("content-digest"))) {
        aw_span digest_field;
        r = known_field(msg, &fields, F_CONTENT_DIGEST, scratch, &digest_field);
        AW_ENSURE(r != AW_E_COMPONENT_MISSING, AW_E_DIGEST_MISSING);
        AW_GUARD(r);
        AW_GUARD(content_digest_check_value(msg, digest_field, scratch));
    }
    return AW_OK;
}

aw_result aw_content_digest(aw_span body, aw_digest_alg alg, aw_writer *out)
{
    uint8_t digest[AW_SHA512_LEN];
    switch (alg) {
    case AW_DIGEST_SHA256:
        AW_GUARD(aw_sha256(body.ptr, body.len, digest));
        aw_writer_cstr(out, "sha-256=:");
        aw_writer_base64(out, digest, AW_SHA256_LEN);
        break;
    case AW_DIGEST_SHA512:
        AW_GUARD(aw_sha512(body.ptr, body.len, digest));
        aw_writer_cstr(out, "sha-512=:");
        aw_writer_base64(out, digest, AW_SHA512_LEN);
        break;
    default:
        return AW_E_INVALID_ARG;
    }
    aw_writer_byte(out, ':');
    return aw_writer_result(out);
}

/* Checks a Content-Digest field value (all its lines joined) against msg's body. */
static aw_result content_digest_check_value(const aw_message *msg, aw_span value, aw_arena *scratch)
{
    /* Fast path for what authwire and most signers send, a lone canonical sha-256 entry:
     * decode the received digest strictly (padding required, pad bits zero), which accepts
     * only the canonical text of those bytes, and compare bytes. Anything else, or a digest
     * that differs, takes the full parse below. */
    if (value.len == 54 && memcmp(value.ptr, "sha-256=:", 9) == 0 && value.ptr[53] == ':') {
        uint8_t received[AW_SHA256_LEN];
        size_t received_len = 0;
        if (aw_base64_decode((aw_span){value.ptr + 9, 44}, 0, received, sizeof(received),
                             &received_len) == AW_OK &&
            received_len == AW_SHA256_LEN) {
            uint8_t digest[AW_SHA256_LEN];
            AW_GUARD(aw_sha256(msg->body.ptr, msg->body.len, digest));
            if (aw_ct_equal(digest, received, AW_SHA256_LEN)) {
                return AW_OK;
            }
        }
    }
    const aw_sf_member *members;
    size_t n;
    /* A repeated algorithm would let one copy hide behind another. */
    AW_GUARD(aw_sf_parse_dict(value, AW_SF_REJECT_DUPLICATE_KEYS, scratch, &members, &n));
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        const aw_sf_member *m = &members[i];
        uint8_t digest[AW_SHA512_LEN];
        size_t len;
        if (aw_span_eq(m->key, AW_SPAN_LIT("sha-256"))) {
            AW_GUARD(aw_sha256(msg->body.ptr, msg->body.len, digest));
            len = AW_SHA256_LEN;
        } else if (aw_span_eq(m->key, AW_SPAN_LIT("sha-512"))) {
            AW_GUARD(aw_sha512(msg->body.ptr, msg->body.len, digest));
            len = AW_SHA512_LEN;
        } else {
            continue; /* other algorithms are ignored (RFC 9530 Section 2) */
        }
        AW_ENSURE(m->item.value.type == AW_SF_BYTES, AW_E_DIGEST_MISMATCH);
        AW_ENSURE(m->item.value.str.len == len, AW_E_DIGEST_MISMATCH);
        AW_ENSURE(aw_ct_equal(m->item.value.str.ptr, digest, len), AW_E_DIGEST_MISMATCH);
        checked++;
    }
    AW_ENSURE(checked > 0, AW_E_DIGEST_UNSUPPORTED);
    return AW_OK;
}

aw_result aw_content_digest_check(const aw_message *msg, aw_arena *scratch)
{
    aw_span value;
    aw_result r = aw_message_field(msg, AW_SPAN_LIT("content-digest"), scratch, &value);
    AW_ENSURE(r != AW_E_COMPONENT_MISSING, AW_E_DIGEST_MISSING);
    AW_GUARD(r);
    return content_digest_check_value(msg, value, scratch);
}
