//! What each of sshd's log messages means: the patterns that classify a line as one of
//! the SSH-LOG rules, with the values it names (user, host, path, ...).

use crate::rules::RuleId;
use regex_lite::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The level sshd puts before error and fatal messages when it logs them itself.
const LEVEL_PREFIX: &str = r"^(?:(?:error|fatal): )?";

/// Message patterns, most important first. Named groups become placeholders of the rule.
const PATTERNS: &[(RuleId, &str)] = &[
    (
        RuleId::LogBadModes,
        r"Authentication refused: bad ownership or modes for (?P<kind>file|directory) (?P<path>.+)$",
    ),
    (
        RuleId::LogHostKeyUnloadable,
        r#"(?:Could not|Unable to) load host key:? "?(?P<path>[^"\s]+)"?"#,
    ),
    (
        RuleId::LogNoHostKeys,
        r"(?:sshd: )?no hostkeys available -- exiting",
    ),
    (
        RuleId::LogUserNotAllowed,
        r"User (?P<user>\S+) from (?P<host>\S+) not allowed because (?P<reason>not listed in AllowUsers|listed in DenyUsers|not in any group|a group is listed in DenyGroups|none of user's groups are listed in AllowGroups)",
    ),
    (
        RuleId::LogUserShellUnusable,
        r"User (?P<user>\S+) not allowed because shell (?P<path>\S+) (?P<reason>does not exist|is not executable)",
    ),
    (
        RuleId::LogAccountLocked,
        r"User (?P<user>\S+) not allowed because account is locked",
    ),
    // OpenSSH 8.5 renamed PubkeyAcceptedKeyTypes; older servers still log the old name.
    (
        RuleId::LogPubkeyAlgorithmRefused,
        r"userauth_pubkey: (?:key type|signature algorithm) (?P<algorithm>\S+) not in (?:PubkeyAcceptedAlgorithms|PubkeyAcceptedKeyTypes)",
    ),
    (
        RuleId::LogPrivsepDirMissing,
        r"Missing privilege separation directory: (?P<path>\S+)",
    ),
    (
        RuleId::LogBindFailed,
        r"Bind to port (?P<port>\d+) on (?P<address>\S+) failed: (?P<error>.+?)\.?$",
    ),
    (RuleId::LogBindFailed, r"Cannot bind any address"),
    (
        RuleId::LogInvalidUser,
        r"Invalid user (?P<user>.*?) from (?P<host>\S+)",
    ),
    (
        RuleId::LogMaxAuthTries,
        r"maximum authentication attempts exceeded for (?:invalid user )?(?P<user>\S+) from (?P<host>\S+)",
    ),
    (
        RuleId::LogAccountExpired,
        r"Account (?P<user>\S+) has expired",
    ),
    (
        RuleId::LogAccountExpired,
        r"pam_unix\(sshd:account\): account (?P<user>\S+) has expired",
    ),
    (
        RuleId::LogPasswordExpired,
        r"User (?P<user>\S+) password has expired",
    ),
    (
        RuleId::LogPasswordExpired,
        r"pam_unix\(sshd:account\): expired password for user (?P<user>\S+)",
    ),
    (
        RuleId::LogPamRefused,
        r"Access denied for user (?P<user>\S+) by PAM account configuration",
    ),
    (
        RuleId::LogPamRefused,
        r"PAM: (?P<error>pam_(?:open_session|setcred|acct_mgmt)\(\): .+)",
    ),
    (
        RuleId::LogPamAuthFailed,
        r"PAM: Authentication failure for (?:illegal user |invalid user )?(?P<user>\S+) from (?P<host>\S+)",
    ),
    (
        RuleId::LogPamAuthFailed,
        r"pam_unix\(sshd:auth\): authentication failure;.*\brhost=(?P<host>\S*)(?:\s+user=(?P<user>\S+))?",
    ),
    (RuleId::LogMaxStartups, r"beginning MaxStartups throttling"),
    (
        RuleId::LogMaxStartups,
        r"drop connection #\d+ from \[(?P<host>[^\]]*)\]:\d+ on \S+ past MaxStartups",
    ),
    // auth2-pubkeyfile.c: from= excluded the client ("required=" since OpenSSH 9.8).
    (
        RuleId::LogKeyNotFromPermittedHost,
        r"(?:(?P<path>\S+):\d+: )?Authentication tried for (?P<user>\S+) with correct key but not from a permitted host \(host=(?P<host>[^,]*), ip=(?P<ip>[^,)]*)",
    ),
    (
        RuleId::LogRefusedByKeyOptions,
        r"Refused by key options(?: at (?P<path>\S+):\d+)?",
    ),
    (RuleId::LogNoMoreSessions, r"no more sessions"),
    (
        RuleId::LogChrootRefused,
        r#"(?P<error>bad ownership or modes for chroot directory (?:component )?"(?P<path>[^"]+)"|(?:safely_chroot: )?stat\("(?P<missing>[^"]+)"\): .+|chroot path (?:component )?"[^"]+" is not a directory|Unable to chdir to chroot path "[^"]+": .+)"#,
    ),
    (
        RuleId::LogTcpWrappersRefused,
        r"refused connect from (?P<host>\S+)",
    ),
    (
        RuleId::LogSessionBinaryMissing,
        r"(?P<path>/\S+/sshd-(?:session|auth)) does not exist or is not executable",
    ),
];

/// Each pattern compiled once, anchored at the message start after the level.
static COMPILED: LazyLock<Vec<(RuleId, Regex)>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|(rule, pattern)| {
            let regex = Regex::new(&format!("{LEVEL_PREFIX}{pattern}"))
                .unwrap_or_else(|err| panic!("log pattern {pattern}: {err}"));
            (*rule, regex)
        })
        .collect()
});

/// What a message says: its rule and the values it names.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Classified {
    pub rule: RuleId,
    pub captures: BTreeMap<&'static str, String>,
}

/// The rule a message of sshd's belongs to; None for the ordinary lines.
pub(super) fn classify(message: &str) -> Option<Classified> {
    COMPILED.iter().find_map(|(rule, regex)| {
        let found = regex.captures(message)?;
        let captures = regex
            .capture_names()
            .flatten()
            .filter_map(|name| Some((name, found.name(name)?.as_str().to_string())))
            .collect();
        Some(Classified {
            rule: *rule,
            captures,
        })
    })
}
