#!/usr/bin/env bash
# Fetches Debian's Postfix and Exim packages (and OpenSMTPD's where it can), and the libraries they need that this machine
# lacks, and unpacks them into a cache directory without installing them: the two packages
# conflict (both provide mail-transport-agent), and installing either would start a system
# mail service. The interop tests run the binaries from there with private configurations.
# Prints the directory; exits non-zero (with the reason on stderr) when it cannot.
set -euo pipefail

CACHE=${REBOND_INTEROP_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/rebond-interop}
ROOT=$CACHE/root
PACKAGES=(postfix exim4-daemon-light)

# The MTAs run in a mount namespace of their own (see mtas.ts): that needs root and unshare.
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
  echo "interop: needs root and 'unshare -m' (a private mount namespace for the MTAs' users)" >&2
  exit 5
fi

ready() { [ -x "$ROOT/usr/lib/postfix/sbin/master" ] && [ -x "$ROOT/usr/sbin/exim4" ] && [ -f "$CACHE/complete-2" ]; }
if ready; then echo "$ROOT"; exit 0; fi

for tool in apt-get dpkg dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "interop: $tool not found (the MTAs come from Debian's packages)" >&2; exit 3; }
done
mkdir -p "$CACHE/debs" "$ROOT"
cd "$CACHE/debs"

download() {
  # apt warns that it downloads as root when _apt cannot write here: harmless.
  apt-get download -q "$@" >/dev/null 2>"$CACHE/apt.err" || {
    apt-get update -q >/dev/null 2>&1 && apt-get download -q "$@" >/dev/null 2>"$CACHE/apt.err"
  } || { echo "interop: cannot download $*: $(tail -n 1 "$CACHE/apt.err")" >&2; return 1; }
}

download "${PACKAGES[@]}"
download opensmtpd || echo "interop: OpenSMTPD left out" >&2
# Libraries the packages depend on that are not installed here (e.g. libidn12 for Exim).
missing=()
for deb in ./*.deb; do
  for dep in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' -e 's/:any$//'); do
    case "$dep" in lib*) ;; *) continue ;; esac
    dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed' || missing+=("$dep")
  done
done
if [ ${#missing[@]} -gt 0 ]; then download "${missing[@]}"; fi
for deb in ./*.deb; do dpkg-deb -x "$deb" "$ROOT"; done

# Every shared library the binaries load must resolve (from the machine or the cache).
export LD_LIBRARY_PATH="$ROOT/usr/lib/postfix:$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu"
for bin in "$ROOT/usr/sbin/exim4" "$ROOT"/usr/lib/postfix/sbin/{master,smtp,smtpd,qmgr,cleanup,postlogd,trivial-rewrite} "$ROOT"/usr/sbin/smtpd; do
  [ -e "$bin" ] || continue
  if ldd "$bin" | grep -q 'not found'; then
    echo "interop: $bin lacks $(ldd "$bin" | awk '/not found/ {print $1}' | tr '\n' ' ')" >&2
    exit 4
  fi
done
touch "$CACHE/complete-2"
echo "$ROOT"
