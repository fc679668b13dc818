//! Shared by the sshd_config tests: fixtures staged in a temp dir with `@DIR@` replaced
//! by that dir, so Include lines can use absolute paths (sshd resolves relative ones
//! under /etc/ssh, which tests must not touch).

use sshdoctor::collect::config::{parse_config, MemoryFiles, SystemFiles};
use sshdoctor::facts::SshdConfigFacts;
use std::path::{Path, PathBuf};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sshd_config");

/// The main config file of an in-memory tree.
pub const MAIN: &str = "/etc/ssh/sshd_config";

/// Parses the in-memory tree `files` from MAIN, as sshd in /etc/ssh would.
pub fn parse_memory(files: &MemoryFiles) -> SshdConfigFacts {
    parse_config(Path::new(MAIN), files, Path::new("/etc/ssh"), &[])
}

pub struct Staged {
    pub dir: tempfile::TempDir,
}

impl Staged {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn parse(&self, name: &str) -> SshdConfigFacts {
        parse_config(&self.path(name), &SystemFiles, Path::new("/etc/ssh"), &[])
    }
}

/// Copies every fixture into a fresh temp dir and adds what git cannot hold well:
/// a dangling symlink (unreadable even for root).
pub fn stage() -> Staged {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(Path::new(FIXTURES), dir.path(), dir.path());
    std::os::unix::fs::symlink("/nonexistent/sshdoctor", dir.path().join("dangling.conf"))
        .expect("symlink");
    Staged { dir }
}

fn copy_tree(from: &Path, to: &Path, root: &Path) {
    for entry in std::fs::read_dir(from).expect("fixtures dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target, root);
        } else {
            let bytes = std::fs::read(entry.path()).expect("read fixture");
            let text = String::from_utf8_lossy(&bytes);
            let staged = match text.contains("@DIR@") {
                true => text
                    .replace("@DIR@", &root.display().to_string())
                    .into_bytes(),
                false => bytes,
            };
            std::fs::write(target, staged).expect("write fixture");
        }
    }
}

/// The names of the top-level fixture files.
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
        .expect("fixtures dir")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".conf"))
        .collect();
    names.sort();
    names
}
