# Checks shared by the shell tests of the admin commands (tests/admin.sh, tests/invite.sh):
# source it after setting $work (a scratch directory); it counts into $pass and $fail, and
# finish prints the closing line and gives the exit status.
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # check WANT_EXIT DESCRIPTION -- command...
    local want=$1 what=$2; shift 3
    local rc=0
    "$@" >"$work/out" 2>"$work/err" || rc=$?
    if [[ $rc -eq $want ]]; then ok; else
        bad "$what: exit $rc, want $want"; cat "$work/err"; fi
    # An exit status above 2 is a crash or a signal, whatever the test wanted.
    [[ $rc -le 2 ]] || bad "$what: exit $rc looks like a crash"
}
check_stderr() { # check_stderr PATTERN DESCRIPTION
    if grep -q -- "$1" "$work/err"; then ok; else
        bad "$2: stderr lacks '$1':"; cat "$work/err"; fi
}
check_mode() { # check_mode MODE FILE
    local got
    got=$(stat -c %a "$2" 2>/dev/null || echo missing)
    [[ $got == "$1" ]] && ok || bad "$2 has mode $got, want $1"
}
finish() { # finish NAME: the closing line, then exit 0 only when nothing failed
    echo "$1: $pass passed, $fail failed"
    [[ $fail -eq 0 && $pass -gt 0 ]]
}
