/* src/store, enrollment and rotation: invites added, read, listed, revoked and redeemed
 * (every failure code, expiry at the boundary, name collisions, a redeem rolled back),
 * sealing of the invite PSK against altered rows, the race of many processes redeeming one
 * invite at once (exactly one wins), the pending next key of a user (set, promote), and the
 * in-place upgrade of a version-1 database (atomic, and safe when several processes open it
 * at once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authwire/crypto.h"
#include "check.h"
#include "fixture.h"
#include "store.h"

#define T0 1700000000 /* a creation time */

/* An invite for name with id and PSK made from fill, valid from created for ttl seconds. */
static aw_invite make_invite(const char *name, uint8_t fill, int64_t created, int64_t ttl)
{
    aw_invite inv;
    memset(&inv, 0, sizeof(inv));
    memset(inv.id, fill, sizeof(inv.id));
    inv.id[0] = 0x1d;
    snprintf(inv.name, sizeof(inv.name), "%s", name);
    inv.alg = AW_ALG_HMAC_SHA256;
    inv.mode = AW_FRESH_TIMESTAMP;
    for (size_t i = 0; i < sizeof(inv.psk); i++) {
        inv.psk[i] = (uint8_t)(fill + i);
    }
    inv.created_at = created;
    inv.expires_at = created + ttl;
    return inv;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

/* "x'<hex>'" of an invite id, for SQL. */
static const char *id_sql(const uint8_t id[AW_INVITE_ID_LEN])
{
    static char out[2][2 * AW_INVITE_ID_LEN + 4];
    static int which;
    which ^= 1;
    char *p = out[which];
    p += sprintf(p, "x'");
    for (size_t i = 0; i < AW_INVITE_ID_LEN; i++) {
        p += sprintf(p, "%02x", id[i]);
    }
    sprintf(p, "'");
    return out[which];
}

/* Runs an UPDATE of one invite row: "UPDATE invites SET <set> WHERE id = <id>". */
static void invite_sql(const char *data, const uint8_t *id, const char *set)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "UPDATE invites SET %s WHERE id = %s", set, id_sql(id));
    aw_test_db_exec(data, sql);
}

static int64_t psk_column_len(const char *data, const uint8_t *id)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT length(sealed_psk) FROM invites WHERE id = %s", id_sql(id));
    return aw_test_db_int(data, sql);
}

typedef struct invite_list {
    aw_invite items[16];
    size_t n;
    bool psk_seen;
} invite_list;

static aw_result collect_invite(const aw_invite *inv, void *arg)
{
    invite_list *l = arg;
    if (l->n < 16) {
        l->items[l->n++] = *inv;
    }
    l->psk_seen |= !all_zero(inv->psk, sizeof(inv->psk));
    return AW_OK;
}

static aw_result stop_invite(const aw_invite *inv, void *arg)
{
    (void)inv;
    (*(int *)arg)++;
    return AW_E_CONFLICT;
}

static const uint8_t confirm_hash[AW_SHA256_LEN] = {0xc0, 0xf1, 0x23, 0x45};
static const uint8_t done_frame[] = {1, 4, 'd', 'o', 'n', 'e'};

static aw_result redeem(aw_store *s, const aw_invite *inv, const aw_user *u, int64_t now)
{
    return aw_store_invite_redeem(s, inv->id, u, confirm_hash, done_frame, sizeof(done_frame), now);
}

static void test_add_get_list_revoke(const char *data, aw_store *s)
{
    aw_invite alice = make_invite("alice", 0xa1, T0, 3600);
    aw_invite got;

    CHECK_OK(aw_store_invite_add(s, &alice));
    CHECK_OK(aw_store_invite_get(s, alice.id, &got));
    CHECK(memcmp(got.id, alice.id, sizeof(got.id)) == 0 && strcmp(got.name, "alice") == 0 &&
          got.alg == AW_ALG_HMAC_SHA256 && got.mode == AW_FRESH_TIMESTAMP &&
          memcmp(got.psk, alice.psk, sizeof(got.psk)) == 0 && got.created_at == T0 &&
          got.expires_at == T0 + 3600 && got.used_at == 0 && got.revoked_at == 0 &&
          got.done_len == 0);
    aw_invite_wipe(&got);
    CHECK(all_zero(got.psk, sizeof(got.psk)));
    /* The PSK is not in the database in clear. */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT instr(sealed_psk, x'a2a3a4a5a6a7a8a9') FROM invites WHERE "
             "id = %s",
             id_sql(alice.id));
    CHECK(aw_test_db_int(data, sql) == 0);
    CHECK(psk_column_len(data, alice.id) == AW_ENROLL_KEY_LEN + AW_AEAD_OVERHEAD);

    /* Collisions: the same id; another pending invite for the name; a user of the name,
     * revoked users included. */
    aw_invite again = make_invite("zoe", 0xa1, T0, 60);
    CHECK_RESULT(aw_store_invite_add(s, &again), AW_E_EXISTS);
    again = make_invite("alice", 0xa2, T0 + 10, 60);
    CHECK_RESULT(aw_store_invite_add(s, &again), AW_E_EXISTS);
    aw_user bob = aw_test_user("bob", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xb0);
    aw_user carol = aw_test_user("carol", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xc0);
    CHECK_OK(aw_store_user_add(s, &bob));
    CHECK_OK(aw_store_user_add(s, &carol));
    CHECK_OK(aw_store_user_revoke(s, "carol", T0));
    aw_invite for_bob = make_invite("bob", 0xb1, T0, 60);
    CHECK_RESULT(aw_store_invite_add(s, &for_bob), AW_E_EXISTS);
    aw_invite for_carol = make_invite("carol", 0xc1, T0, 60);
    CHECK_RESULT(aw_store_invite_add(s, &for_carol), AW_E_EXISTS);
    CHECK_RESULT(aw_store_invite_get(s, for_bob.id, &got), AW_E_INVITE_UNKNOWN);
    /* An invite for alice made once the first expired is fine: expiry is at created_at. */
    again = make_invite("alice", 0xa3, T0 + 3600, 60);
    CHECK_OK(aw_store_invite_add(s, &again));
    aw_invite later = make_invite("alice", 0xa4, T0 + 3599, 60);
    CHECK_RESULT(aw_store_invite_add(s, &later), AW_E_EXISTS);

    /* Invalid invites are refused before anything is stored. */
    aw_invite bad = make_invite("-bad", 0xe0, T0, 60);
    CHECK_RESULT(aw_store_invite_add(s, &bad), AW_E_INVALID_ARG);
    bad = make_invite("edgar", 0xe1, T0, 60);
    bad.alg = AW_ALG_NONE;
    CHECK_RESULT(aw_store_invite_add(s, &bad), AW_E_INVALID_ARG);
    bad = make_invite("edgar", 0xe2, T0, 60);
    bad.mode = (aw_fresh_mode)7;
    CHECK_RESULT(aw_store_invite_add(s, &bad), AW_E_INVALID_ARG);
    bad = make_invite("edgar", 0xe3, 0, 60);
    CHECK_RESULT(aw_store_invite_add(s, &bad), AW_E_INVALID_ARG);
    bad = make_invite("edgar", 0xe4, T0, 0);
    CHECK_RESULT(aw_store_invite_add(s, &bad), AW_E_INVALID_ARG);
    bad = make_invite("edgar", 0xe5, T0, 60);
    bad.used_at = T0;
    CHECK_RESULT(aw_store_invite_add(s, &bad), AW_E_INVALID_ARG);
    bad = make_invite("edgar", 0xe6, T0, 60);
    bad.revoked_at = T0;
    CHECK_RESULT(aw_store_invite_add(s, &bad), AW_E_INVALID_ARG);
    bad = make_invite("edgar", 0xe7, T0, 60);
    bad.done_len = 1;
    CHECK_RESULT(aw_store_invite_add(s, &bad), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_invite_add(s, NULL), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_invite_get(s, bad.id, &got), AW_E_INVITE_UNKNOWN);
    CHECK_RESULT(aw_store_invite_get(s, NULL, &got), AW_E_INVALID_ARG);

    /* List: newest first, no PSK. */
    aw_invite mid = make_invite("dora", 0xd0, T0 + 1000, 60);
    CHECK_OK(aw_store_invite_add(s, &mid));
    invite_list l;
    memset(&l, 0, sizeof(l));
    CHECK_OK(aw_store_invite_list(s, collect_invite, &l));
    CHECK(l.n == 3 && !l.psk_seen);
    CHECK(l.n == 3 && l.items[0].created_at == T0 + 3600 && strcmp(l.items[1].name, "dora") == 0 &&
          l.items[1].created_at == T0 + 1000 && l.items[2].created_at == T0 &&
          l.items[2].expires_at == T0 + 3600);
    int calls = 0;
    CHECK_RESULT(aw_store_invite_list(s, stop_invite, &calls), AW_E_CONFLICT);
    CHECK(calls == 1);
    memset(&l, 0, sizeof(l));
    CHECK_OK(aw_store_invite_list(s, collect_invite, &l));
    CHECK(l.n == 3);

    /* Revoke: the PSK goes, the first time stays, a new invite for the name may follow. */
    uint64_t g0, g1;
    CHECK_OK(aw_store_users_generation(s, &g0));
    CHECK_OK(aw_store_invite_revoke(s, mid.id, T0 + 1010));
    CHECK_OK(aw_store_invite_revoke(s, mid.id, T0 + 1020));
    CHECK_OK(aw_store_invite_get(s, mid.id, &got));
    CHECK(got.revoked_at == T0 + 1010 && got.used_at == 0 && all_zero(got.psk, sizeof(got.psk)));
    CHECK(psk_column_len(data, mid.id) == 0);
    CHECK_OK(aw_store_users_generation(s, &g1));
    CHECK(g1 == g0); /* invites are not users */
    aw_invite dora2 = make_invite("dora", 0xd1, T0 + 1011, 60);
    CHECK_OK(aw_store_invite_add(s, &dora2));
    CHECK_RESULT(aw_store_invite_revoke(s, bad.id, T0), AW_E_INVITE_UNKNOWN);
    CHECK_RESULT(aw_store_invite_revoke(s, dora2.id, 0), AW_E_INVALID_ARG);
    /* An expired invite can still be revoked (it then lists as revoked). */
    CHECK_OK(aw_store_invite_revoke(s, alice.id, T0 + 7200));
    CHECK_OK(aw_store_invite_get(s, alice.id, &got));
    CHECK(got.revoked_at == T0 + 7200);
}

/* aw_store_invite_issue (what `authwire invite` and the attack harness make invites with):
 * the token carries the stored id, the fingerprint given and a secret whose PSK is the one
 * sealed in the store; the caller's copy of the PSK is wiped; a taken name fails with the
 * token text wiped. */
static void test_issue(aw_store *s)
{
    uint8_t fp[AW_ENROLL_FP_LEN], psk[AW_ENROLL_KEY_LEN];
    memset(fp, 0xf9, sizeof(fp));
    aw_invite inv;
    memset(&inv, 0, sizeof(inv));
    snprintf(inv.name, sizeof(inv.name), "%s", "issued");
    inv.alg = AW_ALG_ED25519;
    inv.mode = AW_FRESH_SEQUENCE;
    inv.created_at = T0;
    inv.expires_at = T0 + 100;
    char text[AW_ENROLL_TOKEN_TEXT];
    CHECK_OK(aw_store_invite_issue(s, &inv, fp, text));
    CHECK(all_zero(inv.psk, sizeof(inv.psk)));
    aw_enroll_token t;
    CHECK_OK(aw_enroll_token_decode(text, strlen(text), &t));
    CHECK(memcmp(t.invite_id, inv.id, sizeof(inv.id)) == 0);
    CHECK(memcmp(t.fingerprint, fp, sizeof(fp)) == 0);
    CHECK_OK(aw_enroll_invite_psk(t.invite_id, t.secret, psk));
    aw_invite got;
    CHECK_OK(aw_store_invite_get(s, inv.id, &got));
    CHECK(memcmp(got.psk, psk, sizeof(psk)) == 0);
    CHECK(strcmp(got.name, "issued") == 0 && got.alg == AW_ALG_ED25519 &&
          got.mode == AW_FRESH_SEQUENCE && got.expires_at == T0 + 100 && got.used_at == 0);
    aw_invite_wipe(&got);
    aw_wipe(&t, sizeof(t));
    /* A second invite for the same pending name: refused, nothing handed out. */
    aw_invite again = inv;
    CHECK_RESULT(aw_store_invite_issue(s, &again, fp, text), AW_E_EXISTS);
    CHECK(all_zero((const uint8_t *)text, sizeof(text)));
    CHECK_OK(aw_store_invite_revoke(s, inv.id, T0 + 1));
}

static void test_redeem(const char *data, aw_store *s, aw_store *other)
{
    aw_invite inv = make_invite("erin", 0xe8, T0, 100);
    aw_user erin = aw_test_user("erin", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xe9);
    aw_invite got;
    aw_user u;
    uint64_t g0, g1, seen;

    CHECK_OK(aw_store_invite_add(s, &inv));
    CHECK_OK(aw_store_users_generation(s, &g0));

    /* The user must be the one invited. */
    aw_user wrong = aw_test_user("erin2", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xe9);
    CHECK_RESULT(redeem(s, &inv, &wrong, T0 + 1), AW_E_INVALID_ARG);
    wrong = erin;
    wrong.alg = AW_ALG_ED25519;
    CHECK_RESULT(redeem(s, &inv, &wrong, T0 + 1), AW_E_INVALID_ARG);
    wrong = erin;
    wrong.mode = AW_FRESH_SEQUENCE;
    CHECK_RESULT(redeem(s, &inv, &wrong, T0 + 1), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_user_get(s, "erin2", &u), AW_E_NOT_FOUND);
    /* Arguments. */
    wrong = erin;
    wrong.key_len = 15;
    CHECK_RESULT(redeem(s, &inv, &wrong, T0 + 1), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_invite_redeem(s, inv.id, &erin, confirm_hash, done_frame, 0, T0 + 1),
                 AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_invite_redeem(s, inv.id, &erin, confirm_hash, done_frame,
                                        AW_ENROLL_DONE_MAX + 1, T0 + 1),
                 AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_invite_redeem(s, inv.id, &erin, NULL, done_frame, 1, T0 + 1),
                 AW_E_INVALID_ARG);
    CHECK_RESULT(redeem(s, &inv, &erin, 0), AW_E_INVALID_ARG);
    aw_invite unknown = make_invite("erin", 0x77, T0, 100);
    CHECK_RESULT(redeem(s, &unknown, &erin, T0 + 1), AW_E_INVITE_UNKNOWN);
    /* Expired at the boundary: expires_at itself is too late. */
    CHECK_RESULT(redeem(s, &inv, &erin, T0 + 100), AW_E_INVITE_EXPIRED);
    CHECK_RESULT(redeem(s, &inv, &erin, T0 + 5000), AW_E_INVITE_EXPIRED);
    /* None of that touched the invite or the users. */
    CHECK_OK(aw_store_invite_get(s, inv.id, &got));
    CHECK(got.used_at == 0 && memcmp(got.psk, inv.psk, sizeof(got.psk)) == 0);
    CHECK_RESULT(aw_store_user_get(s, "erin", &u), AW_E_NOT_FOUND);
    CHECK_OK(aw_store_users_generation(s, &g1));
    CHECK(g1 == g0);

    /* One second before expiry: committed, user and invite together. */
    CHECK_OK(redeem(s, &inv, &erin, T0 + 99));
    CHECK_OK(aw_store_user_get(other, "erin", &u));
    CHECK(u.key_len == 32 && memcmp(u.key, erin.key, 32) == 0 && u.created_at == T0 &&
          u.alg == AW_ALG_HMAC_SHA256 && u.mode == AW_FRESH_TIMESTAMP);
    aw_user_wipe(&u);
    CHECK_OK(aw_store_invite_get(other, inv.id, &got));
    CHECK(got.used_at == T0 + 99 && memcmp(got.confirm_hash, confirm_hash, 32) == 0 &&
          got.done_len == sizeof(done_frame) &&
          memcmp(got.done, done_frame, sizeof(done_frame)) == 0 &&
          all_zero(got.psk, sizeof(got.psk)));
    CHECK(psk_column_len(data, inv.id) == 0); /* a used invite keeps no secret */
    CHECK_OK(aw_store_users_generation(other, &seen));
    CHECK(seen != g0);
    /* Used: whatever else holds (later than expiry, another user), USED comes first. */
    CHECK_RESULT(redeem(other, &inv, &erin, T0 + 50), AW_E_INVITE_USED);
    CHECK_RESULT(redeem(other, &inv, &erin, T0 + 5000), AW_E_INVITE_USED);
    wrong = aw_test_user("erin2", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xe9);
    CHECK_RESULT(redeem(other, &inv, &wrong, T0 + 50), AW_E_INVITE_USED);
    CHECK_RESULT(aw_store_invite_revoke(s, inv.id, T0 + 60), AW_E_INVITE_USED);
    CHECK_OK(aw_store_invite_get(s, inv.id, &got));
    CHECK(got.revoked_at == 0 && got.used_at == T0 + 99);

    /* Revoked: REVOKED, before EXPIRED. */
    aw_invite rev = make_invite("fay", 0xf0, T0, 100);
    aw_user fay = aw_test_user("fay", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xf1);
    CHECK_OK(aw_store_invite_add(s, &rev));
    CHECK_OK(aw_store_invite_revoke(s, rev.id, T0 + 1));
    CHECK_RESULT(redeem(s, &rev, &fay, T0 + 2), AW_E_INVITE_REVOKED);
    CHECK_RESULT(redeem(s, &rev, &fay, T0 + 500), AW_E_INVITE_REVOKED);
    CHECK_RESULT(aw_store_user_get(s, "fay", &u), AW_E_NOT_FOUND);

    /* The name was taken after the invite was made: rolled back, the invite untouched and
     * still usable once the name is free again. */
    aw_invite gus_inv = make_invite("gus", 0x60, T0, 100);
    aw_user gus = aw_test_user("gus", AW_ALG_ED25519, AW_FRESH_CHALLENGE, 0x61);
    gus_inv.alg = AW_ALG_ED25519;
    gus_inv.mode = AW_FRESH_CHALLENGE;
    CHECK_OK(aw_store_invite_add(s, &gus_inv));
    aw_user squatter = aw_test_user("gus", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0x62);
    CHECK_OK(aw_store_user_add(other, &squatter));
    CHECK_OK(aw_store_users_generation(s, &g0));
    CHECK_RESULT(redeem(s, &gus_inv, &gus, T0 + 10), AW_E_EXISTS);
    CHECK_OK(aw_store_users_generation(s, &g1));
    CHECK(g1 == g0);
    CHECK_OK(aw_store_invite_get(s, gus_inv.id, &got));
    CHECK(got.used_at == 0 && got.done_len == 0 &&
          memcmp(got.psk, gus_inv.psk, sizeof(got.psk)) == 0);
    CHECK_OK(aw_store_user_get(s, "gus", &u));
    CHECK(u.alg == AW_ALG_HMAC_SHA256 && u.key[0] == 0x62); /* the squatter's row, intact */
    aw_user_wipe(&u);
    aw_test_db_exec(data, "DELETE FROM users WHERE name = 'gus'");
    CHECK_OK(redeem(s, &gus_inv, &gus, T0 + 11));
    CHECK_OK(aw_store_user_get(s, "gus", &u));
    CHECK(u.alg == AW_ALG_ED25519 && u.mode == AW_FRESH_CHALLENGE && u.key[0] == 0x61);
    aw_user_wipe(&u);
}

static void test_sealing(const char *data, aw_store *s)
{
    aw_invite inv = make_invite("hal", 0x70, T0, 100);
    aw_invite other_inv = make_invite("ida", 0x71, T0, 100);
    aw_invite got;
    char set[256];

    CHECK_OK(aw_store_invite_add(s, &inv));
    CHECK_OK(aw_store_invite_add(s, &other_inv));
    CHECK_OK(aw_store_invite_get(s, inv.id, &got));

    /* Each field in the associated data, altered then restored. */
    static const struct {
        const char *alter, *restore;
    } fields[] = {
        {"name = 'hax'", "name = 'hal'"},
        {"alg = 3 - alg", "alg = 3 - alg"}, /* hmac-sha256 <-> ed25519 */
        {"mode = mode + 1", "mode = mode - 1"},
        {"created_at = created_at - 1", "created_at = created_at + 1"},
        {"expires_at = expires_at + 86400", "expires_at = expires_at - 86400"},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        invite_sql(data, inv.id, fields[i].alter);
        CHECK_RESULT(aw_store_invite_get(s, inv.id, &got), AW_E_CORRUPT);
        CHECK(all_zero(got.psk, sizeof(got.psk)));
        CHECK_MSG(strstr(aw_store_last_error(s), "does not unseal") != NULL, "after %s: %s",
                  fields[i].alter, aw_store_last_error(s));
        invite_sql(data, inv.id, fields[i].restore);
        CHECK_OK(aw_store_invite_get(s, inv.id, &got));
        CHECK(memcmp(got.psk, inv.psk, sizeof(got.psk)) == 0);
    }
    /* The row moved under another id. */
    uint8_t moved[AW_INVITE_ID_LEN];
    memset(moved, 0x72, sizeof(moved));
    snprintf(set, sizeof(set), "id = %s", id_sql(moved));
    invite_sql(data, inv.id, set);
    CHECK_RESULT(aw_store_invite_get(s, moved, &got), AW_E_CORRUPT);
    snprintf(set, sizeof(set), "id = %s", id_sql(inv.id));
    invite_sql(data, moved, set);
    CHECK_OK(aw_store_invite_get(s, inv.id, &got));
    /* Another invite's sealed PSK copied over this one's. */
    snprintf(set, sizeof(set), "sealed_psk = (SELECT sealed_psk FROM invites WHERE id = %s)",
             id_sql(other_inv.id));
    invite_sql(data, inv.id, set);
    CHECK_RESULT(aw_store_invite_get(s, inv.id, &got), AW_E_CORRUPT);
    /* A pending invite without its PSK; a flipped PSK. */
    invite_sql(data, other_inv.id, "sealed_psk = x''");
    CHECK_RESULT(aw_store_invite_get(s, other_inv.id, &got), AW_E_CORRUPT);
    invite_sql(data, other_inv.id, "sealed_psk = zeroblob(60)");
    CHECK_RESULT(aw_store_invite_get(s, other_inv.id, &got), AW_E_CORRUPT);
    /* Values no authwire wrote: used without its proof, proof while unused, a spent
     * invite holding a PSK, a short id. */
    aw_invite v = make_invite("jon", 0x73, T0, 100);
    CHECK_OK(aw_store_invite_add(s, &v));
    invite_sql(data, v.id, "used_at = 5");
    CHECK_RESULT(aw_store_invite_get(s, v.id, &got), AW_E_CORRUPT);
    invite_sql(data, v.id, "used_at = 0, confirm_hash = zeroblob(32)");
    CHECK_RESULT(aw_store_invite_get(s, v.id, &got), AW_E_CORRUPT);
    invite_sql(data, v.id, "confirm_hash = x'', revoked_at = 5");
    CHECK_RESULT(aw_store_invite_get(s, v.id, &got), AW_E_CORRUPT);
    invite_sql(data, v.id, "revoked_at = 0");
    CHECK_OK(aw_store_invite_get(s, v.id, &got));
    invite_sql(data, v.id, "mode = 9");
    CHECK_RESULT(aw_store_invite_get(s, v.id, &got), AW_E_CORRUPT);
    invite_list l;
    memset(&l, 0, sizeof(l));
    CHECK_RESULT(aw_store_invite_list(s, collect_invite, &l), AW_E_CORRUPT);

    /* A stolen database with another master key: no PSK comes out. */
    aw_invite kit = make_invite("kit", 0x74, T0, 100);
    CHECK_OK(aw_store_invite_add(s, &kit));
    CHECK_OK(aw_store_invite_get(s, kit.id, &got));
    const char *stolen = aw_test_path("stolen-inv");
    const char *fresh = aw_test_path("fresh-inv");
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s' '%s' && cp '%s/authwire.db' '%s/authwire.db-wal' '%s/'", stolen, fresh,
             data, data, stolen);
    aw_test_run(cmd);
    CHECK_OK(aw_store_create(fresh));
    snprintf(cmd, sizeof(cmd), "cp -p '%s/master.key' '%s/'", fresh, stolen);
    aw_test_run(cmd);
    aw_store *t = NULL;
    CHECK_OK(aw_store_open(stolen, &t));
    if (t != NULL) {
        CHECK_RESULT(aw_store_invite_get(t, kit.id, &got), AW_E_CORRUPT);
        CHECK(all_zero(got.psk, sizeof(got.psk)));
        aw_store_close(t);
    }
}

/* ---- the race: N processes, each with its own aw_store, redeem one invite at once ---- */

#define RACERS 12

static void race_round(const char *data, uint8_t fill)
{
    char name[32];
    snprintf(name, sizeof(name), "racer%02x", fill);
    aw_invite inv = make_invite(name, fill, T0, 100);
    aw_store *s = NULL;
    aw_test_barrier barrier;
    pid_t pids[RACERS];
    int ok = 0, used = 0, other = 0;

    CHECK_OK(aw_store_open(data, &s));
    if (s == NULL) {
        return;
    }
    CHECK_OK(aw_store_invite_add(s, &inv));
    aw_test_barrier_init(&barrier);
    fflush(NULL);
    for (int i = 0; i < RACERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            /* Each racer: its own connection, its own key and DONE, then the barrier. */
            aw_store *mine = NULL;
            aw_user u =
                aw_test_user(name, AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, (uint8_t)(i + 1));
            uint8_t done[8] = {(uint8_t)(i + 1)};
            aw_result r = aw_store_open(data, &mine);
            aw_test_barrier_wait(&barrier);
            if (r == AW_OK) {
                r = aw_store_invite_redeem(mine, inv.id, &u, confirm_hash, done, sizeof(done),
                                           T0 + 1);
            }
            if (r != AW_OK && r != AW_E_INVITE_USED) {
                fprintf(stderr, "racer %d: %s: %s\n", i, aw_result_name(r),
                        mine != NULL ? aw_store_last_error(mine) : "");
            }
            aw_store_close(mine);
            _exit(r == AW_OK ? 0 : r == AW_E_INVITE_USED ? 10 : 20);
        }
        CHECK(pids[i] > 0);
    }
    aw_test_barrier_release(&barrier);
    for (int i = 0; i < RACERS; i++) {
        int status = 0;
        if (pids[i] <= 0 || waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status)) {
            other++;
            continue;
        }
        int code = WEXITSTATUS(status);
        ok += code == 0;
        used += code == 10;
        other += code != 0 && code != 10;
    }
    CHECK_MSG(ok == 1 && used == RACERS - 1 && other == 0, "race: %d won, %d used, %d other", ok,
              used, other);

    /* Exactly one user row, and its key is the winner's, whose DONE the invite kept. */
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM users WHERE name = '%s'", name);
    CHECK(aw_test_db_int(data, sql) == 1);
    aw_user u;
    aw_invite got;
    CHECK_OK(aw_store_user_get(s, name, &u));
    CHECK_OK(aw_store_invite_get(s, inv.id, &got));
    CHECK(got.used_at == T0 + 1 && got.done_len == 8 && u.key[0] >= 1 && u.key[0] <= RACERS &&
          got.done[0] == u.key[0]);
    aw_user_wipe(&u);
    aw_store_close(s);
}

static void test_race(const char *data)
{
    for (uint8_t round = 0; round < 3; round++) {
        race_round(data, (uint8_t)(0x80 + round));
    }
}

/* ---- rotation: the pending next key ---- */

static void test_rotation(const char *data, aw_store *s, aw_store *other)
{
    aw_user kim = aw_test_user("kim", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0x10);
    aw_user lou = aw_test_user("lou", AW_ALG_ED25519, AW_FRESH_TIMESTAMP, 0x20);
    aw_user u;
    uint8_t key2[32], key3[48];
    uint64_t g0, g1, g2;

    memset(key2, 0x12, sizeof(key2));
    memset(key3, 0x13, sizeof(key3));
    /* A new user has no pending key, whatever the struct held. */
    kim.next_key_len = 32;
    memset(kim.next_key, 0x99, 32);
    kim.next_key_at = 5;
    kim.rotated_at = 6;
    CHECK_OK(aw_store_user_add(s, &kim));
    CHECK_OK(aw_store_user_add(s, &lou));
    CHECK_OK(aw_store_user_get(s, "kim", &u));
    CHECK(u.next_key_len == 0 && u.next_key_at == 0 && u.rotated_at == 0 &&
          all_zero(u.next_key, sizeof(u.next_key)));
    aw_user_wipe(&u);

    CHECK_OK(aw_store_users_generation(other, &g0));
    CHECK_OK(aw_store_user_set_next_key(s, "kim", key2, sizeof(key2), T0 + 10));
    CHECK_OK(aw_store_users_generation(other, &g1));
    CHECK(g1 != g0);
    CHECK_OK(aw_store_user_get(other, "kim", &u));
    CHECK(u.key_len == 32 && u.key[0] == 0x10 && u.next_key_len == 32 &&
          memcmp(u.next_key, key2, 32) == 0 && u.next_key_at == T0 + 10 && u.rotated_at == 0);
    aw_user_wipe(&u);
    CHECK(u.next_key_len == 0 && all_zero(u.next_key, sizeof(u.next_key)) && u.key_len == 0);
    /* Replaced by a later one (another length: HMAC keys may be 16..64 bytes). */
    CHECK_OK(aw_store_user_set_next_key(other, "kim", key3, sizeof(key3), T0 + 20));
    CHECK_OK(aw_store_user_get(s, "kim", &u));
    CHECK(u.next_key_len == 48 && memcmp(u.next_key, key3, 48) == 0 && u.next_key_at == T0 + 20);
    aw_user_wipe(&u);

    /* Refusals. */
    CHECK_RESULT(aw_store_user_set_next_key(s, "kim", key2, 15, T0), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_user_set_next_key(s, "kim", key2, 65, T0), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_user_set_next_key(s, "lou", key2, 31, T0), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_user_set_next_key(s, "lou", key3, 33, T0), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_user_set_next_key(s, "kim", NULL, 32, T0), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_user_set_next_key(s, "kim", key2, 32, 0), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_user_set_next_key(s, "nobody", key2, 32, T0), AW_E_NOT_FOUND);
    CHECK_RESULT(aw_store_user_set_next_key(s, "a b", key2, 32, T0), AW_E_NOT_FOUND);
    CHECK_RESULT(aw_store_user_set_next_key(s, "carol", key2, 32, T0), AW_E_KEY_REVOKED);
    CHECK_OK(aw_store_user_get(s, "kim", &u)); /* the refusals changed nothing */
    CHECK(u.next_key_len == 48 && u.next_key_at == T0 + 20);
    aw_user_wipe(&u);

    /* The pending key is sealed to its user like the key. */
    aw_test_db_exec(data, "UPDATE users SET sealed_next_key = (SELECT sealed_next_key FROM "
                          "users WHERE name = 'kim'), next_key_at = 1 WHERE name = 'bob'");
    CHECK_RESULT(aw_store_user_get(s, "bob", &u), AW_E_CORRUPT);
    CHECK(u.key_len == 0 && u.next_key_len == 0);
    aw_test_db_exec(data, "UPDATE users SET sealed_next_key = x'', next_key_at = 0 WHERE name = "
                          "'bob'");
    CHECK_OK(aw_store_user_get(s, "bob", &u));
    aw_user_wipe(&u);
    aw_test_db_exec(data, "UPDATE users SET next_key_at = 0 WHERE name = 'kim'");
    CHECK_RESULT(aw_store_user_get(s, "kim", &u), AW_E_CORRUPT);
    aw_test_db_exec(data, "UPDATE users SET next_key_at = 1700000020 WHERE name = 'kim'");
    CHECK_OK(aw_store_user_get(s, "kim", &u));
    aw_user_wipe(&u);

    /* Promote: key := next, pending cleared, rotated_at set, generation changed. */
    CHECK_OK(aw_store_users_generation(other, &g1));
    CHECK_OK(aw_store_user_promote_next_key(s, "kim", T0 + 30));
    CHECK_OK(aw_store_users_generation(other, &g2));
    CHECK(g2 != g1);
    CHECK_OK(aw_store_user_get(other, "kim", &u));
    CHECK(u.key_len == 48 && memcmp(u.key, key3, 48) == 0 && u.next_key_len == 0 &&
          u.next_key_at == 0 && u.rotated_at == T0 + 30);
    aw_user_wipe(&u);
    /* A second promotion: NOT_FOUND, nothing changes. */
    CHECK_RESULT(aw_store_user_promote_next_key(other, "kim", T0 + 40), AW_E_NOT_FOUND);
    CHECK_OK(aw_store_users_generation(s, &g1));
    CHECK(g1 == g2);
    CHECK_OK(aw_store_user_get(s, "kim", &u));
    CHECK(u.rotated_at == T0 + 30 && u.key_len == 48);
    aw_user_wipe(&u);
    CHECK_RESULT(aw_store_user_promote_next_key(s, "lou", T0), AW_E_NOT_FOUND); /* none pending */
    CHECK_RESULT(aw_store_user_promote_next_key(s, "nobody", T0), AW_E_NOT_FOUND);
    CHECK_RESULT(aw_store_user_promote_next_key(s, "kim", 0), AW_E_INVALID_ARG);
    /* A user revoked with a pending key: the key is not promoted. */
    CHECK_OK(aw_store_user_set_next_key(s, "lou", key2, 32, T0 + 50));
    CHECK_OK(aw_store_user_revoke(s, "lou", T0 + 51));
    CHECK_RESULT(aw_store_user_promote_next_key(s, "lou", T0 + 52), AW_E_KEY_REVOKED);
    CHECK_OK(aw_store_user_get(s, "lou", &u));
    CHECK(u.key[0] == 0x20 && u.rotated_at == 0);
    aw_user_wipe(&u);
}

typedef struct rotation_seen {
    int64_t next_key_at, rotated_at;
    size_t key_len;
    bool found;
} rotation_seen;

static aw_result find_kim(const aw_user *u, void *arg)
{
    rotation_seen *r = arg;
    if (strcmp(u->name, "kim") == 0) {
        r->found = true;
        r->next_key_at = u->next_key_at;
        r->rotated_at = u->rotated_at;
        r->key_len = u->key_len + u->next_key_len;
    }
    return AW_OK;
}

static void test_rotation_list(aw_store *s)
{
    uint8_t key[32];
    rotation_seen r = {0, 0, 99, false};
    memset(key, 0x14, sizeof(key));
    CHECK_OK(aw_store_user_set_next_key(s, "kim", key, sizeof(key), T0 + 60));
    CHECK_OK(aw_store_user_list(s, find_kim, &r));
    CHECK(r.found && r.next_key_at == T0 + 60 && r.rotated_at == T0 + 30 && r.key_len == 0);
}

/* ---- the upgrade of a version-1 database ---- */

/* A version-1 data directory at dir holding user "old": made now, then taken back to the
 * version-1 schema (what an authwire before invites wrote). */
static void make_v1(const char *dir)
{
    char cmd[1024];
    aw_store *s = NULL;
    aw_user old = aw_test_user("old", AW_ALG_HMAC_SHA256, AW_FRESH_SEQUENCE, 0x0d);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
    aw_test_run(cmd);
    CHECK_OK(aw_store_create(dir));
    CHECK_OK(aw_store_open(dir, &s));
    CHECK_OK(aw_store_user_add(s, &old));
    aw_store_close(s);
    aw_test_db_exec(dir, "BEGIN; DROP TABLE invites; ALTER TABLE users DROP COLUMN rotated_at; "
                         "ALTER TABLE users DROP COLUMN next_key_at; ALTER TABLE users DROP "
                         "COLUMN sealed_next_key; PRAGMA user_version = 1; COMMIT");
    /* The fixture really is version 1. */
    CHECK(aw_test_db_int(dir, "PRAGMA user_version") == 1);
    CHECK(aw_test_db_int(dir, "SELECT count(*) FROM pragma_table_info('users')") == 7);
    CHECK(aw_test_db_int(dir, "SELECT count(*) FROM sqlite_master WHERE name = 'invites'") == 0);
}

static void test_upgrade(void)
{
    const char *v1 = aw_test_path("v1");
    aw_store *s = NULL;
    aw_user u;

    make_v1(v1);
    CHECK_OK(aw_store_open(v1, &s));
    CHECK(aw_test_db_int(v1, "PRAGMA user_version") == 2);
    CHECK(aw_test_db_int(v1, "SELECT count(*) FROM pragma_table_info('users')") == 10);
    if (s != NULL) {
        /* The old user reads as before, and the new tables work. */
        CHECK_OK(aw_store_user_get(s, "old", &u));
        CHECK(u.key_len == 32 && u.key[0] == 0x0d && u.mode == AW_FRESH_SEQUENCE &&
              u.next_key_len == 0 && u.rotated_at == 0);
        aw_user_wipe(&u);
        aw_invite inv = make_invite("new", 0x5a, T0, 60);
        CHECK_OK(aw_store_invite_add(s, &inv));
        aw_user nu = aw_test_user("new", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0x5b);
        CHECK_OK(redeem(s, &inv, &nu, T0 + 1));
        uint8_t key[32] = {1};
        CHECK_OK(aw_store_user_set_next_key(s, "old", key, sizeof(key), T0));
        CHECK_OK(aw_store_check(s));
        aw_store_close(s);
        s = NULL;
    }
    /* Opening again changes nothing. */
    CHECK_OK(aw_store_open(v1, &s));
    CHECK(aw_test_db_int(v1, "PRAGMA user_version") == 2);
    CHECK(aw_test_db_int(v1, "SELECT count(*) FROM users") == 2);
    aw_store_close(s);
    s = NULL;

    /* An upgrade that fails half-way (a table in its way) changes nothing: one transaction. */
    const char *blocked = aw_test_path("v1-blocked");
    make_v1(blocked);
    aw_test_db_exec(blocked, "CREATE TABLE invites (x INTEGER)");
    CHECK_RESULT(aw_store_open(blocked, &s), AW_E_STORE);
    CHECK(s == NULL);
    CHECK(aw_test_db_int(blocked, "PRAGMA user_version") == 1);
    CHECK(aw_test_db_int(blocked, "SELECT count(*) FROM pragma_table_info('users')") == 7);
    aw_test_db_exec(blocked, "DROP TABLE invites");
    CHECK_OK(aw_store_open(blocked, &s)); /* and the way cleared, it upgrades */
    aw_store_close(s);
    s = NULL;

    /* Several processes opening one version-1 database at once: all succeed, one upgrades. */
    const char *many = aw_test_path("v1-many");
    make_v1(many);
    aw_test_barrier barrier;
    pid_t pids[6];
    aw_test_barrier_init(&barrier);
    fflush(NULL);
    for (int i = 0; i < 6; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            aw_store *mine = NULL;
            aw_test_barrier_wait(&barrier);
            aw_result r = aw_store_open(many, &mine);
            aw_user got;
            if (r == AW_OK) {
                r = aw_store_user_get(mine, "old", &got);
            }
            aw_store_close(mine);
            _exit(r == AW_OK ? 0 : 1);
        }
        CHECK(pids[i] > 0);
    }
    aw_test_barrier_release(&barrier);
    int opened = 0;
    for (int i = 0; i < 6; i++) {
        int status = 0;
        opened += pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
                  WEXITSTATUS(status) == 0;
    }
    CHECK_MSG(opened == 6, "%d of 6 concurrent opens of a version-1 database succeeded", opened);
    CHECK(aw_test_db_int(many, "PRAGMA user_version") == 2);
    CHECK(aw_test_db_int(many, "SELECT count(*) FROM pragma_table_info('users')") == 10);
}

int main(void)
{
    aw_test_scratch("aw-invites");
    const char *data_dir = aw_test_path("data");
    char data[512];
    snprintf(data, sizeof(data), "%s", data_dir);
    CHECK(mkdir(data, 0700) == 0);
    CHECK_OK(aw_store_create(data));

    aw_store *s = NULL, *other = NULL;
    CHECK_OK(aw_store_open(data, &s));
    CHECK_OK(aw_store_open(data, &other));
    if (s != NULL && other != NULL) {
        test_add_get_list_revoke(data, s);
        test_issue(s);
        test_redeem(data, s, other);
        test_rotation(data, s, other);
        test_rotation_list(s);
        test_race(data);
        CHECK_OK(aw_store_check(s));
        test_sealing(data, s);
    }
    aw_store_close(s);
    aw_store_close(other);
    test_upgrade();

    aw_test_cleanup();
    return aw_test_finish("test_invites");
}
