#!/usr/bin/env bash
# Run every libFuzzer target for a bounded time on a copy of its seed corpus.
#   test/fuzz/run.sh BUILD_FUZZ_DIR SECS
# Each $BUILD_FUZZ_DIR/fuzz_* binary runs SECS seconds (-max_total_time) with
# -rss_limit_mb=2048 on a scratch copy of test/fuzz/corpus/<name>/ (the seed
# corpus is never modified). Prints one TAP line per target, then
# "N passed, N failed"; exits non-zero when any target crashed, leaked,
# timed out or could not run. Crash inputs are kept in $BUILD_FUZZ_DIR/artifacts/.
set -uo pipefail
usage="usage: test/fuzz/run.sh BUILD_FUZZ_DIR SECS"
dir=${1:?$usage}
secs=${2:?$usage}
case $secs in ''|*[!0-9]*) echo "SECS must be a whole number of seconds" >&2; exit 2 ;; esac
[ -d "$dir" ] || { echo "no such folder: $dir" >&2; exit 2; }
dir=$(cd "$dir" && pwd)
cd "$(dirname "$0")/../.."

work=$(mktemp -d "${TMPDIR:-/tmp}/rdesk-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$dir/artifacts" "$dir/logs"

# One target: fuzz it, then write its TAP verdict (without the number) to
# $work/NAME.result so targets can run side by side.
fuzz_one() {
	local bin=$1 name seeds corpus log rc runs
	name=$(basename "$bin")
	seeds=test/fuzz/corpus/$name
	corpus=$work/$name
	mkdir -p "$corpus"
	if [ -d "$seeds" ]; then
		cp -r "$seeds"/. "$corpus"/
	else
		echo "# $name has no seed corpus in $seeds" >"$work/$name.note"
	fi
	log=$dir/logs/$name.log
	# The outer timeout only guards against a hung target.
	timeout -k 10 $((secs + 120)) "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/$name-" "$corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$runs" ] && [ "$runs" -gt 0 ]; then
		echo "ok - $name: $runs runs in ${secs}s, corpus $(ls "$corpus" | wc -l) inputs" >"$work/$name.result"
	else
		{ echo "not ok - $name: exit status $rc (log $log)"
		  grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -n 20 | sed 's/^/#   /'
		} >"$work/$name.result"
	fi
}

# As many targets at once as there are cores (each is single-threaded).
jobs=$(nproc 2>/dev/null || echo 1)
names=()
for bin in "$dir"/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
	names+=("$(basename "$bin")")
	fuzz_one "$bin" &
done
wait
n=0 passed=0 failed=0
for name in "${names[@]}"; do
	n=$((n + 1))
	[ -f "$work/$name.note" ] && cat "$work/$name.note"
	r=$(cat "$work/$name.result" 2>/dev/null || echo "not ok - $name: no result")
	case $r in
	ok*) passed=$((passed + 1)); echo "ok $n ${r#ok }" ;;
	*) failed=$((failed + 1)); echo "not ok $n ${r#not ok }" ;;
	esac
done
if [ "$n" -eq 0 ]; then
	echo "not ok 1 - no fuzz_* binaries in $dir"
	failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
