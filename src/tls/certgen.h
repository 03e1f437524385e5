/* authwire-tls: certificates for a local deployment, made by `authwire init` and
 * `authwire user cert`: a self-signed CA, a server certificate it signs for localhost,
 * 127.0.0.1 and ::1, and client certificates for mutual TLS (CN = the user name).
 *
 * Keys are ECDSA P-256, signatures ECDSA with SHA-256; the CA is valid 10 years and
 * restricted to issuing end-entity certificates (pathlen 0); leaves are valid 825 days (the
 * CA/Browser Forum limit that macOS and iOS still enforce) with the matching extended key
 * usage (serverAuth or clientAuth). Validity starts one hour in the past so that a peer
 * with a slightly late clock accepts a fresh certificate. Serials are 128 random bits.
 *
 * Everything is PEM in memory; aw_cert_pair_write stores a pair with the certificate 0644
 * and the private key 0600. Errors: AW_E_CRYPTO (OpenSSL failed), AW_E_KEY_INVALID (the CA
 * PEM does not parse or its key does not match its certificate), AW_E_INVALID_ARG. */
#ifndef AUTHWIRE_TLS_CERTGEN_H
#define AUTHWIRE_TLS_CERTGEN_H

#include <stddef.h>

#include "authwire/result.h"

typedef struct aw_cert_pair {
    char *cert_pem; /* malloc'd, NUL-terminated */
    char *key_pem;  /* malloc'd, NUL-terminated PKCS#8; aw_cert_pair_free wipes it */
} aw_cert_pair;

#define AW_CERTGEN_CA_DAYS   3650
#define AW_CERTGEN_LEAF_DAYS 825

/* A new self-signed CA; its common name is "authwire local CA" plus a random tag, so that
 * two data directories never issue under the same name. */
aw_result aw_certgen_ca(aw_cert_pair *out) AW_MUST_CHECK;

/* A server certificate signed by ca, for DNS:localhost, IP:127.0.0.1 and IP:::1. */
aw_result aw_certgen_server(const aw_cert_pair *ca, aw_cert_pair *out) AW_MUST_CHECK;

/* The same for one more name: a DNS name (also the common name) or an IP literal, put first
 * in subjectAltName (NULL, "localhost", 127.0.0.1 or ::1: aw_certgen_server). The attack
 * harness's rogue leaf carries the gateway's own name this way. AW_E_INVALID_ARG for a name
 * with characters a host name cannot have. */
aw_result aw_certgen_server_named(const aw_cert_pair *ca, const char *name,
                                  aw_cert_pair *out) AW_MUST_CHECK;

/* A client certificate signed by ca with CN = common_name (the user name, 1..64 bytes). */
aw_result aw_certgen_client(const aw_cert_pair *ca, const char *common_name,
                            aw_cert_pair *out) AW_MUST_CHECK;

/* Writes the certificate to cert_path (0644) and the key to key_path (0600), each atomically
 * and refusing to replace an existing file (AW_E_EXISTS), per aw_file_write_atomic. */
aw_result aw_cert_pair_write(const aw_cert_pair *p, const char *cert_path,
                             const char *key_path) AW_MUST_CHECK;

/* Wipes the key and frees both strings; the struct is zeroed. NULL is ignored. */
void aw_cert_pair_free(aw_cert_pair *p);

#endif
