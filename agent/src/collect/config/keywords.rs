//! The keywords sshd knows, where each may appear and how repeated lines combine.
//!
//! Written from servconf.c's `keywords[]` table and handlers, then checked one by one
//! against Debian 12's OpenSSH 9.2 (`sshd -t` with each keyword at top level and inside
//! a Match block): Debian adds the GSSAPI key-exchange keywords, DebianBanner and
//! PermitBlacklistedKeys; 9.2 adds ChannelTimeout and UnusedConnectionTimeout.

/// Where a keyword may appear (servconf.c SSHCFG_GLOBAL / SSHCFG_ALL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Anywhere,
}

/// How several lines of one keyword combine, as each servconf.c handler does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// `if (*intptr == -1)`: the first line wins, later ones are checked and dropped.
    First,
    /// Assigned unconditionally (MaxStartups, IPQoS, ...): the last line wins.
    Last,
    /// Appended to an array on every line (Port, ListenAddress, AllowUsers, ...).
    Accumulate,
}

/// What a keyword's arguments must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// yes/no (servconf.c `multistate_flag`, case-insensitive).
    Flag,
    /// One of these words, case-insensitive (`parse_multistate`).
    Choice(&'static [&'static str]),
    /// One or more of these words, case-insensitive (PubkeyAuthOptions).
    ChoiceList(&'static [&'static str]),
    /// One of these words, case-sensitive (PermitTunnel uses strcmp).
    ExactChoice(&'static [&'static str]),
    /// A signed int (`atoi_err`).
    Integer,
    /// A time like 30, 1h30m (`convtime`).
    Time,
    /// A port number or service name (`a2port`), not 0.
    Port,
    /// `host`, `host:port`, `[v6]:port`, bare v6, optional `rdomain NAME`.
    ListenAddress,
    /// Between `min` and `max` arguments, not checked further (algorithm lists and
    /// paths whose validity depends on the build or the file system).
    Arguments { min: usize, max: usize },
    /// One or more non-empty arguments.
    List,
    /// The raw rest of the line (ForceCommand, VersionAddendum, ...).
    RestOfLine,
    /// `name command [args]`, one subsystem per name.
    Subsystem,
    /// Glob patterns of files to read in place.
    Include,
    /// Match criteria.
    Match,
}

/// Keywords sshd accepts without using them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Obsolete {
    /// Logged as "Deprecated option" and ignored.
    Deprecated,
    /// Logged as "Unsupported option" and ignored (feature not built in).
    Unsupported,
    /// Silently ignored (Protocol).
    Ignored,
    /// Refused: fatal on Linux (RDomain: "not supported on this platform").
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Setting { combine: Combine, value: Value },
    Obsolete(Obsolete),
}

#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    /// Lower-case spelling accepted in the file.
    pub name: &'static str,
    /// The name `sshd -T` prints (aliases share their option's name).
    pub canonical: &'static str,
    pub scope: Scope,
    pub kind: Kind,
}

/// Finds a keyword the way `parse_token` does: case-insensitively.
pub fn lookup(word: &str) -> Option<&'static Keyword> {
    KEYWORDS
        .iter()
        .find(|keyword| keyword.name.eq_ignore_ascii_case(word))
}

const FLAG: Value = Value::Flag;
const ONE: Value = Value::Arguments { min: 1, max: 1 };
const ONE_OR_TWO: Value = Value::Arguments { min: 1, max: 2 };
const FORWARDING: Value = Value::Choice(&["yes", "all", "no", "remote", "local"]);
const LOG_LEVELS: &[&str] = &[
    "QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3",
];
const LOG_FACILITIES: &[&str] = &[
    "DAEMON", "USER", "AUTH", "AUTHPRIV", "LOCAL0", "LOCAL1", "LOCAL2", "LOCAL3", "LOCAL4",
    "LOCAL5", "LOCAL6", "LOCAL7",
];

use Combine::{Accumulate, First, Last};
use Scope::{Anywhere, Global};

const fn first(name: &'static str, scope: Scope, value: Value) -> Keyword {
    alias(name, name, scope, First, value)
}

const fn alias(
    name: &'static str,
    canonical: &'static str,
    scope: Scope,
    combine: Combine,
    value: Value,
) -> Keyword {
    Keyword {
        name,
        canonical,
        scope,
        kind: Kind::Setting { combine, value },
    }
}

const fn obsolete(name: &'static str, scope: Scope, why: Obsolete) -> Keyword {
    Keyword {
        name,
        canonical: name,
        scope,
        kind: Kind::Obsolete(why),
    }
}

const DEPRECATED: Obsolete = Obsolete::Deprecated;
const UNSUPPORTED: Obsolete = Obsolete::Unsupported;

pub static KEYWORDS: &[Keyword] = &[
    first("usepam", Global, FLAG),
    obsolete("pamauthenticationviakbdint", Global, DEPRECATED),
    alias("port", "port", Global, Accumulate, Value::Port),
    alias("hostkey", "hostkey", Global, Accumulate, ONE),
    alias("hostdsakey", "hostkey", Global, Accumulate, ONE),
    first("hostkeyagent", Global, ONE),
    first("pidfile", Global, ONE),
    first("modulifile", Global, ONE),
    obsolete("serverkeybits", Global, DEPRECATED),
    first("logingracetime", Global, Value::Time),
    obsolete("keyregenerationinterval", Global, DEPRECATED),
    first(
        "permitrootlogin",
        Anywhere,
        Value::Choice(&[
            "without-password",
            "prohibit-password",
            "forced-commands-only",
            "yes",
            "no",
        ]),
    ),
    first("syslogfacility", Global, Value::Choice(LOG_FACILITIES)),
    first("loglevel", Anywhere, Value::Choice(LOG_LEVELS)),
    first("logverbose", Anywhere, Value::List),
    obsolete("rhostsauthentication", Global, DEPRECATED),
    obsolete("rhostsrsaauthentication", Anywhere, DEPRECATED),
    first("hostbasedauthentication", Anywhere, FLAG),
    first("hostbasedusesnamefrompacketonly", Anywhere, FLAG),
    first("hostbasedacceptedalgorithms", Anywhere, ONE),
    alias(
        "hostbasedacceptedkeytypes",
        "hostbasedacceptedalgorithms",
        Anywhere,
        First,
        ONE,
    ),
    first("hostkeyalgorithms", Global, ONE),
    obsolete("rsaauthentication", Anywhere, DEPRECATED),
    first("pubkeyauthentication", Anywhere, FLAG),
    first("pubkeyacceptedalgorithms", Anywhere, ONE),
    alias(
        "pubkeyacceptedkeytypes",
        "pubkeyacceptedalgorithms",
        Anywhere,
        First,
        ONE,
    ),
    first(
        "pubkeyauthoptions",
        Anywhere,
        Value::ChoiceList(&["none", "touch-required", "verify-required"]),
    ),
    alias(
        "dsaauthentication",
        "pubkeyauthentication",
        Global,
        First,
        FLAG,
    ),
    first("kerberosauthentication", Anywhere, FLAG),
    first("kerberosorlocalpasswd", Global, FLAG),
    first("kerberosticketcleanup", Global, FLAG),
    obsolete("kerberosgetafstoken", Global, UNSUPPORTED),
    obsolete("kerberostgtpassing", Global, UNSUPPORTED),
    obsolete("afstokenpassing", Global, UNSUPPORTED),
    first("gssapiauthentication", Anywhere, FLAG),
    first("gssapicleanupcredentials", Global, FLAG),
    alias(
        "gssapicleanupcreds",
        "gssapicleanupcredentials",
        Global,
        First,
        FLAG,
    ),
    first("gssapistrictacceptorcheck", Global, FLAG),
    first("gssapikeyexchange", Global, FLAG),
    first("gssapistorecredentialsonrekey", Global, FLAG),
    first("gssapikexalgorithms", Global, ONE),
    obsolete("gssusesessionccache", Global, UNSUPPORTED),
    obsolete("gssapiusesessioncredcache", Global, UNSUPPORTED),
    first("passwordauthentication", Anywhere, FLAG),
    first("kbdinteractiveauthentication", Anywhere, FLAG),
    alias(
        "challengeresponseauthentication",
        "kbdinteractiveauthentication",
        Anywhere,
        First,
        FLAG,
    ),
    alias(
        "skeyauthentication",
        "kbdinteractiveauthentication",
        Anywhere,
        First,
        FLAG,
    ),
    obsolete("checkmail", Global, DEPRECATED),
    alias(
        "listenaddress",
        "listenaddress",
        Global,
        Accumulate,
        Value::ListenAddress,
    ),
    first(
        "addressfamily",
        Global,
        Value::Choice(&["inet", "inet6", "any"]),
    ),
    first("printmotd", Global, FLAG),
    first("printlastlog", Global, FLAG),
    first(
        "ignorerhosts",
        Anywhere,
        Value::Choice(&["yes", "no", "shosts-only"]),
    ),
    first("ignoreuserknownhosts", Global, FLAG),
    first("x11forwarding", Anywhere, FLAG),
    first("x11displayoffset", Anywhere, Value::Integer),
    first("x11uselocalhost", Anywhere, FLAG),
    first("xauthlocation", Global, ONE),
    first("strictmodes", Global, FLAG),
    obsolete("permitblacklistedkeys", Global, DEPRECATED),
    first("permitemptypasswords", Anywhere, FLAG),
    first("permituserenvironment", Global, ONE),
    obsolete("uselogin", Global, DEPRECATED),
    first(
        "compression",
        Global,
        Value::Choice(&["yes", "delayed", "no"]),
    ),
    first("rekeylimit", Anywhere, ONE_OR_TWO),
    first("tcpkeepalive", Global, FLAG),
    alias("keepalive", "tcpkeepalive", Global, First, FLAG),
    first("allowtcpforwarding", Anywhere, FORWARDING),
    first("allowagentforwarding", Anywhere, FLAG),
    alias(
        "allowusers",
        "allowusers",
        Anywhere,
        Accumulate,
        Value::List,
    ),
    alias("denyusers", "denyusers", Anywhere, Accumulate, Value::List),
    alias(
        "allowgroups",
        "allowgroups",
        Anywhere,
        Accumulate,
        Value::List,
    ),
    alias(
        "denygroups",
        "denygroups",
        Anywhere,
        Accumulate,
        Value::List,
    ),
    first("ciphers", Global, ONE),
    first("macs", Global, ONE),
    obsolete("protocol", Global, Obsolete::Ignored),
    first(
        "gatewayports",
        Anywhere,
        Value::Choice(&["clientspecified", "yes", "no"]),
    ),
    alias(
        "subsystem",
        "subsystem",
        Global,
        Accumulate,
        Value::Subsystem,
    ),
    alias("maxstartups", "maxstartups", Global, Last, ONE),
    alias(
        "persourcemaxstartups",
        "persourcemaxstartups",
        Global,
        Last,
        ONE,
    ),
    alias(
        "persourcenetblocksize",
        "persourcenetblocksize",
        Global,
        Last,
        ONE,
    ),
    first("maxauthtries", Anywhere, Value::Integer),
    first("maxsessions", Anywhere, Value::Integer),
    first("banner", Anywhere, ONE),
    first("usedns", Global, FLAG),
    obsolete("verifyreversemapping", Global, DEPRECATED),
    obsolete("reversemappingcheck", Global, DEPRECATED),
    first("clientaliveinterval", Anywhere, Value::Time),
    first("clientalivecountmax", Anywhere, Value::Integer),
    first("authorizedkeysfile", Anywhere, Value::List),
    obsolete("authorizedkeysfile2", Anywhere, DEPRECATED),
    obsolete("useprivilegeseparation", Global, DEPRECATED),
    alias("acceptenv", "acceptenv", Anywhere, Accumulate, Value::List),
    first("setenv", Anywhere, Value::List),
    first(
        "permittunnel",
        Anywhere,
        Value::ExactChoice(&["no", "point-to-point", "ethernet", "yes"]),
    ),
    first("permittty", Anywhere, FLAG),
    first("permituserrc", Anywhere, FLAG),
    alias("match", "match", Anywhere, Accumulate, Value::Match),
    first("permitopen", Anywhere, Value::List),
    first("permitlisten", Anywhere, Value::List),
    first("forcecommand", Anywhere, Value::RestOfLine),
    first("chrootdirectory", Anywhere, ONE),
    alias(
        "hostcertificate",
        "hostcertificate",
        Global,
        Accumulate,
        ONE,
    ),
    first("revokedkeys", Anywhere, ONE),
    first("trustedusercakeys", Anywhere, ONE),
    first("authorizedprincipalsfile", Anywhere, ONE),
    first("kexalgorithms", Global, ONE),
    alias("include", "include", Anywhere, Accumulate, Value::Include),
    alias("ipqos", "ipqos", Anywhere, Last, ONE_OR_TWO),
    first("authorizedkeyscommand", Anywhere, Value::RestOfLine),
    first("authorizedkeyscommanduser", Anywhere, ONE),
    first("authorizedprincipalscommand", Anywhere, Value::RestOfLine),
    first("authorizedprincipalscommanduser", Anywhere, ONE),
    first("versionaddendum", Global, Value::RestOfLine),
    first("authenticationmethods", Anywhere, Value::List),
    alias(
        "streamlocalbindmask",
        "streamlocalbindmask",
        Anywhere,
        Last,
        ONE,
    ),
    first("streamlocalbindunlink", Anywhere, FLAG),
    first("allowstreamlocalforwarding", Anywhere, FORWARDING),
    alias("fingerprinthash", "fingerprinthash", Global, Last, ONE),
    first("disableforwarding", Anywhere, FLAG),
    first("exposeauthinfo", Anywhere, FLAG),
    obsolete("rdomain", Anywhere, Obsolete::Refused),
    first("casignaturealgorithms", Anywhere, ONE),
    first("securitykeyprovider", Global, ONE),
    first("requiredrsasize", Anywhere, Value::Integer),
    first("channeltimeout", Anywhere, Value::List),
    first("unusedconnectiontimeout", Anywhere, Value::Time),
    first("debianbanner", Global, FLAG),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_knows_aliases() {
        assert_eq!(lookup("PORT").map(|k| k.canonical), Some("port"));
        assert_eq!(
            lookup("ChallengeResponseAuthentication").map(|k| k.canonical),
            Some("kbdinteractiveauthentication")
        );
        assert!(lookup("HPNDisabled").is_none());
    }

    #[test]
    fn names_are_lower_case_and_unique() {
        for (index, keyword) in KEYWORDS.iter().enumerate() {
            assert_eq!(keyword.name, keyword.name.to_ascii_lowercase());
            assert!(KEYWORDS[..index].iter().all(|k| k.name != keyword.name));
        }
    }
}
