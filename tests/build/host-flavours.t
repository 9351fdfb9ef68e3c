#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tests/build/host-flavours.t [SERIES|RELEASE...]     (make check-flavours)
#
# Build matrix, on the host: build the modules with W=1 against the newest
# headers of every amd64 flavour (generic, cloud, rt) that the package
# archive offers for each kernel SERIES (default: 6.1 6.12; a release such
# as 6.1.0-56-amd64, as `make check` passes, stands for its series).
# Missing headers packages are installed with apt-get (headers only, never
# an image). Then once, a 32-bit build: ARCH=i386 against linux-source-6.12
# configured by tests/build/i386-tree (built once and cached, as the debug
# kernel is), so that code that only breaks where long is 32 bits shows.
# Then, with SYSGENID_ARM64=1 (make check-flavours sets it; make check,
# whose amd64 legs run this, does not), the arm64 flavours of each series
# (arm64, cloud-arm64, rt-arm64, and arm64-16k where the archive has it:
# 6.12), cross-built (ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
# against headers fetched with apt-get download by
# tests/build/arm64-headers, never installed.
# Prints TAP, one result per flavour: a build fails on a non-zero status or
# on any warning or error in its output. Nothing is loaded anywhere.
#
# Logs: build/logs/flavour-RELEASE.log. Objects: build/flavours/RELEASE/.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
logs=$build/logs
out=$build/flavours
flavours='amd64 cloud-amd64 rt-amd64'
# "opt:": only where the archive has it (6.12, not 6.1).
arm64_flavours='arm64 cloud-arm64 rt-arm64 opt:arm64-16k'
[ "${SYSGENID_ARM64:-0}" = 1 ] || arm64_flavours=
[ $# -gt 0 ] || set -- 6.1 6.12
series=$(for a in "$@"; do
	echo "$a" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/'
done | awk '!seen[$0]++')
mkdir -p "$logs" "$out"
log=$logs/flavours-apt.log

# Two runs would share build/flavours/: one at a time.
. "$here/host-lib.sh"
host_lock

# The newest headers package of SERIES and FLAVOUR that apt knows about:
# linux-headers-6.1.0-56-cloud-amd64, linux-headers-6.12.117+deb12-rt-amd64.
# "6.1" must not match 6.12; the ABI part is -N (6.1) or +debN (6.12).
newest() {
	re=$(printf '%s' "$1" | sed 's/\./\\./g')
	apt-cache search --names-only "^linux-headers-$re[.-]" |
		sed 's/ .*//' |
		grep -E "^linux-headers-$re(\.[0-9]+)*(-[0-9]+|\+deb[0-9]+)-$2\$" |
		sort -V | tail -n 1
}

apt="apt-get -q -y -o DPkg::Lock::Timeout=600"

# arm64 headers: apt-cache search lists them once dpkg knows arm64.
newest_arm64() {
	re=$(printf '%s' "$1" | sed 's/\./\\./g')
	apt-cache search --names-only "^linux-headers-$re[.-]" |
		sed 's/ .*//' |
		grep -E "^linux-headers-$re(\.[0-9]+)*(-[0-9]+|\+deb[0-9]+)-$2\$" |
		sort -V -r | while read -r p; do
			if apt-cache show "$p:arm64" >/dev/null 2>&1; then
				echo "$p"
				break
			fi
		done
}

resolve() {
	pkgs=
	for s in $series; do
		for f in $flavours; do
			p=$(newest "$s" "$f")
			pkgs="$pkgs ${p:-none:$s:$f}"
		done
	done
	arm64_pkgs=
	for s in $series; do
		for f in $arm64_flavours; do
			p=$(newest_arm64 "$s" "${f#opt:}")
			[ -n "$p" ] || [ "$f" = "${f#opt:}" ] || continue
			arm64_pkgs="$arm64_pkgs ${p:-none:$s:$f}"
		done
	done
}

if [ -n "$arm64_flavours" ] &&
   ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
	apt-get -q -o DPkg::Lock::Timeout=600 update >"$log" 2>&1 || true
fi

# Package lists may be missing or old: update them once if need be.
resolve
case $pkgs$arm64_pkgs in
*none:*)
	$apt update >"$log" 2>&1 || true
	resolve
	;;
esac

missing=
for p in $pkgs; do
	case $p in none:*) continue ;; esac
	installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "# installing$missing"
	# shellcheck disable=SC2086 # one word per package
	if ! DEBIAN_FRONTEND=noninteractive $apt install \
		--no-install-recommends $missing >>"$log" 2>&1
	then
		echo "# apt-get install failed; see $log"
		tail -n 5 "$log" | sed 's/^/#   /'
	fi
fi

echo "1..$(($(echo $pkgs $arm64_pkgs | wc -w) + 1))"
n=0
fail=0
for p in $pkgs; do
	n=$((n + 1))
	case $p in
	none:*)
		echo "not ok $n - ${p#none:}: no headers package found"
		fail=1
		continue
		;;
	esac
	rel=${p#linux-headers-}
	if ! installed "$p" || [ ! -d "/lib/modules/$rel/build" ]; then
		echo "not ok $n - $rel: headers not installed"
		fail=1
		continue
	fi
	blog=$logs/flavour-$rel.log
	# Always a full build: an up-to-date tree would print no warning.
	rm -rf "${out:?}/$rel"
	t0=$(date +%s)
	st=0
	nice make -C "$top/module" --no-print-directory BUILD="$out" \
		KVER="$rel" modules >"$blog" 2>&1 || st=$?
	secs=$(($(date +%s) - t0))
	# gcc's "warning:"/"error:", modpost's "WARNING:"/"ERROR:".
	bad=$(grep -i -E '(warning|error)[]:[ ]' "$blog" || true)
	kos=$(cd "$out/$rel/src/module" 2>/dev/null && ls ./*.ko 2>/dev/null |
		sed 's|^\./||' | tr '\n' ' ')
	if [ "$st" -eq 0 ] && [ -z "$bad" ] && [ -n "$kos" ]; then
		echo "ok $n - $rel: ${kos% } (${secs} s)"
	else
		echo "not ok $n - $rel: make status $st (${secs} s)"
		{ [ -n "$bad" ] && echo "$bad" || tail -n 20 "$blog"; } |
			head -n 20 | sed 's/^/#   /'
		fail=1
	fi
done

# The arm64 flavours, cross-built (ELF machine 183, EM_AARCH64: b7 00).
for p in $arm64_pkgs; do
	n=$((n + 1))
	case $p in
	none:*)
		echo "not ok $n - ${p#none:}: no arm64 headers package found"
		fail=1
		continue
		;;
	esac
	rel=${p#linux-headers-}
	blog=$logs/flavour-$rel.log
	t0=$(date +%s)
	if ! kdir=$("$here/arm64-headers" "$rel" 2>"$blog.fetch"); then
		echo "not ok $n - $rel: headers not fetched (see $blog.fetch)"
		tail -n 5 "$blog.fetch" | sed 's/^/#   /'
		fail=1
		continue
	fi
	rm -rf "${out:?}/$rel"
	st=0
	nice make -C "$top/module" --no-print-directory BUILD="$out" \
		KVER="$rel" KDIR="$kdir" ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu- modules >"$blog" 2>&1 || st=$?
	secs=$(($(date +%s) - t0))
	bad=$(grep -i -E '(warning|error)[]:[ ]' "$blog" || true)
	kos=$(cd "$out/$rel/src/module" 2>/dev/null && ls ./*.ko 2>/dev/null |
		sed 's|^\./||' | tr '\n' ' ')
	elf=$(od -An -tx1 -j18 -N2 "$out/$rel/src/module/sysgenid.ko" \
		2>/dev/null | tr -d ' ')
	if [ "$st" -eq 0 ] && [ -z "$bad" ] && [ -n "$kos" ] &&
	   [ "$elf" = b700 ]; then
		echo "ok $n - $rel (ARCH=arm64): ${kos% } (${secs} s)"
	else
		echo "not ok $n - $rel: make status $st, ELF machine $elf" \
			"(${secs} s)"
		{ [ -n "$bad" ] && echo "$bad" || tail -n 20 "$blog"; } |
			head -n 20 | sed 's/^/#   /'
		fail=1
	fi
done

# The same W=1 build, 32-bit.
n=$((n + 1))
rel=i386-6.12
blog=$logs/flavour-$rel.log
t0=$(date +%s)
if ! tree=$("$here/i386-tree" 2>"$logs/i386-tree.log"); then
	echo "not ok $n - $rel: no 32-bit tree (see $logs/i386-tree.log)"
	tail -n 5 "$logs/i386-tree.log" | sed 's/^/#   /'
	exit 1
fi
rm -rf "${out:?}/$rel"
st=0
nice make -C "$top/module" --no-print-directory BUILD="$out" KVER="$rel" \
	KDIR="$tree" ARCH=i386 modules >"$blog" 2>&1 || st=$?
secs=$(($(date +%s) - t0))
bad=$(grep -i -E '(warning|error)[]:[ ]' "$blog" || true)
kos=$(cd "$out/$rel/src/module" 2>/dev/null && ls ./*.ko 2>/dev/null |
	sed 's|^\./||' | tr '\n' ' ')
# ELF class 1 (32-bit) and machine 3 (EM_386), bytes 4 and 18-19.
elf=$(od -An -tx1 -j4 -N1 "$out/$rel/src/module/sysgenid.ko" 2>/dev/null |
	tr -d ' ')$(od -An -tx1 -j18 -N2 "$out/$rel/src/module/sysgenid.ko" \
	2>/dev/null | tr -d ' ')
[ "$elf" = 010300 ] && elf=1
if [ "$st" -eq 0 ] && [ -z "$bad" ] && [ -n "$kos" ] && [ "$elf" = 1 ]; then
	echo "ok $n - $rel ($(cat "$tree/include/config/kernel.release")," \
		"ARCH=i386): ${kos% } (${secs} s)"
else
	echo "not ok $n - $rel: make status $st, 32-bit ELF: $elf (${secs} s)"
	{ [ -n "$bad" ] && echo "$bad" || tail -n 20 "$blog"; } |
		head -n 20 | sed 's/^/#   /'
	fail=1
fi
exit "$fail"
