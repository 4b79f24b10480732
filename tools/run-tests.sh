#!/bin/sh
# Run every test binary given, keep going after a failure, and close with
# one summary line over all of CMocka's counts ("N passed, N failed").
passed=0
failed=0
bad=""
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
    name=${t##*/}
    printf '== %s\n' "$name"
    case "$t" in
    */tests/fuzz/fuzz_*) # a corpus replay
        "$t" "tests/fuzz/corpus/${name#fuzz_}" >"$out" 2>&1 ;;
    *)
        "$t" >"$out" 2>&1 ;;
    esac
    rc=$?
    cat "$out"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
    if ! grep -q '^\[==========\]' "$out"; then
        # not a CMocka program (corpus replay, demo): one check by exit code
        [ "$rc" -eq 0 ] && p=1 || f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ]; then
        [ "$f" -eq 0 ] && failed=$((failed + 1)) # crashed before its summary
        bad="$bad $name"
    fi
done
echo
[ -n "$bad" ] && echo "failing:$bad"
echo "$passed passed, $failed failed"
[ -z "$bad" ]
