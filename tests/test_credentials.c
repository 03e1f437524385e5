/* src/client/credentials: round trips for both algorithms, file modes, and one clear reason
 * naming the member for each kind of bad file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authwire/crypto.h"
#include "check.h"
#include "credentials.h"
#include "files.h"

static char g_dir[256];
static unsigned g_serial;

static const char *new_path(void)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/cred-%u.json", g_dir, g_serial++);
    return path;
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffff;
}

static void fill_common(aw_credentials *c, char *url, char *keyid, char *ca)
{
    memset(c, 0, sizeof(*c));
    c->url = url;
    c->keyid = keyid;
    c->mode = AW_FRESH_SEQUENCE;
    for (size_t i = 0; i < sizeof(c->server_public_key); i++) {
        c->server_public_key[i] = (uint8_t)(0x40 + i);
    }
    c->ca_pem = ca;
}

static void test_round_trips(void)
{
    char url[] = "https://127.0.0.1:8443";
    char keyid[] = "alice";
    char ca[] = "-----BEGIN CERTIFICATE-----\nMIIB\"quoted\"\\x\n-----END CERTIFICATE-----\n";
    uint8_t secret[32];
    aw_credentials c, got;
    const char *why = NULL;

    for (size_t i = 0; i < sizeof(secret); i++) {
        secret[i] = (uint8_t)i;
    }
    fill_common(&c, url, keyid, ca);
    c.alg = AW_ALG_HMAC_SHA256;
    c.secret = secret;
    c.secret_len = sizeof(secret);
    const char *path = new_path();
    CHECK_OK(aw_credentials_write(path, &c));
    CHECK(mode_of(path) == 0600);
    CHECK_OK(aw_credentials_read(path, &got, &why));
    CHECK(strcmp(got.url, url) == 0 && strcmp(got.keyid, keyid) == 0 &&
          got.alg == AW_ALG_HMAC_SHA256 && got.mode == AW_FRESH_SEQUENCE && got.secret_len == 32 &&
          memcmp(got.secret, secret, 32) == 0 && got.private_pem == NULL &&
          memcmp(got.server_public_key, c.server_public_key, 32) == 0 && got.ca_pem != NULL &&
          strcmp(got.ca_pem, ca) == 0);
    aw_credentials_free(&got);
    CHECK(got.url == NULL && got.secret == NULL);
    /* Never replaced. */
    CHECK_RESULT(aw_credentials_write(path, &c), AW_E_EXISTS);
    /* The key is the standard base64 in the file (for clients in other languages). */
    uint8_t *text = NULL;
    size_t len = 0;
    CHECK_OK(aw_file_read(path, 1 << 16, 0, &text, &len));
    CHECK(text != NULL &&
          strstr((char *)text, "\"key\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"") !=
              NULL);
    aw_file_free(text, len);

    /* Ed25519, without a CA. */
    aw_ed25519_key *k = NULL;
    char pem[256];
    size_t pem_len = 0;
    CHECK_OK(aw_ed25519_generate(&k));
    CHECK_OK(aw_ed25519_private_pem(k, pem, sizeof(pem), &pem_len));
    aw_ed25519_free(k);
    fill_common(&c, url, keyid, NULL);
    c.alg = AW_ALG_ED25519;
    c.mode = AW_FRESH_CHALLENGE;
    c.private_pem = pem;
    path = new_path();
    CHECK_OK(aw_credentials_write(path, &c));
    CHECK(mode_of(path) == 0600);
    CHECK_OK(aw_credentials_read(path, &got, &why));
    CHECK(got.alg == AW_ALG_ED25519 && got.mode == AW_FRESH_CHALLENGE && got.secret == NULL &&
          got.private_pem != NULL && strcmp(got.private_pem, pem) == 0 && got.ca_pem == NULL);
    aw_credentials_free(&got);
    aw_wipe(pem, sizeof(pem));

    /* Writing nonsense is refused before any file appears. */
    fill_common(&c, url, keyid, NULL);
    c.alg = AW_ALG_HMAC_SHA256; /* no secret */
    path = new_path();
    CHECK_RESULT(aw_credentials_write(path, &c), AW_E_INVALID_ARG);
    CHECK(access(path, F_OK) != 0);
    char bad_url[] = "ftp://x";
    fill_common(&c, bad_url, keyid, NULL);
    c.alg = AW_ALG_HMAC_SHA256;
    c.secret = secret;
    c.secret_len = 32;
    CHECK_RESULT(aw_credentials_write(path, &c), AW_E_INVALID_ARG);
    aw_credentials_free(NULL);
}

/* The enrollment key (what `authwire rotate` pins) round trips, stays absent when absent, and
 * aw_credentials_replace swaps a whole file atomically: the new one 0600 whatever the old
 * mode, never a half file, while aw_credentials_write still refuses to replace. */
static void test_enroll_key_and_replace(void)
{
    char url[] = "https://127.0.0.1:8443";
    char keyid[] = "alice";
    uint8_t secret[32], secret2[32];
    aw_credentials c, got;
    const char *why = NULL;

    for (size_t i = 0; i < sizeof(secret); i++) {
        secret[i] = (uint8_t)i;
        secret2[i] = (uint8_t)(0xff - i);
    }
    fill_common(&c, url, keyid, NULL);
    c.alg = AW_ALG_HMAC_SHA256;
    c.secret = secret;
    c.secret_len = sizeof(secret);
    c.has_enroll_key = true;
    for (size_t i = 0; i < sizeof(c.enroll_key); i++) {
        c.enroll_key[i] = (uint8_t)(0x90 + i);
    }
    const char *path = new_path();
    CHECK_OK(aw_credentials_write(path, &c));
    CHECK_OK(aw_credentials_read(path, &got, &why));
    CHECK(got.has_enroll_key && memcmp(got.enroll_key, c.enroll_key, 32) == 0);
    aw_credentials_free(&got);
    CHECK(!got.has_enroll_key);
    uint8_t *text = NULL;
    size_t len = 0;
    CHECK_OK(aw_file_read(path, 1 << 16, 0, &text, &len));
    CHECK(text != NULL &&
          strstr((char *)text,
                 "\"enroll_key\": \"kJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq8=\"") != NULL);
    aw_file_free(text, len);

    /* Replaced: the new key and no enroll_key; a loosened mode is tightened again. */
    CHECK(chmod(path, 0400) == 0);
    c.secret = secret2;
    c.has_enroll_key = false;
    CHECK_RESULT(aw_credentials_write(path, &c), AW_E_EXISTS);
    CHECK_OK(aw_credentials_replace(path, &c));
    CHECK(mode_of(path) == 0600);
    CHECK_OK(aw_credentials_read(path, &got, &why));
    CHECK(!got.has_enroll_key && got.secret_len == 32 && memcmp(got.secret, secret2, 32) == 0);
    aw_credentials_free(&got);
    /* A missing file is simply written; nonsense never replaces a good file. */
    const char *fresh = new_path();
    CHECK_OK(aw_credentials_replace(fresh, &c));
    CHECK(mode_of(fresh) == 0600);
    c.secret = NULL;
    CHECK_RESULT(aw_credentials_replace(path, &c), AW_E_INVALID_ARG);
    CHECK_OK(aw_credentials_read(path, &got, &why));
    CHECK(got.secret_len == 32 && memcmp(got.secret, secret2, 32) == 0);
    aw_credentials_free(&got);
}

/* Writes text to a fresh file with mode and reads it; checks the result and the reason. */
static void expect_read(const char *text, unsigned mode, aw_result want, const char *why_part)
{
    const char *path = new_path();
    aw_credentials got;
    const char *why = NULL;
    CHECK_OK(aw_file_write_atomic(path, text, strlen(text), (mode_t)mode, 0));
    aw_result r = aw_credentials_read(path, &got, &why);
    CHECK_MSG(r == want && (want == AW_OK || (why != NULL && strstr(why, why_part) != NULL)),
              "%s: got %s (%s), want %s with '%s'", text, aw_result_name(r), why ? why : "-",
              aw_result_name(want), why_part);
    if (r == AW_OK) {
        aw_credentials_free(&got);
    } else {
        CHECK(got.url == NULL && got.secret == NULL && got.private_pem == NULL);
    }
}

#define SPK  "\"server_public_key\":\"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=\""
#define KEY  "\"key\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\""
#define BASE "\"url\":\"https://127.0.0.1:8443\",\"keyid\":\"alice\",\"alg\":\"hmac-sha256\","

static void test_bad_files(void)
{
    const char *good = "{" BASE KEY ",\"mode\":\"timestamp\"," SPK "}";
    expect_read(good, 0600, AW_OK, "");
    expect_read(good, 0400, AW_OK, "");
    /* Unknown members are ignored, a null ca is no ca, version 1 is fine. */
    expect_read("{\"version\":1,\"future\":[1,2]," BASE KEY ",\"mode\":\"timestamp\"," SPK
                ",\"ca\":null}",
                0600, AW_OK, "");

    /* Readable by group or others: refused whatever it holds. */
    expect_read(good, 0644, AW_E_FORBIDDEN, "chmod 600");
    expect_read(good, 0640, AW_E_FORBIDDEN, "chmod 600");

    /* Each required member missing, then mistyped: the reason names it. */
    expect_read("{\"keyid\":\"alice\",\"alg\":\"hmac-sha256\"," KEY ",\"mode\":\"timestamp\"," SPK
                "}",
                0600, AW_E_MALFORMED, "\"url\" is missing");
    expect_read("{\"url\":\"https://h\",\"alg\":\"hmac-sha256\"," KEY ",\"mode\":\"timestamp\"," SPK
                "}",
                0600, AW_E_MALFORMED, "\"keyid\" is missing");
    expect_read("{\"url\":\"https://h\",\"keyid\":\"a\"," KEY ",\"mode\":\"timestamp\"," SPK "}",
                0600, AW_E_MALFORMED, "\"alg\" is missing");
    expect_read("{" BASE "\"mode\":\"timestamp\"," SPK "}", 0600, AW_E_MALFORMED,
                "\"key\" is missing");
    expect_read("{" BASE KEY "," SPK "}", 0600, AW_E_MALFORMED, "\"mode\" is missing");
    expect_read("{" BASE KEY ",\"mode\":\"timestamp\"}", 0600, AW_E_MALFORMED,
                "\"server_public_key\" is missing");
    expect_read("{\"url\":5,\"keyid\":\"alice\",\"alg\":\"hmac-sha256\"," KEY
                ",\"mode\":\"timestamp\"," SPK "}",
                0600, AW_E_MALFORMED, "\"url\" is not a string");
    expect_read("{" BASE "\"key\":[1]"
                ",\"mode\":\"timestamp\"," SPK "}",
                0600, AW_E_MALFORMED, "\"key\" is not a string");
    expect_read("{" BASE KEY ",\"mode\":\"timestamp\"," SPK ",\"ca\":7}", 0600, AW_E_MALFORMED,
                "\"ca\" is not a string");

    /* Bad values. */
    expect_read("{\"url\":\"gopher://x\",\"keyid\":\"alice\",\"alg\":\"hmac-sha256\"," KEY
                ",\"mode\":\"timestamp\"," SPK "}",
                0600, AW_E_MALFORMED, "\"url\"");
    expect_read("{\"url\":\"https://h\",\"keyid\":\"al\\\"ice\",\"alg\":\"hmac-sha256\"," KEY
                ",\"mode\":\"timestamp\"," SPK "}",
                0600, AW_E_MALFORMED, "\"keyid\"");
    expect_read("{\"url\":\"https://h\",\"keyid\":\"alice\",\"alg\":\"hmac-sha1\"," KEY
                ",\"mode\":\"timestamp\"," SPK "}",
                0600, AW_E_MALFORMED, "\"alg\"");
    expect_read("{" BASE KEY ",\"mode\":\"never\"," SPK "}", 0600, AW_E_MALFORMED, "\"mode\"");
    expect_read("{" BASE "\"key\":\"c2hvcnQ=\",\"mode\":\"timestamp\"," SPK "}", 0600,
                AW_E_MALFORMED, "\"key\"");
    expect_read("{" BASE "\"key\":\"not base64!\",\"mode\":\"timestamp\"," SPK "}", 0600,
                AW_E_MALFORMED, "\"key\"");
    expect_read("{\"url\":\"https://h\",\"keyid\":\"alice\",\"alg\":\"ed25519\"," KEY
                ",\"mode\":\"timestamp\"," SPK "}",
                0600, AW_E_MALFORMED, "\"key\" is not an Ed25519 private key");
    expect_read("{" BASE KEY ",\"mode\":\"timestamp\",\"server_public_key\":\"AAAA\"}", 0600,
                AW_E_MALFORMED, "\"server_public_key\"");
    expect_read("{" BASE KEY ",\"mode\":\"timestamp\"," SPK ",\"enroll_key\":\"AAAA\"}", 0600,
                AW_E_MALFORMED, "\"enroll_key\" is not the base64 of a 32-byte X25519");
    expect_read("{" BASE KEY ",\"mode\":\"timestamp\"," SPK ",\"enroll_key\":1}", 0600,
                AW_E_MALFORMED, "\"enroll_key\" is not a string");
    expect_read("{" BASE KEY ",\"mode\":\"timestamp\"," SPK ",\"enroll_key\":null}", 0600, AW_OK,
                "");
    expect_read("{\"version\":2," BASE KEY ",\"mode\":\"timestamp\"," SPK "}", 0600,
                AW_E_UNSUPPORTED, "\"version\"");

    /* Not JSON, not an object, a repeated member. */
    expect_read("{" BASE KEY, 0600, AW_E_MALFORMED, "not valid JSON");
    expect_read("[1,2]", 0600, AW_E_MALFORMED, "not a JSON object");
    expect_read("{" BASE KEY ",\"mode\":\"timestamp\"," SPK ",\"keyid\":\"mallory\"}", 0600,
                AW_E_MALFORMED, "repeated member");

    /* No file. */
    aw_credentials got;
    const char *why = NULL;
    CHECK_RESULT(aw_credentials_read(new_path(), &got, &why), AW_E_NOT_FOUND);
    CHECK(why != NULL && strstr(why, "no such file") != NULL);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/aw-cred-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL) {
        fprintf(stderr, "FATAL: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    test_round_trips();
    test_bad_files();
    test_enroll_key_and_replace();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "warning: could not remove %s\n", g_dir);
    }
    return aw_test_finish("test_credentials");
}
