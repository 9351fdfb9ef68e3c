# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the tests/build/host-*.t that change the host (DKMS, packages):
# TAP output, packages, the shared lock, and the guards that keep the module
# out of the running kernel. The caller sets $log.

n=0
fail=0

ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}

nok() {
	n=$((n + 1))
	echo "not ok $n - $*"
	fail=1
}

# check DESCRIPTION COMMAND...: one result, from the command's status.
check() {
	desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		nok "$desc"
	fi
}

# step DESCRIPTION COMMAND...: as check, the output going to $log, the
# last lines of which explain a failure.
step() {
	desc=$1
	shift
	echo "## $desc: $*" >>"$log"
	if "$@" >>"$log" 2>&1; then
		ok "$desc"
	else
		nok "$desc"
		tail -n 15 "$log" | sed 's/^/#   /'
		return 1
	fi
}

plan() {
	echo "1..$n"
	exit "$fail"
}

bail() {
	echo "Bail out! $*"
	exit 1
}

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = \
		"install ok installed" ]
}

need_packages() {
	missing=
	for p in "$@"; do
		installed "$p" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	echo "# installing$missing"
	# shellcheck disable=SC2086 # one word per package
	DEBIAN_FRONTEND=noninteractive apt-get -q -y \
		-o DPkg::Lock::Timeout=600 install --no-install-recommends \
		$missing >>"$log" 2>&1 || bail "apt-get install$missing failed"
}

# One test that changes the host at a time, whoever runs it.
host_lock() {
	exec 9>/run/lock/sysgenid-host-tests.lock
	flock -w 3600 9 || bail "waited an hour for /run/lock/sysgenid-host-tests.lock"
}

# DKMS loads what it installs when modprobe_on_install is set: never here.
refuse_module_loading() {
	if grep -s -E '^[[:space:]]*modprobe_on_install=' \
		/etc/dkms/framework.conf /etc/dkms/framework.conf.d/*; then
		bail "modprobe_on_install is set in /etc/dkms: dkms install would load sysgenid"
	fi
}

# The modules are in no running kernel: ours is never a test kernel.
not_loaded() {
	check "$1: nothing loaded into the running kernel ($(uname -r))" \
		test ! -e /sys/module/sysgenid -a ! -e /sys/module/sysgenid_acpi
}
