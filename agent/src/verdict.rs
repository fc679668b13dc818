//! The verdict: the one document sshdoctor produces, with a stable, versioned schema
//! (documented in `schema/verdict.schema.json`).

use crate::facts::{Facts, HostFacts, ProbeOutcome, ProbeReport, SocketSource};
use crate::rules::{proof, Finding, Proof, Severity};
use serde::Serialize;

/// Bumped on any change that could break a reader of the JSON.
pub const SCHEMA_VERSION: u32 = 2;

/// Overall status, with monitoring-plugin exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Healthy,
    Warning,
    Critical,
    /// Too little could be seen to judge, or nothing was found but the live probes could
    /// not prove the way in.
    Unknown,
}

impl Status {
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Healthy => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub commit: &'static str,
}

pub const TOOL: ToolInfo = ToolInfo {
    name: "sshdoctor",
    version: env!("CARGO_PKG_VERSION"),
    commit: env!("SSHDOCTOR_COMMIT"),
};

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub schema_version: u32,
    pub tool: ToolInfo,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub status: Status,
    pub exit_code: i32,
    /// One line a person reads first.
    pub summary: String,
    /// What the live probes proved of the way in, and what they could not.
    pub proof: Proof,
    pub host: VerdictHost,
    /// Most severe first.
    pub findings: Vec<Finding>,
    /// Every probe, with what it could not see and how long it took.
    pub probes: Vec<ProbeReport>,
    pub elapsed_ms: f64,
    /// Everything collected, for readers who want the raw facts.
    pub facts: Facts,
}

/// The machine at the head of the verdict: who it is, and the sshd examined.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictHost {
    #[serde(flatten)]
    pub identity: HostFacts,
    pub sshd_binary: Option<String>,
}

impl std::ops::Deref for VerdictHost {
    type Target = HostFacts;
    fn deref(&self) -> &HostFacts {
        &self.identity
    }
}

impl Verdict {
    pub fn new(
        facts: Facts,
        probes: Vec<ProbeReport>,
        findings: Vec<Finding>,
        elapsed_ms: f64,
    ) -> Verdict {
        let proof = proof(&facts);
        let status = overall_status(&facts, &findings, &proof);
        Verdict {
            schema_version: SCHEMA_VERSION,
            tool: TOOL,
            generated_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            status,
            exit_code: status.exit_code(),
            summary: summary(
                status,
                &findings,
                &probes,
                saw_enough(&facts).then_some(proof.unproven.as_slice()),
            ),
            proof,
            host: VerdictHost {
                identity: facts.host.clone(),
                sshd_binary: facts.sshd.binary.clone(),
            },
            findings,
            probes,
            elapsed_ms,
            facts,
        }
    }
}

/// Critical beats everything; without a critical finding, a machine we could not see into
/// is "unknown", not "healthy", and so is one where nothing was found but the live probes
/// could not prove that sshd answers and accepts the users' keys.
fn overall_status(facts: &Facts, findings: &[Finding], proof: &Proof) -> Status {
    let worst = findings.iter().map(|finding| finding.severity).max();
    if worst == Some(Severity::Critical) {
        return Status::Critical;
    }
    if !saw_enough(facts) {
        return Status::Unknown;
    }
    match worst {
        Some(Severity::Warning) => Status::Warning,
        _ if proof.proven => Status::Healthy,
        _ => Status::Unknown,
    }
}

/// The service or the sockets could be seen: enough to judge.
fn saw_enough(facts: &Facts) -> bool {
    let saw_service = facts.systemd.reachable || facts.processes.scanned;
    let saw_sockets = facts.sockets.source != SocketSource::None;
    saw_service || saw_sockets
}

fn summary(
    status: Status,
    findings: &[Finding],
    probes: &[ProbeReport],
    not_proven: Option<&[String]>,
) -> String {
    let blind = probes
        .iter()
        .filter(|probe| probe.outcome == ProbeOutcome::Unavailable)
        .count();
    let blind_note = if blind > 0 {
        format!(" ({blind} probes could not run)")
    } else {
        String::new()
    };
    match (status, findings.first()) {
        (Status::Healthy, _) => {
            format!(
                "SSH works: sshd answers and accepts the users' keys, no problem found{blind_note}"
            )
        }
        (Status::Unknown, _) if not_proven.is_some_and(|list| !list.is_empty()) => format!(
            "No problem found, but not proven: {}{blind_note}",
            not_proven.unwrap_or_default().join("; ")
        ),
        (Status::Unknown, _) => format!("Could not diagnose: too little could be seen{blind_note}"),
        (_, Some(first)) => {
            let more = findings
                .iter()
                .filter(|finding| finding.severity >= Severity::Warning)
                .count()
                .saturating_sub(1);
            let more_note = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            format!("{}: {}{more_note}{blind_note}", first.id, first.title)
        }
        (_, None) => format!("no findings{blind_note}"),
    }
}
