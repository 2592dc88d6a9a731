# bash completion for bulwark: every candidate comes from the binary's option tables
# (`bulwark __complete WORDS… CURRENT`, one candidate a line; @file and @dir ask for file names).
_bulwark() {
	local cur=${COMP_WORDS[COMP_CWORD]} line
	local -a words=("${COMP_WORDS[@]:1:COMP_CWORD}")
	COMPREPLY=()
	while IFS= read -r line; do
		case "$line" in
		@file) mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur") ;;
		@dir) mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur") ;;
		?*) COMPREPLY+=("$line") ;;
		esac
	done < <("${COMP_WORDS[0]}" __complete "${words[@]}" 2>/dev/null)
}
complete -F _bulwark bulwark
