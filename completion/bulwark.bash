# bash completion for bulwark
_bulwark() {
	local cur prev cmd
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=${COMP_WORDS[1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "scan audit run unpack inspect sbom db registry rules help --help --version" -- "$cur"))
		return
	fi
	if [ "$cmd" = rules ]; then
		case "$prev" in
		-f|--format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
		--command) COMPREPLY=($(compgen -W "scan audit" -- "$cur")); return ;;
		--category) COMPREPLY=($(compgen -W "secret config vulnerability malware integrity host daemon workload" -- "$cur")); return ;;
		--severity-min) COMPREPLY=($(compgen -W "critical high medium low info" -- "$cur")); return ;;
		--rules) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--data) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--format --command --category --severity-min --rules --data --help" -- "$cur"))
		else
			# rule ids: the first column of the table, between its header and the count
			COMPREPLY=($(compgen -W "$(bulwark rules 2>/dev/null | awk 'NR > 1 && NF >= 5 { print $1 }')" -- "$cur"))
		fi
		return
	fi
	case "$prev" in
	-f|--format) COMPREPLY=($(compgen -W "text json sarif" -- "$cur")); return ;;
	--fail-on) COMPREPLY=($(compgen -W "critical high medium low info none" -- "$cur")); return ;;
	-o|--output|--ignore-file|--baseline|--rules) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--yara) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	esac
	case "$cmd" in
	help) COMPREPLY=($(compgen -W "scan audit run unpack inspect sbom db registry rules" -- "$cur")) ;;
	registry) COMPREPLY=($(compgen -W "pull --output --platform --username --password-stdin --ca-cert --insecure-registry --registry-timeout --quiet --help" -- "$cur")) ;;
	audit) COMPREPLY=($(compgen -W "host daemon containers registry --format --output --fail-on --ignore-file --baseline --show-suppressed --quiet --verbose --all" -- "$cur") $(compgen -f -- "$cur")) ;;
	*) if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "--format --output --fail-on --ignore-file --baseline --show-suppressed --quiet --verbose --threads --rules --yara --no-malware --max-file-size --help" -- "$cur"))
	   else
		COMPREPLY=($(compgen -f -- "$cur"))
	   fi ;;
	esac
}
complete -F _bulwark bulwark
