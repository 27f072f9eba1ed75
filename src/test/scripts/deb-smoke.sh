#!/usr/bin/env bash
# Installs a tansa .deb into a throw-away overlay over a Debian root (the cached root itself is
# never written), runs the packaged tansa there as a user of that host would, removes the package
# and lists what the removal left behind. Runs in a mount namespace of its own (unshare -m), so
# every mount vanishes with it. Prints one "== STEP" line before each step's output.
# Usage: deb-smoke.sh ROOT DEB SCRATCH
set -euo pipefail
root=$1 deb=$2 scratch=$3
if [[ -z "${TANSA_SMOKE_NS:-}" ]]; then
  exec env TANSA_SMOKE_NS=1 unshare --mount --propagation private "$0" "$@"
fi
mkdir -p "$scratch"/{upper,work,merged}
m="$scratch/merged"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$scratch/upper,workdir=$scratch/work" "$m"
# /proc, /sys (with tracefs under it) and /dev as a container host gives them
mount --rbind /proc "$m/proc"; mount --rbind /sys "$m/sys"; mount --rbind /dev "$m/dev"
cp "$deb" "$m/tmp/tansa.deb"
in_root() { chroot "$m" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

echo "== java on PATH"
in_root sh -c 'command -v java || echo none'
echo "== install"
in_root apt-get install -y /tmp/tansa.deb 2>&1 | tail -3
echo "== version"
in_root tansa --version
echo "== callers"
# dash's echo writes each line with write(2) through libc's write: 20 calls, 10 taken
in_root tansa callers -q -n 10 write -- /bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo $i; done' 2>&1
echo "== man"
in_root man -w tansa-callers
in_root sh -c 'man tansa-callers 2>/dev/null | grep -c "^PRIVILEGES\|^EXIT STATUS"'
echo "== completion"
in_root bash -c '
  . /usr/share/bash-completion/bash_completion
  _completion_loader tansa
  fn=$(complete -p tansa | sed "s/.*-F \([^ ]*\) .*/\1/")
  COMP_WORDS=(tansa callers --mo); COMP_CWORD=2; COMP_LINE="tansa callers --mo"; COMP_POINT=${#COMP_LINE}
  "$fn" tansa --mo callers; printf "option %s\n" "${COMPREPLY[@]}"
  COMP_WORDS=(tansa callers -p ""); COMP_CWORD=3; COMP_LINE="tansa callers -p "; COMP_POINT=${#COMP_LINE}
  "$fn" tansa "" -p; printf "pid %s\n" "${COMPREPLY[@]}" | grep -cx "pid 1"'
echo "== remove"
in_root dpkg --purge tansa 2>&1 | grep -v '^(Reading database\|^Processing triggers'
in_root sh -c 'dpkg-query -W tansa 2>&1 || true'
rm -f "$m/tmp/tansa.deb"
echo "== left behind"
# what the overlay's upper layer still holds: files, links and whiteouts, outside dpkg's and
# apt's own records and logs and man-db's index
(cd "$scratch/upper" && find . ! -type d \
  ! -path './var/lib/dpkg/*' ! -path './var/log/*' ! -path './var/cache/*' ! -path './var/lib/apt/*' \
  ! -path './tmp/*' ! -path './root/*' ! -path './etc/ld.so.cache' | sort)
echo "== end"
