# shellcheck shell=sh
# Wall-clock helpers of the benchmarks, sourced (not a benchmark itself: bench/run.sh runs
# bench_*.sh only). Needs bc.
#
# time_of CMD…: the wall seconds CMD took (its output discarded; a failure ends the bench);
# best and median of their arguments; ratio A B [N]: A / B to N decimals (default 2).
now() { date +%s.%N; }
time_of() {
	t0=$(now)
	"$@" >/dev/null 2>&1 || { echo "bench: command failed: $*" >&2; exit 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}
best() { printf '%s\n' "$@" | sort -g | head -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { printf "%.${3:-2}f\n" "$(echo "$1 / $2" | bc -l)"; }
