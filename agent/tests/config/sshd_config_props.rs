//! The parser never panics and always terminates, whatever the bytes: random bytes,
//! random lines built from real keywords and syntax, and random include graphs.

use crate::support::sshd_config::{parse_memory, MAIN};
use proptest::prelude::*;
use sshdoctor::collect::config::MemoryFiles;

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Port".to_string()),
        Just("ListenAddress".to_string()),
        Just("AddressFamily".to_string()),
        Just("Match".to_string()),
        Just("Include".to_string()),
        Just("Subsystem".to_string()),
        Just("AllowUsers".to_string()),
        Just("all".to_string()),
        Just("User".to_string()),
        Just("rdomain".to_string()),
        Just("/inc/*".to_string()),
        Just("/inc/a".to_string()),
        Just("[::1]:22".to_string()),
        Just("=".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("#".to_string()),
        "[0-9]{1,6}",
        "[ -~]{0,8}",
        any::<String>(),
    ]
}

fn line() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 0..6).prop_map(|words| words.join(" "))
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..30).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let facts = parse_memory(&MemoryFiles::new().with_file(MAIN, bytes));
        prop_assert!(facts.readable);
        prop_assert!(!facts.ports.is_empty());
    }

    #[test]
    fn random_directives_never_panic(main in text(), a in text(), b in text()) {
        let files = MemoryFiles::new()
            .with_file(MAIN, main)
            .with_file("/inc/a", a)
            .with_file("/inc/b", b);
        let facts = parse_memory(&files);
        // Every endpoint comes from a known port or a ListenAddress with its own port.
        for endpoint in &facts.endpoints {
            prop_assert!(endpoint.port > 0);
        }
        prop_assert!(facts.files.len() <= 3);
    }
}
