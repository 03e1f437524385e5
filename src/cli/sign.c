/* authwire sign: adds Content-Digest, Signature-Input and Signature to a raw message. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authwire/crypto.h"
#include "cli.h"

static const char sign_help[] =
    "usage: authwire sign [FILE] --key FILE [options]\n"
    "\n"
    "Signs the raw HTTP/1.1 message in FILE (stdin when absent or '-') and prints it with\n"
    "Content-Digest (when absent), Signature-Input and Signature added.\n"
    "\n"
    "  --key FILE          Ed25519 private key (PEM) or shared secret (base64)\n"
    "  --keyid ID          keyid parameter (the user id in authwire/1)\n"
    "  --alg ALG           hmac-sha256 or ed25519 (default: from the key)\n"
    "  --label LABEL       signature label (default: aw)\n"
    "  --components LIST   covered components, e.g. '\"@method\" \"@path\"'\n"
    "                      (default: the authwire/1 set, plus content-type when present)\n"
    "  --created N         created parameter (default: now); --no-created omits it\n"
    "  --expires N         expires parameter (default: none)\n"
    "  --nonce STR         nonce parameter (default: 256 random bits, base64url);\n"
    "                      --no-nonce omits it\n"
    "  --tag STR           tag parameter (default: authwire/1 or authwire/1-response);\n"
    "                      --no-tag omits it\n"
    "  --no-alg            omit the alg parameter\n"
    "  --digest ALG        sha-256 (default), sha-512 or none: Content-Digest to add\n"
    "  --response          FILE is a response; sign it bound to --request\n"
    "  --request FILE      the signed request a response answers\n"
    "  --scheme SCHEME     scheme of the connection (default: https)\n"
    "  --print-base        print the signature base to stderr\n"
    "  -h, --help          this help\n";

enum {
    OPT_KEY = 256,
    OPT_KEYID,
    OPT_ALG,
    OPT_LABEL,
    OPT_COMPONENTS,
    OPT_CREATED,
    OPT_NO_CREATED,
    OPT_EXPIRES,
    OPT_NONCE,
    OPT_NO_NONCE,
    OPT_TAG,
    OPT_NO_TAG,
    OPT_NO_ALG,
    OPT_DIGEST,
    OPT_RESPONSE,
    OPT_REQUEST,
    OPT_SCHEME,
    OPT_PRINT_BASE,
};

static const struct option sign_options[] = {
    {"key", required_argument, NULL, OPT_KEY},
    {"keyid", required_argument, NULL, OPT_KEYID},
    {"alg", required_argument, NULL, OPT_ALG},
    {"label", required_argument, NULL, OPT_LABEL},
    {"components", required_argument, NULL, OPT_COMPONENTS},
    {"created", required_argument, NULL, OPT_CREATED},
    {"no-created", no_argument, NULL, OPT_NO_CREATED},
    {"expires", required_argument, NULL, OPT_EXPIRES},
    {"nonce", required_argument, NULL, OPT_NONCE},
    {"no-nonce", no_argument, NULL, OPT_NO_NONCE},
    {"tag", required_argument, NULL, OPT_TAG},
    {"no-tag", no_argument, NULL, OPT_NO_TAG},
    {"no-alg", no_argument, NULL, OPT_NO_ALG},
    {"digest", required_argument, NULL, OPT_DIGEST},
    {"response", no_argument, NULL, OPT_RESPONSE},
    {"request", required_argument, NULL, OPT_REQUEST},
    {"scheme", required_argument, NULL, OPT_SCHEME},
    {"print-base", no_argument, NULL, OPT_PRINT_BASE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct sign_opts {
    const char *key_path;
    const char *keyid;
    aw_alg alg;
    const char *label;
    const char *components;
    bool no_created;
    bool has_created;
    int64_t created;
    bool has_expires;
    int64_t expires;
    const char *nonce;
    bool no_nonce;
    const char *tag;
    bool no_tag;
    bool no_alg;
    const char *digest;
    bool response;
    const char *request_path;
    const char *scheme;
    bool print_base;
    const char *file;
} sign_opts;

static int parse_sign_opts(int argc, char **argv, sign_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->label = AW_LABEL;
    o->digest = "sha-256";
    o->scheme = "https";
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", sign_options, NULL)) != -1) {
        switch (c) {
        case OPT_KEY:
            o->key_path = optarg;
            break;
        case OPT_KEYID:
            o->keyid = optarg;
            break;
        case OPT_ALG:
            o->alg = aw_alg_from_name(aw_span_cstr(optarg));
            if (o->alg == AW_ALG_NONE) {
                cli_error("sign", "unknown --alg %s (hmac-sha256 or ed25519)", optarg);
                return -1;
            }
            break;
        case OPT_LABEL:
            o->label = optarg;
            break;
        case OPT_COMPONENTS:
            o->components = optarg;
            break;
        case OPT_CREATED:
            if (cli_parse_i64(optarg, &o->created) != 0) {
                cli_error("sign", "--created needs an integer, got '%s'", optarg);
                return -1;
            }
            o->has_created = true;
            break;
        case OPT_NO_CREATED:
            o->no_created = true;
            break;
        case OPT_EXPIRES:
            if (cli_parse_i64(optarg, &o->expires) != 0) {
                cli_error("sign", "--expires needs an integer, got '%s'", optarg);
                return -1;
            }
            o->has_expires = true;
            break;
        case OPT_NONCE:
            o->nonce = optarg;
            break;
        case OPT_NO_NONCE:
            o->no_nonce = true;
            break;
        case OPT_TAG:
            o->tag = optarg;
            break;
        case OPT_NO_TAG:
            o->no_tag = true;
            break;
        case OPT_NO_ALG:
            o->no_alg = true;
            break;
        case OPT_DIGEST:
            o->digest = optarg;
            break;
        case OPT_RESPONSE:
            o->response = true;
            break;
        case OPT_REQUEST:
            o->request_path = optarg;
            break;
        case OPT_SCHEME:
            o->scheme = optarg;
            break;
        case OPT_PRINT_BASE:
            o->print_base = true;
            break;
        case 'h':
            fputs(sign_help, stdout);
            exit(CLI_EXIT_OK);
        default:
            fputs(sign_help, stderr);
            return -1;
        }
    }
    if (cli_message_operands("sign", argc, argv, &o->file, o->key_path, o->response,
                             o->request_path) != 0) {
        return -1;
    }
    if (strcmp(o->digest, "sha-256") != 0 && strcmp(o->digest, "sha-512") != 0 &&
        strcmp(o->digest, "none") != 0) {
        cli_error("sign", "unknown --digest %s (sha-256, sha-512 or none)", o->digest);
        return -1;
    }
    return 0;
}

static void write_header(FILE *out, const char *name, aw_span value, const char *eol)
{
    fprintf(out, "%s: %.*s%s", name, (int)value.len, (const char *)value.ptr, eol);
}

int cli_sign(int argc, char **argv)
{
    sign_opts o;
    if (parse_sign_opts(argc, argv, &o) != 0) {
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_FAIL;
    cli_key key;
    cli_message *msg = calloc(1, sizeof(*msg));
    cli_message *req = calloc(1, sizeof(*req));
    size_t scratch_cap = 1u << 20;
    uint8_t *scratch_buf = malloc(scratch_cap);
    uint8_t *out_buf = malloc(3 * 65536);
    bool have_key = false;
    if (msg == NULL || req == NULL || scratch_buf == NULL || out_buf == NULL) {
        cli_error("sign", "out of memory");
        goto out;
    }
    if (cli_load_key("sign", o.key_path, o.alg, &key) != 0) {
        goto out;
    }
    have_key = true;
    if (key.key.alg == AW_ALG_ED25519 && !aw_ed25519_has_private(key.key.ed25519)) {
        cli_error("sign", "%s is a public key; signing needs the private key", o.key_path);
        goto out;
    }
    if (cli_load_exchange("sign", o.file, o.response ? o.request_path : NULL, o.scheme, msg, req) !=
        0) {
        goto out;
    }

    aw_arena scratch;
    aw_arena_init(&scratch, scratch_buf, scratch_cap);
    aw_writer digest_w;
    aw_writer_init(&digest_w, out_buf, 65536);
    bool add_digest = strcmp(o.digest, "none") != 0 &&
                      aw_message_count_field(&msg->msg, AW_SPAN_LIT("content-digest")) == 0;
    if (add_digest) {
        aw_digest_alg dalg = strcmp(o.digest, "sha-512") == 0 ? AW_DIGEST_SHA512 : AW_DIGEST_SHA256;
        aw_result r = aw_content_digest(msg->msg.body, dalg, &digest_w);
        if (r != AW_OK) {
            cli_error("sign", "cannot compute Content-Digest: %s", aw_result_reason(r));
            goto out;
        }
        /* The headers array has spare room for the fields this tool adds. */
        msg->headers[msg->msg.n_headers] =
            (aw_header){AW_SPAN_LIT("Content-Digest"), aw_writer_span_of(&digest_w)};
        msg->msg.n_headers++;
    }

    char components[4096];
    const char *base_set = o.response ? AW_COMPONENTS_RESPONSE : AW_COMPONENTS_REQUEST;
    int written;
    if (o.components != NULL) {
        written = snprintf(components, sizeof(components), "%s", o.components);
    } else if (aw_message_count_field(&msg->msg, AW_SPAN_LIT("content-type")) > 0) {
        written = snprintf(components, sizeof(components), "%s \"content-type\"", base_set);
    } else {
        written = snprintf(components, sizeof(components), "%s", base_set);
    }
    if (written < 0 || (size_t)written >= sizeof(components)) {
        cli_error("sign", "--components is longer than %zu bytes", sizeof(components) - 1);
        goto out;
    }

    uint8_t nonce_raw[32];
    char nonce_text[64];
    aw_sign_params p = {
        .label = o.label,
        .components = components,
        .has_created = !o.no_created,
        .created = o.has_created ? o.created : (int64_t)time(NULL),
        .has_expires = o.has_expires,
        .expires = o.expires,
        .keyid = aw_span_cstr(o.keyid),
        .with_alg = !o.no_alg,
    };
    if (o.nonce != NULL) {
        p.nonce = aw_span_cstr(o.nonce);
    } else if (!o.no_nonce) {
        aw_writer nw;
        aw_writer_init(&nw, (uint8_t *)nonce_text, sizeof(nonce_text));
        if (aw_random(nonce_raw, sizeof(nonce_raw)) != AW_OK) {
            cli_error("sign", "no randomness for the nonce");
            goto out;
        }
        aw_writer_base64url(&nw, nonce_raw, sizeof(nonce_raw));
        p.nonce = aw_writer_span_of(&nw);
    }
    if (o.tag != NULL) {
        p.tag = aw_span_cstr(o.tag);
    } else if (!o.no_tag) {
        p.tag = aw_span_cstr(o.response ? AW_TAG_RESPONSE : AW_TAG_REQUEST);
    }

    aw_writer sig_input;
    aw_writer signature;
    aw_writer base;
    aw_writer_init(&sig_input, out_buf + 65536, 32768);
    aw_writer_init(&signature, out_buf + 65536 + 32768, 32768);
    aw_writer_init(&base, out_buf + 2 * 65536, 65536);
    aw_result r = aw_sign(&msg->msg, o.response ? &req->msg : NULL, &key.key, &p, &scratch,
                          &sig_input, &signature, &base);
    if (r != AW_OK) {
        cli_error("sign", "%s: %s", aw_result_name(r), aw_result_reason(r));
        goto out;
    }
    if (o.print_base) {
        fprintf(stderr, "%.*s\n", (int)base.len, (const char *)base.buf);
    }

    fwrite(msg->raw, 1, msg->header_end, stdout);
    if (add_digest) {
        write_header(stdout, "Content-Digest", aw_writer_span_of(&digest_w), msg->eol);
    }
    write_header(stdout, "Signature-Input", aw_writer_span_of(&sig_input), msg->eol);
    write_header(stdout, "Signature", aw_writer_span_of(&signature), msg->eol);
    fputs(msg->eol, stdout);
    fwrite(msg->msg.body.ptr, 1, msg->msg.body.len, stdout);
    rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
    if (have_key) {
        cli_key_free(&key);
    }
    if (msg != NULL) {
        cli_message_free(msg);
    }
    if (req != NULL) {
        cli_message_free(req);
    }
    free(msg);
    free(req);
    free(scratch_buf);
    free(out_buf);
    return rc;
}
