#!/bin/sh
# sshdoctor @VERSION@ for managed Run Command (az vm run-command create --script-uri):
# the whole binary inside (gzip + base64; gzip is on every distribution, unlike xz).
# Unpacks into a root-only temporary directory under /var/lib/sshdoctor, runs
# `sshdoctor --format compact --save /var/log/sshdoctor/last.json`, removes the binary.
set -u
umask 077
PAYLOAD_SHA256=@PAYLOAD_SHA256@
say() { printf 'sshdoctor-delivery: %s\n' "$*" >&2; }

if ! command -v gzip > /dev/null 2>&1; then
  say "gzip is not installed on this VM: cannot unpack sshdoctor"
  exit 3
fi
if [ ! -d /var/lib/sshdoctor ] && ! mkdir -m 700 /var/lib/sshdoctor; then
  say "cannot create /var/lib/sshdoctor"
  exit 3
fi
work=$(mktemp -d /var/lib/sshdoctor/run.XXXXXX) || exit 3
trap 'rm -rf "$work"' EXIT
base64 -d > "$work/sshdoctor.gz" <<'PAYLOAD'
@PAYLOAD@
PAYLOAD
if [ "$(sha256sum < "$work/sshdoctor.gz" | cut -c1-64)" != "$PAYLOAD_SHA256" ]; then
  say "the embedded binary is damaged (SHA-256 mismatch): download the script again"
  exit 3
fi
gzip -dc < "$work/sshdoctor.gz" > "$work/sshdoctor" && chmod 700 "$work/sshdoctor" || exit 3
"$work/sshdoctor" --format compact --save /var/log/sshdoctor/last.json "$@"
