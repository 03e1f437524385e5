/* authwire lab: runs authwire-lab, the MAC lab's own executable, found next to this one.
 * The lab's deliberately weak constructions (prefix MAC, raw CBC-MAC, reused one-time keys)
 * are built into that executable only, never into this binary or libauthwire
 * (tests/lab_isolation.sh checks it); this file only passes the arguments through. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_lab(int argc, char **argv)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        cli_error("lab", "cannot find my own executable: %s", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%.*s/authwire-lab", slash == NULL ? 1 : (int)(slash - self),
             slash == NULL ? "." : self);
    /* argv[0] is "lab"; the lab sees its own path first, then our arguments unchanged. */
    argv[0] = path;
    (void)argc;
    execv(path, argv);
    cli_error("lab", "cannot run %s: %s (is the lab built? `make build`)", path, strerror(errno));
    return CLI_EXIT_FAIL;
}
