/* Freshness guards, one per freshness mode of authwire/1: the nonce cache (timestamp +
 * nonce), the sequence window (sequence) and stateless challenges (challenge).
 *
 * Sans-I/O: the clock and the randomness are arguments, the memory is the caller's. Every
 * function validates all of its inputs before it changes any state. */
#include "authwire/freshness.h"

#include <string.h>

/* ---- nonce cache ----------------------------------------------------------------------
 *
 * Layout of the caller memory for capacity c and table size t = c + c/2 + 1:
 *
 *   int64_t  expiry[c]   expiry time of each FIFO entry              8 bytes per nonce
 *   slot     slots[t]    open-addressing table, 20 bytes a slot      30 bytes per nonce
 *   uint32_t fifo[c]     slot index of each entry, insertion order    4 bytes per nonce
 *
 * That is 42 bytes per live nonce, plus 20 bytes for the spare slot (10 for an odd c,
 * whose c/2 rounds down): 42 * c + 20 (even c) or 42 * c + 10 (odd c), at most 52 bytes per
 * nonce (c = 1 or 2), under the 64-byte budget of DESIGN.md.
 *
 * A slot is a 16-byte fingerprint, the first 16 bytes of SHA-256(salt || len(keyid) ||
 * keyid || nonce), plus the FIFO position of its entry. The salt is secret and random, so a
 * peer can neither make two of its nonces collide nor choose which bucket they land in;
 * 128 bits keep accidental collisions out of reach (2^-128 per comparison), and the length
 * prefix keeps (keyid, nonce) pairs unambiguous.
 *
 * The table has at least one more slot than the capacity, so it always holds an empty
 * slot and every probe run ends; the load factor stays at or below 2/3, where linear
 * probing averages about 5 probes for a miss. Deletion is backward-shift deletion (Knuth
 * 6.4, Algorithm R): no tombstones, so lookups never slow down with churn. Moving a slot
 * updates the FIFO entry that points at it, which is why each slot knows its FIFO position.
 *
 * Entries are reclaimed only from the FIFO head and only once expired. With a monotonic
 * clock, expiry (= use time + lifetime) grows along the FIFO, so every expired entry is at the
 * head and the cache holds exactly the live nonces after each aw_nonce_cache_use. If the
 * clock steps backwards the FIFO is no longer sorted: an unexpired head then shields expired
 * entries behind it, which costs capacity (AW_E_BUSY early) but never forgets a live nonce.
 */

/* Free slot marker: FIFO positions are below 2^30. */
#define SLOT_EMPTY   UINT32_MAX
#define CAPACITY_MAX ((size_t)1 << 30)
#define FP_LEN       16

struct aw_nonce_slot {
    uint8_t fp[FP_LEN];
    uint32_t pos; /* FIFO position of this entry, SLOT_EMPTY when the slot is free */
};

_Static_assert(sizeof(struct aw_nonce_slot) == 20, "the slot size is the documented 20 bytes");
_Static_assert(_Alignof(int64_t) <= 8, "the caller memory is only 8-byte aligned");

static size_t table_size_for(size_t capacity)
{
    return capacity + capacity / 2 + 1;
}

size_t aw_nonce_cache_bytes(size_t capacity)
{
    /* 52 * capacity bounds the total; refuse sizes that would overflow (32-bit size_t). */
    if (capacity == 0 || capacity > CAPACITY_MAX || capacity > SIZE_MAX / 64) {
        return 0;
    }
    return capacity * sizeof(int64_t) + table_size_for(capacity) * sizeof(aw_nonce_slot) +
           capacity * sizeof(uint32_t);
}

double aw_nonce_cache_bytes_per_nonce(size_t capacity)
{
    size_t bytes = aw_nonce_cache_bytes(capacity);
    if (bytes == 0) {
        return 0.0;
    }
    return (double)bytes / (double)capacity;
}

aw_result aw_nonce_cache_init(aw_nonce_cache *c, void *mem, size_t mem_len, size_t capacity,
                              int64_t lifetime, const uint8_t salt[16])
{
    AW_ENSURE(c != NULL && salt != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(capacity > 0 && capacity <= CAPACITY_MAX, AW_E_INVALID_ARG);
    AW_ENSURE(lifetime > 0, AW_E_INVALID_ARG);
    AW_ENSURE(mem != NULL && (uintptr_t)mem % 8 == 0, AW_E_INVALID_ARG);
    size_t need = aw_nonce_cache_bytes(capacity);
    AW_ENSURE(need != 0, AW_E_INVALID_ARG);
    AW_ENSURE(mem_len >= need, AW_E_BUFFER_TOO_SMALL);

    uint8_t *base = mem;
    size_t table_size = table_size_for(capacity);
    c->expiry = (int64_t *)(void *)base;
    c->slots = (aw_nonce_slot *)(void *)(base + capacity * sizeof(int64_t));
    c->fifo = (uint32_t *)(void *)(base + capacity * sizeof(int64_t) +
                                   table_size * sizeof(aw_nonce_slot));
    c->capacity = capacity;
    c->table_size = table_size;
    c->live = 0;
    c->lifetime = lifetime;
    c->fifo_head = 0;
    memcpy(c->salt, salt, sizeof(c->salt));
    memset(base, 0, need);
    for (size_t i = 0; i < table_size; i++) {
        c->slots[i].pos = SLOT_EMPTY;
    }
    return AW_OK;
}

static bool cache_ready(const aw_nonce_cache *c)
{
    return c != NULL && c->slots != NULL && c->expiry != NULL && c->fifo != NULL &&
           c->capacity > 0 && c->table_size > c->capacity && c->live <= c->capacity;
}

/* Validates keyid and nonce and computes their salted fingerprint. */
static aw_result nonce_fingerprint(const aw_nonce_cache *c, aw_span keyid, aw_span nonce,
                                   uint8_t fp[FP_LEN])
{
    AW_ENSURE(nonce.len > 0 && nonce.ptr != NULL, AW_E_NONCE_INVALID);
    AW_ENSURE(nonce.len <= AW_NONCE_CACHE_NONCE_MAX, AW_E_NONCE_INVALID);
    AW_ENSURE(keyid.len <= AW_NONCE_CACHE_KEYID_MAX, AW_E_INVALID_ARG);
    AW_ENSURE(keyid.ptr != NULL || keyid.len == 0, AW_E_INVALID_ARG);

    /* The salt is only a DoS defence (bucket aiming), not a key: the stack copy is not wiped,
     * since the same bytes stay in *c for the life of the cache anyway. */
    uint8_t buf[16 + 2 + AW_NONCE_CACHE_KEYID_MAX + AW_NONCE_CACHE_NONCE_MAX];
    aw_writer w;
    aw_writer_init(&w, buf, sizeof(buf));
    aw_writer_bytes(&w, c->salt, sizeof(c->salt));
    aw_writer_byte(&w, (uint8_t)(keyid.len >> 8));
    aw_writer_byte(&w, (uint8_t)(keyid.len & 0xff));
    aw_writer_span(&w, keyid);
    aw_writer_span(&w, nonce);
    AW_GUARD(aw_writer_result(&w));

    uint8_t digest[AW_SHA256_LEN];
    AW_GUARD(aw_sha256(buf, w.len, digest));
    memcpy(fp, digest, FP_LEN);
    return AW_OK;
}

static size_t slot_home(const aw_nonce_cache *c, const uint8_t fp[FP_LEN])
{
    /* The fingerprint is already a salted hash: its first 64 bits pick the bucket. */
    uint64_t h = 0;
    for (size_t i = 0; i < 8; i++) {
        h = h << 8 | fp[i];
    }
    return (size_t)(h % (uint64_t)c->table_size);
}

static size_t slot_next(const aw_nonce_cache *c, size_t i)
{
    return i + 1 == c->table_size ? 0 : i + 1;
}

/* Walks fp's probe run. Returns the slot holding fp (*found true) or the empty slot that ends
 * the run, where fp would go (*found false). SIZE_MAX only if the table has no empty slot,
 * which the invariant table_size > capacity >= live rules out. */
static size_t slot_find(const aw_nonce_cache *c, const uint8_t fp[FP_LEN], bool *found)
{
    size_t i = slot_home(c, fp);
    for (size_t n = 0; n < c->table_size; n++) {
        const aw_nonce_slot *s = &c->slots[i];
        if (s->pos == SLOT_EMPTY) {
            *found = false;
            return i;
        }
        if (memcmp(s->fp, fp, FP_LEN) == 0) {
            *found = true;
            return i;
        }
        i = slot_next(c, i);
    }
    *found = false;
    return SIZE_MAX;
}

/* Backward-shift deletion: empties slot hole and pulls later members of its run back so that
 * no run is ever broken by an empty slot (a lookup stops at the first empty slot). */
static void slot_delete(aw_nonce_cache *c, size_t hole)
{
    size_t j = hole;
    for (size_t n = 0; n < c->table_size; n++) {
        j = slot_next(c, j);
        aw_nonce_slot *s = &c->slots[j];
        if (s->pos == SLOT_EMPTY) {
            break;
        }
        /* s may fill the hole only if the hole lies on its probe path, from its home to j:
         * if its home is cyclically in (hole, j], moving it before its home would hide it. */
        size_t home = slot_home(c, s->fp);
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays) {
            continue;
        }
        c->slots[hole] = *s;
        c->fifo[s->pos] = (uint32_t)hole;
        hole = j;
    }
    c->slots[hole].pos = SLOT_EMPTY;
}

static uint32_t fifo_next(const aw_nonce_cache *c, uint32_t pos)
{
    return (size_t)pos + 1 == c->capacity ? 0 : pos + 1;
}

/* Drops expired entries from the FIFO head. Each entry is dropped once: amortised O(1). */
static void reclaim_expired(aw_nonce_cache *c, int64_t now)
{
    while (c->live > 0 && c->expiry[c->fifo_head] < now) {
        slot_delete(c, c->fifo[c->fifo_head]);
        c->fifo_head = fifo_next(c, c->fifo_head);
        c->live--;
    }
}

static int64_t expiry_for(const aw_nonce_cache *c, int64_t now)
{
    /* Saturate rather than wrap: an entry that never expires is the safe side. */
    if (now > INT64_MAX - c->lifetime) {
        return INT64_MAX;
    }
    return now + c->lifetime;
}

aw_result aw_nonce_cache_check(aw_nonce_cache *c, aw_span keyid, aw_span nonce, int64_t now)
{
    AW_ENSURE(cache_ready(c), AW_E_INVALID_ARG);
    uint8_t fp[FP_LEN];
    AW_GUARD(nonce_fingerprint(c, keyid, nonce, fp));
    bool found = false;
    size_t i = slot_find(c, fp, &found);
    AW_ENSURE(i != SIZE_MAX, AW_E_INTERNAL);
    /* An expired entry not yet reclaimed no longer counts. */
    if (found && c->expiry[c->slots[i].pos] >= now) {
        return AW_E_REPLAY;
    }
    return AW_OK;
}

aw_result aw_nonce_cache_use(aw_nonce_cache *c, aw_span keyid, aw_span nonce, int64_t now)
{
    AW_ENSURE(cache_ready(c), AW_E_INVALID_ARG);
    uint8_t fp[FP_LEN];
    AW_GUARD(nonce_fingerprint(c, keyid, nonce, fp));

    reclaim_expired(c, now);
    bool found = false;
    size_t i = slot_find(c, fp, &found);
    AW_ENSURE(i != SIZE_MAX, AW_E_INTERNAL);
    if (found) {
        uint32_t pos = c->slots[i].pos;
        if (c->expiry[pos] >= now) {
            return AW_E_REPLAY;
        }
        /* Expired but shielded by an unexpired head (the clock stepped back): renew in place.
         * It keeps its FIFO place, so it is reclaimed once it and everything ahead expired. */
        c->expiry[pos] = expiry_for(c, now);
        return AW_OK;
    }
    /* Fail closed: forgetting a live nonce would reopen a replay. */
    AW_ENSURE(c->live < c->capacity, AW_E_BUSY);

    uint32_t pos = (uint32_t)(((size_t)c->fifo_head + c->live) % c->capacity);
    memcpy(c->slots[i].fp, fp, FP_LEN);
    c->slots[i].pos = pos;
    c->fifo[pos] = (uint32_t)i;
    c->expiry[pos] = expiry_for(c, now);
    c->live++;
    return AW_OK;
}

/* ---- sequence window ------------------------------------------------------------------
 *
 * RFC 6479 / WireGuard counter_validate, with an exact window: bit (seq % 8192) of the ring
 * of 128 words records seq, for every seq in [top - 8191, top]. Each bit position belongs
 * to exactly one number of the window, so when top moves up by d, the d positions of the
 * numbers entering the window (top+1 .. top+d) are cleared, which is also where the numbers
 * leaving it lived. RFC 6479 clears whole words and keeps one redundant word instead, which
 * makes the edge depend on alignment (WireGuard: 8128 to 8191 numbers); clearing at bit
 * granularity costs a mask per end and makes the edge exactly 8192 numbers wide. */

#define SEQ_WORDS (AW_SEQ_WINDOW_BITS / 64)

_Static_assert((AW_SEQ_WINDOW_BITS & (AW_SEQ_WINDOW_BITS - 1)) == 0, "window is a power of 2");

static size_t seq_word(uint64_t seq)
{
    return (size_t)((seq / 64) % SEQ_WORDS);
}

static uint64_t seq_bit(uint64_t seq)
{
    return (uint64_t)1 << (seq % 64);
}

void aw_seq_window_init(aw_seq_window *w, uint64_t high_water)
{
    w->top = high_water;
    /* Mark the whole window used: which of the numbers up to high_water were accepted before
     * the crash is unknown. Positions of numbers below 1 are cleared before they are reused. */
    memset(w->bitmap, high_water == 0 ? 0x00 : 0xff, sizeof(w->bitmap));
}

aw_result aw_seq_check(const aw_seq_window *w, uint64_t seq)
{
    AW_ENSURE(w != NULL, AW_E_INVALID_ARG);
    /* 0 is never valid: a zeroed window has top 0, and 0 would otherwise look fresh. */
    AW_ENSURE(seq != 0, AW_E_SEQ_TOO_OLD);
    if (seq > w->top) {
        return AW_OK;
    }
    /* top - seq cannot wrap here (seq <= top); seq + 8192 could. */
    AW_ENSURE(w->top - seq < AW_SEQ_WINDOW_BITS, AW_E_SEQ_TOO_OLD);
    if ((w->bitmap[seq_word(seq)] & seq_bit(seq)) != 0) {
        return AW_E_SEQ_REPLAY;
    }
    return AW_OK;
}

/* Clears the positions of count numbers from first on (1 <= count < 8192); at most
 * SEQ_WORDS + 1 iterations, one mask per word. */
static void seq_clear(aw_seq_window *w, uint64_t first, uint64_t count)
{
    for (size_t n = 0; n <= SEQ_WORDS && count > 0; n++) {
        unsigned offset = (unsigned)(first % 64);
        uint64_t room = 64 - offset;
        uint64_t take = count < room ? count : room;
        uint64_t mask = take == 64 ? UINT64_MAX : (((uint64_t)1 << take) - 1) << offset;
        w->bitmap[seq_word(first)] &= ~mask;
        first += take; /* may wrap to 0 only after the last word, when seq == UINT64_MAX */
        count -= take;
    }
}

aw_result aw_seq_accept(aw_seq_window *w, uint64_t seq)
{
    AW_GUARD(aw_seq_check(w, seq));
    if (seq > w->top) {
        uint64_t advance = seq - w->top;
        if (advance >= AW_SEQ_WINDOW_BITS) {
            /* A jump of a whole window or more: nothing of the old window survives. */
            memset(w->bitmap, 0, sizeof(w->bitmap));
        } else {
            seq_clear(w, w->top + 1, advance);
        }
        w->top = seq;
    }
    w->bitmap[seq_word(seq)] |= seq_bit(seq);
    return AW_OK;
}

/* ---- challenges -----------------------------------------------------------------------
 *
 * raw = 0x01 | issued-at (u64 big endian) | 16 random bytes | HMAC-SHA-256(key, raw[0..25))
 * truncated to 16 bytes (a 128-bit tag: forging one takes 2^128 tries on average). */

#define CHALLENGE_VERSION  0x01
#define CHALLENGE_BODY_LEN 25
#define CHALLENGE_TAG_LEN  16

_Static_assert(CHALLENGE_BODY_LEN + CHALLENGE_TAG_LEN == AW_CHALLENGE_RAW_LEN, "raw layout");
_Static_assert((AW_CHALLENGE_RAW_LEN * 8 + 5) / 6 == AW_CHALLENGE_TEXT_LEN, "text length");

static void put_be64(uint8_t out[8], uint64_t v)
{
    for (size_t i = 0; i < 8; i++) {
        out[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

static uint64_t get_be64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        v = v << 8 | in[i];
    }
    return v;
}

/* Two's complement u64 -> i64 without implementation-defined conversion. */
static int64_t i64_from_u64(uint64_t u)
{
    if (u <= (uint64_t)INT64_MAX) {
        return (int64_t)u;
    }
    return -(int64_t)(~u) - 1;
}

aw_result aw_challenge_issue(aw_hmac_key *server_key, int64_t now, const uint8_t random[16],
                             char out[AW_CHALLENGE_TEXT_LEN + 1])
{
    AW_ENSURE(server_key != NULL && random != NULL && out != NULL, AW_E_INVALID_ARG);
    out[0] = '\0';
    uint8_t raw[AW_CHALLENGE_RAW_LEN];
    uint8_t mac[AW_HMAC_SHA256_LEN];
    raw[0] = CHALLENGE_VERSION;
    put_be64(raw + 1, (uint64_t)now);
    memcpy(raw + 9, random, 16);

    aw_result r = aw_hmac_sha256(server_key, raw, CHALLENGE_BODY_LEN, mac);
    if (r != AW_OK) {
        goto out;
    }
    memcpy(raw + CHALLENGE_BODY_LEN, mac, CHALLENGE_TAG_LEN);

    aw_writer w;
    aw_writer_init(&w, (uint8_t *)out, AW_CHALLENGE_TEXT_LEN);
    aw_writer_base64url(&w, raw, sizeof(raw));
    r = aw_writer_result(&w);
    if (r == AW_OK && w.len != AW_CHALLENGE_TEXT_LEN) {
        r = AW_E_INTERNAL;
    }
    out[r == AW_OK ? AW_CHALLENGE_TEXT_LEN : 0] = '\0';

out:
    /* The untruncated MAC is not published; keep it that way. */
    aw_wipe(mac, sizeof(mac));
    return r;
}

aw_result aw_challenge_redeem(aw_hmac_key *server_key, aw_span token, int64_t now, int64_t max_age,
                              aw_nonce_cache *used)
{
    AW_ENSURE(server_key != NULL && cache_ready(used), AW_E_INVALID_ARG);
    AW_ENSURE(max_age >= 0 && used->lifetime >= max_age, AW_E_INVALID_ARG);
    AW_ENSURE(token.ptr != NULL && token.len == AW_CHALLENGE_TEXT_LEN, AW_E_CHALLENGE_INVALID);

    uint8_t raw[AW_CHALLENGE_RAW_LEN];
    uint8_t mac[AW_HMAC_SHA256_LEN];
    size_t raw_len = 0;
    aw_result r = AW_E_CHALLENGE_INVALID;

    /* Strict decoding (zero pad bits) gives each raw challenge exactly one text. */
    if (aw_base64_decode(token, AW_BASE64_URL, raw, sizeof(raw), &raw_len) != AW_OK ||
        raw_len != AW_CHALLENGE_RAW_LEN) {
        r = AW_E_CHALLENGE_INVALID;
        goto out;
    }
    r = aw_hmac_sha256(server_key, raw, CHALLENGE_BODY_LEN, mac);
    if (r != AW_OK) {
        goto out;
    }
    /* The MAC first, in constant time; only authentic challenges reach the clock and the
     * cache, so forgeries can neither fill it nor learn anything from its answer. */
    if (!aw_ct_equal(mac, raw + CHALLENGE_BODY_LEN, CHALLENGE_TAG_LEN) ||
        raw[0] != CHALLENGE_VERSION) {
        r = AW_E_CHALLENGE_INVALID;
        goto out;
    }
    int64_t issued = i64_from_u64(get_be64(raw + 1));
    /* No future challenges (this server issued it, so a future one means its clock stepped
     * back); the age is computed in u64, where now - issued cannot overflow once issued <=
     * now. */
    if (issued > now || (uint64_t)now - (uint64_t)issued > (uint64_t)max_age) {
        r = AW_E_CHALLENGE_INVALID;
        goto out;
    }
    /* The authenticated body names the challenge; a NUL starts the scope so that no keyid a
     * peer can send (an RFC 8941 string) shares it. used->lifetime >= max_age keeps it
     * remembered for as long as it could pass the age check. */
    r = aw_nonce_cache_use(used, AW_SPAN_LIT("\0challenge"), (aw_span){raw, CHALLENGE_BODY_LEN},
                           now);
    if (r == AW_E_REPLAY) {
        r = AW_E_CHALLENGE_INVALID;
    }

out:
    aw_wipe(mac, sizeof(mac));
    return r;
}

/* ---- modes ---------------------------------------------------------------------------- */

static const char *const fresh_mode_names[] = {"timestamp", "sequence", "challenge"};

const char *aw_fresh_mode_name(aw_fresh_mode mode)
{
    size_t i = (size_t)mode;
    return i < sizeof(fresh_mode_names) / sizeof(fresh_mode_names[0]) ? fresh_mode_names[i] : NULL;
}

bool aw_fresh_mode_from_name(aw_span name, aw_fresh_mode *out)
{
    for (size_t i = 0; i < sizeof(fresh_mode_names) / sizeof(fresh_mode_names[0]); i++) {
        if (aw_span_eq(name, aw_span_cstr(fresh_mode_names[i]))) {
            *out = (aw_fresh_mode)i;
            return true;
        }
    }
    return false;
}
