#!/usr/bin/env bash
# Build the production image from the Containerfile and try it out, without running a container.
#
# Where a container engine may build images but not run containers, this checks the image by
# other means: it builds the project's wheel, builds the image on a local Debian base, creates a
# container, exports its file system and, with chroot, runs the installed `beredskab --version`
# and the demo scenario (`beredskab demo --scenario skyderi`) as the image's non-root user, from
# an empty folder, then checks the demo's files. The last line on stdout is the verdict:
#
#   image built=yes version=<v> demo=ok          (exit 0)
#   image built=<yes|no> version=<v|-> demo=fejl  (exit 1; the reason is on stderr)
#
# Needs (install them yourself; the script installs nothing):
#   - root (debootstrap, chroot and the exported file system's owners need it);
#   - podman and debootstrap: apt-get install podman debootstrap;
#   - the project's virtual environment (.venv, made by ./dev) or another python3 with pip;
#   - the package indexes: a Debian mirror for debootstrap (DEBIAN_MIRROR, default
#     http://deb.debian.org/debian) and the Python package index for the dependencies' wheels.
#
# Takes about 5 minutes of CPU time; 7-15 minutes on a busy 2-core machine (the vfs
# storage driver copies and deletes every layer in full). The first run also makes the Debian
# base with debootstrap (about a minute) and caches it in var/image-base/. Podman's storage for
# this check is kept apart in var/image-store/ (delete it to start over); it needs a few GB of
# disk while it runs.
#
# How the image is built here: the wheels of the project and of all its dependencies are
# collected on this machine first (with this machine's pip and its configuration) and the image
# is built from them offline (--build-arg PIP_OPTIONS="--no-index --find-links /tmp/dist"),
# since the build may not reach the package index itself. The production image has no demo
# extra; to run the demo, ssp-beredskab[demo] is installed into the exported file system's
# virtual environment, from the same collected wheels, and the image itself is left as built.
#
# Settings (environment): PYTHON (the python with pip; default .venv/bin/python, else python3),
# DEBIAN_MIRROR, KEEP_IMAGE=1 (keep localhost/beredskab:check in var/image-store/ afterwards).
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
BASE_DIR="$REPO/var/image-base"
BASE_TAR="$BASE_DIR/debian-bookworm-python3.tar"
BASE_IMAGE="localhost/beredskab-base:bookworm"
IMAGE="localhost/beredskab:check"
STORE="$REPO/var/image-store"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
USER_ID=10001
DEMO_FILES=(graph-requests.jsonl bot-requests.jsonl audit.jsonl alerts.json
            handleplan-v1.html handleplan-v1.pdf handleplan-v1-sikkerby.html
            invitation.ics meeting.json commitments.json summary.json)
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

built=no
version=-
work=""
container=""
mounted=()

say() { echo "check_image: $*" >&2; }

verdict() { echo "image built=$built version=$version demo=$1"; }

fail() {
  say "FEJL: $*"
  verdict fejl
  exit 1
}

# Run a step with its output in a log file; on failure show the log's end and stop.
step() {
  local name=$1; shift
  local log="$work/$name.log"
  say "$name ..."
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    fail "$name mislykkedes (hele loggen: se ovenfor)"
  fi
}

podman_() { podman --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs "$@"; }

cleanup() {
  local status=$?
  local i
  local still_mounted=""
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null \
      || still_mounted="${mounted[$i]}"
  done
  if [ -n "$container" ]; then podman_ rm -f "$container" >/dev/null 2>&1 || true; fi
  if [ "${KEEP_IMAGE:-}" != 1 ]; then podman_ rmi -f "$IMAGE" >/dev/null 2>&1 || true; fi
  if [ -n "$still_mounted" ]; then
    say "$still_mounted er stadig monteret; $work er ikke slettet"
  elif [ -n "$work" ]; then
    rm -rf --one-file-system "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'fail "afbrudt"' INT TERM

# --- what the check needs -----------------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "skal køres som root (debootstrap, chroot)"
for tool in podman debootstrap chroot tar; do
  command -v "$tool" >/dev/null || fail "$tool mangler (apt-get install podman debootstrap)"
done
"$PYTHON" -m pip --version >/dev/null 2>&1 || fail "$PYTHON har ikke pip (sæt PYTHON=...)"
work=$(mktemp -d "${TMPDIR:-/tmp}/beredskab-image.XXXXXX")
mkdir -p "$work/context/dist" "$work/demo-wheels" "$STORE"

# --- 1. the wheels ------------------------------------------------------------------------
step wheel "$PYTHON" -m pip wheel --no-deps --wheel-dir "$work/project" "$REPO"
wheels=("$work"/project/ssp_beredskab-*.whl)
[ "${#wheels[@]}" = 1 ] && [ -f "${wheels[0]}" ] || fail "fandt ikke præcis ét hjul i $work/project"
wheel=${wheels[0]}
wheel_version=$(basename "$wheel" | cut -d- -f2)
say "hjul: $(basename "$wheel")"
# The dependencies' wheels, for an offline build: the production set goes into the build
# context, the demo extra's into a folder of its own for the exported file system.
cp "$REPO/constraints.txt" "$work/context/constraints.txt"
step dependencies "$PYTHON" -m pip wheel --constraint "$REPO/constraints.txt" \
  --wheel-dir "$work/context/dist" "$wheel"
step demo-dependencies "$PYTHON" -m pip wheel --constraint "$REPO/constraints.txt" \
  --wheel-dir "$work/demo-wheels" "$wheel[demo]"

# --- 2. the local base: Debian bookworm with python3 and python3-venv -----------------------
if [ ! -s "$BASE_TAR" ]; then
  mkdir -p "$BASE_DIR"
  step debootstrap debootstrap --variant=minbase --include=python3,python3-venv \
    bookworm "$work/base-root" "$MIRROR"
  rm -rf "$work/base-root/var/cache/apt/archives/"*.deb "$work/base-root/var/lib/apt/lists/"*
  step base-tar tar -C "$work/base-root" --numeric-owner -cf "$BASE_TAR.part" .
  mv "$BASE_TAR.part" "$BASE_TAR"
  rm -rf "$work/base-root"
  podman_ rmi -f "$BASE_IMAGE" >/dev/null 2>&1 || true
else
  say "bruger den gemte base $BASE_TAR"
fi
if ! podman_ image exists "$BASE_IMAGE"; then
  step import podman_ import "$BASE_TAR" "$BASE_IMAGE"
fi

# --- 3. the image -------------------------------------------------------------------------
# --layers=false: one layer per stage; with vfs every layer is a full copy of the file system.
step build podman_ build --isolation chroot --format docker --layers=false \
  --build-arg BASE="$BASE_IMAGE" \
  --build-arg PIP_OPTIONS="--no-index --find-links /tmp/dist" \
  -f "$REPO/Containerfile" -t "$IMAGE" "$work/context"
built=yes

# What the image declares: the non-root user, the health check on /healthz, the service.
user=$(podman_ image inspect --format '{{.Config.User}}' "$IMAGE")
[ "$user" = "$USER_ID:$USER_ID" ] || fail "billedet kører som '$user', ikke $USER_ID:$USER_ID"
health=$(podman_ image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
case "$health" in
  *127.0.0.1:8400/healthz*) ;;
  *) fail "billedet har ingen sundhedstjek på /healthz (fik $health)" ;;
esac
entry=$(podman_ image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$IMAGE")
case "$entry" in
  *beredskab*serve*) ;;
  *) fail "billedet starter ikke 'beredskab serve' (fik $entry)" ;;
esac

# --- 4. its file system -------------------------------------------------------------------
container=$(podman_ create "$IMAGE")
step export podman_ export -o "$work/image.tar" "$container"
root="$work/rootfs"
mkdir -p "$root"
step unpack tar -C "$root" --numeric-owner -xf "$work/image.tar"
rm -f "$work/image.tar"
[ ! -e "$root/tmp/dist" ] || fail "hjulene er blevet liggende i billedet (/tmp/dist)"
owner=$(stat -c %u "$root/var/lib/beredskab")
[ "$owner" = "$USER_ID" ] || fail "/var/lib/beredskab ejes af $owner, ikke $USER_ID"

# What a container would have: /proc, the basic devices and a writable /tmp (the devices are
# made, not bound from the host, so that nothing of the host is inside the tree).
mkdir -p "$root/proc" "$root/dev" "$root/tmp"
chmod 1777 "$root/tmp"
for device in "null 1 3" "zero 1 5" "random 1 8" "urandom 1 9"; do
  set -- $device
  rm -f "$root/dev/$1"
  mknod -m 666 "$root/dev/$1" c "$2" "$3" || fail "kan ikke lave /dev/$1"
done
mount -t proc proc "$root/proc" && mounted+=("$root/proc") || fail "kan ikke montere /proc"

# Run a command in the image as its user, with the image's environment only.
as_user() {
  chroot --userspec="$USER_ID:$USER_ID" "$root" /usr/bin/env -i \
    PATH=/opt/beredskab/bin:/usr/local/bin:/usr/bin:/bin HOME=/var/lib/beredskab LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 /bin/sh -c "$1"
}

# --- 5. beredskab --version ---------------------------------------------------------------
if ! printed=$(as_user 'cd /var/lib/beredskab && exec beredskab --version' 2>"$work/version.err"); then
  cat "$work/version.err" >&2
  fail "beredskab --version mislykkedes i billedet"
fi
version=$(printf '%s\n' "$printed" | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?[A-Za-z0-9.+-]*' | head -n 1 || true)
[ -n "$version" ] || { version=-; fail "beredskab --version skrev ingen version (fik '$printed')"; }
[ "$version" = "$wheel_version" ] || fail "beredskab --version siger $version, hjulet er $wheel_version"
say "beredskab --version: $printed"

# --- 6. the demo, as the image's user from an empty folder --------------------------------
mkdir -p "$root/tmp/wheels"
cp "$work"/demo-wheels/*.whl "$REPO/constraints.txt" "$root/tmp/wheels/"
step demo-extra chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
  /opt/beredskab/bin/pip install --no-index --find-links /tmp/wheels --no-cache-dir \
  --disable-pip-version-check --constraint /tmp/wheels/constraints.txt \
  "/tmp/wheels/$(basename "$wheel")[demo]"
rm -rf "$root/tmp/wheels"
mkdir "$root/tmp/demo-run"
chown "$USER_ID:$USER_ID" "$root/tmp/demo-run"
say "demo ..."
if ! as_user 'cd /tmp/demo-run && exec beredskab demo --scenario skyderi --out /tmp/demo-out' \
    >"$work/demo.log" 2>&1; then
  tail -n 40 "$work/demo.log" >&2
  fail "demoen mislykkedes i billedet"
fi
out="$root/tmp/demo-out"
for name in "${DEMO_FILES[@]}"; do
  [ -s "$out/$name" ] || fail "demoen skrev ikke $name"
  [ "$(stat -c %u "$out/$name")" = "$USER_ID" ] || fail "$name er ikke skrevet af brugeren $USER_ID"
done
compgen -G "$out/cards/*.json" >/dev/null || fail "demoen skrev ingen kort (cards/*.json)"
[ "$(head -c 4 "$out/handleplan-v1.pdf")" = "%PDF" ] || fail "handleplan-v1.pdf er ikke en PDF"
as_user 'exec python -c "import json, sys; s = json.load(open(\"/tmp/demo-out/summary.json\")); sys.exit(0 if s.get(\"deliveries\") else 1)"' \
  || fail "summary.json har ingen leveringer"
say "demoens filer: $(ls "$out" | tr '\n' ' ')"

verdict ok
