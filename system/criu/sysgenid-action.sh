#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# CRIU action script: a restored process tree is a copy of the past, as a
# VM restored from a snapshot is, so it must see a new system generation.
#
#   criu restore --action-script /path/to/sysgenid-action.sh ...
#
# post-restore runs once everything is restored and before the tasks run
# again: they resume with the new generation already mapped. A tree
# restored into a pid namespace of its own (a container) gets its own
# event (its scope's: sysgenid bump --scope), the host none. Where the
# tree held /dev/sysgenid (images sysgenid-*.img), sysgenid_plugin.so
# makes that event itself, and this script none: one event per restore. Without the
# privilege to bump (CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN), the script
# fails and so does the restore: better no clone than one unaware of it.
# SYSGENID names the command if it is not on PATH.

case ${CRTOOLS_SCRIPT_ACTION:-} in
post-restore)
	# A tree that held the device: sysgenid_plugin.so makes the event.
	for img in "${CRTOOLS_IMAGE_DIR:-/nonexistent}"/sysgenid-*.img; do
		[ ! -e "$img" ] || exit 0
	done
	# The restored tree's own scope: where CRIU restored it into a pid
	# namespace of its own (a container), an event for it and no one
	# else; in the host's, the host's event. A module without scopes
	# takes the host's.
	if [ -n "${CRTOOLS_INIT_PID:-}" ] &&
	   "${SYSGENID:-sysgenid}" bump --scope="$CRTOOLS_INIT_PID" >/dev/null
	then
		exit 0
	fi
	exec "${SYSGENID:-sysgenid}" bump >/dev/null
	;;
esac
exit 0
