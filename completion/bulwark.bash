# bash completion for bulwark
_bulwark() {
	local cur prev cmd
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=${COMP_WORDS[1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "scan audit run unpack inspect help --help --version" -- "$cur"))
		return
	fi
	case "$prev" in
	-f|--format) COMPREPLY=($(compgen -W "text json sarif" -- "$cur")); return ;;
	--fail-on) COMPREPLY=($(compgen -W "critical high medium low info none" -- "$cur")); return ;;
	-o|--output|--ignore-file|--rules) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	case "$cmd" in
	help) COMPREPLY=($(compgen -W "scan audit run unpack inspect" -- "$cur")) ;;
	audit) COMPREPLY=($(compgen -W "host daemon containers --format --output --fail-on --ignore-file --quiet --verbose --all" -- "$cur") $(compgen -f -- "$cur")) ;;
	*) if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "--format --output --fail-on --ignore-file --quiet --verbose --threads --rules --help" -- "$cur"))
	   else
		COMPREPLY=($(compgen -f -- "$cur"))
	   fi ;;
	esac
}
complete -F _bulwark bulwark
