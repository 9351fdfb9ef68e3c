#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tests/build/host-deb.t [RELEASE...]
#
# The Debian packages on the host: make deb, lintian (no error), dpkg -i
# the four packages (DKMS builds the modules for every kernel with headers,
# and loads nothing), check the files they install and the modules DKMS
# built for each RELEASE (default: every kernel in /boot with headers),
# build a program against libsysgenid-dev with pkg-config, then purge the
# packages and check that the files and the modules are gone. Prints TAP.
#
# Changes the host, so it needs root and holds the lock host-dkms.t
# shares; SYSGENID_HOST_INSTALL=0 skips it.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
export BUILD="$build"
logs=$build/logs
mkdir -p "$logs"
log=$logs/host-deb.log

ver=$(cat "$top/VERSION")
pkgs='sysgenid-dkms libsysgenid1 libsysgenid-dev sysgenid'
mods='sysgenid sysgenid_acpi'
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$multiarch

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root: installs packages"
	exit 0
fi
if [ "${SYSGENID_HOST_INSTALL:-1}" = 0 ]; then
	echo "1..0 # SKIP SYSGENID_HOST_INSTALL=0"
	exit 0
fi

. "$here/host-lib.sh"

if [ $# -eq 0 ]; then
	set -- $(for k in /boot/vmlinuz-*; do
		rel=${k#/boot/vmlinuz-}
		[ -d "/lib/modules/$rel/build" ] && echo "$rel"
	done)
fi

host_lock
: >"$log"
need_packages build-essential dpkg-dev dkms lintian pkg-config
refuse_module_loading

purge() {
	# shellcheck disable=SC2086 # one word per package
	dpkg --purge $pkgs >>"$log" 2>&1
}
# Leftovers of an interrupted run first; the same again on any exit.
purge || true
trap 'purge || true' EXIT

step "make deb" make -C "$top" --no-print-directory deb ||
	bail "make deb failed"
debs=
for p in $pkgs; do
	f=$(ls "$build/deb/${p}_${ver}_"*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] || bail "no $p package in $build/deb"
	debs="$debs $f"
done

# Tags are "X: package: tag", X = E(rror), W(arning), I(nfo), P(edantic).
# It exits non-zero on an error tag or on its own failure.
st=0
lintian --fail-on error --pedantic --display-info "$build/deb/"*.changes \
	>"$logs/lintian.log" 2>&1 || st=$?
grep -E '^[EWIP]: ' "$logs/lintian.log" | sed 's/^/# lintian: /' || true
! grep -q '^E: ' "$logs/lintian.log" || st="$st, error tags"
check "lintian: no error (status $st)" [ "$st" = 0 ]

# shellcheck disable=SC2086 # one word per package
step "dpkg -i$(echo " $pkgs")" dpkg -i $debs || bail "dpkg -i failed"

missing=
for f in \
	"$libdir/libsysgenid.so.1" \
	/usr/include/libsysgenid.h \
	"$libdir/libsysgenid.so" \
	"$libdir/libsysgenid.a" \
	"$libdir/pkgconfig/libsysgenid.pc" \
	/usr/bin/sysgenid \
	/usr/share/man/man1/sysgenid.1.gz \
	/usr/share/man/man3/libsysgenid.3.gz \
	/usr/share/man/man4/sysgenid.4.gz \
	/lib/systemd/system/sysgenid-hooks.service \
	/lib/systemd/system/sysgenid-ready.service \
	/usr/lib/modules-load.d/sysgenid.conf \
	"/usr/src/sysgenid-$ver/dkms.conf"; do
	[ -e "$f" ] || missing="$missing $f"
done
check "files in place${missing:+, missing:$missing}" [ -z "$missing" ]
check "modules-load.d names the module" \
	grep -qx sysgenid /usr/lib/modules-load.d/sysgenid.conf
# Only a guest whose host reads the port turns it on.
check "sysgenid-ready.service installed, not enabled" \
	sh -c '! ls /etc/systemd/system/*.wants/sysgenid-ready.service 2>/dev/null'
step "sysgenid --version" /usr/bin/sysgenid --version || true

for rel in "$@"; do
	bad=
	for m in $mods; do
		f=$(ls "/lib/modules/$rel/updates/dkms/$m.ko"* 2>/dev/null |
			head -n 1)
		if [ -z "$f" ]; then
			bad="$bad $m: not installed;"
		elif ! modinfo -F vermagic "$f" 2>>"$log" | grep -q "^$rel "; then
			bad="$bad $m: wrong vermagic;"
		fi
	done
	check "$rel: DKMS built and installed the modules${bad:+:${bad%;}}" \
		[ -z "$bad" ]
done
not_loaded "after dpkg -i"

# A program against the -dev package, found by pkg-config only.
tmp=$(mktemp -d)
cat >"$tmp/t.c" <<'EOF'
#include <libsysgenid.h>
#include <stdio.h>

int main(void)
{
	printf("supported: %d\n", sysgenid_supported());
	return 0;
}
EOF
step "cc with pkg-config libsysgenid, and run" sh -c "
	cc -Wall -Werror -o '$tmp/t' '$tmp/t.c' \$(pkg-config --cflags --libs libsysgenid) &&
	'$tmp/t' &&
	ldd '$tmp/t' | grep -q 'libsysgenid.so.1 => /'" || true
step "static link with pkg-config --static" sh -c "
	cc -static -o '$tmp/ts' '$tmp/t.c' \
		\$(pkg-config --static --cflags --libs libsysgenid) && '$tmp/ts'" ||
	true
rm -rf "$tmp"

step "dpkg --purge$(echo " $pkgs")" purge || true
trap - EXIT
left=
for f in "$libdir/libsysgenid.so.1" /usr/include/libsysgenid.h \
	/usr/bin/sysgenid /usr/lib/modules-load.d/sysgenid.conf \
	"/usr/src/sysgenid-$ver" "/var/lib/dkms/sysgenid" \
	/lib/modules/*/updates/dkms/sysgenid*.ko*; do
	[ -e "$f" ] && left="$left $f"
done
check "no file or module left after purge${left:+:$left}" [ -z "$left" ]
plan
