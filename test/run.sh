#!/usr/bin/env bash
# Run every test: cmocka unit tests ($RD_BUILD/test/unit/test_*), system tests
# (test/system/test_*.sh) and lab tests (test/lab/test_*.sh). Every test speaks
# TAP ("ok N - ...", "not ok N - ..."); this script counts the lines, shows the
# log of anything that failed, and ends with one line "N passed, N failed".
#   RD_TESTS=regex   run only tests whose name (test_x) or kind/name
#                    (unit/, system/ or lab/test_x) matches
#   RD_TEST_TIMEOUT  seconds per test program (default 900)
#   RD_TEST_LOGS     folder for the logs (default $RD_BUILD/test-logs)
#   RD_JOBS          test programs run at once (default: the number of cores).
#                    Each runs in its own slot (RD_JOB_SLOT of RD_JOB_SLOTS),
#                    which gives it its own share of ports and X displays; a
#                    script with a line "# test: alone" runs with nothing beside it.
set -uo pipefail
cd "$(dirname "$0")/.."
export RD_BUILD=${RD_BUILD:-build}
export RD_TOP=$PWD
logs=${RD_TEST_LOGS:-$RD_BUILD/test-logs}
rm -rf "$logs" && mkdir -p "$logs"
export CMOCKA_MESSAGE_OUTPUT=TAP
if [ "${RD_ASAN:-0}" = 1 ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66:strict_string_checks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=67}
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$RD_TOP/test/data/lsan.supp}
fi

tests=()
for t in "$RD_BUILD"/test/unit/test_*; do
	n=${t##*/}
	[ -x "$t" ] && [ "${n%.*}" = "$n" ] && tests+=("$t")
done
for t in test/system/test_*.sh test/lab/test_*.sh; do
	[ -f "$t" ] && tests+=("$t")
done

# run_one TEST SLOT: run one test program into its log, then write its
# status line (and, when it failed, the failures and the log's end) to
# $logs/NAME.report and its counts to $logs/NAME.counts.
run_one() {
	local t=$1 slot=$2 name=$3 kind=$4 log rc p f status t0=$SECONDS
	log=$logs/$name.log
	export RD_JOB_SLOT=$slot RD_JOB_SLOTS=$jobs
	if [[ $t == *.sh ]]; then
		timeout -k 10 "${RD_TEST_TIMEOUT:-900}" bash "$t" >"$log" 2>&1 </dev/null
	else
		timeout -k 10 "${RD_TEST_TIMEOUT:-900}" "$t" >"$log" 2>&1 </dev/null
	fi
	rc=$?
	p=$(grep -cE '^ok [0-9]+' "$log")
	f=$(grep -cE '^not ok [0-9]+' "$log")
	status=PASS
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1; echo "not ok - $name exited with status $rc" >>"$log"
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1; echo "not ok - $name reported no results" >>"$log"
	fi
	[ "$f" -gt 0 ] && status=FAIL
	{
		printf '%-4s %-44s %4d ok %3d failed  %4ds\n' "$status" "$name" "$p" "$f" $((SECONDS - t0))
		if [ "$status" = FAIL ]; then
			grep -E '^not ok' "$log" | sed 's/^/     /'
			echo "     --- last lines of $log:"
			tail -n 40 "$log" | sed 's/^/     | /'
		fi
	} >"$logs/$name.report"
	echo "$p $f" >"$logs/$name.counts"
}

jobs=${RD_JOBS:-$(nproc 2>/dev/null || echo 1)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || jobs=1
passed=0 failed=0
declare -A running=() # pid -> "slot name"
free_slots=()
for ((i = jobs - 1; i >= 0; i--)); do free_slots+=("$i"); done

# reap: wait for one running test, print its report, free its slot.
reap() {
	local pid= slot name p f
	wait -n -p pid "${!running[@]}" 2>/dev/null
	[ -n "$pid" ] || { pid=${!running[*]}; pid=${pid%% *}; wait "$pid"; }
	read -r slot name <<<"${running[$pid]}"
	unset "running[$pid]"
	free_slots+=("$slot")
	cat "$logs/$name.report"
	read -r p f <"$logs/$name.counts"
	passed=$((passed + p)); failed=$((failed + f))
}

start_all=$SECONDS
for t in "${tests[@]}"; do
	name=$(basename "$t"); name=${name%.sh}
	case $t in
	*.sh) kind=$(basename "$(dirname "$t")") ;;
	*) kind=unit ;;
	esac
	if [ -n "${RD_TESTS:-}" ] && ! [[ $name =~ $RD_TESTS || $kind/$name =~ $RD_TESTS ]]; then continue; fi
	name=$kind/$name
	mkdir -p "$logs/$kind"
	alone=0
	[[ $t == *.sh ]] && grep -q '^# test: alone' "$t" && alone=1
	if [ $alone = 1 ]; then
		while [ ${#running[@]} -gt 0 ]; do reap; done
	fi
	while [ ${#free_slots[@]} -eq 0 ]; do reap; done
	slot=${free_slots[-1]}
	unset 'free_slots[-1]'
	run_one "$t" "$slot" "$name" "$kind" &
	running[$!]="$slot $name"
	if [ $alone = 1 ]; then
		while [ ${#running[@]} -gt 0 ]; do reap; done
	fi
done
while [ ${#running[@]} -gt 0 ]; do reap; done
echo "total time $((SECONDS - start_all))s on $jobs job(s), logs in $logs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
