#!/usr/bin/env bash
# Man pages: make builds one per program (scdoc, and rdctl's own --man from
# its verb table); every long option each program's --help prints appears
# in its page (so drift is caught), every configuration key of the shipped
# INI files is in the page and accepted by the program, the pages carry exit
# status, files and examples, and `rdctl help VERB` is `rdctl VERB --help`.
source "$(dirname "$0")/../lib.sh"
cd "$RD_TOP"
command -v scdoc >/dev/null || { not_ok "scdoc is missing (make deps)"; t_done; }
B=$RD_BUILD
if [ "${RD_ASAN:-0}" = 1 ]; then mk=(ASAN=1 BUILD="${RD_BUILD%/asan}"); else mk=(BUILD="$RD_BUILD"); fi
make --no-print-directory "${mk[@]}" man >"$T_TMP/make.log" 2>&1
check "make man" test $? -eq 0 || sed 's/^/# /' "$T_TMP/make.log"
declare -A page=([rd-rendezvous]=$B/man/rd-rendezvous.8 [rd-relay]=$B/man/rd-relay.8
	[rd-agent]=$B/man/rd-agent.8 [rdctl]=$B/man/rdctl.1 [rd-agent-helper]=$B/man/rd-agent-helper.8)

# Plain text of a roff page: no font changes, no escaped dashes.
plain() { sed -e 's/\\f[BIRP]//g' -e 's/\\(em/-/g' -e 's/\\-/-/g' -e 's/\\e/\\/g' "$1"; }
longopts() { grep -oE -- '(^|[ ,[|(])--[a-z][a-z0-9-]+' | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u; }

for p in rd-rendezvous rd-relay rd-agent rdctl rd-agent-helper; do
	f=${page[$p]}
	if ! [ -s "$f" ]; then not_ok "$p: man page built"; continue; fi
	ok "$p: man page built ($(basename "$f"), $(wc -l <"$f") lines)"
	plain "$f" >"$T_TMP/$p.txt"
	check "$p: man renders without warnings" \
		bash -c "! MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l '$f' 2>&1 >/dev/null | grep -q ."
	for sec in NAME SYNOPSIS DESCRIPTION 'EXIT STATUS' FILES EXAMPLES; do
		check "$p: section $sec" grep -qE "^\.SH \"?$sec" "$f"
	done
	if ! [ -x "$B/$p" ]; then note "$p is not built: its page is not compared with --help"; continue; fi
	"$B/$p" --help >"$T_TMP/$p.help" 2>&1
	missing=()
	while read -r o; do
		grep -qF -- "$o" "$T_TMP/$p.txt" || missing+=("$o")
	done < <(longopts <"$T_TMP/$p.help")
	n=$(longopts <"$T_TMP/$p.help" | wc -l)
	check "$p: all $n long options of --help are in the man page${missing[*]:+ (missing: ${missing[*]})}" \
		test ${#missing[@]} -eq 0 -a "$n" -gt 3
done

# rdctl: every verb, each verb's options, and help VERB == VERB --help.
R=$B/rdctl
verbs=$("$R" --help | sed -nE '/^verbs:/,/^$/s/^ +([a-z][a-z-]*) .*/\1/p')
nv=0 missing=() differ=()
for v in $verbs; do
	nv=$((nv + 1))
	grep -qE "^\.SS \"?$v\b" "${page[rdctl]}" || missing+=("$v")
	while read -r o; do
		grep -qF -- "$o" "$T_TMP/rdctl.txt" || missing+=("$v $o")
	done < <("$R" "$v" --help 2>&1 | longopts)
	cmp -s <("$R" help "$v" 2>&1) <("$R" "$v" --help 2>&1) || differ+=("$v")
done
check "rdctl: all $nv verbs and their options in the man page${missing[*]:+ (missing: ${missing[*]})}" \
	test ${#missing[@]} -eq 0 -a "$nv" -ge 5
check "rdctl help VERB prints the same as rdctl VERB --help${differ[*]:+ (differ: ${differ[*]})}" \
	test ${#differ[@]} -eq 0
cmp -s <("$R" help) <("$R" --help); check "rdctl help prints the same as rdctl --help" test $? -eq 0
"$R" help no-such-verb >/dev/null 2>&1; check_eq "rdctl help of an unknown verb: exit 2" 2 $?
check "rdctl: exit codes 0, 2-7 in the man page" bash -c "sed -n '/^\.SH \"\?EXIT/,/^\.SH/p' '${page[rdctl]}' | grep -c -E '^(\.B |\.TP|\.IP)?.*\b[234567]\b' | awk '{ exit !(\$1 >= 6) }'"

# The shipped INI files: every key is documented, and accepted by the program.
D=$T_TMP/ini && mkdir -p "$D"
key=$("$B/rd-rendezvous" --print-key --data-dir "$D/data" 2>/dev/null)
for p in rendezvous relay agent; do
	src=packaging/etc/$p.ini
	sed -E 's/^# ([a-z][a-z-]* = )/\1/' "$src" | sed "s|BASE64-PUBLIC-KEY|$key|" >"$D/$p.ini"
	keys=$(grep -oE '^[a-z][a-z-]* =' "$D/$p.ini" | sed 's/ =//' | sort -u)
	missing=()
	for k in $keys; do grep -qE -- "(^|[^a-z-])$k([^a-z-]|$)" "$T_TMP/rd-$p.txt" || missing+=("$k"); done
	check "$p.ini: all $(wc -w <<<"$keys") keys in rd-$p's man page${missing[*]:+ (missing: ${missing[*]})}" \
		test ${#missing[@]} -eq 0
done
# rd-rendezvous ignores unknown keys, so each key must be one --help names.
missing=()
sec=
while IFS= read -r line; do
	case $line in
	\[*\]) sec=${line#[}; sec=${sec%]} ;;
	[a-z]*=*)
		k=${line%% =*}
		grep -qE -- "--$k |\[$sec\] $k\b" "$T_TMP/rd-rendezvous.help" || missing+=("[$sec] $k") ;;
	esac
done <"$D/rendezvous.ini"
check "rendezvous.ini: every key is one rd-rendezvous --help lists${missing[*]:+ (unknown: ${missing[*]})}" \
	test ${#missing[@]} -eq 0
sed -i "s|^data-dir = .*|data-dir = $D/data|" "$D/rendezvous.ini"
out=$("$B/rd-rendezvous" --config "$D/rendezvous.ini" --print-key 2>&1)
check "rd-rendezvous accepts rendezvous.ini with every key set" grep -qxF "$key" <<<"$out"
out=$("$B/rd-relay" --config "$D/relay.ini" --version 2>&1)
check "rd-relay accepts relay.ini with every key set ($out)" test $? -eq 0
out=$(RDESK_DATA_DIR=$D/agent "$B/rd-agent" id --config "$D/agent.ini" 2>&1)
check_eq "rd-agent accepts agent.ini with every key set" 123456789 "$out"
for p in rendezvous relay; do
	"$B/rd-$p" --config "packaging/etc/$p.ini" --version >/dev/null 2>&1
	check "rd-$p accepts the shipped $p.ini as is" test $? -eq 0
done
RDESK_DATA_DIR=$D/agent RDESK_ID=web-01x "$B/rd-agent" id --config packaging/etc/agent.ini >/dev/null 2>&1
check "rd-agent accepts the shipped agent.ini as is" test $? -eq 0
t_done
