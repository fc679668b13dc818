//! The renderers on verdicts built by hand: JSON against the published schema, compact
//! within Run Command's 4,096 bytes, text within 80 columns and pasteable into a shell.

use crate::support::facts::*;
use crate::support::verdict::{assert_matches_schema, schema};
use sshdoctor::facts::*;
use sshdoctor::render::{render_compact, render_json, render_text, TextStyle, COMPACT_BUDGET};
use std::net::IpAddr;

/// Every verdict the cases above produce validates against the published schema.
#[test]
fn json_output_validates_against_schema() {
    let mut cases = vec![healthy()];
    for change in [stop_sshd as fn(&mut Facts), |f: &mut Facts| {
        f.sockets.listeners = vec![listener("127.0.0.1", 2222, ("sshd", 829))];
    }] {
        let mut facts = healthy();
        change(&mut facts);
        cases.push(facts);
    }
    for facts in cases {
        let json: serde_json::Value = serde_json::from_str(&render_json(&verdict(facts))).unwrap();
        assert_matches_schema(&json);
    }
}

/// The schema is not a rubber stamp: it rejects a finding with an unfilled placeholder.
#[test]
fn schema_rejects_malformed_verdicts() {
    let validator = schema();
    let mut facts = healthy();
    stop_sshd(&mut facts);
    let mut json: serde_json::Value = serde_json::from_str(&render_json(&verdict(facts))).unwrap();
    json["findings"][0]["title"] = "{unit} is not running".into();
    assert!(!validator.is_valid(&json));
    json["findings"][0]["title"] = "fine".into();
    json["status"] = "fine".into();
    assert!(!validator.is_valid(&json));
}

fn many_findings() -> Facts {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    service(&mut facts).active_state = "failed".into();
    facts.sockets.listeners = vec![listener("0.0.0.0", 22, ("python3", 4242))];
    facts.config.problems = (1..200)
        .map(|line| ConfigProblem {
            file: "/etc/ssh/sshd_config.d/99-generated.conf".into(),
            line: Some(line),
            message: format!(
                "keyword Ciphers given again on line {line}; only the first counts ({})",
                "x".repeat(80)
            ),
            fatal: false,
        })
        .collect();
    facts
}

#[test]
fn compact_fits_run_command_and_ends_with_the_result_line() {
    let verdict = verdict(many_findings());
    let compact = render_compact(&verdict, COMPACT_BUDGET);
    assert!(compact.len() <= COMPACT_BUDGET, "{} bytes", compact.len());
    let last = compact.lines().last().unwrap();
    assert!(
        last.starts_with(
            "SSHDOCTOR schema=2 status=critical exit=2 findings=SSH-NET-006,SSH-SVC-004"
        ),
        "{last}"
    );
    // Most severe first: the critical findings come before the warnings that were cut.
    let first_block = compact.lines().nth(1).unwrap();
    assert!(first_block.starts_with("[critical]"), "{first_block}");
    assert!(compact.contains("more findings cut to fit"));
}

#[test]
fn text_fits_an_80_column_serial_console() {
    let verdict = verdict(many_findings());
    let text = screen(&verdict);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(text.starts_with("CRITICAL: SSH-NET-006"), "{}", &text[..80]);
    assert!(!text.contains('\x1b'));
}

#[test]
fn text_color_only_when_asked() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    let text = render_text(
        &verdict(facts),
        TextStyle {
            width: 80,
            color: true,
        },
    );
    assert!(text.starts_with("\x1b[1;31mCRITICAL\x1b[0m: "));
}

#[test]
fn listener_addresses_serialize_as_plain_strings() {
    let json = serde_json::to_value(listener("::1", 22, ("sshd", 1))).unwrap();
    assert_eq!(json["address"], "::1");
    let parsed: IpAddr = json["address"].as_str().unwrap().parse().unwrap();
    assert!(parsed.is_loopback());
}

/// The shell's words for `command`, as `sh` splits them (`set -- COMMAND`).
fn shell_argv(command: &str) -> Vec<String> {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("set -- {command}\nprintf '%s\\0' \"$@\""))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .split('\0')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// The `az` commands of the text output, wrapped for 80 columns, still give the shell
/// the same words as the verdict's one-line commands: a person can copy them off the
/// serial console.
#[test]
fn wrapped_az_commands_paste_into_a_shell_unchanged() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    service(&mut facts).active_state = "failed".into();
    // Unknown names print as <resource-group>, which a shell refuses on purpose.
    facts.cloud.azure = Some(AzureInstance {
        subscription_id: "1111".into(),
        resource_group: "rg-web-prod-westeurope".into(),
        vm_name: "web-frontend-vm-01".into(),
        location: None,
        vm_id: None,
        private_ipv4: vec!["10.0.0.4".into()],
        public_ipv4: vec![],
    });
    let verdict = verdict(facts);
    let text = screen(&verdict);
    let mut pasted = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(first) = line.strip_prefix("  az:   ") else {
            continue;
        };
        let mut block = first.to_string();
        let mut current = first.to_string();
        while current.ends_with('\\') {
            current = lines.next().unwrap().trim_start().to_string();
            block.push('\n');
            block.push_str(&current);
        }
        pasted.push(block);
    }
    let originals: Vec<&String> = verdict
        .findings
        .iter()
        .filter_map(|f| f.remediation.azure.first())
        .collect();
    assert_eq!(pasted.len(), originals.len());
    assert!(pasted.iter().any(|block| block.contains('\n')), "{text}");
    for (block, original) in pasted.iter().zip(originals) {
        assert_eq!(shell_argv(block), shell_argv(original), "{block}");
    }
}
