//! Cloud context against a fake Azure instance metadata service on loopback: the real
//! binary asks it over HTTP and fills the VM's names into every `az` command. Tests never
//! contact 169.254.169.254.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::mpsc;
use std::thread;

const INSTANCE: &str = r#"{"compute":{"name":"vm-lab","resourceGroupName":"rg-lab","subscriptionId":"1111-2222",
"location":"westeurope","vmId":"42"},"network":{"interface":[{"ipv4":{"ipAddress":[
{"privateIpAddress":"10.1.0.4","publicIpAddress":"198.51.100.7"}]}}]}}"#;

/// The diagnosis has asked IMDS by then, or never will: its own deadline is 20 s.
const ASKED_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// How the fake IMDS answers.
#[derive(Clone, Copy, PartialEq)]
enum Reply {
    /// Like IMDS: 400 without `Metadata: true`, else the instance document.
    Instance,
    /// Accepts the connection and says nothing.
    Silent,
    /// A throttled or failing IMDS.
    Status(&'static str),
}

/// Serves one request and sends the request head it saw back to the test.
fn fake_imds(reply: Reply) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (seen, requests) = mpsc::channel();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = String::new();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        seen.send(head.clone()).unwrap();
        let (status, body) = if reply == Reply::Silent {
            thread::sleep(std::time::Duration::from_secs(5));
            return;
        } else if let Reply::Status(status) = reply {
            (status, r#"{"error":"Too many requests"}"#.to_string())
        } else if head.to_ascii_lowercase().contains("metadata: true") {
            ("200 OK", INSTANCE.to_string())
        } else {
            (
                "400 Bad Request",
                r#"{"error":"Bad request. Required metadata header not specified"}"#.to_string(),
            )
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    (endpoint, requests)
}

fn diagnose(endpoint: &str) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_sshdoctor"))
        // A config that does not exist guarantees a finding with az commands (SSH-CFG-002).
        .args([
            "--format",
            "json",
            "--imds",
            "always",
            "--imds-endpoint",
            endpoint,
        ])
        .args(["--no-sshd-run", "--config", "/nonexistent/sshd_config"])
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn azure_names_from_imds_fill_every_az_command() {
    let (endpoint, requests) = fake_imds(Reply::Instance);
    let verdict = diagnose(&endpoint);
    let head = requests
        .recv_timeout(ASKED_WITHIN)
        .expect("sshdoctor asked the fake IMDS");
    assert!(
        head.starts_with("GET /metadata/instance?api-version=2021-02-01 HTTP/1.1"),
        "{head}"
    );
    let azure = &verdict["facts"]["cloud"]["azure"];
    assert_eq!(azure["vm_name"], "vm-lab");
    assert_eq!(azure["resource_group"], "rg-lab");
    assert_eq!(azure["private_ipv4"][0], "10.1.0.4");
    assert_eq!(verdict["facts"]["cloud"]["provider"], "azure");
    let commands: Vec<&str> = verdict["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|finding| finding["remediation"]["azure"].as_array().unwrap())
        .map(|command| command.as_str().unwrap())
        .collect();
    assert!(!commands.is_empty(), "{verdict}");
    for command in commands {
        assert!(command.contains("-g rg-lab -n vm-lab"), "{command}");
        assert!(!command.contains('<'), "{command}");
    }
}

#[test]
fn silent_imds_is_bounded_and_reported() {
    let (endpoint, requests) = fake_imds(Reply::Silent);
    let verdict = diagnose(&endpoint);
    requests
        .recv_timeout(ASKED_WITHIN)
        .expect("sshdoctor asked the fake IMDS");
    assert!(verdict["facts"]["cloud"]["azure"].is_null());
    let note = cloud_probe_note(&verdict);
    assert!(
        note.contains("not available") && note.to_lowercase().contains("timeout"),
        "{note}"
    );
}

fn cloud_probe_note(verdict: &serde_json::Value) -> String {
    let cloud_probe = verdict["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|probe| probe["name"] == "cloud")
        .expect("cloud probe reported");
    assert_eq!(cloud_probe["outcome"], "partial");
    cloud_probe["notes"][0].as_str().unwrap().to_string()
}

#[test]
fn imds_error_status_is_reported_not_parsed() {
    let (endpoint, requests) = fake_imds(Reply::Status("429 Too Many Requests"));
    let verdict = diagnose(&endpoint);
    requests
        .recv_timeout(ASKED_WITHIN)
        .expect("sshdoctor asked the fake IMDS");
    assert!(verdict["facts"]["cloud"]["azure"].is_null());
    let note = cloud_probe_note(&verdict);
    assert!(note.contains("HTTP 429 Too Many Requests"), "{note}");
}

#[test]
fn unreachable_imds_degrades_to_placeholders() {
    // A loopback port with nothing listening: connection refused at once.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let verdict = diagnose(&format!("http://127.0.0.1:{port}"));
    assert!(verdict["facts"]["cloud"]["azure"].is_null());
    let any_placeholder = verdict["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|finding| finding["remediation"]["azure"].as_array().unwrap())
        .any(|command| {
            command
                .as_str()
                .unwrap()
                .contains("-g <resource-group> -n <vm-name>")
        });
    assert!(any_placeholder, "{verdict}");
}
