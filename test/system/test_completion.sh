#!/usr/bin/env bash
# bash completion for rdctl and rd-agent: sourced in bash with
# bash-completion's helpers, each case completes a partial command line and
# compares the candidates with what the programs' own --help says.
source "$(dirname "$0")/../lib.sh"
cd "$RD_TOP"
export LC_ALL=C
BC=/usr/share/bash-completion/bash_completion
[ -f "$BC" ] || { not_ok "bash-completion is missing (make deps)"; t_done; }
for p in rdctl rd-agent; do
	[ -x "$RD_BUILD/$p" ] || { not_ok "$p is not built in $RD_BUILD"; t_done; }
done

# complete FUNC LINE: the sorted candidates, one line, as bash would offer them.
cat >"$T_TMP/drive.sh" <<'EOS'
source "$1"; shift
source packaging/completion/rdctl
source packaging/completion/rd-agent
func=$1 line=$2
COMP_LINE=$line COMP_POINT=${#line}
read -ra COMP_WORDS <<<"$line"
[[ $line == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
"$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}" | sort -u | paste -sd' '
EOS
complete_line() { PATH=$RD_BUILD:$PATH bash --norc --noprofile "$T_TMP/drive.sh" "$BC" "$@" 2>&1; }

# Completion files load in a plain bash without errors.
out=$(bash --norc --noprofile -c "source $BC; source packaging/completion/rdctl; source packaging/completion/rd-agent; complete -p rdctl rd-agent" 2>&1)
check "completion files register rdctl and rd-agent" bash -c "grep -q '_rdctl rdctl' <<<'$out' && grep -q '_rd_agent rd-agent' <<<'$out'"

R=$RD_BUILD/rdctl
verbs=$("$R" --help | sed -nE '/^verbs:/,/^$/s/^ +([a-z][a-z-]*) .*/\1/p' | { cat; echo help; } | sort -u | paste -sd' ')
check_eq "rdctl <TAB>: every verb of rdctl --help" "$verbs" "$(complete_line _rdctl 'rdctl ')"
check_eq "rdctl scr<TAB>" "screenshot" "$(complete_line _rdctl 'rdctl scr')"
check_eq "rdctl c<TAB>" "click clipboard connect" "$(complete_line _rdctl 'rdctl c')"
check_eq "rdctl --pass<TAB>" "--password-file" "$(complete_line _rdctl 'rdctl --pass')"
check_eq "rdctl screenshot 1234 --o<TAB>: verb option" "--output" "$(complete_line _rdctl 'rdctl screenshot 1234 --o')"
check_eq "rdctl --json record 1234 --d<TAB>" "--duration" "$(complete_line _rdctl 'rdctl --json record 1234 --d')"
check_eq "rdctl -s host click 1 --b<TAB>" "--button" "$(complete_line _rdctl 'rdctl -s host click 1 --b')"
check_eq "rdctl click 1 2 3 --button <TAB>" "left middle right" "$(complete_line _rdctl 'rdctl click 1 2 3 --button ')"
check_eq "rdctl screenshot 1 --codec <TAB>" "auto h264 vp9" "$(complete_line _rdctl 'rdctl screenshot 1 --codec ')"
check_eq "rdctl clipboard 1234 <TAB>" "get set" "$(complete_line _rdctl 'rdctl clipboard 1234 ')"
check_eq "rdctl help w<TAB>" "wait-for-change" "$(complete_line _rdctl 'rdctl help w')"
mkdir -p "$T_TMP/files" && touch "$T_TMP/files/pw-one" "$T_TMP/files/pw-two"
check_eq "rdctl --password-file FILE<TAB>: file names" "$T_TMP/files/pw-one $T_TMP/files/pw-two" \
	"$(complete_line _rdctl "rdctl --password-file $T_TMP/files/pw")"

check_eq "rd-agent <TAB>" "enroll id password run status" "$(complete_line _rd_agent 'rd-agent ')"
check_eq "rd-agent en<TAB>" "enroll" "$(complete_line _rd_agent 'rd-agent en')"
check_eq "rd-agent password <TAB>" "set" "$(complete_line _rd_agent 'rd-agent password ')"
check_eq "rd-agent enroll --pa<TAB>" "--password-file" "$(complete_line _rd_agent 'rd-agent enroll --pa')"
check_eq "rd-agent enroll --s<TAB>" "--server" "$(complete_line _rd_agent 'rd-agent enroll --s')"
check_eq "rd-agent run --capture-backend <TAB>" "auto drm pipewire testsrc x11" \
	"$(complete_line _rd_agent 'rd-agent run --capture-backend ')"
# Every long option `rd-agent run` takes (from --help) is offered after `run --`.
want=$("$RD_BUILD/rd-agent" --help | sed -nE 's/^ +(-[A-Za-z], )?(--[a-z][a-z0-9-]*).*/\2/p' | grep -vx -- --json | sort -u | paste -sd' ')
check_eq "rd-agent run --<TAB>: every option of rd-agent --help" "$want" "$(complete_line _rd_agent 'rd-agent run --')"
# enroll's options are all ones enroll accepts (it refuses unknown ones with exit 2).
bad=()
for o in $(complete_line _rd_agent 'rd-agent enroll --'); do
	case $o in --help | --json | --password-file) continue ;; esac
	"$RD_BUILD/rd-agent" enroll "$o" x --config "$T_TMP/none.ini" 2>&1 | grep -q "unknown option\|unrecognized" && bad+=("$o")
done
check "rd-agent enroll --<TAB>: each offered option is one enroll knows${bad[*]:+ (unknown: ${bad[*]})}" test ${#bad[@]} -eq 0
t_done
