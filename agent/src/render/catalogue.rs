//! The catalogue for a person: `sshdoctor rules` and `sshdoctor explain`.

use crate::rules::{RuleDef, CATALOGUE};

/// `sshdoctor rules`: one line a rule.
pub fn list_rules() -> String {
    let mut out = String::new();
    for rule in CATALOGUE {
        out.push_str(&format!(
            "{}  {:<8}  {}\n",
            rule.id,
            rule.severity.as_str(),
            rule.title
        ));
    }
    out
}

/// `sshdoctor explain ID`: a rule's whole catalogue entry.
pub fn explain_rule(rule: &RuleDef) -> String {
    let mut out = format!(
        "{}  {}  ({})\n\n{}\n\nEvidence shown: {}\n",
        rule.id,
        rule.title,
        rule.severity.as_str(),
        rule.explanation,
        rule.evidence.join("; ")
    );
    if !rule.fix.is_empty() {
        out.push_str("\nRepaired by `sshdoctor fix --apply`, which does:\n");
        for action in rule.fix {
            let args: Vec<String> = action
                .args
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            out.push_str(&format!("  {} {}\n", action.kind, args.join(" ")));
        }
    }
    if !rule.guest.is_empty() {
        out.push_str("\nIn the guest:\n");
        for line in rule.guest {
            out.push_str(&format!("  {line}\n"));
        }
    }
    if !rule.azure.is_empty() {
        out.push_str("\nFrom a workstation (Azure CLI):\n");
        for line in rule.azure {
            out.push_str(&format!("  {line}\n"));
        }
    }
    for (cloud, commands) in [("AWS CLI", rule.aws), ("Google Cloud CLI", rule.gcp)] {
        if !commands.is_empty() {
            out.push_str(&format!("\nWith the {cloud}:\n"));
            for line in commands {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out.push_str(&format!(
        "\nAzure guide: Troubleshoot SSH connections to an Azure Linux VM, section \"{}\".\n",
        rule.guide
    ));
    out
}
