#!/usr/bin/env bash
# Layering rules from docs/DESIGN (STYLE.md items 1 and 8), checked on the source tree:
#
#  1. OpenSSL behind narrow doors: no file in src/ or include/ outside src/crypto/ and
#     src/tls/ includes an OpenSSL header, and none outside src/crypto/ includes the
#     backend's private header (ossl.h). src/crypto/ is the crypto backend behind
#     include/authwire/crypto.h; src/tls/ (authwire-tls) is the other door because TLS
#     contexts, X.509 certificates and the RFC 9266 exporter are OpenSSL's SSL and X509
#     APIs, which the crypto interface does not wrap (nor should: the core never sees TLS).
#  2. The core is sans-I/O: nothing in src/core includes socket, file-system, clock, thread
#     or RNG headers, or calls such functions (fopen, socket, time, clock_gettime, rand,
#     getrandom, ...), or prints (libraries never print).
#  3. Each outside library stays in its layer: SQLite in src/store, libevent in src/http,
#     src/gateway and src/attack (the harness's man in the middle), libcurl in src/client,
#     libqrencode in src/cli (so a reader knows from a folder what it may touch).
#
# Calls are matched after comments and string literals are blanked, so a comment saying
# "never call time() here" is not a violation. Run by CTest with AW_SOURCE_DIR set; by hand:
# AW_SOURCE_DIR=. bash tests/layering.sh
set -euo pipefail

src_dir="${AW_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$src_dir"

failures=0

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Writes two copies of each C file under $tmp: k/<path> with comments replaced by spaces,
# n/<path> with string and character literals blanked too. Newlines are kept so grep -n line
# numbers stay right. One perl run for all files keeps the test fast.
strip_all() {
    perl -e '
        my $tmp = shift @ARGV;
        for my $f (@ARGV) {
            open(my $in, "<", $f) or die "$f: $!";
            local $/;
            my $text = <$in>;
            close($in);
            # 1: block comment, 2: line comment, 3: string literal, 4: character literal.
            my $re = qr{ (/\*.*?\*/) | (//[^\n]*) | ("(?:\\.|[^"\\\n])*")
                       | (\x27(?:\\.|[^\x27\\\n])*\x27) }xs;
            for my $mode ("k", "n") {
                (my $t = $text) =~ s{$re}{
                    my $m = $&;
                    if ((defined $3 || defined $4) && $mode eq "k") {
                        $m;
                    } elsif (defined $3 || defined $4) {
                        my $q = substr($m, 0, 1);
                        $q . (" " x (length($m) - 2)) . $q;
                    } else {
                        (my $x = $m) =~ s/[^\n]/ /g;
                        $x;
                    }
                }gse;
                my $out = "$tmp/$mode/$f";
                (my $dir = $out) =~ s{/[^/]*$}{};
                system("mkdir", "-p", $dir) == 0 or die "mkdir $dir";
                open(my $o, ">", $out) or die "$out: $!";
                print $o $t;
                close($o);
            }
        }
    ' "$tmp" "$@"
}

# check_files RULE PATTERN MODE FILE...: reports every line matching PATTERN (PCRE) in the
# stripped copy (MODE k: comments blanked; n: comments and literals blanked).
check_files() {
    local rule="$1" pattern="$2" mode="$3"
    shift 3
    local f hits line n text
    for f in "$@"; do
        hits="$(grep -nP -- "$pattern" "$tmp/$mode/$f" || true)"
        if [ -n "$hits" ]; then
            while IFS= read -r line; do
                n="${line%%:*}"
                text="$(sed -n "${n}p" "$f" | sed 's/^[[:space:]]*//')"
                echo "VIOLATION [$rule] $f:$n: $text"
                failures=$((failures + 1))
            done <<<"$hits"
        fi
    done
}

mapfile -t all_files < <(find src include -type f \( -name '*.c' -o -name '*.h' \) | sort)
mapfile -t outside_crypto < <(printf '%s\n' "${all_files[@]}" | grep -v '^src/crypto/' || true)
# The MAC lab (src/lab) may include OpenSSL too: it studies the bare primitives (the AES
# block cipher for CBC-MAC, CMAC, Poly1305, BIGNUM) that libauthwire deliberately does not
# expose, and it is built into its own executable only, never into libauthwire, the client or
# the gateway (tests/lab_isolation.sh). It still may not use the backend's private ossl.h.
mapfile -t outside_doors < <(printf '%s\n' "${outside_crypto[@]}" | grep -v -e '^src/tls/' \
    -e '^src/lab/' || true)
mapfile -t backend_files < <(printf '%s\n' "${all_files[@]}" | grep '^src/crypto/' || true)
mapfile -t core_files < <(printf '%s\n' "${all_files[@]}" | grep '^src/core/' || true)

if [ "${#outside_crypto[@]}" -eq 0 ] || [ "${#core_files[@]}" -eq 0 ]; then
    echo "FAIL: nothing to check under $src_dir (src/core or src/, include/ empty?)"
    exit 1
fi
strip_all "${all_files[@]}"

# Positive control: the pattern must find the backend's own OpenSSL includes, or it is broken.
openssl_include='^\s*#\s*include\s*[<"]openssl/'
if [ "${#backend_files[@]}" -eq 0 ] || ! grep -qP "$openssl_include" "${backend_files[@]}"; then
    echo "FAIL: the OpenSSL include pattern matches nothing in src/crypto/ (pattern broken?)"
    exit 1
fi

echo "rule 1: OpenSSL headers only under src/crypto/, src/tls/ and src/lab/; ossl.h only in src/crypto/"
echo "  checked ${#outside_doors[@]} files in src/ and include/ outside those"
check_files openssl-include "$openssl_include" k "${outside_doors[@]}"
check_files backend-header '^\s*#\s*include\s*"([^"]*/)?ossl\.h"' k "${outside_crypto[@]}"

echo "rule 2: src/core is sans-I/O (${#core_files[@]} files)"
echo "  files: ${core_files[*]}"
banned_headers=(
    'sys/socket\.h' 'sys/un\.h' 'netinet/[^>"]*' 'arpa/[^>"]*' 'netdb\.h' 'poll\.h'
    'sys/select\.h' 'sys/epoll\.h' 'sys/random\.h' 'fcntl\.h' 'dirent\.h' 'sys/stat\.h'
    'sys/time\.h' 'sys/mman\.h' 'unistd\.h' 'pthread\.h' 'threads\.h' 'event2/[^>"]*'
    'curl/[^>"]*' 'sqlite3\.h' 'libpq-fe\.h' 'hiredis/[^>"]*'
)
echo "  headers: ${banned_headers[*]//\\/}"
header_re="^\\s*#\\s*include\\s*[<\"]($(IFS='|'; echo "${banned_headers[*]}"))[>\"]"
check_files core-header "$header_re" k "${core_files[@]}"

banned_calls=(
    # files
    fopen freopen fdopen tmpfile popen open openat creat unlink remove rename mkdir opendir
    # sockets
    socket connect bind listen accept accept4 send recv sendto recvfrom sendmsg recvmsg
    getaddrinfo gethostbyname setsockopt
    # clock (gmtime_r is allowed: it converts a time the caller passed in)
    time clock_gettime gettimeofday clock timespec_get localtime localtime_r ftime
    # randomness (it comes in as an argument or through the crypto interface)
    rand srand rand_r random srandom drand48 lrand48 arc4random arc4random_buf getrandom
    getentropy RAND_bytes
    # threads and processes
    pthread_create thrd_create fork
    # printing and the environment
    printf fprintf vprintf vfprintf puts fputs putchar perror fwrite getenv secure_getenv
)
echo "  calls: ${banned_calls[*]}"
# Not preceded by an identifier character, '.' or '->' (so aw_time( or ops->send( pass).
call_re="(?<![\\w.>])($(IFS='|'; echo "${banned_calls[*]}"))\\s*\\("
check_files core-call "$call_re" n "${core_files[@]}"
check_files core-device '"/dev/u?random"' k "${core_files[@]}"

echo "rule 3: each outside library in its own layer"
# library-include-pattern allowed-folders (extended regex on the path)
layer_rules=(
    'sqlite3\.h|^src/store/'
    'event2/[^>"]*|^src/(http|gateway|attack)/'
    'curl/[^>"]*|^src/client/'
    'qrencode\.h|^src/cli/'
)
for rule in "${layer_rules[@]}"; do
    lib=${rule%%|*}
    allowed=${rule#*|}
    mapfile -t outside < <(printf '%s\n' "${all_files[@]}" | grep -v -E "$allowed" || true)
    echo "  ${lib//\\/} only in $allowed (${#outside[@]} files checked)"
    check_files layer-include "^\\s*#\\s*include\\s*[<\"]($lib)[>\"]" k "${outside[@]}"
done

if [ "$failures" -ne 0 ]; then
    echo "layering: $failures violation(s)"
    exit 1
fi
echo "layering: OK"
