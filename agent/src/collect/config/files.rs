//! Where the parser's files come from: the real file system for the collector, a map
//! in memory for tests and fuzzing. The parser itself never touches the system.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Bytes read from one file at most; the rest is ignored and reported.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The outcome of reading one config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRead {
    Text {
        bytes: Vec<u8>,
        truncated: bool,
    },
    /// A directory: sshd's fopen(3) succeeds and getline(3) fails, so it reads as empty.
    Directory,
    /// Why it could not be read, in strerror(3) words ("No such file or directory").
    Failed(String),
}

/// What the parser needs from the outside world.
pub trait ConfigFiles {
    fn read(&self, path: &Path) -> FileRead;
    /// The paths `glob(3)` gives for a pattern, sorted by bytes as in the C locale.
    fn glob(&self, pattern: &str) -> Vec<PathBuf>;
    /// getservbyname(3) for TCP, so "Port ssh" means 22.
    fn service_port(&self, name: &str) -> Option<u16>;
}

/// The real file system.
#[derive(Debug, Default)]
pub struct SystemFiles;

impl ConfigFiles for SystemFiles {
    fn read(&self, path: &Path) -> FileRead {
        read_config_file(path)
    }

    fn glob(&self, pattern: &str) -> Vec<PathBuf> {
        // A pattern without wildcards names one file, even a dangling symlink: glob(3)
        // returns it and sshd then fails to open it.
        if !pattern.contains(['*', '?', '[']) {
            let exists = std::fs::symlink_metadata(pattern).is_ok();
            return exists.then(|| PathBuf::from(pattern)).into_iter().collect();
        }
        let Ok(paths) = glob::glob_with(pattern, GLOB_OPTIONS) else {
            return Vec::new();
        };
        sorted(paths.filter_map(Result::ok).collect())
    }

    fn service_port(&self, name: &str) -> Option<u16> {
        match read_config_file(Path::new("/etc/services")) {
            FileRead::Text { bytes, .. } => service_in(&String::from_utf8_lossy(&bytes), name),
            _ => None,
        }
    }
}

/// The one function that reads a config file from disk: bounded in size, and never
/// opening a FIFO or device (sshd would block on it; we must not).
pub fn read_config_file(path: &Path) -> FileRead {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) => return FileRead::Failed(os_message(&error)),
    };
    if metadata.is_dir() {
        return FileRead::Directory;
    }
    if !metadata.is_file() {
        return FileRead::Failed("not a regular file (sshd would block reading it)".into());
    }
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => return FileRead::Failed(os_message(&error)),
    };
    let mut bytes = Vec::new();
    match file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
        Ok(_) => {
            let truncated = bytes.len() as u64 > MAX_FILE_BYTES;
            bytes.truncate(MAX_FILE_BYTES as usize);
            FileRead::Text { bytes, truncated }
        }
        Err(error) => FileRead::Failed(os_message(&error)),
    }
}

/// "No such file or directory" rather than "... (os error 2)", as sshd's perror prints.
fn os_message(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

/// The port of a service in /etc/services text ("ssh  22/tcp").
fn service_in(services: &str, name: &str) -> Option<u16> {
    services.lines().find_map(|line| {
        let mut fields = line.split('#').next()?.split_whitespace();
        let service = fields.next()?;
        let (port, protocol) = fields.next()?.split_once('/')?;
        let aliases: Vec<&str> = fields.collect();
        let named = service == name || aliases.contains(&name);
        (named && protocol == "tcp").then(|| port.parse().ok())?
    })
}

/// glob(3) without GLOB_PERIOD: wildcards never match a leading dot.
const GLOB_OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

fn sorted(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    paths
}

/// Config files held in memory, for tests and fuzzing.
#[derive(Debug, Default, Clone)]
pub struct MemoryFiles {
    files: BTreeMap<PathBuf, MemoryEntry>,
}

#[derive(Debug, Clone)]
enum MemoryEntry {
    File(Vec<u8>),
    Directory,
    Unreadable(String),
}

impl MemoryFiles {
    pub fn new() -> MemoryFiles {
        MemoryFiles::default()
    }

    pub fn with_file(mut self, path: impl Into<PathBuf>, text: impl Into<Vec<u8>>) -> Self {
        self.files
            .insert(path.into(), MemoryEntry::File(text.into()));
        self
    }

    pub fn with_directory(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.insert(path.into(), MemoryEntry::Directory);
        self
    }

    /// A path that exists but cannot be read, with the reason.
    pub fn with_unreadable(mut self, path: impl Into<PathBuf>, why: &str) -> Self {
        self.files
            .insert(path.into(), MemoryEntry::Unreadable(why.into()));
        self
    }
}

impl ConfigFiles for MemoryFiles {
    fn read(&self, path: &Path) -> FileRead {
        match self.files.get(path) {
            Some(MemoryEntry::File(bytes)) => {
                let truncated = bytes.len() as u64 > MAX_FILE_BYTES;
                let kept = &bytes[..bytes.len().min(MAX_FILE_BYTES as usize)];
                FileRead::Text {
                    bytes: kept.to_vec(),
                    truncated,
                }
            }
            Some(MemoryEntry::Directory) => FileRead::Directory,
            Some(MemoryEntry::Unreadable(why)) => FileRead::Failed(why.clone()),
            None => FileRead::Failed("No such file or directory".into()),
        }
    }

    fn glob(&self, pattern: &str) -> Vec<PathBuf> {
        let Ok(pattern) = glob::Pattern::new(pattern) else {
            return Vec::new();
        };
        let matching = self.files.keys().filter(|path| {
            path.to_str()
                .is_some_and(|text| pattern.matches_with(text, GLOB_OPTIONS))
        });
        sorted(matching.cloned().collect())
    }

    fn service_port(&self, name: &str) -> Option<u16> {
        (name == "ssh").then_some(22)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_file_lookup() {
        let services = "ssh\t\t22/tcp\t\t\t# SSH\nfoo 99/udp\nbar 100/tcp baz\n";
        assert_eq!(service_in(services, "ssh"), Some(22));
        assert_eq!(service_in(services, "baz"), Some(100));
        assert_eq!(service_in(services, "foo"), None);
    }

    #[test]
    fn memory_glob_sorts_like_the_c_locale_and_skips_dot_files() {
        let files = MemoryFiles::new()
            .with_file("/d/b.conf", "")
            .with_file("/d/B.conf", "")
            .with_file("/d/_x.conf", "")
            .with_file("/d/.hidden.conf", "")
            .with_file("/d/sub/a.conf", "");
        let found: Vec<PathBuf> = files.glob("/d/*.conf");
        let expected: Vec<PathBuf> = ["/d/B.conf", "/d/_x.conf", "/d/b.conf"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(found, expected);
    }
}
