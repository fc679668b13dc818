# sshdoctor: build, run, test, bench, lab.
#
#   make run     build the static binary and diagnose this machine
#   make test    every test (root: the socket and sshd tests use network namespaces)
#   make lab     boot a Debian VM and prove each verdict against a real ssh login
#   make bench   speed and memory of a diagnosis, next to `ss -ltpn`

SHELL      := /bin/bash
CARGO      ?= cargo
TARGET     ?= x86_64-unknown-linux-musl
BIN        := target/$(TARGET)/release/sshdoctor
GLIBC_BIN  := target/x86_64-unknown-linux-gnu/release/sshdoctor

.PHONY: build run deps test lint bench lab lab-deps clean

# The release binary must be static: it is copied into VMs of any distribution.
# musl when the target is installed; otherwise glibc with crt-static, and we say so.
build:
	@if rustup target list --installed 2>/dev/null | grep -qx $(TARGET) \
	    || rustup target add $(TARGET); then \
	  $(CARGO) build --release --locked --target $(TARGET) -p sshdoctor; \
	else \
	  echo "musl target unavailable: building a static glibc binary instead" >&2; \
	  RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --locked \
	    --target x86_64-unknown-linux-gnu -p sshdoctor; \
	  mkdir -p $(dir $(BIN)) && cp $(GLIBC_BIN) $(BIN); \
	fi
	@ldd $(BIN) 2>&1 | grep -Eq 'not a dynamic executable|statically linked' \
	  || { echo "$(BIN) is not statically linked:" >&2; ldd $(BIN); exit 1; }
	@ls -l $(BIN) | awk '{printf "built %s (%d bytes, static)\n", $$9, $$5}'

# A diagnosis exits 1/2/3 for warning/critical/unknown; that is the answer, not a make error.
run: build
	@$(BIN) --format text; status=$$?; echo "(sshdoctor exit status $$status)"

deps:
	@tests/install-deps.sh

test: deps
	$(CARGO) test --workspace --locked -- --test-threads=2

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

bench: build
	python3 tests/bench/bench.py --binary $(BIN)

lab-deps:
	@bash tests/lab/install-deps.sh

lab: build lab-deps
	SSHDOCTOR_BIN=$(BIN) python3 tests/lab/lab.py $(LAB_ARGS)

clean:
	$(CARGO) clean
