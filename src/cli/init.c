/* authwire init: creates a data directory for authwired (database, master key, server keys,
 * a local CA and the gateway's TLS certificate). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authwire/bytes.h"
#include "authwire/crypto.h"
#include "certgen.h"
#include "cli.h"
#include "datadir.h"
#include "files.h"
#include "store.h"

static const char init_help[] =
    "usage: authwire init --data DIR\n"
    "\n"
    "Creates the data directory of an authwired gateway (mode 0700): the user database,\n"
    "the master key that seals user keys at rest (kept outside the database), the server's\n"
    "Ed25519 signing key and X25519 enrollment key, a local CA and a TLS certificate it\n"
    "signs for localhost, 127.0.0.1 and ::1. DIR must not exist or be empty: an existing\n"
    "data directory is never overwritten.\n"
    "\n"
    "  --data DIR   the directory to create\n"
    "  -h, --help   this help\n";

static const struct option init_options[] = {
    {"data", required_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The files init creates, in order, for the report and for the clean-up on failure. */
static const struct {
    const char *file;
    const char *what;
} made_files[] = {
    {AW_DATA_DB, "user database (SQLite, WAL), 0600"},
    {AW_DATA_MASTER_KEY, "master key sealing user keys at rest, 0600: back it up apart"},
    {AW_DATA_SIGNING_KEY, "server Ed25519 signing key, 0600"},
    {AW_DATA_X25519_KEY, "server X25519 enrollment key, 0600"},
    {AW_DATA_CA_CERT, "local CA certificate (give it to clients)"},
    {AW_DATA_CA_KEY, "local CA key, 0600"},
    {AW_DATA_TLS_CERT, "gateway TLS certificate (localhost, 127.0.0.1, ::1)"},
    {AW_DATA_TLS_KEY, "gateway TLS key, 0600"},
};

/* 0: DIR is ready (created, or existed empty); -1: refused, with the reason printed. */
static int prepare_dir(const char *dir, bool *created)
{
    struct stat st;
    *created = false;
    if (mkdir(dir, 0700) == 0) {
        *created = true;
        return 0;
    }
    if (errno != EEXIST) {
        cli_error("init", "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("init", "%s exists and is not a directory", dir);
        return -1;
    }
    char path[4096];
    if (aw_data_path(dir, AW_DATA_DB, path, sizeof(path)) == AW_OK && access(path, F_OK) == 0) {
        cli_error("init", "%s is already an authwire data directory; refusing to overwrite it",
                  dir);
        return -1;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        cli_error("init", "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    closedir(d);
    if (!empty) {
        cli_error("init", "%s exists and is not empty; give a new or empty directory", dir);
        return -1;
    }
    if (chmod(dir, 0700) != 0) {
        cli_error("init", "cannot chmod 700 %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Removes what a failed init made, so that running it again starts clean. */
static void clean_up(const char *dir, bool created)
{
    static const char *const extra[] = {AW_DATA_DB "-wal", AW_DATA_DB "-shm"};
    char path[4096];
    for (size_t i = 0; i < sizeof(made_files) / sizeof(made_files[0]); i++) {
        if (aw_data_path(dir, made_files[i].file, path, sizeof(path)) == AW_OK) {
            unlink(path);
        }
    }
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        if (aw_data_path(dir, extra[i], path, sizeof(path)) == AW_OK) {
            unlink(path);
        }
    }
    if (created) {
        rmdir(dir);
    }
}

/* Writes a private PEM to DIR/file, 0600. */
static int write_private(const char *dir, const char *file, const char *pem, size_t len)
{
    char path[4096];
    if (aw_data_path(dir, file, path, sizeof(path)) != AW_OK) {
        cli_error("init", "path too long: %s/%s", dir, file);
        return -1;
    }
    aw_result r = aw_file_write_atomic(path, pem, len, 0600, AW_FILE_NO_REPLACE);
    if (r != AW_OK) {
        cli_error("init", "cannot write %s: %s", path,
                  r == AW_E_IO ? strerror(errno) : aw_result_reason(r));
        return -1;
    }
    return 0;
}

/* The server keys; *pub gets the Ed25519 public key clients pin. */
static int make_server_keys(const char *dir, uint8_t pub[AW_ED25519_PUBLIC_LEN])
{
    aw_ed25519_key *k = NULL;
    char pem[512];
    size_t len = 0;
    uint8_t x_pub[AW_X25519_PUBLIC_LEN];
    int rc = -1;

    if (aw_ed25519_generate(&k) != AW_OK || aw_ed25519_public(k, pub) != AW_OK ||
        aw_ed25519_private_pem(k, pem, sizeof(pem), &len) != AW_OK) {
        cli_error("init", "cannot generate the server Ed25519 key");
        goto out;
    }
    if (write_private(dir, AW_DATA_SIGNING_KEY, pem, len) != 0) {
        goto out;
    }
    aw_wipe(pem, sizeof(pem));
    if (aw_x25519_generate(x_pub, pem, sizeof(pem), &len) != AW_OK) {
        cli_error("init", "cannot generate the server X25519 key");
        goto out;
    }
    if (write_private(dir, AW_DATA_X25519_KEY, pem, len) != 0) {
        goto out;
    }
    rc = 0;

out:
    aw_wipe(pem, sizeof(pem));
    aw_ed25519_free(k);
    return rc;
}

static int write_pair(const char *dir, const aw_cert_pair *p, const char *cert_file,
                      const char *key_file)
{
    char cert[4096], key[4096];
    if (aw_data_path(dir, cert_file, cert, sizeof(cert)) != AW_OK ||
        aw_data_path(dir, key_file, key, sizeof(key)) != AW_OK) {
        cli_error("init", "path too long: %s", dir);
        return -1;
    }
    aw_result r = aw_cert_pair_write(p, cert, key);
    if (r != AW_OK) {
        cli_error("init", "cannot write %s and %s: %s", cert, key,
                  r == AW_E_IO ? strerror(errno) : aw_result_reason(r));
        return -1;
    }
    return 0;
}

static int make_certificates(const char *dir)
{
    aw_cert_pair ca = {NULL, NULL}, server = {NULL, NULL};
    int rc = -1;
    if (aw_certgen_ca(&ca) != AW_OK || aw_certgen_server(&ca, &server) != AW_OK) {
        cli_error("init", "cannot generate the local CA and the TLS certificate");
        goto out;
    }
    if (write_pair(dir, &ca, AW_DATA_CA_CERT, AW_DATA_CA_KEY) != 0 ||
        write_pair(dir, &server, AW_DATA_TLS_CERT, AW_DATA_TLS_KEY) != 0) {
        goto out;
    }
    rc = 0;
out:
    aw_cert_pair_free(&ca);
    aw_cert_pair_free(&server);
    return rc;
}

int cli_init(int argc, char **argv)
{
    const char *dir = NULL;
    bool created = false;
    uint8_t pub[AW_ED25519_PUBLIC_LEN];
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", init_options, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'h':
            fputs(init_help, stdout);
            return CLI_EXIT_OK;
        default:
            fputs(init_help, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("init", "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (dir == NULL || dir[0] == '\0') {
        cli_error("init", "--data DIR is required");
        return CLI_EXIT_USAGE;
    }
    if (prepare_dir(dir, &created) != 0) {
        return CLI_EXIT_FAIL;
    }
    aw_result r = aw_store_create(dir);
    if (r != AW_OK) {
        cli_error("init", "cannot create the store in %s: %s", dir,
                  r == AW_E_IO ? strerror(errno) : aw_result_reason(r));
        clean_up(dir, created);
        return CLI_EXIT_FAIL;
    }
    if (make_server_keys(dir, pub) != 0 || make_certificates(dir) != 0) {
        clean_up(dir, created);
        return CLI_EXIT_FAIL;
    }

    char pub_b64[64];
    aw_writer w;
    aw_writer_init(&w, (uint8_t *)pub_b64, sizeof(pub_b64) - 1);
    aw_writer_base64(&w, pub, sizeof(pub));
    pub_b64[w.len] = '\0';
    printf("initialised %s (0700):\n", dir);
    for (size_t i = 0; i < sizeof(made_files) / sizeof(made_files[0]); i++) {
        printf("  %-20s %s\n", made_files[i].file, made_files[i].what);
    }
    printf("server public key (clients pin it): %s\n", pub_b64);
    printf("next: authwire user add NAME --data %s --out NAME.json\n", dir);
    return CLI_EXIT_OK;
}
