/* authwire invite / invites: one-time enrollment invites (docs/PROTOCOL.md, "Enrollment").
 *
 * `invite NAME` draws an invite id and a 256-bit secret, stores the invite (the PSK the
 * secret gives, sealed; never the secret) and prints the token that carries id, secret and
 * the fingerprint of the server's X25519 enrollment key: once, alone on the last line of
 * stdout, optionally also as a terminal QR code. `invites` lists them; `invite --revoke ID`
 * cancels one. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qrencode.h>

#include "authwire/bytes.h"
#include "authwire/crypto.h"
#include "authwire/enroll.h"
#include "cli.h"
#include "datadir.h"
#include "files.h"
#include "json.h"
#include "store.h"

#define TTL_DEFAULT (24 * 3600)
#define TTL_MAX     (30 * 24 * 3600)
#define QR_QUIET    4 /* modules of light border around the code, as ISO/IEC 18004 asks */

static const char invite_help[] =
    "usage: authwire invite NAME --data DIR [options]\n"
    "       authwire invite --revoke ID --data DIR\n"
    "\n"
    "Creates a one-time invite for user NAME (1..64 characters of A-Z a-z 0-9 . _ -,\n"
    "starting with a letter or digit) and prints its token: the invite id, a 256-bit\n"
    "secret and the fingerprint of the server's enrollment key. The user runs\n"
    "'authwire enroll URL TOKEN' with it. Hand the token over out of band (in person,\n"
    "printed, a QR code); it is shown only once, alone on the last line of stdout. The\n"
    "server keeps only a PSK derived from it, sealed. An invite is used once, expires,\n"
    "and cannot be made for a name that a user (revoked ones too) or another pending\n"
    "invite has.\n"
    "\n"
    "  --data DIR      the data directory\n"
    "  --ttl DURATION  how long the invite stays usable: 90s, 30m, 24h, 7d or plain\n"
    "                  seconds, 1 s to 30 d (default 24h)\n"
    "  --alg ALG       the new user's algorithm: hmac-sha256 (default) or ed25519 (the\n"
    "                  client then registers an Ed25519 public key)\n"
    "  --mode MODE     freshness: timestamp (default), sequence or challenge\n"
    "  --qr            also print the token as a QR code (UTF-8 half blocks, drawn for a\n"
    "                  dark terminal: light modules are the filled ones)\n"
    "  --json          describe the invite as one line of JSON instead of the human lines\n"
    "                  (no secret in it; the token still follows on the last line)\n"
    "  --revoke ID     cancel the invite with this id (hex, from 'authwire invites')\n"
    "  -h, --help      this help\n";

static const char invites_help[] =
    "usage: authwire invites --data DIR [--all] [--json]\n"
    "\n"
    "Lists the pending invites of a data directory, newest first: id, user name,\n"
    "algorithm, freshness mode, creation and expiry times (UTC). The header names the\n"
    "fingerprint (SHA-256) of the server's enrollment key that every token pins. Tokens\n"
    "are never shown again.\n"
    "\n"
    "  --data DIR   the data directory\n"
    "  --all        also used, revoked and expired invites, with their state\n"
    "  --json       a JSON array instead of a table\n"
    "  -h, --help   this help\n";

enum {
    OPT_DATA = CLI_OPT_FIRST,
    OPT_TTL,
    OPT_ALG,
    OPT_MODE,
    OPT_QR,
    OPT_JSON,
    OPT_REVOKE,
    OPT_ALL,
};

static const struct option invite_options[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"ttl", required_argument, NULL, OPT_TTL},
    {"alg", required_argument, NULL, OPT_ALG},
    {"mode", required_argument, NULL, OPT_MODE},
    {"qr", no_argument, NULL, OPT_QR},
    {"json", no_argument, NULL, OPT_JSON},
    {"revoke", required_argument, NULL, OPT_REVOKE},
    {"all", no_argument, NULL, OPT_ALL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct invite_opts {
    const char *cmd;
    const char *data;
    const char *name;
    const char *revoke;
    int64_t ttl;
    aw_alg alg;
    aw_fresh_mode mode;
    bool qr, json, all;
    unsigned given; /* CLI_TAKES bits of the options on the command line */
} invite_opts;

/* A duration: digits with an optional unit s, m, h or d; 1 s to 30 d. */
static int parse_ttl(const char *cmd, const char *text, int64_t *out)
{
    static const struct {
        char unit;
        int64_t seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    size_t len = strlen(text);
    int64_t scale = 1, n = 0;
    size_t digits = len;

    if (len > 0) {
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (text[len - 1] == units[i].unit) {
                scale = units[i].seconds;
                digits = len - 1;
            }
        }
    }
    bool ok = digits > 0 && digits <= 9;
    for (size_t i = 0; ok && i < digits; i++) {
        ok = text[i] >= '0' && text[i] <= '9';
        n = n * 10 + (text[i] - '0');
    }
    if (!ok) {
        cli_error(cmd, "invalid --ttl '%s': use 90s, 30m, 24h, 7d or plain seconds", text);
        return -1;
    }
    if (n * scale < 1 || n * scale > TTL_MAX) {
        cli_error(cmd, "--ttl '%s' is out of range: 1 s to 30 d", text);
        return -1;
    }
    *out = n * scale;
    return 0;
}

/* Parses argv for `invite` (operands: NAME) or `invites` (none); takes: the options the
 * command accepts. Returns -1 (exit now with *rc) or 0. */
static int parse(int argc, char **argv, const char *cmd, const char *help, unsigned takes,
                 invite_opts *o, int *rc)
{
    int c;
    memset(o, 0, sizeof(*o));
    o->cmd = cmd;
    o->ttl = TTL_DEFAULT;
    o->alg = AW_ALG_HMAC_SHA256;
    o->mode = AW_FRESH_TIMESTAMP;
    optind = 1;
    while ((c = cli_next_option(argc, argv, cmd, help, invite_options, takes, rc)) > 0) {
        o->given |= CLI_TAKES(c);
        switch (c) {
        case OPT_DATA:
            o->data = optarg;
            break;
        case OPT_TTL:
            if (parse_ttl(cmd, optarg, &o->ttl) != 0) {
                return -1;
            }
            break;
        case OPT_ALG:
            if (cli_parse_alg(cmd, optarg, &o->alg) != 0) {
                return -1;
            }
            break;
        case OPT_MODE:
            if (cli_parse_mode(cmd, optarg, &o->mode) != 0) {
                return -1;
            }
            break;
        case OPT_QR:
            o->qr = true;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_REVOKE:
            o->revoke = optarg;
            break;
        case OPT_ALL:
            o->all = true;
            break;
        }
    }
    /* `invite` takes NAME, but not with --revoke; `invites` takes none. */
    bool wants_name = (takes & CLI_TAKES(OPT_REVOKE)) != 0 && o->revoke == NULL;
    if (c < 0 || cli_operands(cmd, argc, argv, wants_name ? &o->name : NULL, o->data) != 0) {
        return -1;
    }
    if (o->revoke != NULL && (o->given & ~(CLI_TAKES(OPT_DATA) | CLI_TAKES(OPT_REVOKE))) != 0) {
        cli_error(cmd, "--revoke ID takes only --data DIR");
        return -1;
    }
    return 0;
}

static const char *invite_state(const aw_invite *inv, int64_t now)
{
    if (inv->used_at != 0) {
        return "used";
    }
    if (inv->revoked_at != 0) {
        return "revoked";
    }
    return inv->expires_at <= now ? "expired" : "pending";
}

/* The members of an invite's JSON object (no secret), its state as of now. */
static void json_invite(aw_json_writer *jw, const aw_invite *inv, int64_t now)
{
    char id[2 * AW_INVITE_ID_LEN + 1], t[32];
    aw_hex_encode(inv->id, sizeof(inv->id), id);
    aw_json_key(jw, "id");
    aw_json_string(jw, id);
    aw_json_key(jw, "name");
    aw_json_string(jw, inv->name);
    aw_json_key(jw, "alg");
    aw_json_string(jw, aw_alg_name(inv->alg));
    aw_json_key(jw, "mode");
    aw_json_string(jw, aw_fresh_mode_name(inv->mode));
    aw_json_key(jw, "state");
    aw_json_string(jw, invite_state(inv, now));
    cli_json_time(jw, "created_at", inv->created_at);
    aw_json_key(jw, "created");
    aw_json_string(jw, cli_format_time(inv->created_at, t, sizeof(t)));
    cli_json_time(jw, "expires_at", inv->expires_at);
    aw_json_key(jw, "expires");
    aw_json_string(jw, cli_format_time(inv->expires_at, t, sizeof(t)));
    cli_json_time(jw, "used_at", inv->used_at);
    cli_json_time(jw, "revoked_at", inv->revoked_at);
}

/* The fingerprint of DIR/server-x25519.pem's public key, the one every token pins. */
static int server_fingerprint(const invite_opts *o, uint8_t fp[AW_ENROLL_FP_LEN])
{
    uint8_t pub[AW_X25519_PUBLIC_LEN];
    if (cli_read_enroll_key(o->cmd, o->data, pub) != 0) {
        return -1;
    }
    if (aw_enroll_fingerprint(pub, fp) != AW_OK) {
        cli_error(o->cmd, "cannot compute the enrollment key fingerprint");
        return -1;
    }
    return 0;
}

/* ---- QR code ---- */

/* Whether module (x, y) of the code, quiet zone included, is dark. */
static bool qr_dark(const QRcode *qr, int x, int y)
{
    x -= QR_QUIET;
    y -= QR_QUIET;
    if (x < 0 || y < 0 || x >= qr->width || y >= qr->width) {
        return false;
    }
    return (qr->data[(size_t)y * (size_t)qr->width + (size_t)x] & 1) != 0;
}

/* Prints text as a QR code, two rows of modules per line of UTF-8 half blocks. Light
 * modules are drawn (foreground), dark ones left blank, so on the usual light-on-dark
 * terminal the code reads dark on light. */
static int print_qr(const char *cmd, const char *text)
{
    static const char *const cell[4] = {
        "\xe2\x96\x88", /* both light: full block */
        "\xe2\x96\x80", /* upper light: upper half block */
        "\xe2\x96\x84", /* lower light: lower half block */
        " ",            /* both dark */
    };
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL) {
        cli_error(cmd, "cannot make the QR code: %s", strerror(errno));
        return -1;
    }
    int size = qr->width + 2 * QR_QUIET;
    for (int y = 0; y < size; y += 2) {
        for (int x = 0; x < size; x++) {
            int upper_dark = qr_dark(qr, x, y);
            /* Past the last row (odd size) is light: more quiet zone. */
            int lower_dark = y + 1 < size && qr_dark(qr, x, y + 1);
            fputs(cell[upper_dark * 2 + lower_dark], stdout);
        }
        fputc('\n', stdout);
    }
    QRcode_free(qr);
    return 0;
}

/* ---- invite NAME ---- */

/* Explains AW_E_EXISTS from the store: a user of that name, or a pending invite for it. */
typedef struct pending_find {
    const char *name;
    int64_t now;
    char id[2 * AW_INVITE_ID_LEN + 1];
} pending_find;

static aw_result find_pending(const aw_invite *inv, void *arg)
{
    pending_find *f = arg;
    if (strcmp(inv->name, f->name) == 0 && inv->used_at == 0 && inv->revoked_at == 0 &&
        inv->expires_at > f->now) {
        aw_hex_encode(inv->id, sizeof(inv->id), f->id);
        return AW_E_EXISTS; /* found: stop */
    }
    return AW_OK;
}

static void explain_exists(const invite_opts *o, aw_store *s, int64_t now)
{
    aw_user u;
    aw_result r = aw_store_user_get(s, o->name, &u);
    aw_user_wipe(&u);
    if (r == AW_OK || r == AW_E_CORRUPT) {
        cli_error(o->cmd, "user '%s' exists (names are never reused, even after revoke)", o->name);
        return;
    }
    pending_find f = {o->name, now, ""};
    if (aw_store_invite_list(s, find_pending, &f) == AW_E_EXISTS) {
        cli_error(o->cmd,
                  "an invite for '%s' is still pending (%s); cancel it first with "
                  "'authwire invite --revoke %s --data %s'",
                  o->name, f.id, f.id, o->data);
        return;
    }
    cli_error(o->cmd, "an invite for '%s' exists (the id was drawn twice? try again)", o->name);
}

/* The invite without its secrets, as one line of JSON, with the fingerprint its token pins. */
static int print_invite_json(const aw_invite *inv, const uint8_t fp[AW_ENROLL_FP_LEN])
{
    uint8_t buf[1024];
    char fph[2 * AW_ENROLL_FP_LEN + 1];
    aw_writer w;
    aw_json_writer jw;

    aw_hex_encode(fp, AW_ENROLL_FP_LEN, fph);
    aw_writer_init(&w, buf, sizeof(buf));
    aw_json_writer_init(&jw, &w, false);
    aw_json_begin_object(&jw);
    json_invite(&jw, inv, inv->created_at);
    aw_json_key(&jw, "fingerprint");
    aw_json_string(&jw, fph);
    aw_json_end_object(&jw);
    if (aw_json_writer_result(&jw) != AW_OK) {
        return -1;
    }
    fwrite(buf, 1, w.len, stdout);
    fputc('\n', stdout);
    return 0;
}

static int invite_add(const invite_opts *o)
{
    aw_store *s = NULL;
    aw_invite inv;
    uint8_t fp[AW_ENROLL_FP_LEN];
    char text[AW_ENROLL_TOKEN_TEXT];
    char id[2 * AW_INVITE_ID_LEN + 1], fph[2 * AW_ENROLL_FP_LEN + 1], t[32];
    int rc = CLI_EXIT_FAIL;
    aw_result r;

    memset(&inv, 0, sizeof(inv));
    memset(text, 0, sizeof(text));
    if ((s = cli_open_store(o->cmd, o->data)) == NULL) {
        return CLI_EXIT_FAIL;
    }
    if (server_fingerprint(o, fp) != 0) {
        goto out;
    }
    memcpy(inv.name, o->name, strlen(o->name) + 1);
    inv.alg = o->alg;
    inv.mode = o->mode;
    inv.created_at = (int64_t)time(NULL);
    inv.expires_at = inv.created_at + o->ttl;
    r = aw_store_invite_issue(s, &inv, fp, text); /* the PSK is sealed in the store, or nowhere */
    if (r == AW_E_EXISTS) {
        explain_exists(o, s, inv.created_at);
        goto out;
    }
    if (r != AW_OK) {
        cli_error(o->cmd, "cannot make the invite: %s%s%s", aw_result_reason(r),
                  r == AW_E_STORE ? ": " : "", r == AW_E_STORE ? aw_store_last_error(s) : "");
        goto out;
    }

    aw_hex_encode(inv.id, sizeof(inv.id), id);
    aw_hex_encode(fp, sizeof(fp), fph);
    if (o->json) {
        if (print_invite_json(&inv, fp) != 0) {
            cli_error(o->cmd, "cannot format the invite");
            goto out;
        }
    } else {
        printf("invite %s for %s (%s, %s mode), expires %s\n", id, inv.name, aw_alg_name(inv.alg),
               aw_fresh_mode_name(inv.mode), cli_format_time(inv.expires_at, t, sizeof(t)));
        printf("server enrollment key fingerprint: %s\n", fph);
        printf("hand this token over out of band; it is shown only once\n");
    }
    if (o->qr && print_qr(o->cmd, text) != 0) {
        /* The invite exists but its token would be lost with a half-printed screen. */
        printf("(no QR code; the token follows)\n");
    }
    printf("%s\n", text);
    rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;

out:
    aw_wipe(text, sizeof(text));
    aw_invite_wipe(&inv);
    aw_store_close(s);
    return rc;
}

/* ---- invite --revoke ID ---- */

static int invite_revoke(const invite_opts *o)
{
    uint8_t id[AW_INVITE_ID_LEN];
    size_t id_len = 0;
    aw_store *s;
    aw_invite inv;
    char t[32];
    int rc = CLI_EXIT_FAIL;
    aw_result r;

    memset(&inv, 0, sizeof(inv));
    if (strlen(o->revoke) != 2 * AW_INVITE_ID_LEN ||
        aw_hex_decode(aw_span_cstr(o->revoke), id, sizeof(id), &id_len) != AW_OK ||
        id_len != sizeof(id)) {
        cli_error(o->cmd, "invalid invite id '%s': 32 hex digits, as 'authwire invites' shows",
                  o->revoke);
        return CLI_EXIT_USAGE;
    }
    if ((s = cli_open_store(o->cmd, o->data)) == NULL) {
        return CLI_EXIT_FAIL;
    }
    r = aw_store_invite_revoke(s, id, (int64_t)time(NULL));
    if (r == AW_E_INVITE_UNKNOWN) {
        cli_error(o->cmd, "no invite %s", o->revoke);
    } else if (r == AW_E_INVITE_USED) {
        r = aw_store_invite_get(s, id, &inv);
        cli_error(o->cmd,
                  "invite %s was already used: user '%s' exists (revoke the user with "
                  "'authwire user revoke %s --data %s')",
                  o->revoke, r == AW_OK ? inv.name : "?", r == AW_OK ? inv.name : "NAME", o->data);
    } else if (r != AW_OK) {
        cli_error(o->cmd, "cannot revoke invite %s: %s: %s", o->revoke, aw_result_reason(r),
                  aw_store_last_error(s));
    } else {
        /* Read back: revoking twice keeps the first time, and says so. */
        r = aw_store_invite_get(s, id, &inv);
        printf("revoked invite %s for %s at %s\n", o->revoke, r == AW_OK ? inv.name : "?",
               r == AW_OK ? cli_format_time(inv.revoked_at, t, sizeof(t)) : "now");
        rc = CLI_EXIT_OK;
    }
    aw_invite_wipe(&inv);
    aw_store_close(s);
    return rc;
}

int cli_invite(int argc, char **argv)
{
    invite_opts o;
    int rc;
    if (parse(argc, argv, "invite", invite_help,
              CLI_TAKES(OPT_DATA) | CLI_TAKES(OPT_TTL) | CLI_TAKES(OPT_ALG) | CLI_TAKES(OPT_MODE) |
                  CLI_TAKES(OPT_QR) | CLI_TAKES(OPT_JSON) | CLI_TAKES(OPT_REVOKE),
              &o, &rc) != 0) {
        return rc;
    }
    return o.revoke != NULL ? invite_revoke(&o) : invite_add(&o);
}

/* ---- invites ---- */

typedef struct invite_array {
    aw_invite *items;
    size_t n, cap;
    bool all;
    int64_t now;
} invite_array;

static aw_result collect(const aw_invite *inv, void *arg)
{
    invite_array *a = arg;
    if (!a->all && strcmp(invite_state(inv, a->now), "pending") != 0) {
        return AW_OK;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap == 0 ? 16 : a->cap * 2;
        aw_invite *items = realloc(a->items, cap * sizeof(*items));
        if (items == NULL) {
            return AW_E_INTERNAL;
        }
        a->items = items;
        a->cap = cap;
    }
    a->items[a->n++] = *inv; /* listed invites carry no PSK */
    return AW_OK;
}

static int print_list_json(const invite_array *a)
{
    size_t cap = 64 + a->n * 640;
    uint8_t *buf = malloc(cap);
    aw_writer w;
    aw_json_writer jw;
    if (buf == NULL) {
        return -1;
    }
    aw_writer_init(&w, buf, cap);
    aw_json_writer_init(&jw, &w, true);
    aw_json_begin_array(&jw);
    for (size_t i = 0; i < a->n; i++) {
        aw_json_begin_object(&jw);
        json_invite(&jw, &a->items[i], a->now);
        aw_json_end_object(&jw);
    }
    aw_json_end_array(&jw);
    int rc = aw_json_writer_result(&jw) == AW_OK ? 0 : -1;
    if (rc == 0) {
        fwrite(buf, 1, w.len, stdout);
        fputc('\n', stdout);
    }
    free(buf);
    return rc;
}

int cli_invites(int argc, char **argv)
{
    invite_opts o;
    int rc;
    aw_store *s;
    uint8_t fp[AW_ENROLL_FP_LEN];
    invite_array a;
    aw_result r;

    if (parse(argc, argv, "invites", invites_help,
              CLI_TAKES(OPT_DATA) | CLI_TAKES(OPT_ALL) | CLI_TAKES(OPT_JSON), &o, &rc) != 0) {
        return rc;
    }
    if ((s = cli_open_store(o.cmd, o.data)) == NULL) {
        return CLI_EXIT_FAIL;
    }
    rc = CLI_EXIT_FAIL;
    memset(&a, 0, sizeof(a));
    a.all = o.all;
    a.now = (int64_t)time(NULL);
    if (!o.json && server_fingerprint(&o, fp) != 0) {
        goto out;
    }
    r = aw_store_invite_list(s, collect, &a);
    if (r != AW_OK) {
        cli_error(o.cmd, "cannot list invites: %s: %s", aw_result_reason(r),
                  aw_store_last_error(s));
    } else if (o.json) {
        if (print_list_json(&a) == 0) {
            rc = CLI_EXIT_OK;
        } else {
            cli_error(o.cmd, "cannot format the list");
        }
    } else {
        char id[2 * AW_INVITE_ID_LEN + 1], fph[2 * AW_ENROLL_FP_LEN + 1], created[32], expires[32];
        aw_hex_encode(fp, sizeof(fp), fph);
        printf("server enrollment key fingerprint: %s\n", fph);
        printf("%-32s %-24s %-12s %-10s %-21s %-21s %s\n", "ID", "NAME", "ALG", "MODE", "CREATED",
               "EXPIRES", "STATE");
        for (size_t i = 0; i < a.n; i++) {
            const aw_invite *inv = &a.items[i];
            aw_hex_encode(inv->id, sizeof(inv->id), id);
            printf("%-32s %-24s %-12s %-10s %-21s %-21s %s\n", id, inv->name, aw_alg_name(inv->alg),
                   aw_fresh_mode_name(inv->mode),
                   cli_format_time(inv->created_at, created, sizeof(created)),
                   cli_format_time(inv->expires_at, expires, sizeof(expires)),
                   invite_state(inv, a.now));
        }
        rc = CLI_EXIT_OK;
    }
out:
    free(a.items);
    aw_store_close(s);
    return rc;
}
