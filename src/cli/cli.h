/* The authwire command: the subcommand table and the helpers the subcommands share.
 * Exit status convention: 0 success, 1 the operation failed (e.g. a signature is invalid),
 * 2 usage error. Messages go to stderr as "authwire: <subcommand>: <what happened>". */
#ifndef AUTHWIRE_CLI_H
#define AUTHWIRE_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/bytes.h"
#include "authwire/freshness.h"
#include "authwire/message.h"
#include "authwire/signature.h"
#include "json.h"
#include "store.h"

#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2
/* request, enroll, rotate: an answer failed verification (possible interference). */
#define CLI_EXIT_INTERFERENCE 3

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

int cli_sign(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_init(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_request(int argc, char **argv);
int cli_lab(int argc, char **argv);
int cli_enroll(int argc, char **argv);
int cli_rotate(int argc, char **argv);
int cli_invite(int argc, char **argv);
int cli_invites(int argc, char **argv);

/* Prints "authwire: <cmd>: <message>" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a whole file ("-" or NULL: stdin) into a malloc'd buffer. Returns NULL and prints
 * why on failure. The caller frees. */
uint8_t *cli_read_file(const char *cmd, const char *path, size_t *len);

/* A key loaded from --key FILE: an Ed25519 PEM (private or public) or a base64 shared
 * secret. The HMAC secret is wiped right after the key object is made. */
typedef struct cli_key {
    aw_key key;
} cli_key;

/* Loads path as a key; want is the --alg value or AW_ALG_NONE to infer it from the file.
 * Returns 0, or prints why and returns -1. */
int cli_load_key(const char *cmd, const char *path, aw_alg want, cli_key *out);
void cli_key_free(cli_key *k);

/* A parsed HTTP message file with room for headers the tools add. */
#define CLI_MAX_HEADERS 128
typedef struct cli_message {
    uint8_t *raw;
    size_t raw_len;
    size_t header_end; /* offset of the blank line ending the header section */
    const char *eol;   /* "\r\n" or "\n", as the file uses */
    aw_header headers[CLI_MAX_HEADERS + 4];
    aw_message msg;
} cli_message;

/* Reads and parses a message file; scheme is the connection's ("https" by default).
 * Returns 0, or prints why and returns -1. */
int cli_load_message(const char *cmd, const char *path, const char *scheme, cli_message *out);
void cli_message_free(cli_message *m);

/* Loads the message in path and, when request_path is not NULL, the request it answers:
 * then path must hold a response and request_path a request; otherwise path must hold a
 * request. Returns 0, or prints why and returns -1. */
int cli_load_exchange(const char *cmd, const char *path, const char *request_path,
                      const char *scheme, cli_message *msg, cli_message *req);

/* The operands and pairings sign and verify share, after getopt: at most one FILE (into
 * *file), --key required, --response only with --request FILE. Returns 0, or prints why and
 * returns -1. */
int cli_message_operands(const char *cmd, int argc, char **argv, const char **file,
                         const char *key_path, bool response, const char *request_path);

/* Reads a credential file (src/client/credentials.h) into *out; 0, or prints why (naming
 * the file and the bad member) and returns -1. */
struct aw_credentials;
int cli_read_credentials(const char *cmd, const char *path, struct aw_credentials *out);

/* Parses a decimal int64 option value; returns 0 or -1. */
int cli_parse_i64(const char *s, int64_t *out);

/* The admin subcommands' long options are numbered from CLI_OPT_FIRST; a command accepts the
 * bit set CLI_TAKES(opt) | ... of them. */
#define CLI_OPT_FIRST  256
#define CLI_TAKES(opt) (1u << ((opt)-CLI_OPT_FIRST))

/* The next option of argv by getopt_long ("h" and options; set optind = 1 first): its value,
 * 0 after the last, or -1 when the caller must return *rc: after --help (printed on stdout,
 * *rc 0) or an unknown option or one outside takes (the reason printed, *rc 2). */
int cli_next_option(int argc, char **argv, const char *cmd, const char *help,
                    const struct option *options, unsigned takes, int *rc);

/* After the options: the user name operand into *name (unless name is NULL), then no other
 * operand, and data (--data DIR) given. 0, or print why and return -1 (a usage error). */
int cli_operands(const char *cmd, int argc, char **argv, const char **name, const char *data);

/* --alg and --mode values, and user names: 0, or print why (naming what is accepted) and
 * return -1 (a usage error). */
int cli_parse_alg(const char *cmd, const char *value, aw_alg *out);
int cli_parse_mode(const char *cmd, const char *value, aw_fresh_mode *out);
int cli_check_user_name(const char *cmd, const char *name);

/* ---- data directories (authwire init --data DIR) ---- */

/* Opens the store of data_dir, or prints why (naming the fix) and returns NULL. */
aw_store *cli_open_store(const char *cmd, const char *data_dir);

/* Reads data_dir/file (private_file: refused when group or others may read it) into a buffer
 * the caller releases with aw_file_free; prints why and returns NULL on failure. */
uint8_t *cli_read_data_file(const char *cmd, const char *data_dir, const char *file,
                            bool private_file, size_t *len);

/* The raw public key of data_dir/server-x25519.pem (the enrollment key); 0, or prints why
 * and returns -1. */
int cli_read_enroll_key(const char *cmd, const char *data_dir, uint8_t pub[32]);

/* t as UTC ISO 8601 into buf ("-" for 0); returns buf. */
const char *cli_format_time(int64_t t, char *buf, size_t cap);

/* Writes "key": t (unix seconds), or "key": null for 0 (it never happened). */
void cli_json_time(aw_json_writer *jw, const char *key, int64_t t);

#endif
