/* Helpers shared by the subcommands: errors, files, keys and message files. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authwire/crypto.h"
#include "cli.h"
#include "credentials.h"
#include "datadir.h"
#include "files.h"
#include "json.h"
#include "store.h"

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

int cli_read_credentials(const char *cmd, const char *path, aw_credentials *out)
{
    const char *why = NULL;
    aw_result r = aw_credentials_read(path, out, &why);
    if (r != AW_OK) {
        cli_error(cmd, "%s: %s", path, why != NULL ? why : aw_result_reason(r));
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

aw_store *cli_open_store(const char *cmd, const char *data_dir)
{
    aw_store *s = NULL;
    aw_result r = aw_store_open(data_dir, &s);
    switch (r) {
    case AW_OK:
        return s;
    case AW_E_NOT_FOUND:
        cli_error(cmd, "%s is not an authwire data directory (run 'authwire init --data %s')",
                  data_dir, data_dir);
        break;
    case AW_E_FORBIDDEN:
        cli_error(cmd,
                  "%s/" AW_DATA_MASTER_KEY " may be read by group or others; refusing to use "
                  "it (chmod 600 it, and consider the keys exposed)",
                  data_dir);
        break;
    case AW_E_CORRUPT:
        cli_error(cmd, "%s/" AW_DATA_MASTER_KEY " is damaged (it must hold 32 bytes)", data_dir);
        break;
    default:
        cli_error(cmd, "cannot open the store in %s: %s", data_dir,
                  r == AW_E_IO ? strerror(errno) : aw_result_reason(r));
        break;
    }
    return NULL;
}

uint8_t *cli_read_data_file(const char *cmd, const char *data_dir, const char *file,
                            bool private_file, size_t *len)
{
    char path[4096];
    uint8_t *data = NULL;
    aw_result r;
    if (aw_data_path(data_dir, file, path, sizeof(path)) != AW_OK) {
        cli_error(cmd, "path too long: %s", data_dir);
        return NULL;
    }
    r = aw_file_read(path, 1u << 20, private_file ? AW_FILE_PRIVATE : 0, &data, len);
    if (r == AW_E_FORBIDDEN) {
        cli_error(cmd, "%s may be read by group or others; refusing to use it (chmod 600 it)",
                  path);
    } else if (r != AW_OK) {
        cli_error(cmd, "cannot read %s: %s", path,
                  r == AW_E_IO || r == AW_E_NOT_FOUND ? strerror(errno) : aw_result_reason(r));
    }
    return r == AW_OK ? data : NULL;
}

int cli_read_enroll_key(const char *cmd, const char *data_dir, uint8_t pub[32])
{
    char path[4096];
    aw_result r = aw_data_enroll_key(data_dir, pub);
    if (r == AW_OK) {
        return 0;
    }
    if (aw_data_path(data_dir, AW_DATA_X25519_KEY, path, sizeof(path)) != AW_OK) {
        cli_error(cmd, "path too long: %s", data_dir);
    } else if (r == AW_E_FORBIDDEN) {
        cli_error(cmd, "%s may be read by group or others; refusing to use it (chmod 600 it)",
                  path);
    } else if (r == AW_E_KEY_INVALID) {
        cli_error(cmd, "%s is not an X25519 key", path);
    } else {
        cli_error(cmd, "cannot read %s: %s", path,
                  r == AW_E_IO || r == AW_E_NOT_FOUND ? strerror(errno) : aw_result_reason(r));
    }
    return -1;
}

const char *cli_format_time(int64_t t, char *buf, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, cap, "%s", t == 0 ? "-" : "?");
    }
    return buf;
}

int cli_next_option(int argc, char **argv, const char *cmd, const char *help,
                    const struct option *options, unsigned takes, int *rc)
{
    int c = getopt_long(argc, argv, "h", options, NULL);
    *rc = CLI_EXIT_USAGE;
    if (c == -1) {
        return 0;
    }
    if (c == 'h') {
        fputs(help, stdout);
        *rc = CLI_EXIT_OK;
        return -1;
    }
    if (c < CLI_OPT_FIRST) { /* getopt_long printed what was wrong */
        fputs(help, stderr);
        return -1;
    }
    if ((takes & CLI_TAKES(c)) == 0) {
        cli_error(cmd, "option %s does not apply here", argv[optind - 1]);
        return -1;
    }
    return c;
}

int cli_operands(const char *cmd, int argc, char **argv, const char **name, const char *data)
{
    if (name != NULL) {
        if (optind >= argc) {
            cli_error(cmd, "NAME is required (see --help)");
            return -1;
        }
        *name = argv[optind++];
        if (cli_check_user_name(cmd, *name) != 0) {
            return -1;
        }
    }
    if (optind < argc) {
        cli_error(cmd, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (data == NULL || data[0] == '\0') {
        cli_error(cmd, "--data DIR is required");
        return -1;
    }
    return 0;
}

int cli_parse_alg(const char *cmd, const char *value, aw_alg *out)
{
    *out = aw_alg_from_name(aw_span_cstr(value));
    if (*out == AW_ALG_NONE) {
        cli_error(cmd, "unknown --alg '%s' (hmac-sha256 or ed25519)", value);
        return -1;
    }
    return 0;
}

int cli_parse_mode(const char *cmd, const char *value, aw_fresh_mode *out)
{
    if (!aw_fresh_mode_from_name(aw_span_cstr(value), out)) {
        cli_error(cmd, "unknown --mode '%s' (timestamp, sequence or challenge)", value);
        return -1;
    }
    return 0;
}

int cli_check_user_name(const char *cmd, const char *name)
{
    if (!aw_user_name_valid(name)) {
        cli_error(cmd,
                  "invalid user name '%s': 1..64 characters of A-Z a-z 0-9 . _ -, starting "
                  "with a letter or digit",
                  name);
        return -1;
    }
    return 0;
}

void cli_json_time(aw_json_writer *jw, const char *key, int64_t t)
{
    aw_json_key(jw, key);
    if (t != 0) {
        aw_json_int(jw, t);
    } else {
        aw_json_null(jw);
    }
}
