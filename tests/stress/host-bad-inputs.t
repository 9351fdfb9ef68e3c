#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tests/stress/host-bad-inputs.t RELEASE   (run by tests/vm/check)
#
# The table of bad inputs, regenerated from the run of kernel RELEASE that
# tests/vm/run-suite just logged, must equal docs/bad-inputs.md. Writes
# build/bad-inputs-LABEL.md.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
kver=${1:?usage: $0 RELEASE}

echo "1..1"
# run-suite names its logs after the label it was given (6.1, 6.12...),
# and other tests boot guests too: the run is the newest that booted this
# release and ran 52-bad-inputs. (Had this run died before it, run-suite
# has already failed.)
console=$(ls -t "$build"/logs/console-*.log 2>/dev/null | while read -r f; do
	r=$build/logs/results-${f##*/console-}
	if grep -q "Linux version $kver " "$f" && [ -f "$r" ] &&
	   grep -qx '# sysgenid-init: begin bad-inputs' "$r"; then
		echo "$f"
		break
	fi
done)
if [ -z "$console" ]; then
	echo "# no run of $kver with 52-bad-inputs in $build/logs"
	echo "not ok 1 - docs/bad-inputs.md"
	exit 0
fi
label=${console##*/console-}
label=${label%.log}
results=$build/logs/results-$label.log
table=$build/bad-inputs-$label.md

if ! "$here/bad-inputs-table" "$results" >"$table" 2>"$table.err"; then
	sed 's/^/# /' "$table.err"
	echo "not ok 1 - docs/bad-inputs.md"
elif diff -u "$top/docs/bad-inputs.md" "$table" >"$table.diff"; then
	echo "ok 1 - docs/bad-inputs.md is what $label's run gave"
else
	echo "# the table of $label's run differs:"
	sed 's/^/#   /' "$table.diff"
	echo "# if deliberate: cp $table docs/bad-inputs.md"
	echo "not ok 1 - docs/bad-inputs.md is what $label's run gave"
fi
