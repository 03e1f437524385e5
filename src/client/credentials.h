/* The client credential file: what `authwire user add` and `authwire enroll` write, `authwire
 * rotate` replaces and `authwire request` reads. JSON, 0600, so that clients in other languages can
 * use it:
 *
 *   {
 *     "version": 1,
 *     "url": "https://127.0.0.1:8443",          the gateway
 *     "keyid": "alice",
 *     "alg": "hmac-sha256" | "ed25519",
 *     "key": "<base64 of the 32-byte secret>" | "<PEM PKCS#8 Ed25519 private key>",
 *     "mode": "timestamp" | "sequence" | "challenge",
 *     "server_public_key": "<base64 of the server's raw 32-byte Ed25519 public key>",
 *     "ca": "<PEM of the CA that signed the gateway's certificate>" (may be absent),
 *     "enroll_key": "<base64 of the server's raw 32-byte X25519 enrollment public key>"
 *                                                (may be absent; `authwire rotate` pins it)
 *   }
 *
 * Unknown members are ignored (forward compatibility); a missing or mistyped required
 * member is an error that names it. */
#ifndef AUTHWIRE_CLIENT_CREDENTIALS_H
#define AUTHWIRE_CLIENT_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/crypto.h"
#include "authwire/freshness.h"
#include "authwire/result.h"
#include "authwire/signature.h"

typedef struct aw_credentials {
    char *url;
    char *keyid;
    aw_alg alg;
    aw_fresh_mode mode;
    uint8_t *secret; /* alg hmac-sha256: the key (secret_len bytes); NULL otherwise */
    size_t secret_len;
    char *private_pem; /* alg ed25519: the PKCS#8 PEM private key; NULL otherwise */
    uint8_t server_public_key[AW_ED25519_PUBLIC_LEN];
    char *ca_pem; /* NULL when absent */
    bool has_enroll_key;
    uint8_t enroll_key[AW_X25519_PUBLIC_LEN]; /* when has_enroll_key */
} aw_credentials;

/* Writes c to path as JSON, mode 0600, atomically (temporary file, fsync, rename): a
 * reader never sees half a file. AW_E_EXISTS when path exists, AW_E_IO with errno kept. */
aw_result aw_credentials_write(const char *path, const aw_credentials *c) AW_MUST_CHECK;
/* The same, but replaces path when it exists (`authwire rotate`): a reader sees the old file
 * or the whole new one, and the new one is 0600 whatever the old mode was. */
aw_result aw_credentials_replace(const char *path, const aw_credentials *c) AW_MUST_CHECK;

/* Reads path into *out (all strings malloc'd; release with aw_credentials_free). Refuses a
 * file that group or others may read (AW_E_FORBIDDEN: secrets must stay 0600). On error,
 * *why (when not NULL) points to a static one-line reason naming the bad member. */
aw_result aw_credentials_read(const char *path, aw_credentials *out,
                              const char **why) AW_MUST_CHECK;

/* Wipes the secrets and frees every member; the struct is zeroed. NULL is ignored. */
void aw_credentials_free(aw_credentials *c);

#endif
