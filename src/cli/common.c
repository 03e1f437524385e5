/* Helpers shared by the subcommands: errors, files, keys and message files. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"
#include "cli.h"

void cli_error(const char *cmd, const char *fmt, ...)
{
    fprintf(stderr, "authwire: %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Larger inputs are refused: these tools handle single messages and keys. */
#define CLI_MAX_FILE (64u << 20)

uint8_t *cli_read_file(const char *cmd, const char *path, size_t *len)
{
    bool use_stdin = path == NULL || strcmp(path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        cli_error(cmd, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    /* Unbuffered, so no copy of a key file lingers in a stdio buffer; we read in large
     * blocks anyway. */
    if (!use_stdin) {
        setvbuf(f, NULL, _IONBF, 0);
    }
    size_t cap = 8192;
    size_t n = 0;
    uint8_t *buf = malloc(cap + 1);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
        if (n == cap) {
            if (cap >= CLI_MAX_FILE) {
                cli_error(cmd, "%s is larger than %u bytes", use_stdin ? "stdin" : path,
                          CLI_MAX_FILE);
                aw_wipe(buf, cap + 1);
                free(buf);
                buf = NULL;
                break;
            }
            /* Grow by copy, wiping the old block: realloc would free it unwiped, and the
             * file may hold a key. */
            uint8_t *grown = malloc(2 * cap + 1);
            if (grown != NULL) {
                memcpy(grown, buf, n);
            } else {
                cli_error(cmd, "out of memory reading %s", use_stdin ? "stdin" : path);
            }
            aw_wipe(buf, cap + 1);
            free(buf);
            buf = grown;
            cap *= 2;
        }
    }
    bool failed = buf == NULL || ferror(f);
    if (!use_stdin) {
        fclose(f);
    }
    if (failed) {
        if (buf != NULL) {
            cli_error(cmd, "cannot read %s", use_stdin ? "stdin" : path);
            aw_wipe(buf, n);
        }
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

int cli_load_key(const char *cmd, const char *path, aw_alg want, cli_key *out)
{
    memset(out, 0, sizeof(*out));
    size_t len;
    uint8_t *text = cli_read_file(cmd, path, &len);
    if (text == NULL) {
        return -1;
    }
    int rc = -1;
    uint8_t secret[AW_HMAC_KEY_MAX];
    size_t secret_len = 0;
    if (strstr((const char *)text, "-----BEGIN") != NULL) {
        if (want != AW_ALG_NONE && want != AW_ALG_ED25519) {
            cli_error(cmd, "%s holds a PEM key but --alg is %s", path, aw_alg_name(want));
            goto out;
        }
        if (aw_ed25519_from_pem((const char *)text, len, &out->key.ed25519) != AW_OK) {
            cli_error(cmd, "%s is not an Ed25519 PEM key", path);
            goto out;
        }
        out->key.alg = AW_ALG_ED25519;
        rc = 0;
        goto out;
    }
    if (want == AW_ALG_ED25519) {
        cli_error(cmd, "--alg ed25519 needs a PEM key, %s is not one", path);
        goto out;
    }
    /* A base64 shared secret (RFC 9421 B.1.5 style); surrounding whitespace is ignored. */
    size_t start = 0;
    while (start < len && (text[start] == ' ' || text[start] == '\n' || text[start] == '\r' ||
                           text[start] == '\t')) {
        start++;
    }
    size_t end = len;
    while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\n' || text[end - 1] == '\r' ||
                           text[end - 1] == '\t')) {
        end--;
    }
    if (aw_base64_decode((aw_span){text + start, end - start}, 0, secret, sizeof(secret),
                         &secret_len) != AW_OK ||
        secret_len == 0) {
        cli_error(cmd, "%s is neither an Ed25519 PEM key nor a base64 shared secret", path);
        goto out;
    }
    if (secret_len < 16) {
        cli_error(cmd, "the shared secret in %s is only %zu bytes; use at least 16 (32 advised)",
                  path, secret_len);
        goto out;
    }
    if (aw_hmac_key_new(secret, secret_len, &out->key.hmac) != AW_OK) {
        cli_error(cmd, "cannot load the shared secret in %s", path);
        goto out;
    }
    out->key.alg = AW_ALG_HMAC_SHA256;
    rc = 0;
out:
    aw_wipe(secret, sizeof(secret));
    aw_wipe(text, len);
    free(text);
    return rc;
}

void cli_key_free(cli_key *k)
{
    aw_hmac_key_free(k->key.hmac);
    aw_ed25519_free(k->key.ed25519);
    memset(k, 0, sizeof(*k));
}

int cli_load_message(const char *cmd, const char *path, const char *scheme, cli_message *out)
{
    memset(out, 0, sizeof(*out));
    out->raw = cli_read_file(cmd, path, &out->raw_len);
    if (out->raw == NULL) {
        return -1;
    }
    aw_result r =
        aw_http_parse((aw_span){out->raw, out->raw_len}, out->headers, CLI_MAX_HEADERS, &out->msg);
    if (r != AW_OK) {
        cli_error(cmd, "%s is not a valid HTTP/1.1 message: %s: %s", path == NULL ? "stdin" : path,
                  aw_result_name(r), aw_result_reason(r));
        cli_message_free(out);
        return -1;
    }
    out->msg.scheme = aw_span_cstr(scheme);
    const uint8_t *nl = memchr(out->raw, '\n', out->raw_len);
    out->eol = (nl != NULL && nl > out->raw && nl[-1] == '\r') ? "\r\n" : "\n";
    /* The body starts right after the blank line that ends the header section. */
    size_t body_at = (size_t)(out->msg.body.ptr - out->raw);
    size_t blank = (body_at >= 2 && out->raw[body_at - 2] == '\r') ? 2 : 1;
    out->header_end = body_at - blank;
    return 0;
}

void cli_message_free(cli_message *m)
{
    free(m->raw);
    m->raw = NULL;
}

int cli_load_exchange(const char *cmd, const char *path, const char *request_path,
                      const char *scheme, cli_message *msg, cli_message *req)
{
    if (cli_load_message(cmd, path, scheme, msg) != 0) {
        return -1;
    }
    bool response = request_path != NULL;
    if (response != msg->msg.is_response) {
        cli_error(cmd, response ? "--response given but the message is a request"
                                : "the message is a response; give --response --request FILE");
        return -1;
    }
    if (!response) {
        return 0;
    }
    if (cli_load_message(cmd, request_path, scheme, req) != 0) {
        return -1;
    }
    if (req->msg.is_response) {
        cli_error(cmd, "%s is not a request", request_path);
        return -1;
    }
    return 0;
}

int cli_parse_i64(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0') {
        return -1;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int cli_message_operands(const char *cmd, int argc, char **argv, const char **file,
                         const char *key_path, bool response, const char *request_path)
{
    if (optind < argc) {
        *file = argv[optind++];
    }
    if (optind < argc) {
        cli_error(cmd, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (key_path == NULL) {
        cli_error(cmd, "--key FILE is required");
        return -1;
    }
    if (response != (request_path != NULL)) {
        cli_error(cmd, "--response and --request FILE go together");
        return -1;
    }
    return 0;
}
