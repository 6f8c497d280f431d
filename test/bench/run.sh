#!/usr/bin/env bash
# Run every benchmark (test/bench/bench_*.sh). Each prints its figures as
# "# ..." lines and one TAP line per target it checks; this script shows the
# output as it comes, keeps a log per benchmark and ends with
# "N passed, N failed" over all of them.
#   RD_BENCH=regex   run only benchmarks whose name matches
#   RD_BUILD         build folder (default build)
set -uo pipefail
cd "$(dirname "$0")/../.."
export RD_BUILD=${RD_BUILD:-build}
export RD_TOP=$PWD
logs=$RD_BUILD/bench-logs
mkdir -p "$logs"
passed=0 failed=0
for b in test/bench/bench_*.sh; do
	name=$(basename "$b" .sh)
	if [ -n "${RD_BENCH:-}" ] && ! [[ $name =~ $RD_BENCH ]]; then continue; fi
	echo "== $name"
	log=$logs/$name.log
	timeout -k 10 "${RD_BENCH_TIMEOUT:-1800}" bash "$b" </dev/null 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -cE '^ok [0-9]+' "$log")
	f=$(grep -cE '^not ok [0-9]+' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited with status $rc"; fi
	passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
