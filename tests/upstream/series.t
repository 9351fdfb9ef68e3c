#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tests/upstream/series.t                     (make check-debug runs it)
#
# The patch series of upstream/ as a maintainer would receive it: made by
# `make patches`, applied with `git am` to a fresh tree of Debian's
# linux-source-6.12, checked with the tree's own checkpatch.pl --strict
# (every patch: no error, no warning, no check) and kernel-doc, its
# documentation rendered with docutils and its examples compiled, and the
# driver built W=1 into an allnoconfig kernel with ACPI and vmgenid, once
# built in (=y) and once as a module (=m). The kernel that boots the VM
# suites with the series applied is make check-debug's own.
#
# TAP on standard output. The tree is build/series-tree, made anew each
# run; logs in build/logs/series-*.log.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
logs=$build/logs
patches=$build/patches
tree=$build/series-tree
mkdir -p "$logs"

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $*"
}
# check NAME LOG CMD...: ok if CMD succeeds, else its log's last lines.
# CMD runs in a subshell, outside any condition, so that a function's
# `set -e` holds.
check() {
	run_check "" "$@"
}
# check_clean NAME LOG CMD...: check, and the log must not hold a single
# compiler or tool warning.
check_clean() {
	run_check clean "$@"
}
run_check() {
	clean=$1 name=$2 log=$logs/series-$3.log
	shift 3
	("$@") >"$log" 2>&1
	status=$?
	if [ "$status" != 0 ]; then
		not_ok "$name"
		tail -n 30 "$log" | sed 's/^/#   /'
	elif [ -n "$clean" ] && grep -q -E 'warning:|error:' "$log"; then
		not_ok "$name"
		grep -E 'warning:|error:' "$log" | head -n 20 | sed 's/^/#   /'
	else
		ok "$name"
	fi
}
finish() {
	echo "1..$n"
	exit $((failed != 0))
}

tarball=$(ls /usr/src/linux-source-6.12*.tar.xz 2>/dev/null | head -n 1)
if [ -z "$tarball" ]; then
	not_ok "linux-source-6.12 installed"
	finish
fi

if ! make -C "$top" --no-print-directory patches >"$logs/series-make.log" \
	2>&1; then
	not_ok "make patches"
	tail -n 30 "$logs/series-make.log" | sed 's/^/#   /'
	finish
fi
count=$(ls "$patches"/0*.patch 2>/dev/null | wc -l)
# The cover letter and at least the driver, its docs and its selftests.
if [ "$count" -lt 4 ]; then
	not_ok "make patches: $count files in $patches"
	finish
fi
ok "make patches: $count files in $patches"

# The fresh tree: the tarball as it is, committed whole (its .gitignore
# ignores everything, hence -f), then the series.
fresh_tree() {
	set -e
	rm -rf "$tree"
	mkdir -p "$tree"
	tar -xJf "$tarball" -C "$tree" --strip-components=1
	cd "$tree"
	git init -q
	git config gc.auto 0
	git add -f -A .
	git -c user.name=sysgenid -c user.email=sysgenid@example.org \
		commit -q -m "linux-source-6.12"
	git -c user.name=sysgenid -c user.email=sysgenid@example.org \
		am -q $(ls "$patches"/0*.patch | grep -v /0000-)
	git log --oneline -n "$count"
}
check "git am onto a fresh linux-source-6.12 tree" am fresh_tree
if [ ! -e "$tree/drivers/misc/sysgenid.c" ]; then
	not_ok "the series puts drivers/misc/sysgenid.c in the tree"
	finish
fi

for p in "$patches"/0*.patch; do
	name=$(basename "$p" .patch)
	case $name in 0000-*) continue ;; esac
	# From the tree's top, so that checkpatch finds it; its SPDX check
	# needs Debian's python3 (python3-ply, python3-git), not another
	# one that PATH may find first. The tarball has no git history in
	# which a Fixes: tag's commit could be found: UNKNOWN_COMMIT_ID only
	# says that.
	if (cd "$tree" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl \
		--strict --show-types --ignore UNKNOWN_COMMIT_ID -q "$p") >"$logs/series-checkpatch-$name.log" 2>&1 &&
	   [ ! -s "$logs/series-checkpatch-$name.log" ]; then
		ok "checkpatch --strict: $name"
	else
		not_ok "checkpatch --strict: $name"
		sed 's/^/#   /' "$logs/series-checkpatch-$name.log" | head -40
	fi
done

kdoc() {
	cd "$tree" && ./scripts/kernel-doc -none -Wall \
		include/uapi/linux/sysgenid.h include/linux/sysgenid.h \
		drivers/misc/sysgenid.c
}
check_clean "kernel-doc: no warnings" kernel-doc kdoc

rst=$tree/Documentation/misc-devices/sysgenid.rst
check "sysgenid.rst renders (rst2html, halt on warnings)" rst2html \
	rst2html --halt=warning "$rst" "$build/sysgenid.html"

# allnoconfig with what the driver uses, then the driver =y or =m.
configure() {
	set -e
	cd "$tree"
	make -s ARCH=x86_64 allnoconfig
	scripts/config -e MODULES -e ACPI -e VIRT_DRIVERS -e VMGENID \
		"$1" SYSGENID
	make -s ARCH=x86_64 olddefconfig
	grep -qx "CONFIG_SYSGENID=$2" .config
	grep -qx "CONFIG_VMGENID=y" .config
}
build_driver() {
	configure "--$2" "$1" && cd "$tree" &&
		make ARCH=x86_64 -j"$(nproc)" W=1 drivers/misc/sysgenid.o \
			drivers/virt/vmgenid.o
}
check_clean "built in (CONFIG_SYSGENID=y), W=1 clean" build-y \
	build_driver y enable
check_clean "as a module (CONFIG_SYSGENID=m), W=1 clean" build-m \
	build_driver m module

# Each literal block of the documentation that begins with #include is a
# complete program: all four must compile against the exported headers.
examples() {
	set -e
	cd "$tree"
	make -s ARCH=x86_64 headers
	out=$build/series-examples
	rm -rf "$out"
	mkdir -p "$out"
	awk -v out="$out" '
		/::$/ { if (f) close(f); f = ""; lit = 1; next }
		lit && /^$/ && !f { next }
		lit && /^\t/ {
			if (!f && $0 ~ /^\t#include/) f = out "/" ++k ".c"
			if (f) { sub(/^\t/, ""); print > f }
			next
		}
		lit && /^$/ { if (f) print "" > f; next }
		{ lit = 0; if (f) close(f); f = "" }
	' "$rst"
	k=$(ls "$out"/*.c | wc -l)
	echo "$k examples"
	[ "$k" -eq 4 ]
	for c in "$out"/*.c; do
		gcc -Wall -Wextra -Werror -O2 -pthread -isystem usr/include \
			-o "${c%.c}" "$c"
	done
}
check "the documentation's four examples compile (-Wall -Wextra -Werror)" \
	examples examples

# The kselftest as kselftest builds it, against the exported headers;
# static, since make check-debug's busybox guests run them.
selftests() {
	mkdir -p "$build/series-selftests" &&
	make -C "$tree/tools/testing/selftests/drivers/sysgenid" \
		LDFLAGS=-static OUTPUT="$build/series-selftests"
}
check_clean "the selftests build in the tree" selftests selftests

finish
