//! Rules: judge the collected facts and produce findings.
//!
//! The text of every rule (title, explanation, fixes) lives in `rules/*.toml` at the
//! workspace root and is compiled in by build.rs; the code here decides *when* a rule
//! fires and with which evidence. A rule never reads the system: it reads `Facts`.

pub(crate) mod auth;
mod clients;
mod config;
mod firewall;
mod health;
mod live;
mod logs;
mod network;
mod nic;
mod pam;
mod prereqs;
mod selinux;
mod service;
mod session;
mod ssh_view;

use crate::facts::Facts;
use crate::fix::{Action, ActionTemplate};
use serde::Serialize;
use std::collections::BTreeMap;

pub use live::{proof, Proof};
pub use ssh_view::SshView;

include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One rule's catalogue entry.
#[derive(Debug)]
pub struct RuleDef {
    pub id: &'static str,
    pub key: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub explanation: &'static str,
    /// The kinds of evidence the rule shows.
    pub evidence: &'static [&'static str],
    /// The repair as actions; they print as the first guest command.
    pub fix: &'static [ActionTemplate],
    /// Why a rule without actions stays a step for a person.
    pub manual: Option<ManualReason>,
    /// Commands to run inside the guest, after the actions'.
    pub guest: &'static [&'static str],
    /// Azure CLI commands, run from a workstation.
    pub azure: &'static [&'static str],
    /// AWS CLI equivalents, for a VM in EC2.
    pub aws: &'static [&'static str],
    /// gcloud equivalents, for a VM in Google Compute Engine.
    pub gcp: &'static [&'static str],
    /// Section of Azure's "Troubleshoot SSH connections" guide.
    pub guide: &'static str,
}

impl RuleId {
    pub fn def(self) -> &'static RuleDef {
        &CATALOGUE[self as usize]
    }
}

/// Looks a rule up by its id, case-insensitively ("ssh-svc-002" works).
pub fn find_rule(id: &str) -> Option<&'static RuleDef> {
    CATALOGUE
        .iter()
        .find(|rule| rule.id.eq_ignore_ascii_case(id))
}

/// A fact that supports a finding, with where it was seen.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Evidence {
    pub fact: String,
    /// "file:line", "systemd:ssh.service", "socket inode 1234", ... when it has a place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Who wrote the line at `source`, where the config says so ("written by
    /// cloud-init"): an edit there may be written over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_by: Option<String>,
}

impl Evidence {
    /// Where it was seen, for a person: "file:line", with its writer where known.
    pub fn place(&self) -> Option<String> {
        let source = self.source.as_deref()?;
        Some(match &self.written_by {
            Some(writer) => format!("{source}, {writer}"),
            None => source.to_string(),
        })
    }
}

/// Why `sshdoctor fix` leaves a finding to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualReason {
    Key,
    Decision,
    Package,
    Network,
    Cause,
    Data,
    History,
    Outside,
    Boot,
}

impl ManualReason {
    pub fn text(self) -> &'static str {
        match self {
            ManualReason::Key => "it needs a public key only you have: sshdoctor fix --apply --add-key USER 'KEY' adds one",
            ManualReason::Decision => "it is a choice for a person (who may log in, which port, which policy), which sshdoctor does not make",
            ManualReason::Package => "it needs the distribution's package repositories",
            ManualReason::Network => "it changes the network configuration, which is done by hand, from the serial console",
            ManualReason::Cause => "the cause is not known precisely enough to change anything safely; the commands show it",
            ManualReason::Data => "it would delete or move data",
            ManualReason::History => "the log tells what happened, not how things are now; the checks of the current state repair that",
            ManualReason::Outside => "it is outside the VM: the command runs in Azure",
            ManualReason::Boot => "it needs a reboot or a rescue disk",
        }
    }
}

/// What to do about a finding: commands with this machine's values filled in.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Remediation {
    /// The repair `sshdoctor fix` performs; the first guest command does the same.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// Where there are no actions: why the rule leaves the repair to a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual: Option<&'static str>,
    pub guest: Vec<String>,
    pub azure: Vec<String>,
    /// AWS CLI equivalents, where the rule has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aws: Vec<String>,
    /// gcloud equivalents, where the rule has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gcp: Vec<String>,
    pub guide: String,
}

impl Remediation {
    /// The cloud commands for the cloud this VM runs in (Azure's when unknown): the label
    /// to print before them and the commands.
    pub fn for_cloud(
        &self,
        provider: Option<crate::facts::CloudProvider>,
    ) -> (&'static str, &[String]) {
        use crate::facts::CloudProvider;
        match provider {
            Some(CloudProvider::Aws) if !self.aws.is_empty() => ("aws", &self.aws),
            Some(CloudProvider::Gcp) if !self.gcp.is_empty() => ("gcloud", &self.gcp),
            _ => ("az", &self.azure),
        }
    }
}

/// What a rule found, before its text is filled in: the rule, the values of its
/// {placeholders}, the evidence, and the severity when the facts change it. Rules build
/// drafts; `evaluate` renders each from the catalogue once.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub rule: RuleId,
    pub severity: Severity,
    pub evidence: Vec<Evidence>,
    vars: BTreeMap<&'static str, String>,
}

impl Draft {
    pub fn new(rule: RuleId) -> Draft {
        Draft {
            rule,
            severity: rule.def().severity,
            evidence: Vec::new(),
            vars: BTreeMap::new(),
        }
    }

    /// Sets a {placeholder} of the rule's text.
    pub fn var(mut self, name: &'static str, value: impl Into<String>) -> Draft {
        self.vars.insert(name, value.into());
        self
    }

    /// The repair edits the line `source` names ("file:line"): {file} and {line} for the
    /// catalogue's actions. Where it names none (`sshd -T`, a default), {fix} is
    /// `otherwise`, a step for a person, and the actions stay unfilled.
    pub fn edits_line(self, source: &str, otherwise: impl FnOnce() -> String) -> Draft {
        match located(source) {
            Some((file, line)) => self.var("file", file).var("line", line.to_string()),
            None => self.var("fix", otherwise()),
        }
    }

    /// `edits_line` for several lines, which the actions edit at once when one file
    /// holds them all.
    pub fn edits_lines<'a, T: 'a>(
        self,
        lines: impl IntoIterator<Item = &'a crate::facts::Located<T>>,
        otherwise: impl FnOnce() -> String,
    ) -> Draft {
        let lines: Vec<_> = lines.into_iter().collect();
        match lines.first() {
            Some(first) if lines.iter().all(|line| line.file == first.file) => {
                let numbers: Vec<String> = lines.iter().map(|line| line.line.to_string()).collect();
                let file = first.file.clone();
                self.var("file", file).var("line", numbers.join(" "))
            }
            _ => self.var("fix", otherwise()),
        }
    }

    pub fn evidence(mut self, fact: impl Into<String>, source: Option<String>) -> Draft {
        self.evidence.push(Evidence {
            fact: fact.into(),
            source,
            written_by: None,
        });
        self
    }

    /// Overrides the catalogue's severity where the facts make it worse or milder.
    pub fn severity(mut self, severity: Severity) -> Draft {
        self.severity = severity;
        self
    }

    /// The rule's id, e.g. "SSH-SVC-002".
    pub fn id(&self) -> &'static str {
        self.rule.def().id
    }

    /// The value a {placeholder} of this draft has, e.g. the user it is about.
    pub fn var_value(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The finding: the rule's text filled with this draft's values, then the
    /// machine-wide ones.
    fn render(mut self, context: &BTreeMap<&'static str, String>) -> Finding {
        let def = self.rule.def();
        let actions = self.actions(context);
        let mut guest: Vec<String> = Vec::new();
        if !actions.is_empty() {
            let commands: Vec<String> = actions.iter().map(Action::command).collect();
            let fix = commands.join(" && ");
            // The actions are the fix wherever "{fix}" is used (an az run-command too).
            self.vars.insert("fix", fix.clone());
            guest.push(fix);
        }
        if let Some(fix) = self.vars.get("fix") {
            let argument = script_argument(fix);
            self.vars.insert("fix_script", argument);
        }
        let fill = |text: &str| fill_placeholders(text, &self.vars, context);
        // A guest line built on "{fix}" is the manual form of the repair, for when the
        // actions cannot be filled: with actions, their line stands in for it.
        guest.extend(
            def.guest
                .iter()
                .filter(|line| actions.is_empty() || !line.starts_with("{fix}"))
                .map(|line| fill(line)),
        );
        Finding {
            id: def.id,
            severity: self.severity,
            title: fill(def.title),
            explanation: fill(&unwrap_paragraphs(def.explanation)),
            remediation: Remediation {
                manual: def
                    .manual
                    .filter(|_| actions.is_empty())
                    .map(ManualReason::text),
                actions,
                guest,
                azure: def.azure.iter().map(|line| fill(line)).collect(),
                aws: def.aws.iter().map(|line| fill(line)).collect(),
                gcp: def.gcp.iter().map(|line| fill(line)).collect(),
                guide: def.guide.to_string(),
            },
            evidence: self.evidence,
            rule: self.rule,
        }
    }

    /// The rule's fix actions with this finding's values. An action one of whose
    /// {placeholders} the finding does not fill is left out when the catalogue marks it
    /// `optional` (a chown only when the owner is wrong) or as one of a group of
    /// alternatives (`one_of`: a Deny line commented out, or the user added to an Allow
    /// line), as long as one of its group is filled; any other makes the whole repair
    /// manual: half a fix (a restart without its edit) is none.
    fn actions(&self, context: &BTreeMap<&'static str, String>) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut groups: Vec<(&str, bool)> = Vec::new();
        for template in self.rule.def().fix {
            let flag = |flag: &str| {
                template
                    .args
                    .iter()
                    .find(|(name, _)| *name == flag)
                    .map(|(_, value)| *value)
            };
            let optional = flag("optional") == Some("true");
            let group = flag("one_of");
            // `when = "{var}"`: the action exists only when the finding sets var.
            let wanted =
                flag("when").is_none_or(|when| fill_known(when, &self.vars, context).is_some());
            let args: Option<Vec<(&str, String)>> = template
                .args
                .iter()
                .filter(|(name, _)| !matches!(*name, "optional" | "one_of" | "when"))
                .map(|(name, text)| Some((*name, fill_known(text, &self.vars, context)?)))
                .collect();
            let action = args
                .filter(|_| wanted)
                .and_then(|args| Action::from_template(template.kind, &args).ok());
            if let Some(group) = group {
                match groups.iter_mut().find(|(name, _)| *name == group) {
                    Some((_, filled)) => *filled |= action.is_some(),
                    None => groups.push((group, action.is_some())),
                }
            }
            match action {
                Some(action) => actions.push(action),
                None if optional || group.is_some() => {}
                None => return Vec::new(),
            }
        }
        if groups.iter().any(|(_, filled)| !filled) {
            return Vec::new();
        }
        actions
    }
}

/// A rule that fired, rendered: its text with this machine's values, its evidence and
/// its fix.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    pub title: String,
    pub explanation: String,
    pub evidence: Vec<Evidence>,
    pub remediation: Remediation,
    #[serde(skip)]
    pub rule: RuleId,
}

/// Days since 1970-01-01 of a calendar date (proleptic Gregorian; H. Hinnant's
/// days_from_civil); None for a month or day out of range.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The command that comments out the line a "file:line" source names (sshd_config,
/// PAM and access.conf all read "#" as a comment); None when the source names no line
/// (`sshd -T`, a built-in default).
pub(crate) fn comment_out(source: &str) -> Option<String> {
    located(source).map(|(file, line)| comment_out_lines(file, &[line]))
}

/// The file and line a "file:line" source names; None for `sshd -T` or a default.
pub(crate) fn located(source: &str) -> Option<(&str, u32)> {
    let (file, line) = source.rsplit_once(':')?;
    Some((file, line.parse().ok().filter(|line| *line > 0)?))
}

/// `command` as one argument of a command a person runs elsewhere (az's --scripts): in
/// double quotes where nothing in it means anything there (a console can then wrap it),
/// else in single quotes.
fn script_argument(command: &str) -> String {
    match command.contains(['$', '`', '\\', '"', '!']) {
        false => format!("\"{command}\""),
        true => crate::fix::shell_word(command),
    }
}

/// The command that comments out `lines` of `file` at once.
pub(crate) fn comment_out_lines(file: &str, lines: &[u32]) -> String {
    let edits: Vec<String> = lines.iter().map(|line| format!("{line}s/^/# /")).collect();
    format!("sed -i '{}' {file}", edits.join(";"))
}

/// The commands that comment out every located line, one sed per file; None for none.
pub(crate) fn comment_out_all<'a, T: 'a>(
    lines: impl IntoIterator<Item = &'a crate::facts::Located<T>>,
) -> Option<String> {
    let mut files: Vec<(&str, Vec<u32>)> = Vec::new();
    for line in lines {
        match files.iter_mut().find(|(file, _)| *file == line.file) {
            Some((_, numbers)) => numbers.push(line.line),
            None => files.push((&line.file, vec![line.line])),
        }
    }
    let commands: Vec<String> = files
        .iter()
        .map(|(file, numbers)| comment_out_lines(file, numbers))
        .collect();
    (!commands.is_empty()).then(|| commands.join(" && "))
}

/// Where the value a user's settings hold for `keyword` is set: the global line the
/// parser saw, else the first Match block line with that value (sshd -T -C evaluated the
/// blocks), else how the settings were found.
pub(crate) fn setting_origin(
    facts: &Facts,
    settings: &crate::facts::UserSettings,
    keyword: &str,
) -> String {
    if let Some(location) = settings.locations.get(keyword) {
        return location.clone();
    }
    let same = |value: &str| {
        settings.values.get(keyword).is_some_and(|words| {
            value.split_whitespace().count() == words.len()
                && value
                    .split_whitespace()
                    .zip(words)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        })
    };
    let in_blocks: Vec<_> = facts
        .config
        .match_blocks
        .iter()
        .filter_map(|block| block.settings.get(keyword)?.first())
        .collect();
    if let Some(line) = in_blocks.iter().find(|line| same(&line.value)) {
        return line.location();
    }
    // No Match block sets it: the global line does, even where sshd -T prints its value
    // resolved ("-ssh-ed25519" becomes the list it leaves).
    match facts
        .config
        .global
        .get(keyword)
        .and_then(|lines| lines.first())
    {
        Some(line) if in_blocks.is_empty() => line.location(),
        _ => settings.origin(keyword),
    }
}

/// `text` with every {placeholder} filled; None when one has no value.
fn fill_known(
    text: &str,
    vars: &BTreeMap<&'static str, String>,
    context: &BTreeMap<&'static str, String>,
) -> Option<String> {
    let filled = fill_placeholders(text, vars, context);
    let unknown = |name: &str| !vars.contains_key(name) && !context.contains_key(name);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        if unknown(&after[..close]) {
            return None;
        }
        rest = &after[close + 1..];
    }
    Some(filled)
}

/// Replaces `{name}` with the finding's value, else the context's; unknown names are kept
/// as `<name>` so a pasted command fails loudly instead of running with a stray brace.
fn fill_placeholders(
    text: &str,
    vars: &BTreeMap<&'static str, String>,
    context: &BTreeMap<&'static str, String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if after[..close]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
                    && close > 0 =>
            {
                let name = &after[..close];
                match vars.get(name).or_else(|| context.get(name)) {
                    Some(value) => out.push_str(value),
                    None => {
                        out.push('<');
                        out.push_str(&name.replace('_', "-"));
                        out.push('>');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The catalogue wraps explanations at ~90 columns; renderers wrap for their own width.
fn unwrap_paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|para| para.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The check of sshd's config before a (re)start, as a command: `sshd -t`, with `-f`
/// where this sshd runs with another config.
pub fn sshd_test(facts: &Facts) -> String {
    sshd_test_of(facts, &facts.config.path)
}

/// `sshd_test` of the config at `path`: `-f` where that is not the default.
pub fn sshd_test_of(facts: &Facts, path: &str) -> String {
    // sshd -t stops at a missing privilege separation directory, and systemd removes
    // Debian's /run/sshd with the stopped service: the check recreates it first.
    let sshd = facts.sshd.binary.as_deref().unwrap_or("sshd");
    let test = match path {
        "" | crate::openssh::DEFAULT_SSHD_CONFIG => format!("{sshd} -t"),
        path => format!("{sshd} -t -f {path}"),
    };
    match &facts.prereqs.privsep_dir {
        Some(dir) if !dir.exists => format!("mkdir -p -m 0755 {} && {test}", dir.path),
        _ => test,
    }
}

/// The command that restarts sshd, for this machine's service manager.
pub(crate) fn restart_sshd(facts: &Facts, view: &SshView) -> String {
    service_commands(facts, view).0
}

/// The command that makes sshd read its config again, for this machine's service manager.
pub(crate) fn reload_sshd(facts: &Facts, view: &SshView) -> String {
    service_commands(facts, view).1
}

/// The commands that restart sshd and make it read its config again, for this machine's
/// service manager: OpenRC's or the SysV init script's where systemd does not run sshd,
/// else systemd's.
fn service_commands(facts: &Facts, view: &SshView) -> (String, String) {
    match (&facts.openrc, &facts.sysv, facts.systemd.reachable) {
        (Some(openrc), _, false) => (
            format!("rc-service {} restart", openrc.service),
            format!("rc-service {} reload", openrc.service),
        ),
        (None, Some(sysv), false) if script_runs_sshd(facts, view, sysv) => {
            let restart = format!("{} restart", sysv.script);
            // With no sshd running, a reload reaches nothing (Debian's exits 0 all the
            // same): a restart starts it.
            let reload = match view.sshd_running {
                true => format!("{} reload", sysv.script),
                false => restart.clone(),
            };
            (restart, reload)
        }
        _ => {
            let unit = view.unit_name(facts);
            (
                format!("systemctl restart {unit}"),
                format!("systemctl reload {unit}"),
            )
        }
    }
}

/// Whether a SysV init script's restart and reload reach the sshd that runs: its pid
/// file names the listener, or no sshd runs. They act on the pid file's process only, so
/// an sshd started another way would be left as it is.
fn script_runs_sshd(facts: &Facts, view: &SshView, sysv: &crate::facts::SysvFacts) -> bool {
    match (sshd_restart_target(facts, view).1, &sysv.pid_file) {
        (None, _) => !view.sshd_running,
        (Some(listener), Some(file)) => file.alive && file.pid == Some(listener),
        (Some(_), None) => false,
    }
}

/// How sshd is made to read its config again: the unit systemd runs it as, else the
/// pid of the sshd that owns a listening socket here (not one of another network
/// namespace).
pub fn sshd_restart_target(facts: &Facts, view: &SshView) -> (Option<String>, Option<u32>) {
    if let Some(unit) = view.service {
        return (Some(unit.name.clone()), None);
    }
    let listener = facts
        .sockets
        .listeners
        .iter()
        .flat_map(|socket| &socket.owners)
        .find(|owner| owner.comm == "sshd")
        .map(|owner| owner.pid);
    (None, listener)
}

/// Values every finding's commands may use: the unit, the config file, the VM's names.
fn machine_context(facts: &Facts, view: &SshView) -> BTreeMap<&'static str, String> {
    let mut context = BTreeMap::new();
    context.insert("unit", view.unit_name(facts));
    context.insert("config_file", facts.config.path.clone());
    context.insert("sshd_test", sshd_test(facts));
    // The family a firewall finding is about, where it is not the usual IPv4.
    context.insert("over", String::new());
    let (restart, reload) = service_commands(facts, view);
    context.insert("restart_sshd", restart);
    context.insert("reload_sshd", reload);
    let (unit, pid) = sshd_restart_target(facts, view);
    context.insert("sshd_unit", unit.unwrap_or_default());
    context.insert(
        "sshd_pid",
        pid.map(|pid| pid.to_string()).unwrap_or_default(),
    );
    context.insert("reinstall_sshd", reinstall_sshd(facts).to_string());
    context.insert("install_sshd", install_sshd(facts).to_string());
    context.insert(
        "restore_sshd_config",
        restore_sshd_config(facts).to_string(),
    );
    if let Some(instance_id) = facts
        .cloud
        .dmi
        .board_asset_tag
        .as_ref()
        .filter(|tag| tag.starts_with("i-"))
    {
        context.insert("instance_id", instance_id.clone());
    }
    if let Some(azure) = &facts.cloud.azure {
        context.insert("resource_group", azure.resource_group.clone());
        context.insert("vm_name", azure.vm_name.clone());
        context.insert("subscription", azure.subscription_id.clone());
        if let Some(address) = azure.private_ipv4.first() {
            context.insert("private_ip", address.clone());
        }
    }
    context
}

/// This distribution's package manager, from os-release's ID and ID_LIKE.
#[derive(Clone, Copy)]
enum PackageManager {
    Apt,
    Tdnf,
    Zypper,
    Apk,
    Dnf,
}

fn package_manager(facts: &Facts) -> PackageManager {
    let ids: Vec<&str> = facts
        .host
        .os_id
        .iter()
        .chain(&facts.host.os_id_like)
        .map(String::as_str)
        .collect();
    let is = |names: &[&str]| ids.iter().any(|id| names.contains(id));
    if is(&["debian", "ubuntu"]) {
        PackageManager::Apt
    } else if is(&["azurelinux", "mariner"]) {
        PackageManager::Tdnf
    } else if is(&["suse", "sles", "opensuse"]) {
        PackageManager::Zypper
    } else if is(&["alpine"]) {
        PackageManager::Apk
    } else {
        PackageManager::Dnf
    }
}

/// The command that installs the OpenSSH server.
fn install_sshd(facts: &Facts) -> &'static str {
    match package_manager(facts) {
        PackageManager::Apt => "apt-get install -y openssh-server",
        PackageManager::Tdnf => "tdnf install -y openssh-server",
        PackageManager::Zypper => "zypper --non-interactive install openssh-server",
        PackageManager::Apk => "apk add openssh-server",
        PackageManager::Dnf => "dnf install -y openssh-server",
    }
}

/// The command that puts back the server's configuration files the package ships,
/// when they were deleted: dpkg keeps a removed conffile removed unless told otherwise;
/// rpm restores a missing one on reinstall.
fn restore_sshd_config(facts: &Facts) -> &'static str {
    match package_manager(facts) {
        PackageManager::Apt => {
            "apt-get install --reinstall -y -o Dpkg::Options::=--force-confmiss openssh-server"
        }
        _ => reinstall_sshd(facts),
    }
}

/// The command that puts back every file of the OpenSSH server package.
fn reinstall_sshd(facts: &Facts) -> &'static str {
    match package_manager(facts) {
        PackageManager::Apt => "apt-get install --reinstall -y openssh-server",
        PackageManager::Tdnf => "tdnf reinstall -y openssh-server",
        PackageManager::Zypper => "zypper --non-interactive install --force openssh-server",
        PackageManager::Apk => "apk fix openssh-server",
        PackageManager::Dnf => "dnf reinstall -y openssh-server",
    }
}

/// Runs every rule over the facts; findings come most severe first, then by id.
pub fn evaluate(facts: &Facts) -> Vec<Finding> {
    let view = SshView::new(facts);
    let mut drafts = Vec::new();
    service::check(facts, &view, &mut drafts);
    network::check(facts, &view, &mut drafts);
    config::check(facts, &view, &mut drafts);
    health::check(facts, &view, &mut drafts);
    prereqs::check(facts, &view, &mut drafts);
    nic::check(facts, &view, &mut drafts);
    selinux::check(facts, &view, &mut drafts);
    firewall::check(facts, &view, &mut drafts);
    auth::check(facts, &view, &mut drafts);
    session::check(facts, &view, &mut drafts);
    pam::check(facts, &mut drafts);
    // After the families whose findings say why a user is refused now.
    logs::check(facts, &view, &mut drafts);
    live::check(facts, &view, &mut drafts);
    let context = machine_context(facts, &view);
    let mut rendered: Vec<Finding> = drafts
        .into_iter()
        .map(|draft| draft.render(&context))
        .collect();
    for evidence in rendered
        .iter_mut()
        .flat_map(|finding| &mut finding.evidence)
    {
        evidence.written_by = evidence
            .source
            .as_deref()
            .and_then(|source| facts.config.writer_of(source))
            .map(str::to_string);
    }
    rendered.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(b.id)));
    rendered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_indexed_by_rule_id() {
        for (index, rule) in CATALOGUE.iter().enumerate() {
            assert!(
                index == 0 || CATALOGUE[index - 1].id < rule.id,
                "catalogue not sorted at {}",
                rule.id
            );
        }
        assert_eq!(RuleId::UnitMasked.def().id, "SSH-SVC-002");
        assert_eq!(find_rule("ssh-svc-002").unwrap().key, "unit_masked");
    }

    /// Every action the catalogue writes becomes a valid action once its placeholders
    /// hold values of the right shape.
    #[test]
    fn every_fix_action_in_the_catalogue_is_well_formed() {
        for rule in CATALOGUE {
            for template in rule.fix {
                let args: Vec<(&str, String)> = template
                    .args
                    .iter()
                    .filter(|(name, _)| !matches!(*name, "optional" | "one_of" | "when"))
                    .map(|(name, text)| {
                        let example = match *name {
                            "path" | "file" | "shell" | "sshd" | "config" | "pid_file" | "home" => {
                                "/etc/example"
                            }
                            "mode" => "0600",
                            "line" | "lines" => "3",
                            "text" => "Include /etc/ssh/sshd_config.d/*.conf",
                            "key_type" => "ed25519",
                            "family" => "inet",
                            "port" => "22",
                            "iptables" => "iptables",
                            "table" => "filter",
                            "pid" => "1234",
                            "position" => "1",
                            "value" => "2048",
                            "day" => "2026-01-31",
                            "script" => "/etc/init.d/ssh",
                            "tool" => "update-rc.d",
                            "verb" if template.kind == "sysv_enable" => "defaults",
                            _ => "alice",
                        };
                        let filled = match text.contains('{') {
                            true => example.to_string(),
                            false => text.to_string(),
                        };
                        (*name, filled)
                    })
                    .collect();
                if let Err(why) = Action::from_template(template.kind, &args) {
                    panic!("{}: {why}", rule.id);
                }
            }
        }
    }

    #[test]
    fn a_fix_is_one_argument_of_the_az_command() {
        assert_eq!(
            script_argument("sed -i '2s/^/# /' /x && systemctl restart ssh"),
            "\"sed -i '2s/^/# /' /x && systemctl restart ssh\""
        );
        assert_eq!(script_argument("echo $HOME"), "'echo $HOME'");
        assert_eq!(script_argument("a 'b' $c"), r"'a '\''b'\'' $c'");
    }

    /// The family is the unit: each catalogue file rules/<family>.toml has its rule code,
    /// its facts, its collector and its folder of tests under the same name.
    #[test]
    fn every_family_has_its_rules_facts_collector_and_tests_under_one_name() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let exists = |path: String| root.join(&path).exists().then_some(()).ok_or(path);
        let catalogue = std::fs::read_dir(root.join("../rules")).expect("rules/");
        let mut families: Vec<String> = catalogue
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                Some(name.strip_suffix(".toml")?.to_string())
            })
            .collect();
        families.sort();
        assert!(families.len() >= 13, "{families:?}");
        for family in &families {
            exists(format!("src/rules/{family}.rs"))
                .or_else(|_| exists(format!("src/rules/{family}/mod.rs")))
                .and_then(|()| exists(format!("src/facts/{family}.rs")))
                .and_then(|()| {
                    exists(format!("src/collect/{family}.rs"))
                        .or_else(|_| exists(format!("src/collect/{family}/mod.rs")))
                })
                .and_then(|()| exists(format!("tests/{family}/mod.rs")))
                .unwrap_or_else(|missing| panic!("family {family}: no {missing}"));
        }
    }

    #[test]
    fn placeholders_are_filled_from_finding_then_context() {
        let vars = BTreeMap::from([("unit", "ssh.service".to_string())]);
        let context = BTreeMap::from([
            ("unit", "sshd.service".to_string()),
            ("config_file", "/etc/ssh/sshd_config".to_string()),
        ]);
        assert_eq!(
            fill_placeholders(
                "systemctl start {unit} # {config_file} {vm_name}",
                &vars,
                &context
            ),
            "systemctl start ssh.service # /etc/ssh/sshd_config <vm-name>"
        );
        // Shell braces and sed expressions are not placeholders.
        assert_eq!(
            fill_placeholders("awk '{print $1}' {}", &vars, &context),
            "awk '{print $1}' {}"
        );
    }
}
