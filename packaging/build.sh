#!/usr/bin/env bash
# Builds the release binary sshdoctor ships: static, for any distribution's VM.
#   packaging/build.sh TARGET OUTPUT
# musl when the target can be installed, with std rebuilt and optimised for size;
# otherwise a static glibc binary, said loudly. SSHDOCTOR_REQUIRE_MUSL=1 (CI) turns that
# fallback into a failure.
set -euo pipefail
target=${1:?usage: build.sh TARGET OUTPUT}
output=${2:?usage: build.sh TARGET OUTPUT}
cargo=${CARGO:-cargo}

# std rebuilt with the binary and optimised for size: ~330 KB (120 KB xz) less, which is
# one Run Command part fewer. -Zbuild-std is an unstable cargo flag: RUSTC_BOOTSTRAP=1
# allows it on the stable toolchain, as the Linux kernel's Rust build does; it needs the
# toolchain's std sources (rust-src). Tests and `cargo build` keep the prebuilt std.
build_std=("-Zbuild-std=std,panic_abort" "-Zbuild-std-features=optimize_for_size")

installed() { rustup "$1" list --installed 2>/dev/null | grep -q "^$2"; }

if installed target "$target\$" || rustup target add "$target"; then
  if installed component rust-src || rustup component add rust-src; then
    RUSTC_BOOTSTRAP=1 "$cargo" build --release --locked --target "$target" -p sshdoctor \
      "${build_std[@]}"
  else
    echo "build.sh: rust-src unavailable: std is not rebuilt for size" >&2
    "$cargo" build --release --locked --target "$target" -p sshdoctor
  fi
else
  if [[ ${SSHDOCTOR_REQUIRE_MUSL:-0} == 1 ]]; then
    echo "build.sh: the $target target cannot be installed, and SSHDOCTOR_REQUIRE_MUSL=1" >&2
    exit 1
  fi
  echo "build.sh: WARNING: $target unavailable: building a static glibc binary instead" >&2
  RUSTFLAGS="-C target-feature=+crt-static" "$cargo" build --release --locked \
    --target x86_64-unknown-linux-gnu -p sshdoctor
  mkdir -p "$(dirname "$output")"
  cp target/x86_64-unknown-linux-gnu/release/sshdoctor "$output"
fi

# ldd fails on a static binary, and says so: that failure is the success wanted here.
linkage=$(ldd "$output" 2>&1 || true)
if ! grep -Eq 'not a dynamic executable|statically linked' <<<"$linkage"; then
  echo "build.sh: $output is not statically linked:" >&2
  echo "$linkage" >&2
  exit 1
fi
echo "built $output ($(stat -c %s "$output") bytes, static)"
