#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# host-makefile.t [RELEASE]: reading the Makefiles runs nothing that can
# fail on a fresh machine. `make demo` and `make bench` install the test
# kernels (tests/vm/deps) before anything looks for them: the top Makefile
# and bench/Makefile must not resolve KVER (tests/vm/kver) when make reads
# them, or a newcomer's first line is "no kernel of series 6.1". A series
# that is installed nowhere (KERNELS=9.99) stands for the fresh machine;
# make -n prints the recipes without running them. RELEASE is unused.

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
n=0
failed=0

is() {
	n=$((n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $n - $3"
	else
		echo "# $3: got '$1', want '$2'"
		echo "not ok $n - $3"
		failed=$((failed + 1))
	fi
}

# make -n still runs the sub-makes of $(MAKE) lines: only targets whose
# recipes have none, so that what is left is what reading the files does.
err=$(make --no-print-directory -n demo KERNELS=9.99 2>&1 >/dev/null)
is "$err" "" "make -n demo, no kernel of the series: nothing on stderr"
err=$(make --no-print-directory -n check KERNELS=9.99 2>&1 >/dev/null)
is "$err" "" "make -n check, no kernel of the series: nothing on stderr"
err=$(make --no-print-directory -n -C bench deps KVER=9.99 2>&1 >/dev/null)
is "$err" "" "bench/Makefile read with no kernel of the series: nothing on stderr"
out=$(make --no-print-directory -n demo KERNELS=9.99 2>/dev/null)
is "$out" "demo/demo 9.99" "make demo passes the series, resolved after deps"
# Still resolved where a recipe needs a release: a real series works.
rel=$(tests/vm/kver 6.1 2>/dev/null)
if [ -n "$rel" ]; then
	is "$(make --no-print-directory -n module KERNELS=6.1 2>/dev/null |
		head -n 1)" \
		"make -C module KVER=$rel" "make module resolves the series 6.1 to $rel"
else
	echo "ok $((n = n + 1)) - make module resolves a series # SKIP no 6.1 kernel"
fi
echo "1..$n"
exit 0
