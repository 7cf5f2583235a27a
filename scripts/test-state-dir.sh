#!/usr/bin/env bash
# Prints where make test keeps its throw-away cluster: /dev/shm/mysanta-<user> (memory) when
# /dev/shm is a writable directory with at least 2 GB free and that directory is absent or this
# user's own (another local user's could hold a cluster's files for it); else nothing, and the
# cluster lives in STATE_DIR as any other. SHM_DIR (/dev/shm) is where to look.
set -u
shm=${SHM_DIR:-/dev/shm}
dir=$shm/mysanta-$(id -un)
[ -d "$shm" ] && [ -w "$shm" ] || exit 0
free_kb=$(df -Pk "$shm" 2>/dev/null | awk 'NR == 2 { print $4 }')
[ "${free_kb:-0}" -ge 2097152 ] || exit 0
if [ -e "$dir" ] && { [ ! -d "$dir" ] || [ ! -O "$dir" ] || [ -L "$dir" ]; }; then
    exit 0
fi
echo "$dir"
