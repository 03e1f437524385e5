/* authwire rotate: a new key for a credential file, by a re-key handshake carried in requests
 * signed with the current key (src/client/enroll.c), then confirmed with the new key. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "authwire/crypto.h"
#include "authwire/enroll.h"
#include "cli.h"
#include "credentials.h"
#include "enroll.h"

static const char rotate_help[] =
    "usage: authwire rotate --credentials FILE [--verbose]\n"
    "\n"
    "Replaces the key in a credential file without downtime. The handshake of enrollment\n"
    "runs again, keyed by the current key, against the server's enrollment key pinned in\n"
    "FILE (enroll_key), inside requests signed with the current key. The new key is then\n"
    "written into FILE (atomically, 0600) and a request signed with it confirms it at the\n"
    "gateway: from then on the old key is refused. Until that confirmation the old key keeps\n"
    "working, and if it fails, FILE already holds the new key and its next request confirms\n"
    "it. Ed25519 users get a new key pair; the server only ever sees its public half.\n"
    "\n"
    "  --credentials FILE  the credential file (from `authwire enroll` or `user add`)\n"
    "  --verbose           print each step and the signed exchanges to stderr\n"
    "  -h, --help          this help\n"
    "\n"
    "exit status: 0 rotated and confirmed; 1 refused by the gateway, no answer, or the new\n"
    "key is not confirmed yet; 2 usage; 3 possible interference (an answer that does not\n"
    "verify).\n";

enum { OPT_CREDENTIALS = CLI_OPT_FIRST, OPT_VERBOSE };

static const struct option rotate_options[] = {
    {"credentials", required_argument, NULL, OPT_CREDENTIALS},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The message and exit status for a rotation that did not get to a new key. */
static int report_failure(const aw_enroll_outcome *o)
{
    const aw_enroll_reply *reply = &o->reply;
    switch (o->failure) {
    case AW_ENROLL_INTERFERENCE:
        cli_error("rotate",
                  "the gateway's answer to %s does not verify (%s%s%s): POSSIBLE "
                  "INTERFERENCE; the key was not changed",
                  o->step == AW_ENROLL_CONFIRM || o->step == AW_ENROLL_DONE ? "CONFIRM" : "HELLO",
                  aw_result_name(o->result), reply->text[0] != '\0' ? ": " : "", reply->text);
        return CLI_EXIT_INTERFERENCE;
    case AW_ENROLL_REFUSED: {
        bool known =
            reply->error[0] != '\0' && strcmp(aw_result_name(o->result), reply->error) == 0;
        cli_error("rotate", "the gateway refused the rotation: %d %s (%s; signed)", reply->status,
                  aw_result_name(o->result), known ? aw_result_reason(o->result) : reply->text);
        return CLI_EXIT_FAIL;
    }
    case AW_ENROLL_NO_ANSWER:
        cli_error("rotate",
                  "no answer from the gateway after %d resends (%s); the key was not "
                  "changed and the current one still works",
                  o->resends, reply->status != 0 ? reply->error : reply->text);
        return CLI_EXIT_FAIL;
    case AW_ENROLL_LOCAL:
    case AW_ENROLL_SUCCESS:
        break;
    }
    cli_error("rotate", "rotation failed: %s", aw_result_reason(o->result));
    return CLI_EXIT_FAIL;
}

/* Stores the new key in path: *next is cred with only the key replaced (pointing into k). */
static int store_new_key(const char *path, const aw_credentials *cred, const aw_enroll_client *c,
                         const aw_ed25519_key *user_key, aw_enroll_key_buf *k, aw_credentials *next)
{
    *next = *cred;
    aw_result r = aw_enroll_put_key(c, user_key, k, next);
    if (r == AW_OK) {
        r = aw_credentials_replace(path, next);
    }
    if (r != AW_OK) {
        cli_error("rotate",
                  "cannot write the new key into %s: %s; the current key still works (run "
                  "rotate again)",
                  path, r == AW_E_IO ? strerror(errno) : aw_result_reason(r));
        return -1;
    }
    return 0;
}

int cli_rotate(int argc, char **argv)
{
    const char *path = NULL;
    bool verbose = false;
    int c, rc;
    optind = 1;
    while ((c = cli_next_option(argc, argv, "rotate", rotate_help, rotate_options, ~0u, &rc)) > 0) {
        if (c == OPT_CREDENTIALS) {
            path = optarg;
        } else {
            verbose = true;
        }
    }
    if (c < 0) {
        return rc;
    }
    if (path == NULL) {
        cli_error("rotate", "--credentials FILE is required (see --help)");
        return CLI_EXIT_USAGE;
    }
    if (optind < argc) {
        cli_error("rotate", "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    aw_credentials cred;
    if (cli_read_credentials("rotate", path, &cred) != 0) {
        return CLI_EXIT_FAIL;
    }
    if (!cred.has_enroll_key) {
        cli_error("rotate",
                  "%s has no enroll_key (the server's enrollment key, written by `authwire "
                  "enroll` and `user add`): rotation needs it pinned; ask the admin for a new "
                  "credential file",
                  path);
        aw_credentials_free(&cred);
        return CLI_EXIT_FAIL;
    }
    aw_rotate_http http = {&cred, path, verbose ? stderr : NULL};
    aw_enroll_transport tr = {aw_rotate_http_send, &http};
    aw_enroll_options opts = {.log = verbose ? stderr : NULL};
    aw_enroll_client state;
    aw_enroll_outcome outcome;
    aw_ed25519_key *user_key = NULL;
    aw_credentials next;
    aw_enroll_key_buf key;
    memset(&next, 0, sizeof(next));
    aw_result r = aw_client_rotate(&cred, &tr, &opts, &state, &user_key, &outcome);
    if (r != AW_OK) {
        rc = report_failure(&outcome);
    } else if (store_new_key(path, &cred, &state, user_key, &key, &next) != 0) {
        rc = CLI_EXIT_FAIL;
    } else {
        aw_enroll_reply reply;
        r = aw_rotate_confirm(&next, path, verbose ? stderr : NULL, &reply);
        if (r == AW_OK) {
            printf("rotated: the new key is confirmed (%s, %s); %s holds it\n", cred.keyid,
                   aw_alg_name(cred.alg), path);
            rc = CLI_EXIT_OK;
        } else if (r == AW_E_SIGNATURE_INVALID) {
            cli_error("rotate",
                      "the answer confirming the new key does not verify: POSSIBLE "
                      "INTERFERENCE. %s holds the new key; its next request confirms it",
                      path);
            rc = CLI_EXIT_INTERFERENCE;
        } else {
            cli_error("rotate",
                      "the new key is stored in %s but not confirmed yet (%s%s%s); its next "
                      "request confirms it",
                      path, reply.status != 0 ? "the gateway answered " : "",
                      reply.status != 0 ? reply.error : "", reply.status == 0 ? reply.text : "");
            rc = CLI_EXIT_FAIL;
        }
    }
    aw_wipe(&key, sizeof(key));
    aw_ed25519_free(user_key);
    aw_enroll_client_wipe(&state);
    aw_credentials_free(&cred);
    return rc;
}
