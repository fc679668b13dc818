//! One authorized_keys line, parsed the way sshd reads it (auth2-pubkeyfile.c
//! auth_check_authkey_line, sshkey.c sshkey_read, auth-options.c): the key, its options,
//! or why sshd skips the line.

use crate::facts::{AuthorizedKey, FileStat};

/// Key types sshkey.c reads (its keytypes table, signature-only names excluded).
pub const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ssh-rsa",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-dss-cert-v01@openssh.com",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
];

/// Options that are plain flags; the first group also takes a "no-" prefix
/// (auth-options.c opt_flag with allow_negate).
const NEGATABLE_FLAGS: &[&str] = &[
    "port-forwarding",
    "agent-forwarding",
    "x11-forwarding",
    "pty",
    "user-rc",
    "touch-required",
    "verify-required",
];
const FLAGS: &[&str] = &["restrict", "cert-authority"];
/// Options that take a double-quoted value.
const VALUED: &[&str] = &[
    "command",
    "principals",
    "from",
    "expiry-time",
    "environment",
    "permitopen",
    "permitlisten",
    "tunnel",
];

/// One authorized_keys line, as sshd reads it.
#[derive(Debug)]
pub enum KeyLine {
    Blank,
    Key(Box<AuthorizedKey>),
    Bad(String),
}

/// auth_check_authkey_line: try the line as a key; failing that, skip an options string
/// and try again; then the options must parse.
pub fn parse_key_line(line: &str) -> KeyLine {
    let line = line.trim_start_matches([' ', '\t']);
    if line.is_empty() || line.starts_with('#') {
        return KeyLine::Blank;
    }
    let first_word = line.split([' ', '\t']).next().unwrap_or_default();
    let (options_text, key_text) = if KEY_TYPES.contains(&first_word) {
        ("", line)
    } else {
        match split_options(line) {
            Some((options, rest)) => (options, rest.trim_start_matches([' ', '\t'])),
            None => return KeyLine::Bad("invalid key option string (unterminated quote)".into()),
        }
    };
    let read = match read_key(key_text) {
        Ok(read) => read,
        Err(problem) => return KeyLine::Bad(problem),
    };
    match parse_options(options_text) {
        Ok(options) => KeyLine::Key(Box::new(AuthorizedKey {
            line: 0,
            key_type: read.key_type,
            options: options.names,
            comment: read.comment,
            from: options.from,
            expiry_time: options.expiry_time,
            expiry_removal: options.expiry_removal,
            // Stated where the file is examined; only the path is known here.
            command_program: options.command_program.map(FileStat::missing),
            public_key: read.public_key,
        })),
        Err(problem) => KeyLine::Bad(format!("bad key options: {problem}")),
    }
}

/// sshkey_advance_past_options: up to the first unquoted blank; \" does not toggle.
fn split_options(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    let mut quoted = false;
    let mut index = 0;
    while index < bytes.len() && (quoted || (bytes[index] != b' ' && bytes[index] != b'\t')) {
        if bytes[index] == b'\\' && bytes.get(index + 1) == Some(&b'"') {
            index += 1;
        } else if bytes[index] == b'"' {
            quoted = !quoted;
        }
        index += 1;
    }
    (!quoted).then(|| line.split_at(index))
}

/// A key as sshkey_read reads it.
struct ReadKey {
    key_type: String,
    /// "TYPE BASE64", the key without its comment.
    public_key: String,
    comment: Option<String>,
}

/// sshkey_read: type word, base64 blob whose own type string must match, then comment.
fn read_key(text: &str) -> Result<ReadKey, String> {
    let (declared, rest) = text.split_once([' ', '\t']).unwrap_or((text, ""));
    if !KEY_TYPES.contains(&declared) {
        return Err(format!("unknown key type {declared:?}"));
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let (blob_text, comment) = match rest.split_once([' ', '\t']) {
        Some((blob, comment)) => (blob, Some(comment)),
        None => (rest, None),
    };
    if blob_text.is_empty() {
        return Err(format!("{declared} key without its base64 data"));
    }
    let blob = decode_base64(blob_text).ok_or("the key data is not valid base64")?;
    let inner = ssh_string(&blob).ok_or("the key data is truncated")?;
    if inner != declared.as_bytes() {
        return Err(format!(
            "key type mismatch: the line says {declared}, the key data is {}",
            String::from_utf8_lossy(inner)
        ));
    }
    let comment = comment
        .map(str::trim)
        .filter(|comment| !comment.is_empty())
        .map(String::from);
    Ok(ReadKey {
        public_key: format!("{declared} {blob_text}"),
        key_type: declared.to_string(),
        comment,
    })
}

/// The options of a key line: their names, and the one value kept.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KeyOptions {
    pub names: Vec<String>,
    /// The from="..." pattern list.
    pub from: Option<String>,
    /// expiry-time="..." as written.
    pub expiry_time: Option<String>,
    /// The text whose removal takes expiry-time= off the line, comma included.
    pub expiry_removal: Option<String>,
    /// command="..."'s first word, when it is a path.
    pub command_program: Option<String>,
}

/// auth-options.c sshauthopt_parse: comma-separated, names case-insensitive, valued
/// options as name="value" with \" escapes.
pub fn parse_options(text: &str) -> Result<KeyOptions, String> {
    let mut names = Vec::new();
    let mut from = None;
    let mut expiry_time = None;
    let mut expiry_removal = None;
    let mut command_program = None;
    let mut rest = text;
    while !rest.is_empty() {
        let start = text.len() - rest.len();
        let name_end = rest.find(['=', ',', ' ', '\t']).unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = &rest[name_end..];
        let plain = name.strip_prefix("no-").unwrap_or(&name);
        if VALUED.contains(&name.as_str()) {
            let value = rest
                .strip_prefix("=\"")
                .ok_or(format!("{name} needs a quoted value"))?;
            let close = closing_quote(value).ok_or(format!("{name}: missing end quote"))?;
            let unescaped = value[..close].replace("\\\"", "\"");
            match name.as_str() {
                "from" => from = Some(unescaped),
                "expiry-time" => expiry_time = Some(unescaped),
                "command" => {
                    command_program = unescaped
                        .split_whitespace()
                        .next()
                        .filter(|word| word.starts_with('/'))
                        .map(String::from)
                }
                _ => {}
            }
            rest = &value[close + 1..];
        } else if !(FLAGS.contains(&name.as_str()) || NEGATABLE_FLAGS.contains(&plain)) {
            return Err(format!("unsupported option {name:?}"));
        }
        if name == "expiry-time" {
            // With the comma that joins it to the next option, or else the one before.
            let end = text.len() - rest.len();
            let span = match (rest.starts_with(','), start) {
                (true, _) => &text[start..=end],
                (false, 0) => &text[..end],
                (false, _) => &text[start - 1..end],
            };
            expiry_removal = Some(span.to_string());
        }
        names.push(name);
        match rest.chars().next() {
            None | Some(' ' | '\t') => break,
            Some(',') => rest = &rest[1..],
            Some(_) => return Err("unknown key option".into()),
        }
    }
    Ok(KeyOptions {
        names,
        from,
        expiry_time,
        expiry_removal,
        command_program,
    })
}

/// The index of the first `"` not escaped by a backslash.
fn closing_quote(value: &str) -> Option<usize> {
    let bytes = value.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' if bytes.get(index + 1) == Some(&b'"') => index += 2,
            b'"' => return Some(index),
            _ => index += 1,
        }
    }
    None
}

/// The first SSH wire string (uint32 length, bytes): a key blob's type name.
fn ssh_string(blob: &[u8]) -> Option<&[u8]> {
    let length = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    blob.get(4..4 + length)
}

/// Standard base64 with optional '=' padding.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let digits = text.trim_end_matches('=');
    if text.len() - digits.len() > 2 {
        return None;
    }
    let mut bytes = Vec::with_capacity(digits.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in digits.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
        }
    }
    (bits < 6).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A syntactically real blob: the type string, then filler.
    fn blob(key_type: &str) -> String {
        let mut bytes = (key_type.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(key_type.as_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 1, 7]);
        encode(&bytes)
    }

    fn encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        while !out.len().is_multiple_of(4) {
            out.push('=');
        }
        out
    }

    fn key(line: &str) -> AuthorizedKey {
        match parse_key_line(line) {
            KeyLine::Key(key) => *key,
            other => panic!("{line:?} did not parse: {other:?}"),
        }
    }

    fn bad(line: &str) -> String {
        match parse_key_line(line) {
            KeyLine::Bad(problem) => problem,
            other => panic!("{line:?} parsed: {other:?}"),
        }
    }

    #[test]
    fn base64_round_trips_and_rejects_garbage() {
        for sample in [&b""[..], b"a", b"ab", b"abc", b"\x00\xff\x10\x20"] {
            assert_eq!(decode_base64(&encode(sample)).unwrap(), sample);
        }
        assert_eq!(
            decode_base64("AAAAC3NzaC1lZDI1NTE5").unwrap()[4..],
            *b"ssh-ed25519"
        );
        assert_eq!(decode_base64("not base64!"), None);
        assert_eq!(decode_base64("A"), None);
    }

    #[test]
    fn every_key_type_parses_with_its_own_blob() {
        for key_type in KEY_TYPES {
            let parsed = key(&format!("{key_type} {} me@host", blob(key_type)));
            assert_eq!(parsed.key_type, *key_type);
            assert_eq!(parsed.comment.as_deref(), Some("me@host"));
        }
    }

    #[test]
    fn options_with_quoted_commas_and_spaces() {
        let line = format!(
            "from=\"10.0.0.0/8,192.168.1.*\",command=\"echo \\\"a, b\\\" c\",no-pty,restrict ssh-ed25519 {} a comment",
            blob("ssh-ed25519")
        );
        let parsed = key(&line);
        assert_eq!(parsed.options, ["from", "command", "no-pty", "restrict"]);
        assert_eq!(parsed.comment.as_deref(), Some("a comment"));
        let cert_authority = key(&format!(
            "cert-authority,principals=\"alice,ops\" ssh-rsa {}",
            blob("ssh-rsa")
        ));
        assert_eq!(cert_authority.options, ["cert-authority", "principals"]);
        assert_eq!(cert_authority.comment, None);
        let sk = key(&format!(
            "No-Touch-Required,verify-required sk-ssh-ed25519@openssh.com {}",
            blob("sk-ssh-ed25519@openssh.com")
        ));
        assert_eq!(sk.options, ["no-touch-required", "verify-required"]);
    }

    #[test]
    fn lines_sshd_skips_say_why() {
        assert!(matches!(parse_key_line("   # comment"), KeyLine::Blank));
        assert!(matches!(parse_key_line(""), KeyLine::Blank));
        assert!(bad("this is not a key").starts_with("unknown key type"));
        assert!(bad("ssh-ed25519").contains("without its base64"));
        assert!(bad("ssh-ed25519 %%%%").contains("not valid base64"));
        assert!(bad(&format!("ssh-ed25519 {}", blob("ssh-rsa"))).starts_with("key type mismatch"));
        let unterminated = format!("command=\"oops ssh-ed25519 {}", blob("ssh-ed25519"));
        assert!(bad(&unterminated).contains("unterminated quote"));
        let unknown = format!("no-such-option ssh-ed25519 {}", blob("ssh-ed25519"));
        assert_eq!(
            bad(&unknown),
            "bad key options: unsupported option \"no-such-option\""
        );
        let unquoted = format!("command=ls ssh-ed25519 {}", blob("ssh-ed25519"));
        assert!(bad(&unquoted).contains("needs a quoted value"));
        // A line wrapped by an editor: the blob is cut short.
        let wrapped = format!("ssh-ed25519 {}", &blob("ssh-ed25519")[..10]);
        assert!(bad(&wrapped).contains("base64") || bad(&wrapped).contains("truncated"));
    }

    /// Taking the removal text off leaves a line whose options still parse, without
    /// expiry-time, wherever the option stood.
    #[test]
    fn the_expiry_removal_leaves_the_other_options() {
        for (options, left) in [
            ("Expiry-Time=\"20200101\",no-pty", "no-pty"),
            ("no-pty,expiry-time=\"20200101\"", "no-pty"),
            (
                "no-pty,expiry-time=\"2020\\\"0101\",restrict",
                "no-pty,restrict",
            ),
            ("expiry-time=\"20200101\"", ""),
        ] {
            let removal = parse_options(options).unwrap().expiry_removal.unwrap();
            assert_eq!(options.replacen(&removal, "", 1), left, "{options}");
        }
    }
}
