#!/bin/sh
# sshdoctor through Azure Run Command: part @PART@ of @PARTS@ (@COMPRESSION@ payload @PAYLOAD_SHORT@).
# Stores one chunk of the compressed binary under /var/lib/sshdoctor/stage; rerunning
# it is harmless. After the last part, run final.sh from the same directory.
set -u
umask 077
PAYLOAD_SHA256=@PAYLOAD_SHA256@
PART=@PART@
PARTS=@PARTS@
PART_SHA256=@PART_SHA256@
@STAGE_LIB@
make_stage_dir || exit 1
chunk=$STAGE_DIR/part-$PART
if [ -f "$chunk" ] && [ "$(sha256_of "$chunk")" = "$PART_SHA256" ]; then
  say "part $PART of $PARTS was already staged"
else
  incoming=$STAGE_DIR/.incoming-$PART.$$
  if ! base64 -d > "$incoming" <<'CHUNK'
@CHUNK@
CHUNK
  then
    rm -f "$incoming"
    echo "SSHDOCTOR-PART part=$PART of=$PARTS status=corrupt"
    say "part $PART of $PARTS arrived damaged (not base64): resend part $PART"
    exit 1
  fi
  if [ "$(sha256_of "$incoming")" != "$PART_SHA256" ]; then
    rm -f "$incoming"
    echo "SSHDOCTOR-PART part=$PART of=$PARTS status=corrupt"
    say "part $PART of $PARTS arrived damaged (SHA-256 mismatch): resend part $PART"
    exit 1
  fi
  mv -f "$incoming" "$chunk"
  say "part $PART of $PARTS staged in $STAGE_DIR"
fi
echo "SSHDOCTOR-PART part=$PART of=$PARTS status=stored payload=$PAYLOAD_SHA256"
