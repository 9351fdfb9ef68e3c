#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tests/build/host-dkms.t [RELEASE...]    (default: the 6.1 and 6.12 kernels)
#
# DKMS on the host, then in a guest: stage the source tree in
# /usr/src/sysgenid-VERSION (make dkms-source), dkms add, and for each
# kernel RELEASE dkms build and install (files under /lib/modules/RELEASE/
# updates/dkms/, nothing loaded), check the installed modules' vermagic, and
# run the VM suites under RELEASE with the modules DKMS installed in place of
# the tree's (SYSGENID_KO_DIR, tests/vm/mkinitramfs). Then dkms remove --all
# and check that no module is left. Prints TAP.
#
# Changes the host, so it needs root and holds a lock that host-deb.t
# shares; SYSGENID_HOST_INSTALL=0 skips it. SYSGENID_DKMS_VM=0 skips the
# guest runs (reported as SKIP).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
export BUILD="$build"
logs=$build/logs
mkdir -p "$logs"
log=$logs/host-dkms.log

ver=$(cat "$top/VERSION")
mods='sysgenid sysgenid_acpi'
src=/usr/src/sysgenid-$ver

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root: installs into /usr/src and /lib/modules"
	exit 0
fi
if [ "${SYSGENID_HOST_INSTALL:-1}" = 0 ]; then
	echo "1..0 # SKIP SYSGENID_HOST_INSTALL=0"
	exit 0
fi

. "$here/host-lib.sh"

if [ $# -eq 0 ]; then
	set -- "$("$top/tests/vm/kver" 6.1)" "$("$top/tests/vm/kver" 6.12)"
fi

host_lock
: >"$log"
need_packages dkms kmod xz-utils
refuse_module_loading
if installed sysgenid-dkms; then
	bail "package sysgenid-dkms is installed: it owns $src"
fi

cleanup() {
	dkms remove "sysgenid/$ver" --all >>"$log" 2>&1 || true
	rm -rf "$src"
}
# Leftovers of an interrupted run first; the same again on any exit.
cleanup
trap cleanup EXIT

step "make dkms-source" make -C "$top" --no-print-directory dkms-source
step "dkms add sysgenid/$ver" dkms add "sysgenid/$ver"

for rel in "$@"; do
	step "$rel: dkms build" dkms build "sysgenid/$ver" -k "$rel" ||
		continue
	step "$rel: dkms install" dkms install "sysgenid/$ver" -k "$rel" ||
		continue

	# Installed under updates/dkms/, compressed if the kernel's own are.
	kodir=$build/dkms/$rel
	rm -rf "$kodir"
	mkdir -p "$kodir"
	bad=
	for m in $mods; do
		f=$(ls "/lib/modules/$rel/updates/dkms/$m.ko"* 2>/dev/null |
			head -n 1)
		if [ -z "$f" ]; then
			bad="$bad $m: not installed;"
			continue
		fi
		vm=$(modinfo -F vermagic "$f" 2>>"$log" || true)
		case $vm in
		"$rel "*) ;;
		*) bad="$bad $m: vermagic '$vm';" ;;
		esac
		case $f in
		*.xz) xz -dc "$f" >"$kodir/$m.ko" ;;
		*.zst) zstd -q -dc "$f" >"$kodir/$m.ko" ;;
		*.gz) gzip -dc "$f" >"$kodir/$m.ko" ;;
		*) cp "$f" "$kodir/$m.ko" ;;
		esac
	done
	if [ -z "$bad" ]; then
		ok "$rel: modules in /lib/modules/$rel/updates/dkms, vermagic $rel"
	else
		nok "$rel: modules in /lib/modules/$rel/updates/dkms:${bad%;}"
		continue
	fi
	not_loaded "$rel"

	if [ "${SYSGENID_DKMS_VM:-1}" = 0 ]; then
		ok "$rel: VM suites on the DKMS modules # SKIP SYSGENID_DKMS_VM=0"
		continue
	fi
	# The full suites, labelled with the release so that the logs do not
	# overwrite those of the tree build's run.
	st=0
	SYSGENID_KO_DIR=$kodir "$top/tests/vm/run-suite" "$rel" \
		>"$logs/dkms-vm-$rel.tap" 2>>"$log" || st=$?
	tap=$logs/dkms-vm-$rel.tap
	check "$rel: the DKMS modules load in the guest, /dev/sysgenid appears" \
		grep -q "^ok .*/boot and module load\$" "$tap"
	echo "# $rel: VM suites on the DKMS modules:" \
		"$("$top/tests/vm/tap-summary" -q "$tap" | tail -n 1)"
	grep '^not ok' "$tap" | sed 's/^/#   /'
	check "$rel: VM suites pass on the DKMS modules" [ "$st" -eq 0 ]
	initrd=$build/vm/initramfs-$rel.cpio.gz
	same=1
	for m in $mods; do
		gzip -dc "$initrd" |
			(cd "$kodir" && cpio -i --quiet --to-stdout \
				"lib/sysgenid/$m.ko" | cmp -s - "$m.ko") || same=0
	done
	check "$rel: the guest booted the modules DKMS installed" [ "$same" = 1 ]
done

step "dkms remove --all" dkms remove "sysgenid/$ver" --all
left=
for rel in "$@"; do
	for m in $mods; do
		for f in "/lib/modules/$rel/updates/dkms/$m.ko"*; do
			[ -e "$f" ] && left="$left $f"
		done
	done
done
check "no module left after dkms remove${left:+:$left}" [ -z "$left" ]
rm -rf "$src"
trap - EXIT
plan
