//! sshd_config as sshd reads it, and what `sshd -T` said of it.

use super::Located;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressFamily {
    #[default]
    Any,
    Inet,
    Inet6,
}

/// One `ListenAddress` directive: `host`, `host:port`, `[v6]:port`, optional `rdomain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenAddress {
    pub host: String,
    pub port: Option<u16>,
    pub rdomain: Option<String>,
}

/// A (host, port) pair sshd will try to bind, derived the way sshd derives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Literal address or host name; "0.0.0.0" / "::" for the wildcard.
    pub host: String,
    pub port: u16,
    /// Where this endpoint comes from (the ListenAddress or Port line; None = built-in default).
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// An option sshd gets on its command line, which it reads before its config file:
/// for a keyword it sets, the config file's value does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandLineOption {
    /// As sshd gets it: ["-o", "PasswordAuthentication=no"], ["-p", "2222"], ["-4"].
    pub args: Vec<String>,
    /// Where it is written: "ExecStart of ssh.service", "$SSHD_OPTS from /etc/default/ssh".
    pub origin: String,
}

impl CommandLineOption {
    /// The option as a config line sshd would read the same way: "-o K=V" as "K=V",
    /// "-4" as "AddressFamily inet", "-h F" as "HostKey F"; None for -p, which replaces
    /// every Port of the config instead.
    pub fn config_line(&self) -> Option<String> {
        let value = self.args.get(1).cloned().unwrap_or_default();
        Some(match self.args[0].as_str() {
            "-o" => value,
            "-4" => "AddressFamily inet".into(),
            "-6" => "AddressFamily inet6".into(),
            "-h" => format!("HostKey {value}"),
            "-c" => format!("HostCertificate {value}"),
            "-g" => format!("LoginGraceTime {value}"),
            _ => return None,
        })
    }
}

/// sshd_config as sshd reads it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SshdConfigFacts {
    /// The main config file.
    pub path: String,
    /// Why this path: "default", "--config", "ExecStart of ssh.service", "sshd cmdline".
    pub path_source: String,
    /// The options the unit gives sshd on its command line, read before the file.
    #[serde(default)]
    pub command_line: Vec<CommandLineOption>,
    /// The main file could be read.
    pub readable: bool,
    /// Why the main file could not be read.
    pub read_error: Option<String>,
    /// Every file read, main first, then Includes in the order sshd reads them.
    pub files: Vec<String>,
    /// Problems found while parsing (unknown keyword, bad value, missing Include, loop).
    pub problems: Vec<ConfigProblem>,
    /// Drop-ins beside the main file (`sshd_config.d/*.conf`) that no Include reads.
    #[serde(default)]
    pub ignored_dropins: Vec<String>,
    /// Azure's "Reset SSH configuration" (VMAccess) keeps the sshd_config it replaced here.
    #[serde(default)]
    pub vmaccess_backup: Option<String>,
    /// SUSE's vendor sshd_config, where it exists.
    #[serde(default)]
    pub vendor_config: Option<VendorConfig>,
    /// Effective Port values of the global section (default [22] when none is set).
    pub ports: Vec<Located<u16>>,
    pub listen_addresses: Vec<Located<ListenAddress>>,
    pub address_family: Option<Located<AddressFamily>>,
    /// What sshd will bind, derived from Port, ListenAddress and AddressFamily.
    pub endpoints: Vec<Endpoint>,
    /// Every global keyword (lower-case) with its values in effect (first value wins, except
    /// for keywords that accumulate).
    pub global: std::collections::BTreeMap<String, Vec<Located<String>>>,
    /// Global lines sshd reads and ignores because an earlier line (or the command line)
    /// set the keyword first.
    #[serde(default)]
    pub shadowed: Vec<ShadowedSetting>,
    pub match_blocks: Vec<MatchBlock>,
    /// Lines a tool wrote, where the file says so by its name or its comments.
    #[serde(default)]
    pub written_sections: Vec<WrittenSection>,
    /// The syntax check: the `sshd -T` run (it makes every check `sshd -t` makes), when
    /// the binary exists.
    pub syntax_check: Option<SshdRun>,
    /// `sshd -T` result, when the binary exists and the config is valid.
    pub effective: Option<EffectiveConfig>,
    /// Disagreements between this parser and `sshd -T` (a bug in one or the other).
    pub discrepancies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigProblem {
    pub file: String,
    pub line: Option<u32>,
    pub message: String,
    /// True when sshd itself refuses to start with it (e.g. a bad keyword).
    pub fatal: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchBlock {
    /// The criteria as written, e.g. "User alice Address 10.0.0.0/8".
    pub criteria: String,
    pub file: String,
    pub line: u32,
    pub settings: std::collections::BTreeMap<String, Vec<Located<String>>>,
}

/// Lines `first_line..=last_line` of `file` are a tool's: a file it owns, a section
/// between its marker comments, a Match block its installer tagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenSection {
    /// Who, as words that follow a place: "written by cloud-init", "Google OS Login's
    /// section, which its agent rewrites".
    pub writer: String,
    pub file: String,
    pub first_line: u32,
    pub last_line: u32,
}

impl SshdConfigFacts {
    /// Who wrote the setting at `place` ("file:line", or a command-line origin), where
    /// the config says so.
    pub fn writer_of(&self, place: &str) -> Option<&str> {
        if self
            .command_line
            .iter()
            .any(|option| option.origin == place)
        {
            return Some("sshd's command line");
        }
        let (file, line) = place.rsplit_once(':')?;
        let line: u32 = line.parse().ok()?;
        self.written_sections
            .iter()
            .find(|section| {
                section.file == file && (section.first_line..=section.last_line).contains(&line)
            })
            .map(|section| section.writer.as_str())
    }

    /// The command-line options as sshd's arguments, for running it as the unit does.
    pub fn command_line_args(&self) -> Vec<String> {
        self.command_line
            .iter()
            .flat_map(|option| option.args.iter().cloned())
            .collect()
    }
}

/// A global setting sshd ignores: `keyword` was set first at `by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowedSetting {
    pub keyword: String,
    /// The ignored line's value, as sshd would have taken it.
    pub value: Located<String>,
    /// The value that counts, and where it is set.
    pub by: Located<String>,
}

/// SUSE's vendor sshd_config (/usr/etc/ssh/sshd_config) and whether sshd reads it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VendorConfig {
    pub path: String,
    /// False when /etc/ssh/sshd_config exists: sshd then reads that file instead, and
    /// nothing of the vendor file applies.
    pub used: bool,
    /// The vendor file's Include patterns, as written.
    pub includes: Vec<String>,
    /// The Include patterns of /etc/ssh/sshd_config, when it hides the vendor file.
    pub main_includes: Vec<String>,
}

/// One run of the sshd binary (`-t` or `-T`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SshdRun {
    pub command: Vec<String>,
    /// None when it timed out or could not start.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// The missing privilege-separation directory sshd ran with an empty stand-in for
    /// (in a private mount namespace; the system's /run is untouched).
    #[serde(default)]
    pub privsep_stand_in: Option<String>,
    /// The failure is about the machine rather than the config text (missing host keys,
    /// missing privilege separation directory, not root): the config was not judged.
    #[serde(default)]
    pub environment_problem: bool,
    /// First error line sshd printed, e.g. "/etc/ssh/sshd_config: line 14: Bad configuration option: Bogus".
    pub error: Option<String>,
    /// The file and line that error names, when it names one.
    pub error_file: Option<String>,
    pub error_line: Option<u32>,
    /// Stderr, truncated.
    pub stderr: String,
}

/// The configuration `sshd -T` prints: what sshd would really use.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EffectiveConfig {
    pub ports: Vec<u16>,
    pub listen_addresses: Vec<String>,
    pub address_family: Option<String>,
    /// Every keyword (lower-case) with its values, in sshd's order.
    pub settings: std::collections::BTreeMap<String, Vec<String>>,
}
