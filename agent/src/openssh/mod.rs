//! OpenSSH's own semantics and defaults, and where distributions install it: what sshd
//! does without being told. Collectors and rules both read these; nothing here touches
//! the system.

pub mod algorithms;
pub mod patterns;

/// Where distributions install sshd; the first that exists is the one systemd runs.
pub const SSHD_CANDIDATES: &[&str] = &[
    "/usr/sbin/sshd",
    "/usr/bin/sshd",
    "/sbin/sshd",
    "/usr/local/sbin/sshd",
    "/usr/local/bin/sshd",
];

/// Where distributions install the programs OpenSSH 9.8+ sshd runs for each connection
/// (sshd-session, and sshd-auth from 10.0): Debian, RHEL, others, SUSE, Arch.
pub const HELPER_DIRS: &[&str] = &[
    "/usr/lib/openssh",
    "/usr/libexec/openssh",
    "/usr/libexec",
    "/usr/libexec/ssh",
    "/usr/lib/ssh",
];

/// One option of sshd's command line as getopt(3) reads it: the letter, its value where
/// it takes one, and the index of the word the value is in (the option's own word, or
/// the next).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshdOption {
    pub letter: char,
    pub value: Option<String>,
    pub word: usize,
}

/// sshd's options, read as getopt(3) reads them with sshd's option string (OpenSSH
/// 9.x and 10.x): `-f FILE`, `-fFILE`, `-Df FILE`; argv[0] is skipped, and the first
/// word that is not an option ends them.
pub fn sshd_options(argv: &[String]) -> Vec<SshdOption> {
    const TAKES_VALUE: &str = "CEbcfghkopu";
    let mut parsed = Vec::new();
    let mut index = 1;
    while index < argv.len() {
        let word = index;
        let argument = &argv[index];
        index += 1;
        let Some(flags) = argument.strip_prefix('-').filter(|flags| !flags.is_empty()) else {
            break;
        };
        if flags == "-" {
            break;
        }
        for (at, letter) in flags.char_indices() {
            if !TAKES_VALUE.contains(letter) {
                parsed.push(SshdOption {
                    letter,
                    value: None,
                    word,
                });
                continue;
            }
            let attached = &flags[at + letter.len_utf8()..];
            let (value, word) = match attached.is_empty() {
                true => {
                    index += 1;
                    (argv.get(index - 1).cloned(), index - 1)
                }
                false => (Some(attached.to_string()), word),
            };
            parsed.push(SshdOption {
                letter,
                value,
                word,
            });
            break;
        }
    }
    parsed
}

/// Where Ubuntu's sshd-socket-generator (24.04 and later) is installed, without the
/// leading "/".
pub const SOCKET_GENERATORS: &[&str] = &[
    "usr/lib/systemd/system-generators/sshd-socket-generator",
    "lib/systemd/system-generators/sshd-socket-generator",
];
/// The ssh.socket drop-in it writes (systemd's first generator output directory).
pub const SOCKET_GENERATED: &str = "/run/systemd/generator/ssh.socket.d/addresses.conf";

/// The helpers by name.
pub const HELPERS: &[&str] = &["sshd-session", "sshd-auth"];

/// _PATH_PRIVSEP_CHROOT_DIR differs per distribution build (Debian /run/sshd, RHEL 9
/// /usr/share/empty.sshd, RHEL 8 and SUSE /var/empty/sshd or /var/lib/empty); sshd's
/// binary holds its own.
pub const PRIVSEP_DIR_CANDIDATES: &[&str] = &[
    "/run/sshd",
    "/usr/share/empty.sshd",
    "/var/empty/sshd",
    "/var/lib/empty",
    "/var/empty",
];

/// SSH_PRIVSEP_USER in every mainstream build.
pub const PRIVSEP_USER: &str = "sshd";

/// Where sshd reads its config when started without -f.
pub const DEFAULT_SSHD_CONFIG: &str = "/etc/ssh/sshd_config";
/// SUSE's vendor config (SLE 16, openSUSE Tumbleweed and Leap 16): sshd reads it when
/// DEFAULT_SSHD_CONFIG does not exist.
pub const VENDOR_SSHD_CONFIG: &str = "/usr/etc/ssh/sshd_config";

/// Debian's and Ubuntu's unmodified copy of the packaged sshd_config.
pub const PRISTINE_SSHD_CONFIG: &str = "/usr/share/openssh/sshd_config";

/// The keys sshd loads when sshd_config names none (_PATH_HOST_*_KEY_FILE).
pub const DEFAULT_HOST_KEYS: &[&str] = &[
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key",
];

/// pam_nologin reads /var/run/nologin (= /run/nologin) then /etc/nologin; sshd without
/// PAM reads /etc/nologin (session.c do_nologin).
pub const NOLOGIN_FILES: &[&str] = &["/etc/nologin", "/run/nologin"];

/// The unit names distributions ship sshd's service under, most common first (Debian:
/// ssh.service, with sshd.service as an alias).
pub const SERVICE_UNIT_NAMES: &[&str] = &["ssh.service", "sshd.service"];
/// And its socket unit.
pub const SOCKET_UNIT_NAMES: &[&str] = &["ssh.socket", "sshd.socket"];
/// Per-connection instances of a socket unit with `Accept=yes`.
pub const INSTANCE_UNIT_PATTERNS: &[&str] = &["ssh@*.service", "sshd@*.service"];

/// Where a login writes: sshd's pid and privsep dir (/run), logs and lastlog (/var),
/// PAM and the shell's temp files (/tmp), the user's home. A read-only or full mount
/// here breaks logins (a read-only /usr is a design, not a fault).
pub const PATHS_A_LOGIN_WRITES: &[&str] = &["/", "/var", "/var/log", "/tmp", "/run", "/home"];

/// OpenSSH 9.2's KEX_DEFAULT_PK_ALG: the signature algorithms accepted for user keys.
pub const DEFAULT_PUBKEY_ALGORITHMS: &str = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";

/// The keywords the authentication path reads, with sshd's built-in defaults
/// (servconf.c fill_default_server_options).
pub const AUTH_KEYWORD_DEFAULTS: &[(&str, &str)] = &[
    ("allowgroups", ""),
    ("allowusers", ""),
    ("authenticationmethods", "any"),
    ("authorizedkeyscommand", "none"),
    ("authorizedkeyscommanduser", "none"),
    (
        "authorizedkeysfile",
        ".ssh/authorized_keys .ssh/authorized_keys2",
    ),
    ("chrootdirectory", "none"),
    ("denygroups", ""),
    ("denyusers", ""),
    ("forcecommand", "none"),
    ("gssapiauthentication", "no"),
    ("hostbasedauthentication", "no"),
    ("kbdinteractiveauthentication", "yes"),
    ("maxauthtries", "6"),
    ("maxsessions", "10"),
    ("maxstartups", "10:30:100"),
    ("passwordauthentication", "yes"),
    ("permitemptypasswords", "no"),
    ("permitrootlogin", "prohibit-password"),
    ("permittty", "yes"),
    ("pubkeyacceptedalgorithms", DEFAULT_PUBKEY_ALGORITHMS),
    ("pubkeyauthentication", "yes"),
    ("revokedkeys", "none"),
    ("strictmodes", "yes"),
    ("trustedusercakeys", "none"),
    ("usepam", "no"),
];
