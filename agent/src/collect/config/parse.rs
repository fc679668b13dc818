//! The parser: files in, `SshdConfigFacts` out, following servconf.c's
//! `parse_server_config_depth` at sshd's startup (no connection to match against).

use super::endpoints::derive_endpoints;
use super::files::{ConfigFiles, FileRead, MAX_FILE_BYTES};
use super::keywords::{self, Combine, Kind, Obsolete, Scope, Value};
use super::syntax::{self, LineContent, LogicalLine};
use super::values::{self, check_arguments, parse_listen_address};
use crate::facts::{
    AddressFamily, CommandLineOption, ConfigProblem, Located, MatchBlock, ShadowedSetting,
    SshdConfigFacts,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// servconf.c SERVCONF_MAX_DEPTH: an included file deeper than this is fatal.
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Bounds on the work one parse may do, whatever the includes fan out to.
const MAX_FILES_PARSED: usize = 4096;
const MAX_TOTAL_BYTES: usize = 64 * 1024 * 1024;
/// The pseudo-file of sshd's built-in defaults (servconf.c logs them as "[default]").
pub const DEFAULT_SOURCE: &str = "(default)";
const SSH_DEFAULT_PORT: u16 = 22;

/// Parses `main` and everything it includes, as sshd would at startup, after the
/// options of its command line (sshd.c reads `-o` lines, `-p`, `-4`, ... before the
/// file, so their values come first). `ssh_dir` is where relative Include patterns are
/// looked up (sshd's compiled-in SSHDIR, /etc/ssh).
pub fn parse_config(
    main: &Path,
    files: &dyn ConfigFiles,
    ssh_dir: &Path,
    command_line: &[CommandLineOption],
) -> SshdConfigFacts {
    let mut parser = Parser {
        files,
        ssh_dir,
        facts: SshdConfigFacts {
            path: main.display().to_string(),
            command_line: command_line.to_vec(),
            ..SshdConfigFacts::default()
        },
        context: Context::Global,
        never_match: false,
        include_stack: Vec::new(),
        subsystems: Vec::new(),
        files_parsed: 0,
        bytes_parsed: 0,
        ports_from_command_line: false,
    };
    for option in command_line {
        parser.command_line_option(option);
    }
    match files.read(main) {
        FileRead::Text { bytes, truncated } => {
            parser.facts.readable = true;
            parser.parse_file(main, &bytes, truncated);
        }
        FileRead::Directory => {
            parser.facts.readable = true;
            parser.parse_file(main, &[], false);
        }
        FileRead::Failed(why) => parser.facts.read_error = Some(why),
    }
    let mut facts = parser.finish();
    if facts.readable {
        facts.ignored_dropins = ignored_dropins(main, files, &facts.files);
    }
    facts
}

/// The drop-ins of the directory beside the main file (`sshd_config.d/*.conf`, the layout
/// of Debian, Ubuntu and Fedora) when no Include reads any of them: sshd never sees their
/// settings. An Include that picks only some of them is a choice, not a loss.
fn ignored_dropins(main: &Path, files: &dyn ConfigFiles, read: &[String]) -> Vec<String> {
    let dir = format!("{}.d/", main.display());
    if read.iter().any(|file| file.starts_with(&dir)) {
        return Vec::new();
    }
    files
        .glob(&format!("{dir}*.conf"))
        .into_iter()
        .map(|path| path.display().to_string())
        .collect()
}

/// Which section the lines being read belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Global,
    /// Inside `match_blocks[index]`. `active` for `Match all` at top level: sshd's startup
    /// parse evaluates it as true, so what follows also applies globally.
    Block {
        index: usize,
        active: bool,
    },
}

impl Context {
    fn active(self) -> bool {
        matches!(self, Context::Global | Context::Block { active: true, .. })
    }
}

struct Parser<'a> {
    files: &'a dyn ConfigFiles,
    ssh_dir: &'a Path,
    facts: SshdConfigFacts,
    context: Context,
    /// servconf.c SSHCFG_NEVERMATCH: the file was included from an inactive Match, so
    /// no Match inside it can become active.
    never_match: bool,
    /// Files being read, outermost first (main is not on it).
    include_stack: Vec<PathBuf>,
    subsystems: Vec<String>,
    files_parsed: usize,
    bytes_parsed: usize,
    /// sshd -p: the command line's ports replace every Port line (servconf.c
    /// ports_from_cmdline).
    ports_from_command_line: bool,
}

/// A directive's text: the keyword as written, the raw rest, its split arguments.
#[derive(Clone, Copy)]
struct Line<'a> {
    written: &'a str,
    rest: &'a str,
    arguments: &'a [String],
}

/// Where a directive is.
struct At<'a> {
    file: &'a str,
    line: u32,
}

impl At<'_> {
    fn locate<T>(&self, value: T) -> Located<T> {
        Located {
            value,
            file: self.file.to_string(),
            line: self.line,
        }
    }
}

impl Parser<'_> {
    /// One option of sshd's command line, located at line 0 of where it is written.
    fn command_line_option(&mut self, option: &CommandLineOption) {
        let at = At {
            file: &option.origin,
            line: 0,
        };
        let Some(text) = option.config_line() else {
            // -p PORT: sshd.c a2port, fatal for a bad one.
            let value = option.args.get(1).cloned().unwrap_or_default();
            match value.parse::<u16>().ok().filter(|port| *port > 0) {
                Some(port) => {
                    self.facts.ports.push(at.locate(port));
                    self.ports_from_command_line = true;
                    self.record(&at, "port", Combine::Accumulate, vec![port.to_string()]);
                }
                None => self.fatal(&at, format!("Bad port number {value:?} (-p)")),
            }
            return;
        };
        match syntax::split_directive(&text) {
            LineContent::Nothing => {}
            LineContent::KeywordOnly(keyword) => {
                self.fatal(&at, format!("no argument after keyword \"{keyword}\""))
            }
            LineContent::Directive { keyword, rest } => self.directive(&at, &keyword, &rest),
        }
    }

    fn parse_file(&mut self, path: &Path, bytes: &[u8], truncated: bool) {
        let file = path.display().to_string();
        if !self.facts.files.contains(&file) {
            self.facts.files.push(file.clone());
        }
        if truncated {
            self.problem(
                &file,
                None,
                false,
                format!(
                    "file is larger than {} MiB: only the first {} MiB were read",
                    MAX_FILE_BYTES >> 20,
                    MAX_FILE_BYTES >> 20
                ),
            );
        }
        self.files_parsed += 1;
        self.bytes_parsed += bytes.len();
        let lines = syntax::logical_lines(bytes);
        self.facts
            .written_sections
            .extend(super::writers::written_sections(&file, &lines));
        for line in &lines {
            self.parse_line(&file, line);
        }
    }

    fn parse_line(&mut self, file: &str, line: &LogicalLine) {
        let at = At {
            file,
            line: line.number,
        };
        if line.had_nul {
            self.note(&at, "line holds a NUL byte: sshd ignores the rest of it and joins the next line onto it");
        }
        if line.invalid_utf8 {
            self.note(
                &at,
                "line is not valid UTF-8 (shown with replacement characters)",
            );
        }
        match syntax::split_directive(&line.text) {
            LineContent::Nothing => {}
            LineContent::KeywordOnly(keyword) => {
                self.fatal(&at, format!("no argument after keyword \"{keyword}\""))
            }
            LineContent::Directive { keyword, rest } => self.directive(&at, &keyword, &rest),
        }
    }

    /// servconf.c `process_server_config_line_depth`, in its order of checks.
    fn directive(&mut self, at: &At, written: &str, rest: &str) {
        let Some(keyword) = keywords::lookup(written) else {
            return self.fatal(at, format!("Bad configuration option: {written}"));
        };
        let Ok(arguments) = syntax::split_arguments(rest) else {
            return self.fatal(at, "invalid quotes".into());
        };
        if !self.context.active() && keyword.scope == Scope::Global {
            return self.fatal(
                at,
                format!("Directive '{written}' is not allowed within a Match block"),
            );
        }
        match keyword.kind {
            Kind::Obsolete(why) => self.obsolete(at, written, why),
            Kind::Setting { combine, value } => {
                let line = Line {
                    written,
                    rest,
                    arguments: &arguments,
                };
                self.setting(at, keyword.canonical, combine, value, &line)
            }
        }
    }

    fn obsolete(&mut self, at: &At, written: &str, why: Obsolete) {
        match why {
            Obsolete::Deprecated => self.note(at, &format!("Deprecated option {written}")),
            Obsolete::Unsupported => self.note(at, &format!("Unsupported option {written}")),
            Obsolete::Ignored => {}
            Obsolete::Refused => self.fatal(
                at,
                format!("setting {written} not supported on this platform."),
            ),
        }
    }

    fn setting(&mut self, at: &At, canonical: &str, combine: Combine, value: Value, line: &Line) {
        let Line {
            written,
            rest,
            arguments,
        } = *line;
        let values = match value {
            Value::Include => return self.include(at, written, arguments),
            Value::Match => return self.start_match(at, rest),
            Value::ListenAddress => return self.listen_address(at, arguments),
            Value::Subsystem => match self.subsystem(arguments) {
                Ok(values) => values,
                Err(message) => return self.fatal(at, message),
            },
            // ForceCommand and friends keep the raw text, comments included.
            Value::RestOfLine => vec![rest.trim_start_matches([' ', '\t']).to_string()],
            _ => {
                let services = |name: &str| self.files.service_port(name);
                match check_arguments(value, written, arguments, &services) {
                    Ok(values) => values,
                    Err(message) => return self.fatal(at, message),
                }
            }
        };
        if let Some(extra) = self.environment_check(canonical, arguments) {
            return self.fatal(at, extra);
        }
        if canonical == "port" && self.ports_from_command_line && at.line > 0 {
            return; // sshd -p: the file's Port lines are read and ignored.
        }
        if canonical == "port" && self.context.active() {
            let port = values[0].parse().unwrap_or(SSH_DEFAULT_PORT);
            self.facts.ports.push(at.locate(port));
        }
        if canonical == "addressfamily" && self.facts.address_family.is_none() {
            self.facts.address_family = Some(at.locate(address_family(&values[0])));
        }
        self.record(at, canonical, combine, values);
    }

    /// AcceptEnv names must not hold '=', SetEnv entries must (servconf.c).
    fn environment_check(&self, canonical: &str, arguments: &[String]) -> Option<String> {
        match canonical {
            "acceptenv" if arguments.iter().any(|a| a.contains('=')) => {
                Some("Invalid environment name.".into())
            }
            "setenv" if arguments.iter().any(|a| !a.contains('=')) => {
                Some("Invalid environment.".into())
            }
            _ => None,
        }
    }

    /// Subsystem: one per name (strcmp), `name command [args]`.
    fn subsystem(&mut self, arguments: &[String]) -> Result<Vec<String>, String> {
        let Some(name) = arguments.first().filter(|name| !name.is_empty()) else {
            return Err("Subsystem missing argument.".into());
        };
        if arguments.len() < 2 || arguments[1].is_empty() {
            return Err("Missing subsystem command.".into());
        }
        if self.subsystems.contains(name) {
            return Err(format!("Subsystem '{name}' already defined."));
        }
        self.subsystems.push(name.clone());
        Ok(vec![arguments.join(" ")])
    }

    fn listen_address(&mut self, at: &At, arguments: &[String]) {
        let services = |name: &str| self.files.service_port(name);
        match parse_listen_address(arguments, &services) {
            Ok(address) => {
                if let Some(domain) = &address.rdomain {
                    let message = format!("ListenAddress rdomain {domain}: sshd refuses it unless a VRF device named {domain} exists");
                    self.note(at, &message);
                }
                let written = arguments.join(" ");
                self.facts.listen_addresses.push(at.locate(address));
                self.record(at, "listenaddress", Combine::Accumulate, vec![written]);
            }
            Err(message) => self.fatal(at, message),
        }
    }

    /// Stores values where they apply: the global section when active, and the current
    /// Match block when inside one.
    fn record(&mut self, at: &At, canonical: &str, combine: Combine, values: Vec<String>) {
        let located: Vec<Located<String>> = values.into_iter().map(|v| at.locate(v)).collect();
        if self.context.active() {
            let first = self.facts.global.get(canonical).and_then(|set| set.first());
            if let (Combine::First, Some(by), Some(value)) = (combine, first, located.first()) {
                self.facts.shadowed.push(ShadowedSetting {
                    keyword: canonical.to_string(),
                    value: value.clone(),
                    by: by.clone(),
                });
            }
            combine_into(&mut self.facts.global, canonical, combine, located.clone());
        }
        if let Context::Block { index, .. } = self.context {
            let settings = &mut self.facts.match_blocks[index].settings;
            combine_into(settings, canonical, combine, located);
        }
    }

    /// servconf.c sInclude: relative patterns are under SSHDIR; no match is silently
    /// ignored; each file is read with the current Match state, which is restored after.
    fn include(&mut self, at: &At, written: &str, patterns: &[String]) {
        if patterns.is_empty() {
            return self.fatal(at, format!("{written} missing filename argument"));
        }
        if patterns.iter().any(String::is_empty) {
            return self.fatal(at, format!("keyword {written} empty argument"));
        }
        for pattern in patterns {
            let pattern = match pattern.starts_with(['/', '~']) {
                true => pattern.clone(),
                false => self.ssh_dir.join(pattern).display().to_string(),
            };
            for path in self.files.glob(&pattern) {
                if !self.include_file(at, &path) {
                    return;
                }
            }
        }
    }

    /// Reads one included file; false when parsing must stop (depth, loop, budget).
    fn include_file(&mut self, at: &At, path: &Path) -> bool {
        if self.include_stack.iter().any(|open| open == path)
            || self.facts.path == path.display().to_string()
        {
            let message = format!(
                "Include loop: {} includes itself (through {}); sshd stops with \"Too many recursive configuration includes\"",
                path.display(), self.include_chain(path)
            );
            self.fatal(at, message);
            return false;
        }
        if self.include_stack.len() >= MAX_INCLUDE_DEPTH {
            self.fatal(at, "Too many recursive configuration includes".into());
            return false;
        }
        if self.files_parsed >= MAX_FILES_PARSED || self.bytes_parsed >= MAX_TOTAL_BYTES {
            self.note(
                at,
                "stopped reading includes: too many files or bytes in total",
            );
            return false;
        }
        let content = match self.files.read(path) {
            FileRead::Text { bytes, truncated } => (bytes, truncated),
            FileRead::Directory => {
                let message = format!(
                    "Include names the directory {}: sshd reads it as an empty file",
                    path.display()
                );
                self.note(at, &message);
                (Vec::new(), false)
            }
            FileRead::Failed(why) => {
                let file = path.display().to_string();
                let message = format!("{file}: {why} (included from {}:{})", at.file, at.line);
                self.problem(&file, None, true, message);
                return false;
            }
        };
        let (saved_context, saved_never_match) = (self.context, self.never_match);
        self.never_match = !saved_context.active();
        self.include_stack.push(path.to_path_buf());
        self.parse_file(path, &content.0, content.1);
        self.include_stack.pop();
        (self.context, self.never_match) = (saved_context, saved_never_match);
        true
    }

    fn include_chain(&self, repeated: &Path) -> String {
        let mut chain = vec![self.facts.path.clone()];
        chain.extend(self.include_stack.iter().map(|p| p.display().to_string()));
        chain.push(repeated.display().to_string());
        chain.join(" -> ")
    }

    /// servconf.c sMatch with `match_cfg_line` checking syntax only. At startup only
    /// `Match all` is true, and never in a file included from an inactive block.
    fn start_match(&mut self, at: &At, rest: &str) {
        let tokens = syntax::strdelim_tokens(rest);
        let criteria: Vec<String> = tokens
            .iter()
            .take_while(|token| !token.starts_with('#'))
            .cloned()
            .collect();
        if let Err(why) = check_match_criteria(&criteria, self.files) {
            return self.fatal(at, format!("{why}: Bad Match condition"));
        }
        let is_all = criteria[0].eq_ignore_ascii_case("all");
        self.facts.match_blocks.push(MatchBlock {
            criteria: criteria.join(" "),
            file: at.file.to_string(),
            line: at.line,
            settings: BTreeMap::new(),
        });
        self.context = Context::Block {
            index: self.facts.match_blocks.len() - 1,
            active: is_all && !self.never_match,
        };
    }

    fn finish(mut self) -> SshdConfigFacts {
        if self.facts.readable && self.facts.ports.is_empty() {
            // No Port line: sshd's built-in 22, located in the pseudo-file "(default)"
            // at line 0 so every port keeps a location.
            self.facts.ports.push(Located {
                value: SSH_DEFAULT_PORT,
                file: DEFAULT_SOURCE.into(),
                line: 0,
            });
        }
        let (endpoints, problems) = derive_endpoints(&self.facts);
        self.facts.endpoints = endpoints;
        self.facts.problems.extend(problems);
        self.facts
    }

    fn fatal(&mut self, at: &At, message: String) {
        self.problem(at.file, Some(at.line), true, message);
    }

    fn note(&mut self, at: &At, message: &str) {
        self.problem(at.file, Some(at.line), false, message.to_string());
    }

    fn problem(&mut self, file: &str, line: Option<u32>, fatal: bool, message: String) {
        self.facts.problems.push(ConfigProblem {
            file: file.to_string(),
            line,
            message,
            fatal,
        });
    }
}

fn combine_into(
    settings: &mut BTreeMap<String, Vec<Located<String>>>,
    canonical: &str,
    combine: Combine,
    values: Vec<Located<String>>,
) {
    match (combine, settings.get_mut(canonical)) {
        (Combine::First, Some(_)) => {}
        (Combine::Accumulate, Some(existing)) => existing.extend(values),
        _ => {
            settings.insert(canonical.to_string(), values);
        }
    }
}

fn address_family(word: &str) -> AddressFamily {
    match word.to_ascii_lowercase().as_str() {
        "inet" => AddressFamily::Inet,
        "inet6" => AddressFamily::Inet6,
        _ => AddressFamily::Any,
    }
}

/// The syntax `match_cfg_line` accepts: `all` alone, or attribute/argument pairs.
fn check_match_criteria(criteria: &[String], files: &dyn ConfigFiles) -> Result<(), String> {
    if criteria.is_empty() {
        return Err("One or more attributes required for Match".into());
    }
    let mut index = 0;
    while index < criteria.len() {
        let attribute = criteria[index].to_ascii_lowercase();
        if attribute == "all" {
            if index > 0 || criteria.len() > 1 {
                return Err("'all' cannot be combined with other Match attributes".into());
            }
            return Ok(());
        }
        let Some(argument) = criteria.get(index + 1).filter(|a| !a.is_empty()) else {
            return Err(format!("Missing Match criteria for {}", criteria[index]));
        };
        match attribute.as_str() {
            "user" | "group" | "host" | "address" | "localaddress" | "rdomain" => {}
            "localport" => {
                let services = |name: &str| files.service_port(name);
                if values::parse_port(argument, &services).is_none() {
                    return Err(format!("Invalid LocalPort '{argument}' on Match line"));
                }
            }
            _ => return Err(format!("Unsupported Match attribute {}", criteria[index])),
        }
        index += 2;
    }
    Ok(())
}
