/* authwired's configuration: one table drives the command-line flags, the config file
 * (`name = value` lines, # comments), --help and the commented example config, so the four
 * can never disagree. Flags override the file. */
#ifndef AUTHWIRED_CONFIG_H
#define AUTHWIRED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum gw_cb_policy { GW_CB_OFF, GW_CB_PREFER, GW_CB_REQUIRE } gw_cb_policy;

typedef struct gw_config {
    char *data;
    char *listen;
    bool demo_api;
    char *upstream;
    bool plain;
    char *cert;
    char *key;
    char *client_ca;
    gw_cb_policy channel_binding;
    bool auth;
    int64_t skew;
    int64_t max_age;
    int64_t challenge_ttl;
    int64_t nonce_capacity;
    int64_t workers;
    int64_t max_header_bytes;
    int64_t max_body_bytes;
    int64_t header_timeout_ms;
    int64_t body_timeout_ms;
    int64_t idle_timeout_ms;
    int64_t upstream_timeout_ms;
    int64_t max_connections;
    int64_t rate_limit;
    int64_t enroll_sessions;
    int64_t enroll_rate_limit;
    char *authority;
    char *access_log;
    char *port_file;
} gw_config;

/* Fills defaults, reads --config FILE when given, then the other flags. Returns 0, 1 when
 * --help or --example-config was printed (exit 0), or -1 after printing what is wrong. */
int gw_config_load(gw_config *cfg, int argc, char **argv);
void gw_config_free(gw_config *cfg);

const char *gw_cb_policy_name(gw_cb_policy p);

#endif
