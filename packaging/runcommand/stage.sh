# Shared by every part script and the final script (build.py pastes it in).
# Chunks wait in a root-only directory named after the payload's SHA-256, one file per
# part, so rerunning a part or mixing builds can never corrupt a staged payload.
STAGE_ROOT=/var/lib/sshdoctor/stage
STAGE_DIR=$STAGE_ROOT/$PAYLOAD_SHA256

say() { printf 'sshdoctor-delivery: %s\n' "$*" >&2; }

sha256_of() { sha256sum < "$1" | cut -c1-64; }

# Creates the staging directories 0700, refusing any that is a symlink or not root's.
make_stage_dir() {
  for dir in /var/lib/sshdoctor "$STAGE_ROOT" "$STAGE_DIR"; do
    if [ ! -d "$dir" ] && ! mkdir -m 700 "$dir"; then
      say "cannot create $dir"
      return 1
    fi
    if [ -L "$dir" ] || [ "$(stat -c %u "$dir")" != 0 ]; then
      say "$dir is a symlink or not owned by root: refusing to stage there"
      return 1
    fi
  done
}
