//! The sshd_config parser on fixtures and in-memory trees: every behaviour below was
//! first observed with Debian 12's /usr/sbin/sshd (OpenSSH 9.2); sshd_config_sshd.rs
//! re-checks the fixtures against the real binary.

use crate::support::sshd_config::{parse_memory, stage, MAIN};
use sshdoctor::collect::config::{
    choose_config_path, ConfigFiles, MemoryFiles, DEFAULT_SOURCE, MAX_FILE_BYTES,
};
use sshdoctor::collect::CollectOptions;
use sshdoctor::facts::{
    AddressFamily, ProcessFacts, SshdConfigFacts, SshdProcess, SystemdFacts, UnitFacts, UnitKind,
};
use std::path::Path;

fn parse_text(text: &str) -> SshdConfigFacts {
    parse_memory(&MemoryFiles::new().with_file(MAIN, text))
}

fn values(facts: &SshdConfigFacts, keyword: &str) -> Vec<String> {
    facts.global.get(keyword).map_or(Vec::new(), |values| {
        values.iter().map(|v| v.value.clone()).collect()
    })
}

fn ports(facts: &SshdConfigFacts) -> Vec<u16> {
    facts.ports.iter().map(|port| port.value).collect()
}

fn fatal_messages(facts: &SshdConfigFacts) -> Vec<String> {
    facts
        .problems
        .iter()
        .filter(|problem| problem.fatal)
        .map(|problem| problem.message.clone())
        .collect()
}

fn endpoints(facts: &SshdConfigFacts) -> Vec<String> {
    facts
        .endpoints
        .iter()
        .map(|e| format!("{} {}", e.host, e.port))
        .collect()
}

#[test]
fn key_value_forms_quotes_and_case() {
    let staged = stage();
    let facts = staged.parse("forms.conf");
    assert_eq!(ports(&facts), [2201, 2202, 2203, 22], "Port ssh is 22");
    assert_eq!(facts.ports[3].line, 4);
    assert_eq!(
        values(&facts, "passwordauthentication"),
        ["no"],
        "first wins"
    );
    assert_eq!(values(&facts, "x11forwarding"), ["yes"]);
    assert_eq!(values(&facts, "banner"), ["/etc/issue net"]);
    assert!(fatal_messages(&facts).is_empty(), "{:?}", facts.problems);
}

#[test]
fn first_wins_last_wins_and_accumulating_keywords() {
    let staged = stage();
    let facts = staged.parse("forms.conf");
    assert_eq!(values(&facts, "allowusers"), ["alice", "bob", "carol"]);
    assert_eq!(values(&facts, "authorizedkeysfile"), [".ssh/a", ".ssh/b"]);
    assert_eq!(
        values(&facts, "maxstartups"),
        ["7"],
        "MaxStartups: last wins"
    );
    // ChallengeResponseAuthentication is an alias: it sets the same option first.
    assert_eq!(values(&facts, "kbdinteractiveauthentication"), ["no"]);
    let deprecated = facts
        .problems
        .iter()
        .find(|p| p.message.contains("ServerKeyBits"));
    assert!(deprecated.is_some_and(|p| !p.fatal && p.line == Some(17)));
}

#[test]
fn every_value_keeps_its_file_and_line() {
    let staged = stage();
    let facts = staged.parse("forms.conf");
    let carol = &facts.global["allowusers"][2];
    assert_eq!((carol.value.as_str(), carol.line), ("carol", 9));
    assert!(carol.file.ends_with("forms.conf"));
}

#[test]
fn include_glob_is_sorted_skips_dot_files_and_first_wins_across_files() {
    let staged = stage();
    let facts = staged.parse("basic.conf");
    let names: Vec<&str> = facts
        .files
        .iter()
        .map(|f| f.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, ["basic.conf", "50-cloud.conf", "60-later.conf"]);
    assert_eq!(values(&facts, "passwordauthentication"), ["no"]);
    assert_eq!(ports(&facts), [2222], ".hidden.conf must not match *.conf");
    assert_eq!(
        values(&facts, "subsystem"),
        ["sftp /usr/lib/openssh/sftp-server"]
    );
    assert_eq!(values(&facts, "acceptenv"), ["LANG", "LC_*"]);
}

#[test]
fn relative_include_is_under_the_ssh_dir() {
    let files = MemoryFiles::new()
        .with_file(MAIN, "Include sshd_config.d/*.conf\nInclude other.conf\n")
        .with_file("/etc/ssh/sshd_config.d/a.conf", "Port 1\n")
        .with_file("/etc/ssh/other.conf", "Port 2\n")
        .with_file("/elsewhere/other.conf", "Port 3\n");
    assert_eq!(ports(&parse_memory(&files)), [1, 2]);
}

/// Drop-ins no Include reads (Azure's "Reset SSH configuration" drops the Include) are
/// listed; an Include that reads some of them is the administrator's choice.
#[test]
fn dropins_without_an_include_are_listed() {
    let dropins = MemoryFiles::new()
        .with_file(
            "/etc/ssh/sshd_config.d/50-cloud-init.conf",
            "PasswordAuthentication yes\n",
        )
        .with_file("/etc/ssh/sshd_config.d/60-port.conf", "Port 2222\n")
        .with_file("/etc/ssh/sshd_config.d/notes.txt", "Port 1\n");
    let reset = parse_memory(&dropins.clone().with_file(MAIN, "Port 22\n"));
    assert_eq!(
        reset.ignored_dropins,
        [
            "/etc/ssh/sshd_config.d/50-cloud-init.conf",
            "/etc/ssh/sshd_config.d/60-port.conf"
        ]
    );
    assert_eq!(ports(&reset), [22]);
    let debian = parse_memory(
        &dropins
            .clone()
            .with_file(MAIN, "Include /etc/ssh/sshd_config.d/*.conf\n"),
    );
    assert!(debian.ignored_dropins.is_empty());
    assert_eq!(ports(&debian), [2222]);
    let chosen = parse_memory(&dropins.with_file(MAIN, "Include sshd_config.d/60-*.conf\n"));
    assert!(chosen.ignored_dropins.is_empty());
    let unreadable = parse_memory(&MemoryFiles::new());
    assert!(unreadable.ignored_dropins.is_empty());
}

#[test]
fn nested_includes_up_to_sixteen_levels() {
    let chain = |levels: usize| {
        let mut files = MemoryFiles::new().with_file(MAIN, "Include /c/1\n");
        for level in 1..levels {
            files = files.with_file(format!("/c/{level}"), format!("Include /c/{}\n", level + 1));
        }
        files.with_file(format!("/c/{levels}"), "Port 76\n")
    };
    let deepest_allowed = parse_memory(&chain(16));
    assert_eq!(ports(&deepest_allowed), [76]);
    assert!(fatal_messages(&deepest_allowed).is_empty());
    let too_deep = parse_memory(&chain(17));
    assert_eq!(
        fatal_messages(&too_deep),
        ["Too many recursive configuration includes"]
    );
}

#[test]
fn include_loop_is_fatal_and_named() {
    let files = MemoryFiles::new()
        .with_file(MAIN, "Include /a.conf\n")
        .with_file("/a.conf", "Include /b.conf\n")
        .with_file("/b.conf", "Include /a.conf\n");
    let facts = parse_memory(&files);
    let messages = fatal_messages(&facts);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("/etc/ssh/sshd_config -> /a.conf -> /b.conf -> /a.conf"));
}

#[test]
fn missing_include_is_silently_ignored() {
    let staged = stage();
    let files = MemoryFiles::new().with_file(MAIN, "Include /nowhere/*.conf /no.conf\nPort 1\n");
    let facts = parse_memory(&files);
    assert_eq!(ports(&facts), [1]);
    assert!(facts.problems.is_empty());
    drop(staged);
}

#[test]
fn unreadable_include_is_fatal_but_a_directory_reads_as_empty() {
    let staged = stage();
    let facts = staged.parse("include_dangling.conf");
    let problem = facts.problems.iter().find(|p| p.fatal).expect("fatal");
    assert!(problem.file.ends_with("dangling.conf"));
    assert!(problem.message.contains("No such file or directory"));
    let files = MemoryFiles::new()
        .with_file(MAIN, "Include /etc/ssh/d\nPort 1\n")
        .with_directory("/etc/ssh/d");
    let facts = parse_memory(&files);
    assert_eq!(ports(&facts), [1]);
    assert!(facts.problems.iter().all(|p| !p.fatal));
    assert!(facts.problems[0].message.contains("directory"));
}

#[test]
fn match_blocks_hold_their_settings_and_end_at_the_next_match() {
    let staged = stage();
    let facts = staged.parse("match.conf");
    assert!(fatal_messages(&facts).is_empty(), "{:?}", facts.problems);
    assert_eq!(values(&facts, "passwordauthentication"), ["yes"]);
    assert_eq!(facts.match_blocks.len(), 3);
    let alice = &facts.match_blocks[0];
    assert_eq!(alice.criteria, "User alice Address 10.0.0.0/8");
    assert_eq!(alice.line, 2);
    assert_eq!(alice.settings["passwordauthentication"][0].value, "no");
    assert_eq!(alice.settings["passwordauthentication"].len(), 1);
    // The included file inherits the Match; after it, the block goes on.
    assert_eq!(alice.settings["forcecommand"][0].value, "/bin/true");
    assert_eq!(alice.settings["x11forwarding"][0].value, "no");
    // A Match all inside a file included from a Match never applies globally.
    assert_eq!(facts.match_blocks[1].criteria, "all");
    assert!(!facts.global.contains_key("permittty"));
    assert_eq!(
        facts.match_blocks[2].settings["permitrootlogin"][0].value,
        "no"
    );
    assert!(!facts.global.contains_key("permitrootlogin"));
}

#[test]
fn match_in_an_included_file_ends_with_that_file() {
    let staged = stage();
    let facts = staged.parse("include_match_ends.conf");
    assert!(fatal_messages(&facts).is_empty(), "{:?}", facts.problems);
    assert_eq!(ports(&facts), [5]);
    assert!(!facts.global.contains_key("passwordauthentication"));
}

#[test]
fn match_all_applies_globally_at_startup() {
    let staged = stage();
    let facts = staged.parse("match_all.conf");
    assert!(fatal_messages(&facts).is_empty(), "{:?}", facts.problems);
    assert_eq!(ports(&facts), [2022]);
    assert_eq!(values(&facts, "permitrootlogin"), ["no"]);
    assert!(!facts.global.contains_key("passwordauthentication"));
}

#[test]
fn global_only_keywords_inside_match_are_fatal() {
    let staged = stage();
    let facts = staged.parse("port_in_match.conf");
    let problem = facts.problems.iter().find(|p| p.fatal).unwrap();
    assert_eq!(
        problem.message,
        "Directive 'Port' is not allowed within a Match block"
    );
    assert_eq!(problem.line, Some(3));
    let facts = staged.parse("include_port_in_match.conf");
    let problem = facts.problems.iter().find(|p| p.fatal).unwrap();
    assert!(problem.file.ends_with("include_port_in_match.d/p.conf"));
    assert_eq!(problem.line, Some(2));
}

#[test]
fn bad_lines_are_fatal_with_sshd_wording() {
    let cases = [
        ("Bogus yes\n", "Bad configuration option: Bogus"),
        ("Port 65536\n", "Badly formatted port number."),
        ("Port 0\n", "Badly formatted port number."),
        ("Port\n", "no argument after keyword \"Port\""),
        ("Port \"\"\n", "missing port number."),
        (
            "Port 22 23\n",
            "keyword Port extra arguments at end of line",
        ),
        ("Banner \"/x\n", "invalid quotes"),
        (
            "PasswordAuthentication maybe\n",
            "unsupported option \"maybe\".",
        ),
        (
            "Subsystem sftp /a\nSubsystem sftp /b\n",
            "Subsystem 'sftp' already defined.",
        ),
        (
            "Match Foo bar\n",
            "Unsupported Match attribute Foo: Bad Match condition",
        ),
        (
            "Match User\n",
            "Missing Match criteria for User: Bad Match condition",
        ),
        (
            "Match all User x\n",
            "'all' cannot be combined with other Match attributes: Bad Match condition",
        ),
        (
            "Match # just a comment\n",
            "One or more attributes required for Match: Bad Match condition",
        ),
        ("AcceptEnv A=1\n", "Invalid environment name."),
        ("SetEnv A\n", "Invalid environment."),
        ("ClientAliveInterval 5q\n", "invalid time value."),
        (
            "RDomain x\n",
            "setting RDomain not supported on this platform.",
        ),
        ("ListenAddress 10.0.0.1/22\n", "bad address:port usage"),
    ];
    for (text, expected) in cases {
        let facts = parse_text(text);
        assert_eq!(
            fatal_messages(&facts).first().map(String::as_str),
            Some(expected),
            "{text:?}"
        );
    }
}

#[test]
fn listen_address_forms_and_endpoint_derivation() {
    let staged = stage();
    let facts = staged.parse("listen.conf");
    assert!(fatal_messages(&facts).is_empty(), "{:?}", facts.problems);
    assert_eq!(
        endpoints(&facts),
        [
            "10.0.0.1 2222",
            "10.0.0.1 2200",
            "::1 99",
            "::2 2222",
            "::2 2200",
            "127.0.0.1 7",
            "127.0.0.2 2222",
            "127.0.0.2 2200",
        ]
    );
    assert_eq!(facts.endpoints[0].line, Some(1));
    assert_eq!(facts.listen_addresses[1].value.port, Some(99));
}

#[test]
fn wildcards_follow_address_family_and_default_port() {
    let facts = parse_text("HostKey /k\n");
    assert_eq!(endpoints(&facts), [":: 22", "0.0.0.0 22"]);
    assert_eq!(
        (facts.ports[0].file.as_str(), facts.ports[0].line),
        (DEFAULT_SOURCE, 0)
    );
    assert_eq!(facts.endpoints[0].file, None);
    let staged = stage();
    let inet = staged.parse("family_inet.conf");
    assert_eq!(endpoints(&inet), ["0.0.0.0 22", "0.0.0.0 2222"]);
    let inet6 = staged.parse("family_inet6.conf");
    assert_eq!(
        inet6.address_family.as_ref().unwrap().value,
        AddressFamily::Inet6
    );
    assert_eq!(endpoints(&inet6), [":: 5"]);
}

#[test]
fn listen_address_outside_the_address_family_is_fatal() {
    let staged = stage();
    let facts = staged.parse("family_mismatch.conf");
    let problem = facts.problems.iter().find(|p| p.fatal).unwrap();
    assert_eq!(problem.line, Some(2));
    assert!(problem.message.starts_with("bad addr or host: ::1"));
}

#[test]
fn nul_bytes_glue_lines_like_sshd_and_are_reported() {
    let staged = stage();
    let facts = staged.parse("nul_line.conf");
    assert!(facts
        .problems
        .iter()
        .any(|p| !p.fatal && p.message.contains("NUL")));
    assert_eq!(fatal_messages(&facts), ["Badly formatted port number."]);
}

#[test]
fn huge_file_is_cut_and_reported() {
    let mut text = "Port 2022\n".to_string();
    let filler = "# padding padding padding padding padding padding padding\n";
    while text.len() as u64 <= MAX_FILE_BYTES {
        text.push_str(filler);
    }
    text.push_str("Port 2023\n");
    let facts = parse_text(&text);
    assert_eq!(ports(&facts), [2022], "the line past the bound is not read");
    assert!(facts
        .problems
        .iter()
        .any(|p| !p.fatal && p.message.contains("4 MiB")));
}

#[test]
fn binary_garbage_gives_problems_not_a_panic() {
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let facts = parse_memory(&MemoryFiles::new().with_file(MAIN, garbage));
    assert!(facts.readable);
    assert!(facts.problems.iter().any(|p| p.fatal));
    assert!(facts.problems.iter().any(|p| p.message.contains("UTF-8")));
}

#[test]
fn unreadable_main_file() {
    let facts = parse_memory(&MemoryFiles::new());
    assert!(!facts.readable);
    assert_eq!(
        facts.read_error.as_deref(),
        Some("No such file or directory")
    );
    assert!(facts.ports.is_empty() && facts.endpoints.is_empty());
}

#[test]
fn config_path_sources_in_priority_order() {
    let unit = UnitFacts {
        aliases: vec!["sshd.service".into()],
        active_state: "active".into(),
        sub_state: "running".into(),
        exec_start: vec![vec![
            "/usr/sbin/sshd".into(),
            "-D".into(),
            "-f".into(),
            "/etc/ssh/unit.conf".into(),
        ]],
        ..UnitFacts::new("ssh.service", UnitKind::Service)
    };
    let systemd = SystemdFacts {
        units: vec![unit],
        ..SystemdFacts::default()
    };
    let processes = ProcessFacts {
        scanned: true,
        cgroups: Vec::new(),
        own_net_namespace: None,
        sshd: vec![SshdProcess {
            pid: 42,
            ppid: 1,
            comm: "sshd".into(),
            cmdline: vec![],
            is_listener: true,
            config_path: Some("/etc/ssh/proc.conf".into()),
            start_time_us: None,
            net_namespace: None,
            state: Some('S'),
            off_cpu_ms: None,
        }],
        pid_file: None,
    };
    let mut options = CollectOptions::default();
    let chosen = choose_config_path(&options, &systemd, None, &processes);
    assert_eq!(
        (chosen.path.to_str(), chosen.why.as_str()),
        (Some("/etc/ssh/unit.conf"), "ExecStart of ssh.service")
    );
    let chosen = choose_config_path(&options, &SystemdFacts::default(), None, &processes);
    assert_eq!(
        (chosen.path.to_str(), chosen.why.as_str()),
        (Some("/etc/ssh/proc.conf"), "sshd cmdline (pid 42)")
    );
    let chosen = choose_config_path(
        &options,
        &SystemdFacts::default(),
        None,
        &ProcessFacts::default(),
    );
    assert_eq!(
        (chosen.path.to_str(), chosen.why.as_str()),
        (Some("/etc/ssh/sshd_config"), "default")
    );
    options.config_path = Some("/tmp/given".into());
    let chosen = choose_config_path(&options, &systemd, None, &processes);
    assert_eq!(
        (chosen.path.to_str(), chosen.why.as_str()),
        (Some("/tmp/given"), "--config")
    );
}

#[test]
fn memory_files_answer_like_the_file_system() {
    let files = MemoryFiles::new().with_unreadable("/x", "Permission denied");
    assert_eq!(
        files.read(Path::new("/x")),
        sshdoctor::collect::config::FileRead::Failed("Permission denied".into())
    );
}
