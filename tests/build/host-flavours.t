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
# an image).
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

resolve() {
	pkgs=
	for s in $series; do
		for f in $flavours; do
			p=$(newest "$s" "$f")
			pkgs="$pkgs ${p:-none:$s:$f}"
		done
	done
}

# Package lists may be missing or old: update them once if need be.
resolve
case $pkgs in
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

echo "1..$(echo $pkgs | wc -w)"
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
exit "$fail"
