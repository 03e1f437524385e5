/* authwire verify: rebuilds the signature base of a message, checks it, explains. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char verify_help[] =
    "usage: authwire verify [FILE] --key FILE [options]\n"
    "\n"
    "Verifies the signed HTTP/1.1 message in FILE (stdin when absent or '-'). Prints the\n"
    "signature base it rebuilt, the covered components and the verdict. Exits 0 only when\n"
    "the signature is valid; otherwise prints the reason in one line and exits 1.\n"
    "\n"
    "  --key FILE          Ed25519 key (PEM, public or private) or shared secret (base64)\n"
    "  --keyid ID          the key's id; the signature's keyid must match (default: any)\n"
    "  --alg ALG           hmac-sha256 or ed25519 (default: from the key)\n"
    "  --policy POLICY     authwire (default): the authwire/1 policy (required components,\n"
    "                      created, nonce, keyid, tag, time window, Content-Digest);\n"
    "                      rfc9421: accept whatever coverage was signed\n"
    "  --label LABEL       signature to verify (default: aw, or the first with rfc9421)\n"
    "  --response          FILE is a response; verify its binding to --request\n"
    "  --request FILE      the request the response answers\n"
    "  --now N             verify as if the time were N (seconds since the epoch)\n"
    "  --max-age N         seconds a signature stays valid after created\n"
    "  --skew N            tolerated clock difference in seconds\n"
    "  --scheme SCHEME     scheme of the connection (default: https)\n"
    "  -q, --quiet         print only the verdict\n"
    "  -h, --help          this help\n";

enum {
    OPT_KEY = 256,
    OPT_KEYID,
    OPT_ALG,
    OPT_POLICY,
    OPT_LABEL,
    OPT_RESPONSE,
    OPT_REQUEST,
    OPT_NOW,
    OPT_MAX_AGE,
    OPT_SKEW,
    OPT_SCHEME,
};

static const struct option verify_options[] = {
    {"key", required_argument, NULL, OPT_KEY},
    {"keyid", required_argument, NULL, OPT_KEYID},
    {"alg", required_argument, NULL, OPT_ALG},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"label", required_argument, NULL, OPT_LABEL},
    {"response", no_argument, NULL, OPT_RESPONSE},
    {"request", required_argument, NULL, OPT_REQUEST},
    {"now", required_argument, NULL, OPT_NOW},
    {"max-age", required_argument, NULL, OPT_MAX_AGE},
    {"skew", required_argument, NULL, OPT_SKEW},
    {"scheme", required_argument, NULL, OPT_SCHEME},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct verify_opts {
    const char *key_path;
    const char *keyid;
    aw_alg alg;
    const char *policy;
    const char *label;
    bool response;
    const char *request_path;
    bool has_now;
    int64_t now;
    bool has_max_age;
    int64_t max_age;
    bool has_skew;
    int64_t skew;
    const char *scheme;
    bool quiet;
    const char *file;
} verify_opts;

static int parse_int_opt(const char *name, const char *arg, int64_t *out)
{
    if (cli_parse_i64(arg, out) != 0) {
        cli_error("verify", "--%s needs an integer, got '%s'", name, arg);
        return -1;
    }
    return 0;
}

static int parse_verify_opts(int argc, char **argv, verify_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->policy = "authwire";
    o->scheme = "https";
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "hq", verify_options, NULL)) != -1) {
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
                cli_error("verify", "unknown --alg %s (hmac-sha256 or ed25519)", optarg);
                return -1;
            }
            break;
        case OPT_POLICY:
            o->policy = optarg;
            if (strcmp(optarg, "authwire") != 0 && strcmp(optarg, "rfc9421") != 0) {
                cli_error("verify", "unknown --policy %s (authwire or rfc9421)", optarg);
                return -1;
            }
            break;
        case OPT_LABEL:
            o->label = optarg;
            break;
        case OPT_RESPONSE:
            o->response = true;
            break;
        case OPT_REQUEST:
            o->request_path = optarg;
            break;
        case OPT_NOW:
            if (parse_int_opt("now", optarg, &o->now) != 0) {
                return -1;
            }
            o->has_now = true;
            break;
        case OPT_MAX_AGE:
            if (parse_int_opt("max-age", optarg, &o->max_age) != 0) {
                return -1;
            }
            o->has_max_age = true;
            break;
        case OPT_SKEW:
            if (parse_int_opt("skew", optarg, &o->skew) != 0) {
                return -1;
            }
            o->has_skew = true;
            break;
        case OPT_SCHEME:
            o->scheme = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            fputs(verify_help, stdout);
            exit(CLI_EXIT_OK);
        default:
            fputs(verify_help, stderr);
            return -1;
        }
    }
    if (cli_message_operands("verify", argc, argv, &o->file, o->key_path, o->response,
                             o->request_path) != 0) {
        return -1;
    }
    return 0;
}

typedef struct lookup_ctx {
    const aw_key *key;
    const char *keyid;
} lookup_ctx;

static aw_result lookup_key(void *ctx, aw_span keyid, const aw_key **key)
{
    const lookup_ctx *l = ctx;
    if (l->keyid != NULL && !aw_span_eq(keyid, aw_span_cstr(l->keyid))) {
        return AW_E_KEY_UNKNOWN;
    }
    *key = l->key;
    return AW_OK;
}

static void print_span(FILE *out, const char *label, aw_span s)
{
    if (s.ptr != NULL) {
        fprintf(out, "%s%.*s\n", label, (int)s.len, (const char *)s.ptr);
    }
}

static void print_details(const aw_verified *v)
{
    if (v->base.len > 0) {
        printf("signature base:\n%.*s\n\n", (int)v->base.len, (const char *)v->base.ptr);
    }
    if (v->params != NULL) {
        printf("covered components:");
        for (size_t i = 0; i < v->params->n_inner; i++) {
            uint8_t buf[512];
            aw_writer w;
            aw_writer_init(&w, buf, sizeof(buf));
            if (aw_sf_serialize_item(&v->params->inner[i], &w) == AW_OK) {
                printf(" %.*s", (int)w.len, (const char *)w.buf);
            }
        }
        printf("\n");
    }
    print_span(stdout, "label: ", v->label);
    print_span(stdout, "keyid: ", v->keyid);
    if (v->alg != AW_ALG_NONE) {
        printf("alg: %s\n", aw_alg_name(v->alg));
    }
    if (v->has_created) {
        printf("created: %lld\n", (long long)v->created);
    }
    if (v->has_expires) {
        printf("expires: %lld\n", (long long)v->expires);
    }
    print_span(stdout, "nonce: ", v->nonce);
    print_span(stdout, "tag: ", v->tag);
}

int cli_verify(int argc, char **argv)
{
    verify_opts o;
    if (parse_verify_opts(argc, argv, &o) != 0) {
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_FAIL;
    cli_key key;
    bool have_key = false;
    cli_message *msg = calloc(1, sizeof(*msg));
    cli_message *req = calloc(1, sizeof(*req));
    size_t scratch_cap = 1u << 20;
    uint8_t *scratch_buf = malloc(scratch_cap);
    if (msg == NULL || req == NULL || scratch_buf == NULL) {
        cli_error("verify", "out of memory");
        goto out;
    }
    if (cli_load_key("verify", o.key_path, o.alg, &key) != 0) {
        goto out;
    }
    have_key = true;
    if (cli_load_exchange("verify", o.file, o.response ? o.request_path : NULL, o.scheme, msg,
                          req) != 0) {
        goto out;
    }

    aw_policy policy;
    if (strcmp(o.policy, "rfc9421") == 0) {
        aw_policy_rfc9421(&policy);
    } else if (o.response) {
        aw_policy_authwire_response(&policy);
    } else {
        aw_policy_authwire_request(&policy);
    }
    if (o.label != NULL) {
        policy.label = o.label;
    }
    if (o.has_max_age) {
        policy.max_age = o.max_age;
    }
    if (o.has_skew) {
        policy.skew = o.skew;
    }
    int64_t now = o.has_now ? o.now : (int64_t)time(NULL);

    lookup_ctx lookup = {&key.key, o.keyid};
    aw_arena scratch;
    aw_arena_init(&scratch, scratch_buf, scratch_cap);
    aw_verified v;
    aw_result r = aw_verify(&msg->msg, o.response ? &req->msg : NULL, &policy, now, lookup_key,
                            &lookup, &scratch, &v);
    if (!o.quiet) {
        print_details(&v);
    }
    if (r != AW_OK) {
        printf("verdict: INVALID\n");
        fflush(stdout);
        cli_error("verify", "%s: %s", aw_result_name(r), aw_result_reason(r));
        goto out;
    }
    printf("verdict: valid\n");
    rc = CLI_EXIT_OK;
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
    return rc;
}
