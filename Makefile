# sshdoctor: build, run, test, bench, lab.
#
#   make run     build the static binary and diagnose this machine
#   make test    the tests (as root; without root, those needing namespaces skip)
#   make lab     boot a Debian VM and prove each verdict against a real ssh login,
#                and the .deb's boot-time verdict
#   make bench   speed and memory of a diagnosis, next to `ss -ltpn`
#   make fuzz    every parser's fuzz target for FUZZ_SECONDS each

SHELL      := /bin/bash
CARGO      ?= cargo
TARGET     ?= x86_64-unknown-linux-musl
BIN        := target/$(TARGET)/release/sshdoctor

.PHONY: build run deps test lint bench lab lab-deps fuzz clean

# The release binary must be static: it is copied into VMs of any distribution. The
# recipe (musl, std rebuilt for size, the glibc fallback) is packaging/build.sh.
build:
	@CARGO=$(CARGO) packaging/build.sh $(TARGET) $(BIN)

# A diagnosis exits 1/2/3 for warning/critical/unknown; that is the answer, not a make error.
run: build
	@$(BIN) --format text; status=$$?; echo "(sshdoctor exit status $$status)"

deps:
	@tests/install-deps.sh

test: deps
	$(CARGO) test --workspace --locked -- --test-threads=2

# The code's format and lints, and the generated docs still matching the catalogue.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	python3 docs/gen_rules.py --check

bench: build
	python3 tests/bench/bench.py --binary $(BIN)

# Every fuzz target for FUZZ_SECONDS each; a crash stops the run and leaves its input in
# agent/fuzz/artifacts/. cargo-fuzz wants nightly features: RUSTC_BOOTSTRAP=1 allows them.
# The parsers are safe Rust, so AddressSanitizer has nothing to find there and would cost
# ten times the executions; panics, hangs and runaway allocations are caught without it.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd agent && for target in $$(RUSTC_BOOTSTRAP=1 $(CARGO) fuzz list); do \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none $$target -- -max_total_time=$(FUZZ_SECONDS) \
	    || exit 1; \
	done

lab-deps:
	@tests/install-deps.sh lab

# The .deb too: the lab's deb-install step installs it in the VM and reboots.
lab: build deb lab-deps
	SSHDOCTOR_BIN=$(BIN) SSHDOCTOR_DEB=$$(ls -t dist/sshdoctor_*.deb | head -n 1) \
	  python3 tests/lab/lab.py $(LAB_ARGS)

clean:
	$(CARGO) clean

# ---- Delivery: make dist builds every artifact under dist/ ----------------
#   make size           fail when the binary or its xz form passes its budget
#   make dist           Run Command scripts, .deb, .rpm, man page, completions, SHA256SUMS
#   make test-delivery  the packages as dpkg, rpm and lintian see them, and the Run
#                       Command door through a stand-in az (root)
VERSION       := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# Enforced: what this tree reaches now, with a little room. Target: 1,500,000 / 600,000.
BINARY_BUDGET := 2520000
XZ_BUDGET     := 1015000
ASSETS        := dist/assets

.PHONY: size docs deb rpm dist test-delivery

size: build
	@packaging/size/check-size.sh $(BIN) $(BINARY_BUDGET) $(XZ_BUDGET)

# Man page and completions from the clap definition; the rule catalogue from the binary.
docs: build
	$(CARGO) run --locked -q -p sshdoctor --example gen_docs -- $(ASSETS)
	gzip -9n -f $(ASSETS)/sshdoctor.1
	packaging/rules-doc.sh $(BIN) > $(ASSETS)/rules.md

deb: docs
	@command -v cargo-deb >/dev/null || $(CARGO) install --locked cargo-deb
	rm -f dist/sshdoctor_*.deb
	$(CARGO) deb -p sshdoctor --no-build --no-strip --target $(TARGET) -o dist/

# gzip payload: rpm before 4.14 (RHEL 7) cannot read zstd.
rpm: docs
	@command -v cargo-generate-rpm >/dev/null || $(CARGO) install --locked cargo-generate-rpm
	rm -f dist/sshdoctor-*.rpm
	$(CARGO) generate-rpm -p agent --target $(TARGET) --payload-compress gzip -o dist/

dist: size deb rpm
	python3 packaging/runcommand/build.py $(BIN) $(VERSION) dist/runcommand
	cp $(BIN) dist/sshdoctor-$(VERSION)-x86_64-linux-musl
	cd dist && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | xargs sha256sum > SHA256SUMS
	@echo "dist: $$(wc -l < dist/SHA256SUMS) files, listed in dist/SHA256SUMS"

test-delivery: dist
	python3 tests/delivery/test_packages.py
	python3 tests/delivery/test_runcommand.py
