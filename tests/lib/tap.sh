# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers for the shell suites of tests/lib (busybox sh), sourced from
# /usr/share/sysgenid/tap.sh in the guest.
#
#   pass NAME / fail NAME / skip NAME REASON
#   check NAME CMD...         pass if CMD succeeds
#   is GOT WANT NAME          pass if the strings are equal
#   wait_for NAME CMD...      poll CMD every 0.1 s, at most GUARD_S seconds:
#                             a guard that runs out is a failure
#   gen                       the current generation, from sysfs
#   finish                    print the plan; exit 1 if anything failed

GUARD_S=${GUARD_S:-60}
SYSFS=/sys/class/misc/sysgenid
tap_n=0
tap_failed=0

pass() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1"
}

fail() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $1"
}

skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

check() {
	local name=$1

	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name"
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		echo "# $3: got '$1', want '$2'"
		fail "$3"
	fi
}

# Succeeds once CMD does; fails (and says so) if the guard runs out first.
wait_until() {
	local i=0

	while ! "$@"; do
		i=$((i + 1))
		if [ $i -ge $((GUARD_S * 10)) ]; then
			echo "# guard: gave up after ${GUARD_S} s waiting for: $*"
			return 1
		fi
		sleep 0.1
	done
}

wait_for() {
	local name=$1

	shift
	check "$name" wait_until "$@"
}

# Waits for PID to exit, at most GUARD_S seconds; its status in $status.
# A guard that runs out kills it and is a failure.
wait_pid() {
	local pid=$1

	if ! wait_until sh -c "! kill -0 $pid 2>/dev/null || \
		grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid"
		status=guard
		return 1
	fi
	wait "$pid"
	status=$?
}

gen() {
	cat $SYSFS/generation
}

finish() {
	echo "1..$tap_n"
	[ $tap_failed -eq 0 ]
}
