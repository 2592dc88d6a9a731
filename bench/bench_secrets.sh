#!/bin/sh
# $layers is a list of cache paths without spaces, split on purpose.
# shellcheck disable=SC2086
# Secret scan throughput on a >= 300 MiB (uncompressed) gzip-layered docker-save image built
# from this machine's /usr (text, binaries, compressed docs: a realistic mix), against:
#   gunzip   `gzip -dc` of every layer to /dev/null (the floor: decompression)
#   rg       `gzip -dc | rg -U -a` with the rule regexes as an ASCII pattern file; it runs at
#            a few dozen KB/s with ~300 regexes, so it is timed once on a RG_SAMPLE prefix of
#            the first layer and its rate extrapolated to the whole image
# A = bulwark scan -j1 on one core (taskset -c 0); B = gzip -dc on one core; then
# A2 = bulwark -j2 on two cores vs the same one-core gunzip. Runs alternate A B A B.
# Targets (issue 4): A/gunzip <= 1.25, A < rg, A2/gunzip < 1.
# BULWARK_PEER (optional): a second bulwark timed like A, in the same alternation, e.g. one built
# from a tree whose rules/secrets.yaml is an older commit's (issue 15: the added and wider rules
# may cost at most 10%: A/peer <= 1.10). BWK_BENCH_SCAN_ARGS: extra scan options for every
# bulwark run (--no-malware times the secret scan without the YARA pass).
set -eu
BULWARK=${BULWARK:?set BULWARK to the bulwark binary}
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${BWK_BENCH_CACHE:-/tmp/bulwark-bench-secrets-v2}
runs=${BWK_BENCH_RUNS:-3}
mkdir -p "$cache"

if [ ! -f "$cache/image.tar" ]; then
	echo "building the benchmark image in $cache (once)..."
	/usr/bin/python3 - "$cache" "$top" <<'EOF'
import os, sys, tarfile, subprocess
cache, top = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(top, "tests", "integration"))
import image_util as u
# four layers of about 100 MiB: docs and data, headers and Python, executables, libraries
roots = [["usr/share"], ["usr/include", "usr/lib/python3"], ["usr/bin", "usr/libexec", "usr/sbin"],
         ["usr/lib/x86_64-linux-gnu"]]
cap = 100 << 20  # uncompressed bytes per layer
layers = []
for i, dirs in enumerate(roots):
    tpath = os.path.join(cache, f"layer{i}.tar")
    size = 0
    with tarfile.open(tpath, "w", format=tarfile.PAX_FORMAT) as t:
        for d in dirs:
            for dp, dn, fn in os.walk("/" + d):
                dn.sort()
                for f in sorted(fn):
                    p = os.path.join(dp, f)
                    if not os.path.isfile(p) or os.path.islink(p):
                        continue
                    st = os.stat(p)
                    if size + st.st_size > cap:
                        continue
                    try:
                        t.add(p, arcname=p.lstrip("/"), recursive=False)
                    except OSError:
                        continue
                    size += st.st_size
    subprocess.run(["gzip", "-6", "-f", "-n", tpath], check=True)
    blob = open(tpath + ".gz", "rb").read()
    raw = subprocess.run(["gzip", "-dc", tpath + ".gz"], capture_output=True, check=True).stdout
    layers.append(u.Layer(raw_tar=raw, comp="gzip", blob=blob))
u.docker_save(os.path.join(cache, "image.tar"), layers)
EOF
fi

layers=$(ls "$cache"/layer*.tar.gz)
total=$(for l in $layers; do gzip -dc "$l" | wc -c; done | awk '{s+=$1} END {print s}')
echo "image: $(du -m "$cache/image.tar" | cut -f1) MiB compressed, $((total / 1048576)) MiB uncompressed, $(echo $layers | wc -w) gzip layers"

# The rule regexes as an ripgrep pattern file (bench/rg_patterns.py adapts the escapes).
/usr/bin/python3 "$top/bench/rg_patterns.py" "$top/rules/secrets.yaml" >"$cache/patterns.txt"
RG="rg -U -a -c --regex-size-limit 2G --dfa-size-limit 2G -f $cache/patterns.txt"
if ! $RG /dev/null 2>"$cache/rg.err" >/dev/null && [ -s "$cache/rg.err" ]; then
	echo "rg rejects the pattern set:" >&2
	head -c 600 "$cache/rg.err" >&2
	exit 1
fi
echo "patterns: $(wc -l <"$cache/patterns.txt") regexes"

# shellcheck source=bench/timing.sh
. "$(dirname "$0")/timing.sh"
t_a=0
t_b=0
t_c=0
t_d=0
t_p=0
peer=${BULWARK_PEER:-}
args=${BWK_BENCH_SCAN_ARGS:-} # e.g. --no-malware: the secret scan without the YARA pass
i=0
while [ $i -lt "$runs" ]; do
	s=$(now)
	taskset -c 0 "$BULWARK" scan -q -j 1 $args --fail-on none -o /dev/null "$cache/image.tar"
	e=$(now)
	t_a=$(echo "$t_a + $e - $s" | bc)
	s=$(now)
	for l in $layers; do taskset -c 0 gzip -dc "$l" >/dev/null; done
	e=$(now)
	t_b=$(echo "$t_b + $e - $s" | bc)
	s=$(now)
	taskset -c 0,1 "$BULWARK" scan -q -j 2 $args --fail-on none -o /dev/null "$cache/image.tar"
	e=$(now)
	t_d=$(echo "$t_d + $e - $s" | bc)
	if [ -n "$peer" ]; then
		s=$(now)
		taskset -c 0 "$peer" scan -q -j 1 $args --fail-on none -o /dev/null "$cache/image.tar"
		e=$(now)
		t_p=$(echo "$t_p + $e - $s" | bc)
	fi
	i=$((i + 1))
done
mib=$(echo "$total / 1048576" | bc -l)
sample=${RG_SAMPLE:-1048576}
first=$(echo $layers | cut -d' ' -f1)
gzip -dc "$first" | head -c "$sample" >"$cache/sample"
s=$(now)
taskset -c 0 $RG "$cache/sample" >/dev/null || true
e=$(now)
# gunzip time for the whole image + rg's time per byte times the whole image, per run
t_c=$(echo "$t_b + ($e - $s) * $total / $sample * $runs" | bc -l)
printf 'rg on a %d KiB sample: %.1f s (%.3f MiB/s)\n' $((sample / 1024)) "$(echo "$e - $s" | bc)" \
	"$(echo "$sample / 1048576 / ($e - $s)" | bc -l)"
report() { # name seconds
	printf '%-34s %7.2f s  %7.1f MiB/s  %5.2fx gunzip\n' "$1" "$(echo "$2 / $runs" | bc -l)" \
		"$(echo "$mib * $runs / $2" | bc -l)" "$(echo "$2 / $t_b" | bc -l)"
}
report "gzip -dc (1 core)" "$t_b"
report "bulwark scan -j1 (1 core)" "$t_a"
report "gzip -dc | rg -U -a (1 core, extrap.)" "$t_c"
report "bulwark scan -j2 (2 cores)" "$t_d"
printf 'bulwark vs rg on one core: %.2fx faster\n' "$(echo "$t_c / $t_a" | bc -l)"
if [ -n "$peer" ]; then
	report "BULWARK_PEER scan -j1 (1 core)" "$t_p"
	printf 'bulwark vs BULWARK_PEER on one core: %.3fx the time\n' "$(echo "$t_a / $t_p" | bc -l)"
fi
