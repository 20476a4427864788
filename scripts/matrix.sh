#!/usr/bin/env bash
# The QGIS version matrix: Debian chroots built with mmdebstrap from Debian's mirror, cached, and the unit, QGIS and
# e2e suites run inside them with this checkout bind-mounted.
#
#   scripts/matrix.sh build RELEASE        build (or reuse) the chroot of RELEASE (trixie = Debian 13, sid)
#   scripts/matrix.sh run RELEASE [TARGET…] build if needed, then `make TARGET…` inside (default: test-unit test-qgis)
#   scripts/matrix.sh shell RELEASE        an interactive shell inside (debugging)
#   scripts/matrix.sh exec RELEASE CMD…    CMD inside, in the checkout
#
# Chroots live in $S2PARITY_MATRIX_DIR (default /var/cache/s2parity-matrix, ≈ 2.5 GB each) and are rebuilt only
# when scripts/apt-packages.txt or this script's build options change. The venv inside a chroot (/opt/s2parity-venv)
# is kept with it, so a second run skips pip. Needs root (mmdebstrap, mount, chroot); installs mmdebstrap if absent.
# Mounts happen in a private mount namespace (unshare), so nothing stays mounted when a run ends or is killed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

MIRROR=${S2PARITY_MIRROR:-http://deb.debian.org/debian}
MATRIX_DIR=${S2PARITY_MATRIX_DIR:-/var/cache/s2parity-matrix}
INNER_REPO=/s2parity/repo      # ../shared/data beside it, as tests expect
INNER_VENV=/opt/s2parity-venv
EXTRA_PACKAGES=(make git ca-certificates)

usage() { sed -n '2,13p' "$0" >&2; exit 2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "matrix: building and entering Debian chroots needs root (mmdebstrap, mount, chroot)" >&2
    exit 1
  fi
}

mmdebstrap_options() {  # RELEASE
  local options=(--variant=apt --components=main)
  # sid's Release file is only valid for a few days; a cached chroot must still run `apt-get update` later.
  [ "$1" = sid ] && options+=(--aptopt='Acquire::Check-Valid-Until "false"')
  printf '%s\n' "${options[@]}"
}

build() {  # RELEASE
  local release=$1 root="$MATRIX_DIR/$1" packages want
  need_root
  packages=$( (grep -v -e '^#' -e '^$' scripts/apt-packages.txt; printf '%s\n' "${EXTRA_PACKAGES[@]}") | paste -sd, -)
  want=$( (echo "$packages"; mmdebstrap_options "$release"; echo "$MIRROR") | sha256sum | cut -d' ' -f1)
  if [ -f "$root/.s2parity-chroot" ] && [ "$(cat "$root/.s2parity-chroot")" = "$want" ]; then
    return 0
  fi
  command -v mmdebstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; }
  mkdir -p "$MATRIX_DIR"
  rm -rf "$root.tmp"
  echo "matrix: building the $release chroot in $root (mmdebstrap from $MIRROR; a few minutes)"
  local started=$SECONDS
  mapfile -t options < <(mmdebstrap_options "$release")
  mmdebstrap --quiet "${options[@]}" --include="$packages" "$release" "$root.tmp" "$MIRROR"
  echo "$want" > "$root.tmp/.s2parity-chroot"
  rm -rf "$root"
  mv "$root.tmp" "$root"
  echo "matrix: $release chroot built in $((SECONDS - started)) s ($(du -sh "$root" | cut -f1))"
}

enter() {  # RELEASE COMMAND…: run COMMAND inside the chroot, repo bind-mounted at $INNER_REPO
  local release=$1 root="$MATRIX_DIR/$1"
  shift
  need_root
  local shared=""
  [ -d "$REPO/../shared" ] && shared=$(cd "$REPO/../shared" && pwd)
  unshare --mount --propagation private -- /bin/bash -euo pipefail -c '
    root=$1 repo=$2 inner=$3 shared=$4 release=$5
    shift 5
    mount -t proc proc "$root/proc"
    mount -t sysfs sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mkdir -p "$root$inner" "$root$(dirname "$inner")/shared"
    mount --bind "$repo" "$root$inner"
    if [ -n "$shared" ]; then mount --bind -o ro "$shared" "$root$(dirname "$inner")/shared"; fi
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    # Trust what the host trusts (pip reaches PyPI from inside; a host may add a local CA to its bundle).
    mount --bind -o ro /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    exec chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" VENV='"$INNER_VENV"' S2PARITY_ARTIFACTS="tests/artifacts/$release" /bin/bash -c "cd $inner && \"\$@\"" bash "$@"
  ' bash "$root" "$REPO" "$INNER_REPO" "$shared" "$release" "$@"
}

run() {  # RELEASE [TARGET…]
  local release=$1
  shift
  local targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=(test-unit test-qgis)
  build "$release"
  local started=$SECONDS status=0
  enter "$release" make --no-print-directory --keep-going "${targets[@]}" || status=$?
  echo "matrix: $release: make ${targets[*]} $([ $status -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - started)) s"
  return $status
}

[ $# -ge 2 ] || usage
command=$1 release=$2
shift 2
case "$release" in trixie | sid) ;; *) echo "matrix: release must be trixie or sid, not '$release'" >&2; exit 2 ;; esac
case "$command" in
  build) build "$release" ;;
  run) run "$release" "$@" ;;
  shell) build "$release" && enter "$release" /bin/bash ;;
  exec) build "$release" && enter "$release" "$@" ;;
  *) usage ;;
esac
