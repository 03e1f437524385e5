/* authwire: one command, a table of subcommands (wireguard-tools style). */
#include <stdio.h>
#include <string.h>

#include "authwire/crypto.h"
#include "cli.h"

static const cli_command commands[] = {
    {"sign", "sign a raw HTTP/1.1 message (adds Content-Digest, Signature-Input, Signature)",
     cli_sign},
    {"verify", "verify a signed HTTP/1.1 message and show the signature base", cli_verify},
    {"init", "create a gateway data directory (database, master key, server keys, local CA)",
     cli_init},
    {"user", "add, list and revoke users; issue mTLS client certificates", cli_user},
    {"invite", "make a one-time enrollment invite (prints its token), or revoke one", cli_invite},
    {"invites", "list enrollment invites", cli_invites},
    {"enroll", "redeem an invite token: pinned-key handshake, writes the credential file",
     cli_enroll},
    {"rotate", "replace the key of a credential file (signed re-key, then confirmed)", cli_rotate},
    {"request", "send a signed request to the gateway and verify its answer (curl-like)",
     cli_request},
    {"lab", "the MAC lab: weak MAC constructions attacked for real, measured against the bounds",
     cli_lab},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: authwire <subcommand> [options]\n\n"
                 "authwire signs and verifies HTTP messages (RFC 9421, profile authwire/1)\n"
                 "so that a man in the middle cannot forge, alter or replay them.\n\n"
                 "subcommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\nRun 'authwire <subcommand> --help' for the options of one subcommand.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("authwire 0.1.0 (protocol authwire/1)\n");
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            if (aw_crypto_init() != AW_OK) {
                cli_error(name, "the crypto backend failed to start");
                return CLI_EXIT_FAIL;
            }
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "authwire: unknown subcommand '%s'\n\n", name);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
