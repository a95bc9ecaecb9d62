# A stand-in for the shell side of OpenWrt's procd (/lib/functions/procd.sh) and uci_load_validate,
# written from their documented interface, for testing an init script without OpenWrt. It is NOT
# procd: nothing is started or supervised. Each procd_* call is appended to $PROCD_STANDIN_LOG as
# one line: the function name and its arguments, separated by tabs. uci_load_validate reads the
# section from the UCI file $PROCD_STANDIN_UCI (a plain `config`/`option` subset), applies the
# defaults of its specs, checks the types used here (uinteger, range(a,b), string, or("a","b"))
# and calls the callback with the section name and 0 (valid) or 1, as the real one does.

_standin_log() {
	_standin_line=$1
	shift
	for _standin_arg in "$@"; do
		_standin_line="$_standin_line	$_standin_arg"
	done
	printf '%s\n' "$_standin_line" >> "$PROCD_STANDIN_LOG"
}

procd_open_instance() { _standin_log procd_open_instance "$@"; }
procd_set_param() { _standin_log procd_set_param "$@"; }
procd_append_param() { _standin_log procd_append_param "$@"; }
procd_close_instance() { _standin_log procd_close_instance "$@"; }
procd_add_reload_trigger() { _standin_log procd_add_reload_trigger "$@"; }
procd_add_validation() { _standin_log procd_add_validation "$@"; }
procd_open_trigger() { _standin_log procd_open_trigger "$@"; }
procd_close_trigger() { _standin_log procd_close_trigger "$@"; }

# The option's value in section $2 of the UCI file, or nothing (exit 1) when it is not set.
_standin_uci_get() {
	awk -v want="$1" -v opt="$2" -v q="'" '
		function unq(s) {
			if (length(s) >= 2 && substr(s, 1, 1) == substr(s, length(s)) && (substr(s, 1, 1) == q || substr(s, 1, 1) == "\""))
				return substr(s, 2, length(s) - 2)
			return s
		}
		$1 == "config" { insec = (unq($3) == want) }
		insec && $1 == "option" && $2 == opt {
			sub(/^[ \t]*option[ \t]+[^ \t]+[ \t]+/, ""); sub(/[ \t]+#.*$/, ""); print unq($0); found = 1
		}
		END { exit found ? 0 : 1 }' "$PROCD_STANDIN_UCI"
}

_standin_valid() { # value type
	case "$2" in
	string) return 0 ;;
	uinteger) case "$1" in '' | *[!0-9]*) return 1 ;; esac ;;
	range\(*)
		case "$1" in '' | *[!0-9]*) return 1 ;; esac
		_standin_r=${2#range(}
		_standin_r=${_standin_r%)}
		[ "$1" -ge "${_standin_r%,*}" ] && [ "$1" -le "${_standin_r#*,}" ] ;;
	or\(*)
		case "$2" in *\""$1"\"*) return 0 ;; esac
		return 1 ;;
	*) echo "procd stand-in: type $2 not known here" >&2; return 1 ;;
	esac
}

uci_load_validate() { # package type section callback spec...
	_standin_section=$3
	_standin_cb=$4
	shift 4
	_standin_result=0
	for _standin_spec in "$@"; do
		_standin_name=${_standin_spec%%:*}
		_standin_rest=${_standin_spec#*:}
		_standin_type=${_standin_rest%%:*}
		_standin_default=
		[ "$_standin_rest" != "$_standin_type" ] && _standin_default=${_standin_rest#*:}
		if _standin_value=$(_standin_uci_get "$_standin_section" "$_standin_name"); then
			_standin_valid "$_standin_value" "$_standin_type" || _standin_result=1
		else
			_standin_value=$_standin_default
		fi
		eval "$_standin_name=\$_standin_value"
	done
	[ -n "$_standin_cb" ] || return $_standin_result
	"$_standin_cb" "$_standin_section" "$_standin_result"
}
