#!/bin/sh
# sshdoctor through Azure Run Command: the final step (@COMPRESSION@ payload @PAYLOAD_SHORT@, @PARTS@ parts).
# When every part is staged: verifies the SHA-256, unpacks, runs sshdoctor (the compact
# verdict on stdout, the full JSON in /var/log/sshdoctor/last.json), removes the staged
# files. Otherwise it changes nothing and names the parts to send.
# stdout carries only the verdict (Run Command returns its last 4,096 bytes); the
# script's own messages go to stderr.
set -u
umask 077
PAYLOAD_SHA256=@PAYLOAD_SHA256@
PARTS=@PARTS@
PART_SHA256S="@PART_SHA256S@"
UNPACKER=@UNPACKER@
SAVE=/var/log/sshdoctor/last.json
@STAGE_LIB@
# Extra sshdoctor arguments: sshdoctor-az rewrites the next line.
set --

if command -v "$UNPACKER" > /dev/null 2>&1; then
  unpacker=yes
else
  unpacker=missing
  say "$UNPACKER is not installed on this VM, so this payload cannot be unpacked." \
    "sshdoctor-az switches to the gzip parts by itself; by hand, run gzip/part-*.sh" \
    "and gzip/final.sh instead (or install $UNPACKER)."
fi

missing=
damaged=
part=0
for expected in $PART_SHA256S; do
  part=$((part + 1))
  if [ ! -f "$STAGE_DIR/part-$part" ]; then
    missing="$missing,$part"
  elif [ "$(sha256_of "$STAGE_DIR/part-$part")" != "$expected" ]; then
    damaged="$damaged,$part"
  fi
done
need=$(printf '%s%s\n' "$missing" "$damaged" | tr ',' '\n' | grep . | sort -n | paste -sd, -)
if [ -n "$need" ] || [ "$unpacker" = missing ]; then
  echo "SSHDOCTOR-STAGE payload=$PAYLOAD_SHA256 unpacker=$unpacker need=${need:-none}"
  [ -n "$missing" ] && say "parts not staged yet: ${missing#,}"
  [ -n "$damaged" ] && say "parts damaged on disk (SHA-256 mismatch): ${damaged#,}"
  [ -n "$need" ] && say "send parts $need of $PARTS (part-NN-of-NN.sh), then this script again"
  exit 0
fi

make_stage_dir || exit 1
payload=$STAGE_DIR/payload
binary=$STAGE_DIR/sshdoctor
part=0
: > "$payload"
while [ "$part" -lt "$PARTS" ]; do
  part=$((part + 1))
  cat "$STAGE_DIR/part-$part" >> "$payload"
done
if [ "$(sha256_of "$payload")" != "$PAYLOAD_SHA256" ]; then
  rm -rf "$STAGE_DIR"
  echo "SSHDOCTOR-STAGE payload=$PAYLOAD_SHA256 unpacker=$unpacker need=all"
  say "each part checks out but the whole does not: staged parts removed; resend all $PARTS parts"
  exit 1
fi
if ! "$UNPACKER" -dc < "$payload" > "$binary"; then
  rm -rf "$STAGE_DIR"
  say "$UNPACKER could not unpack the payload: staged parts removed; resend all $PARTS parts"
  exit 1
fi
chmod 700 "$binary"
# A repair (`-- fix --apply`, `-- undo`) reports in compact form too; only a diagnosis
# saves its verdict.
case "${1:-}" in
  fix | undo) "$binary" "$@" --format compact ;;
  *) "$binary" --format compact --save "$SAVE" "$@" ;;
esac
status=$?
rm -rf "$STAGE_DIR"
rmdir "$STAGE_ROOT" 2> /dev/null
case $status in
  0 | 1 | 2 | 3) say "staged files removed; sshdoctor exit status $status" ;;
  126) say "$binary could not be executed (is /var/lib mounted noexec?)" ;;
  *) say "sshdoctor failed with exit status $status" ;;
esac
exit 0
