#!/usr/bin/env bash
# Regenerate the real-perf fixtures in testdata/.
#
# Run from the repository root:   bash testdata/regen.sh
#
# Needs: gcc, perf (made with perf 6.1), permission to record cpu-clock
# (root, or kernel.perf_event_paranoid <= 1 for the system-wide fixture).
#
# The burn program is built at a fixed neutral path (/tmp/callring-fixture/burn)
# and every perf command runs with that directory as its working directory, so
# neither the MMAP records nor the recorded command line name the checkout.
# Sample times, pids and counts differ on every run; the structure does not.
set -euo pipefail

if [[ ! -f testdata/src/burn.c ]]; then
  echo "regen.sh: run from the repository root (testdata/src/burn.c not found)" >&2
  exit 2
fi

out_dir="$(pwd)/testdata"
work_dir=/tmp/callring-fixture
burn="$work_dir/burn"

export PERF_PAGER=cat PAGER=cat LC_ALL=C

# Records run with an empty environment so the dwarf fixture's user-stack
# copies cannot pick up environment strings of whoever regenerates them.
clean_env=(env -i PATH=/usr/bin:/bin LC_ALL=C)

rm -rf "$work_dir"
mkdir -p "$work_dir"
# Compile inside the work dir with a relative source path, so the debug info
# (DW_AT_name, DW_AT_comp_dir) names /tmp/callring-fixture, not the checkout.
cp "$out_dir/src/burn.c" "$work_dir/burn.c"
cd "$work_dir"
gcc -O1 -g -fno-omit-frame-pointer -pthread -Wall -Wextra -o burn burn.c

# Fields for the -F outputs (nocpu.data has no PERF_SAMPLE_CPU, so no cpu).
fields_cpu=comm,pid,tid,cpu,time,period,event,ip
fields_nocpu=comm,pid,tid,time,period,event,ip

# run_capture NAME STDERR_LOG CMD...: stdout -> NAME, stderr appended to
# STDERR_LOG under a "### command" heading when non-empty. Fails on non-zero exit.
run_capture() {
  local name=$1 log=$2
  shift 2
  local err
  err=$(mktemp)
  "$@" >"$name" 2>"$err"
  if [[ -s $err ]]; then
    { printf '### %s\n' "$*"; cat "$err"; printf '\n'; } >>"$log"
  fi
  rm -f "$err"
}

# record_fixture NAME ARGS...: perf record ARGS into NAME.data (file mode).
record_fixture() {
  local name=$1
  shift
  : >"$name.stderr.txt"
  run_capture /dev/null "$name.stderr.txt" \
    "${clean_env[@]}" perf record --no-buildid-cache "$@" -o "$name.data" -- "$burn" "${DURATION:-200}"
}

# expected_outputs NAME FIELDS: perf script / perf report outputs beside NAME.data.
expected_outputs() {
  local name=$1 fields=$2
  local log="$name.stderr.txt"
  run_capture "$name.script.txt" "$log" perf script -i "$name.data" -F "$fields"
  run_capture "$name.script-sym.txt" "$log" \
    perf script -i "$name.data" -F "$fields,sym,dso,symoff"
  run_capture "$name.script-default.txt" "$log" perf script -i "$name.data"
  run_capture "$name.report-self.txt" "$log" \
    perf report -i "$name.data" --stdio --no-children --sort sym
  run_capture "$name.report-children.txt" "$log" \
    perf report -i "$name.data" --stdio --children --sort sym
  [[ -s $log ]] || rm -f "$log"
}

# expect_failure NAME CMD...: record stderr and exit status of a failing command.
expect_failure() {
  local name=$1
  shift
  local rc=0
  "$@" >"$name.stdout.txt" 2>"$name.stderr.txt" || rc=$?
  if [[ $rc -eq 0 ]]; then
    echo "regen.sh: expected failure but exit 0: $*" >&2
    exit 1
  fi
  printf '%s\n' "$rc" >"$name.exit.txt"
  [[ -s $name.stdout.txt ]] || rm -f "$name.stdout.txt"
}

DURATION=200 record_fixture fp -e cpu-clock -g --sample-cpu -F 2000
DURATION=150 record_fixture sys -a -e cpu-clock -g --sample-cpu -F 500
DURATION=200 record_fixture dwarf -e cpu-clock --call-graph dwarf,2048 --sample-cpu -F 300
DURATION=200 record_fixture nocpu -e cpu-clock -g -F 2000

# Pipe mode: the perf.data stream goes to stdout.
: >pipe.stderr.txt
run_capture pipe.data pipe.stderr.txt \
  "${clean_env[@]}" perf record --no-buildid-cache -o - -e cpu-clock -g --sample-cpu -F 2000 -- "$burn" 150

for name in fp sys dwarf pipe; do
  expected_outputs "$name" "$fields_cpu"
done
expected_outputs nocpu "$fields_nocpu"

# The same samples printed without their callchains (-G / --hide-call-graph):
# shows the one-line form, where comm is %16s and the ip is the raw sample ip.
: >fp.nocg.stderr.txt
run_capture fp.script-nocg.txt fp.nocg.stderr.txt \
  perf script -i fp.data -G -F "$fields_cpu"
run_capture fp.script-sym-nocg.txt fp.nocg.stderr.txt \
  perf script -i fp.data -G -F "$fields_cpu,sym,dso,symoff"
[[ -s fp.nocg.stderr.txt ]] || rm -f fp.nocg.stderr.txt

# --time percent slices and ranges (perf_time__percent_parse_str over the SAMPLE_TIME feature):
# relative to the recording's first and last sample, so they hold for any regeneration.
: >fp.time.stderr.txt
run_capture fp.script-time-slices.txt fp.time.stderr.txt \
  perf script -i fp.data -F "$fields_cpu" --time 10%/2,10%/5
run_capture fp.script-time-range.txt fp.time.stderr.txt \
  perf script -i fp.data -F "$fields_cpu" --time 30%-45%
[[ -s fp.time.stderr.txt ]] || rm -f fp.time.stderr.txt

# Error cases: an unknown field, and cpu on a file recorded without --sample-cpu.
expect_failure bogus-field perf script -i fp.data -F comm,bogus
expect_failure nocpu.script-cpu perf script -i nocpu.data -F "$fields_cpu"

perf --version >perf-version.txt

# Folded stacks made by Brendan Gregg's stackcollapse-perf.pl from the default perf script
# output (the FlameGraph scripts are not part of callring: point FLAMEGRAPH_DIR at a checkout).
if [[ -n ${FLAMEGRAPH_DIR:-} && -f $FLAMEGRAPH_DIR/stackcollapse-perf.pl ]]; then
  for name in fp sys dwarf pipe nocpu; do
    perl "$FLAMEGRAPH_DIR/stackcollapse-perf.pl" "$name.script-default.txt" >"$name.folded.txt"
  done
else
  echo "regen.sh: FLAMEGRAPH_DIR not set: X.folded.txt left as they are" >&2
fi

# Copy everything into testdata/ (the binary to bin/burn, so symbolized
# outputs can be reproduced elsewhere) and print a summary.
for f in *.data *.txt; do
  cp "$f" "$out_dir/$f"
done
mkdir -p "$out_dir/bin"
cp burn "$out_dir/bin/burn"
echo "fixture        bytes  samples"
for name in fp sys dwarf pipe nocpu; do
  # Sample header lines are the non-empty lines that do not start with a tab.
  samples=$(grep -c -v -e $'^\t' -e '^$' "$name.script.txt" || true)
  printf '%-10s %9d  %7d\n' "$name" "$(stat -c %s "$name.data")" "$samples"
done

# The fixtures' own symbols (testdata/symbols/): kernel kallsyms, DSOs and debug files, trimmed;
# checks that perf given only that directory prints the outputs just written.
cd "$out_dir/.."
deno run -A testdata/mksymbols.ts
