/* authwire request: a curl-like client that signs every request and trusts only responses
 * signed and bound to it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "credentials.h"

static const char request_help[] =
    "usage: authwire request --credentials FILE [options] [URL|PATH]\n"
    "\n"
    "Sends one signed request to the gateway and checks that the response is signed and\n"
    "bound to it. URL defaults to the credential file's url; a PATH such as /api/balance is\n"
    "joined to it. The body goes to stdout.\n"
    "\n"
    "  --credentials FILE  the credential file from `authwire user add` or `enroll`\n"
    "  -X, --request M     method (default GET, or POST with a body)\n"
    "  -d, --data DATA     request body; @FILE reads it from FILE (@- from stdin)\n"
    "  -H, --header 'N: V' extra header field (repeatable); Content-Type is signed\n"
    "  -i, --include       print the response status line and fields before the body\n"
    "  -v, --verbose       print the signature base and the response head to stderr\n"
    "  -o, --output FILE   write the body to FILE instead of stdout\n"
    "  --cacert FILE       trust this CA instead of the credential file's\n"
    "  --cert FILE         client certificate for mTLS (--key FILE for its key)\n"
    "  --key FILE          private key of --cert\n"
    "  --state FILE        sequence counter and clock offset (default CREDENTIALS.state)\n"
    "  -h, --help          this help\n"
    "\n"
    "exit status: 0 a verified 2xx answer; 1 a verified refusal or error status, or no\n"
    "answer at all; 2 usage; 3 the answer failed verification (possible interference) or the\n"
    "gateway saw another TLS session than ours (TLS interception suspected).\n";

#define MAX_HEADERS 64

enum { OPT_CREDENTIALS = 256, OPT_CACERT, OPT_CERT, OPT_KEY, OPT_STATE };

static const struct option request_options[] = {
    {"credentials", required_argument, NULL, OPT_CREDENTIALS},
    {"request", required_argument, NULL, 'X'},
    {"data", required_argument, NULL, 'd'},
    {"header", required_argument, NULL, 'H'},
    {"include", no_argument, NULL, 'i'},
    {"verbose", no_argument, NULL, 'v'},
    {"output", required_argument, NULL, 'o'},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"state", required_argument, NULL, OPT_STATE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int write_out(const char *path, const uint8_t *data, size_t len, bool with_head,
                     const char *head, size_t head_len)
{
    FILE *f = path != NULL ? fopen(path, "wb") : stdout;
    if (f == NULL) {
        cli_error("request", "cannot write %s", path);
        return -1;
    }
    if (with_head) {
        fwrite(head, 1, head_len, f);
    }
    fwrite(data, 1, len, f);
    bool ok = fflush(f) == 0 && !ferror(f);
    if (path != NULL) {
        ok = fclose(f) == 0 && ok;
    }
    if (!ok) {
        cli_error("request", "cannot write the body");
        return -1;
    }
    return 0;
}

int cli_request(int argc, char **argv)
{
    const char *credentials_path = NULL, *data = NULL, *output = NULL;
    const char *headers[MAX_HEADERS];
    size_t n_headers = 0;
    aw_client_request rq = {0};
    bool include = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:d:H:ivo:h", request_options, NULL)) != -1) {
        switch (c) {
        case OPT_CREDENTIALS:
            credentials_path = optarg;
            break;
        case 'X':
            rq.method = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'H':
            if (n_headers == MAX_HEADERS) {
                cli_error("request", "at most %d -H fields", MAX_HEADERS);
                return CLI_EXIT_USAGE;
            }
            headers[n_headers++] = optarg;
            break;
        case 'i':
            include = true;
            break;
        case 'v':
            rq.verbose = stderr;
            break;
        case 'o':
            output = optarg;
            break;
        case OPT_CACERT:
            rq.cacert = optarg;
            break;
        case OPT_CERT:
            rq.client_cert = optarg;
            break;
        case OPT_KEY:
            rq.client_key = optarg;
            break;
        case OPT_STATE:
            rq.state_path = optarg;
            break;
        case 'h':
            fputs(request_help, stdout);
            return CLI_EXIT_OK;
        default:
            fputs(request_help, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (credentials_path == NULL) {
        cli_error("request", "--credentials FILE is required (see --help)");
        return CLI_EXIT_USAGE;
    }
    if (optind < argc - 1) {
        cli_error("request", "one URL at most, got '%s' and more", argv[optind + 1]);
        return CLI_EXIT_USAGE;
    }
    rq.url = optind < argc ? argv[optind] : NULL;
    rq.fields = headers;
    rq.n_fields = n_headers;

    aw_credentials cred;
    if (cli_read_credentials("request", credentials_path, &cred) != 0) {
        return CLI_EXIT_FAIL;
    }
    uint8_t *body = NULL;
    size_t body_len = 0;
    if (data != NULL) {
        if (data[0] == '@') {
            body = cli_read_file("request", data + 1, &body_len);
            if (body == NULL) {
                aw_credentials_free(&cred);
                return CLI_EXIT_FAIL;
            }
        } else {
            body_len = strlen(data);
            body = (uint8_t *)strdup(data);
        }
        rq.body = body;
        rq.body_len = body_len;
    }

    aw_client_response resp;
    char why_text[256] = "";
    aw_result r = aw_client_send(&cred, credentials_path, &rq, &resp, why_text, sizeof(why_text));
    aw_credentials_free(&cred);
    free(body);
    if (r != AW_OK) {
        cli_error("request", "%s", why_text[0] != '\0' ? why_text : aw_result_reason(r));
        return CLI_EXIT_FAIL;
    }
    int rc;
    if (!resp.verified) {
        cli_error("request",
                  "RESPONSE FAILED VERIFICATION (%s): possible interference; the answer (status "
                  "%d) is not shown",
                  aw_result_name(resp.why), resp.status);
        rc = CLI_EXIT_INTERFERENCE;
    } else if (resp.interception) {
        cli_error("request", "the gateway refused the request: TLS INTERCEPTION SUSPECTED (its "
                             "TLS session is not the one this client negotiated)");
        rc = CLI_EXIT_INTERFERENCE;
    } else {
        rc = resp.status >= 200 && resp.status < 300 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        if (write_out(output, resp.body, resp.body_len, include, resp.head, resp.head_len) != 0) {
            rc = CLI_EXIT_FAIL;
        }
        if (rc != CLI_EXIT_OK) {
            cli_error("request", "the gateway answered %d%s%s (signed and bound to this request)",
                      resp.status, resp.error[0] != '\0' ? ": " : "", resp.error);
            if (resp.clock_corrected) {
                cli_error("request", "the clock offset was corrected from the gateway's signed "
                                     "time; run the request again");
            }
        }
    }
    aw_client_response_free(&resp);
    return rc;
}
