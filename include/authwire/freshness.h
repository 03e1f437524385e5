/* authwire: freshness guards, pure and driven by a clock the caller passes in.
 *
 * Three guards, one per freshness mode of authwire/1 (docs/PROTOCOL.md):
 *  - aw_nonce_cache: timestamp + nonce. Remembers each (keyid, nonce) until it can no
 *    longer pass the timestamp check, O(1) per use, fixed memory chosen by the caller.
 *    Never forgets a live nonce: when full it refuses (AW_E_BUSY, fail closed).
 *  - aw_seq_window: per-key sequence numbers with an 8192-bit sliding anti-replay window
 *    (RFC 6479 / WireGuard style): out-of-order arrival inside the window is fine, twice is
 *    not.
 *  - aw_challenge: stateless server nonces (MAC'd time + random); single use is enforced
 *    through an aw_nonce_cache.
 * Callers update state only after the request's signature verified (check, verify, then
 * use/accept), so forged requests cannot fill or advance replay state. */
#ifndef AUTHWIRE_FRESHNESS_H
#define AUTHWIRE_FRESHNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/bytes.h"
#include "authwire/crypto.h"
#include "authwire/result.h"

/* How a user proves freshness (docs/PROTOCOL.md, Freshness). */
typedef enum aw_fresh_mode {
    AW_FRESH_TIMESTAMP = 0, /* created within the skew + a nonce seen once */
    AW_FRESH_SEQUENCE = 1,  /* Authwire-Seq strictly increasing, sliding window */
    AW_FRESH_CHALLENGE = 2, /* a server challenge as nonce, used once */
} aw_fresh_mode;

/* "timestamp", "sequence", "challenge"; NULL for a value out of range. */
const char *aw_fresh_mode_name(aw_fresh_mode mode);
/* Parses a mode name; false when unknown. */
bool aw_fresh_mode_from_name(aw_span name, aw_fresh_mode *out);

/* ---- timestamp + nonce ------------------------------------------------------------- */

typedef struct aw_nonce_slot aw_nonce_slot; /* private layout, see freshness.c */

/* Longest keyid and nonce aw_nonce_cache accepts, in bytes. */
#define AW_NONCE_CACHE_KEYID_MAX 256
#define AW_NONCE_CACHE_NONCE_MAX 256

/* Fields marked internal are private: read capacity, live and lifetime if you like, never
 * write any of them. */
typedef struct aw_nonce_cache {
    aw_nonce_slot *slots; /* internal: hash table of table_size slots, in the caller memory */
    int64_t *expiry;      /* internal: expiry of each FIFO entry, in the caller memory */
    uint32_t *fifo;       /* internal: slot index of each entry in insertion order */
    size_t capacity;      /* live nonces it can hold */
    size_t table_size;    /* internal: hash slots */
    size_t live;          /* nonces currently stored (live, or expired and not yet reclaimed) */
    int64_t lifetime;     /* seconds a nonce is remembered after its first use */
    uint32_t fifo_head;   /* internal: FIFO position of the oldest entry */
    uint8_t salt[16];     /* internal: keys the fingerprints so peers cannot aim at one bucket */
} aw_nonce_cache;

/* Bytes of caller memory a cache of capacity live nonces needs; 0 when capacity is 0 or
 * above 2^30. It is 42 * capacity + 20 bytes for an even capacity, 42 * capacity + 10 for an
 * odd one (see freshness.c). */
size_t aw_nonce_cache_bytes(size_t capacity);
/* Bytes of state per live nonce (memory / capacity), for the docs and the bench: 42 plus the
 * fixed part spread over the capacity, at most 52 (capacity 1 or 2). 0 for a bad capacity. */
double aw_nonce_cache_bytes_per_nonce(size_t capacity);

/* Initialises c over mem (at least aw_nonce_cache_bytes(capacity) bytes, 8-byte aligned;
 * the caller keeps it alive as long as c). A nonce first used at time t is remembered while
 * now <= t + lifetime (inclusive). For a skew s and a maximum age a, lifetime must be at
 * least s + a, since a request created at c is acceptable from c-s to c+a (aw_verify; with
 * authwire/1's defaults s = a = 30, so 60). salt is 16 random bytes.
 * AW_E_INVALID_ARG for capacity 0 or above 2^30, lifetime <= 0, mem NULL or not 8-byte
 * aligned; AW_E_BUFFER_TOO_SMALL when mem_len is too small. Not thread-safe: one cache is
 * used by one thread at a time. */
aw_result aw_nonce_cache_init(aw_nonce_cache *c, void *mem, size_t mem_len, size_t capacity,
                              int64_t lifetime, const uint8_t salt[16]) AW_MUST_CHECK;

/* Whether (keyid, nonce) was used and is still remembered at time now: AW_OK when unseen,
 * AW_E_REPLAY when seen. Does not change state. AW_E_NONCE_INVALID for an empty nonce or one
 * longer than AW_NONCE_CACHE_NONCE_MAX; AW_E_INVALID_ARG for a keyid longer than
 * AW_NONCE_CACHE_KEYID_MAX. keyid may be empty. */
aw_result aw_nonce_cache_check(aw_nonce_cache *c, aw_span keyid, aw_span nonce,
                               int64_t now) AW_MUST_CHECK;

/* Records (keyid, nonce) as used at time now. AW_OK when it was unseen; AW_E_REPLAY when
 * already remembered; AW_E_BUSY when every slot holds a live nonce (fail closed). Expired
 * entries are reclaimed oldest first as it goes (amortised O(1)). Input errors as
 * aw_nonce_cache_check, and then nothing changes. If the clock steps backwards, entries
 * stay remembered at least until their expiry; while the oldest entry is unexpired nothing
 * behind it is reclaimed, so the cache may answer AW_E_BUSY early, never forget. */
aw_result aw_nonce_cache_use(aw_nonce_cache *c, aw_span keyid, aw_span nonce,
                             int64_t now) AW_MUST_CHECK;

/* ---- sequence numbers ---------------------------------------------------------------- */

#define AW_SEQ_WINDOW_BITS 8192

typedef struct aw_seq_window {
    uint64_t top; /* highest accepted sequence number (or restored high-water mark), 0 before */
    uint64_t bitmap[AW_SEQ_WINDOW_BITS / 64]; /* internal: bit seq % 8192 for top-8191..top */
} aw_seq_window;

/* Starts a window whose highest accepted number is high_water (0 for a new key). After a
 * crash, restore the persisted high-water mark: every number at or below it is refused,
 * since which of them were used is unknown (fail closed): AW_E_SEQ_REPLAY inside the window,
 * AW_E_SEQ_TOO_OLD left of it. A zero-filled aw_seq_window equals aw_seq_window_init(w, 0).
 *
 * The window is exact, whatever the alignment: with top the highest accepted number, seq is
 * acceptable when seq > top, or when top - 8191 <= seq <= top and seq was not accepted;
 * seq <= top - 8192 is AW_E_SEQ_TOO_OLD. UINT64_MAX is a valid (the last) number. */
void aw_seq_window_init(aw_seq_window *w, uint64_t high_water);

/* AW_OK when seq may be accepted; AW_E_SEQ_REPLAY when already accepted; AW_E_SEQ_TOO_OLD
 * when seq is 0 or left of the window. Does not change state. */
aw_result aw_seq_check(const aw_seq_window *w, uint64_t seq) AW_MUST_CHECK;

/* Checks as aw_seq_check, then marks seq accepted (sliding the window on a jump). */
aw_result aw_seq_accept(aw_seq_window *w, uint64_t seq) AW_MUST_CHECK;

/* ---- challenge nonces ---------------------------------------------------------------- */

/* A challenge is base64url (no padding) of: version 0x01 | issued-at (8 bytes, big endian
 * seconds) | 16 random bytes | first 16 bytes of HMAC-SHA-256(server key, the 25 bytes
 * before). */
#define AW_CHALLENGE_RAW_LEN  41
#define AW_CHALLENGE_TEXT_LEN 55

/* Writes a challenge issued at now into out (AW_CHALLENGE_TEXT_LEN chars + NUL).
 * random is 16 fresh random bytes from the caller. */
aw_result aw_challenge_issue(aw_hmac_key *server_key, int64_t now, const uint8_t random[16],
                             char out[AW_CHALLENGE_TEXT_LEN + 1]) AW_MUST_CHECK;

/* Checks that token is a challenge this server issued, not older than max_age and not in
 * the future (0 <= now - issued <= max_age), and records it in used so that it passes once.
 * Returns AW_OK or AW_E_CHALLENGE_INVALID (forged, malformed, expired, or already used),
 * AW_E_BUSY when used is full, AW_E_INVALID_ARG when max_age < 0 or used->lifetime < max_age
 * (the cache would forget a token that can still pass), AW_E_CRYPTO from the backend.
 * Verifies the MAC (constant time) before touching used. Entries go into used under a
 * keyid scope that no RFC 8941 string can spell ("\0challenge"), so used may be shared with
 * the request nonce cache. server_key should be a key used for nothing else. */
aw_result aw_challenge_redeem(aw_hmac_key *server_key, aw_span token, int64_t now, int64_t max_age,
                              aw_nonce_cache *used) AW_MUST_CHECK;

#endif
