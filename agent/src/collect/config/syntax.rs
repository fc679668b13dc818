//! How sshd cuts a config file into lines and a line into keyword and arguments
//! (servconf.c `load_server_config`, `process_server_config_line_depth`; misc.c
//! `strdelim`, `argv_split`).

/// A line as sshd numbers it, with what was odd about its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    pub number: u32,
    pub text: String,
    /// The line held a NUL byte: sshd dropped the rest of it and the newline after it.
    pub had_nul: bool,
    /// The line was not valid UTF-8 (kept with U+FFFD replacements).
    pub invalid_utf8: bool,
}

/// Splits file bytes into the lines sshd parses. sshd reads with getline(3), strips
/// leading " \t\r", and copies `strlen` bytes: a NUL ends the copy, so the newline after
/// it is lost and the next physical line is glued on. The numbering follows that.
pub fn logical_lines(bytes: &[u8]) -> Vec<LogicalLine> {
    let mut joined: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut nul_lines: Vec<u32> = Vec::new();
    for physical in bytes.split_inclusive(|byte| *byte == b'\n') {
        let start = physical
            .iter()
            .position(|byte| !b" \t\r".contains(byte))
            .unwrap_or(physical.len());
        let kept = &physical[start..];
        match kept.iter().position(|byte| *byte == 0) {
            Some(nul) => {
                nul_lines.push(count_newlines(&joined) + 1);
                joined.extend_from_slice(&kept[..nul]);
            }
            None => joined.extend_from_slice(kept),
        }
    }
    joined
        .split(|byte| *byte == b'\n')
        .zip(1u32..)
        .map(|(raw, number)| {
            let text = String::from_utf8_lossy(raw);
            LogicalLine {
                number,
                invalid_utf8: matches!(text, std::borrow::Cow::Owned(_)),
                text: text.into_owned(),
                had_nul: nul_lines.contains(&number),
            }
        })
        .collect()
}

fn count_newlines(bytes: &[u8]) -> u32 {
    let newlines = bytes.iter().filter(|byte| **byte == b'\n').count();
    u32::try_from(newlines).unwrap_or(u32::MAX)
}

/// What a line holds once comments and blank lines are set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineContent {
    /// Blank or comment: sshd skips it.
    Nothing,
    /// A keyword with nothing after it ("no argument after keyword").
    KeywordOnly(String),
    /// A keyword and the raw text after it (before argument splitting).
    Directive { keyword: String, rest: String },
}

/// Trailing whitespace sshd strips (WHITESPACE plus form feed), never the first byte.
const TRAILING: &[char] = &[' ', '\t', '\r', '\n', '\x0c'];
/// Separators of `strdelim`.
const WHITESPACE: &[char] = &[' ', '\t', '\r', '\n'];

/// Finds the keyword the way servconf.c does: one `strdelim` (a second one when the
/// first token is empty), skipping lines whose keyword starts with '#'.
pub fn split_directive(line: &str) -> LineContent {
    let line = trim_trailing(line);
    let Some((mut keyword, mut rest)) = strdelim(line) else {
        return LineContent::Nothing;
    };
    if keyword.is_empty() {
        match rest.and_then(strdelim) {
            Some((second, after)) => (keyword, rest) = (second, after),
            None => return LineContent::Nothing,
        }
    }
    if keyword.is_empty() || keyword.starts_with('#') {
        return LineContent::Nothing;
    }
    match rest {
        Some(rest) if !rest.is_empty() => LineContent::Directive {
            keyword,
            rest: rest.to_string(),
        },
        _ => LineContent::KeywordOnly(keyword),
    }
}

fn trim_trailing(line: &str) -> &str {
    let Some(first) = line.chars().next() else {
        return line;
    };
    let trimmed = line[first.len_utf8()..].trim_end_matches(TRAILING);
    &line[..first.len_utf8() + trimmed.len()]
}

/// misc.c `strdelim`: the next token, ended by whitespace or a single '=' (with
/// whitespace around it), or wrapped in double quotes. None for an unterminated quote.
/// The remainder is None when the token ran to the end of the text.
pub fn strdelim(text: &str) -> Option<(String, Option<&str>)> {
    let Some(stop) = text.find(|c: char| WHITESPACE.contains(&c) || c == '"' || c == '=') else {
        return Some((text.to_string(), None));
    };
    let (head, tail) = text.split_at(stop);
    if let Some(quoted) = tail.strip_prefix('"') {
        let close = quoted.find('"')?;
        let token = format!("{head}{}", &quoted[..close]);
        let after = quoted[close + 1..].trim_start_matches(WHITESPACE);
        return Some((token, Some(after)));
    }
    let mut after = tail[1..].trim_start_matches(WHITESPACE);
    if !tail.starts_with('=') {
        if let Some(past_equals) = after.strip_prefix('=') {
            after = past_equals.trim_start_matches(WHITESPACE);
        }
    }
    Some((head.to_string(), Some(after)))
}

/// Splits text into tokens with repeated `strdelim`, as `match_cfg_line` reads Match
/// criteria. Stops at an unterminated quote.
pub fn strdelim_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut rest = Some(text);
    while let Some(text) = rest.filter(|text| !text.is_empty()) {
        let Some((token, after)) = strdelim(text) else {
            break;
        };
        tokens.push(token);
        rest = after;
    }
    tokens
}

/// The argument list could not be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidQuotes;

/// misc.c `argv_split` with comment termination, as servconf.c calls it: arguments split
/// on space/tab; ' and " quote (also mid-argument); backslash escapes a quote, a
/// backslash, or (outside quotes) a space; '#' at the start of an argument ends the line.
pub fn split_arguments(text: &str) -> Result<Vec<String>, InvalidQuotes> {
    let chars: Vec<char> = text.chars().collect();
    let mut arguments = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        match chars[index] {
            ' ' | '\t' => index += 1,
            '#' => break,
            _ => {
                let (argument, next) = read_argument(&chars, index)?;
                arguments.push(argument);
                index = next;
            }
        }
    }
    Ok(arguments)
}

fn read_argument(chars: &[char], mut index: usize) -> Result<(String, usize), InvalidQuotes> {
    let mut argument = String::new();
    let mut quote: Option<char> = None;
    while let Some(&current) = chars.get(index) {
        let next = chars.get(index + 1).copied();
        match (current, quote) {
            ('\\', _)
                if matches!(next, Some('\'' | '"' | '\\'))
                    || (quote.is_none() && next == Some(' ')) =>
            {
                argument.push(next.unwrap_or('\\'));
                index += 1;
            }
            (' ' | '\t', None) => break,
            ('"' | '\'', None) => quote = Some(current),
            (_, Some(open)) if current == open => quote = None,
            _ => argument.push(current),
        }
        index += 1;
    }
    match quote {
        Some(_) => Err(InvalidQuotes),
        None => Ok((argument, index)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directive(line: &str) -> (String, String) {
        match split_directive(line) {
            LineContent::Directive { keyword, rest } => (keyword, rest),
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    #[test]
    fn keyword_separators_follow_strdelim() {
        assert_eq!(directive("Port 22"), ("Port".into(), "22".into()));
        assert_eq!(directive("Port=22"), ("Port".into(), "22".into()));
        assert_eq!(directive("Port  =  22"), ("Port".into(), "22".into()));
        assert_eq!(directive("Port==22"), ("Port".into(), "=22".into()));
        assert_eq!(directive("\"Port\" 23"), ("Port".into(), "23".into()));
        assert_eq!(directive("Port 22 \t\x0c"), ("Port".into(), "22".into()));
    }

    #[test]
    fn comments_blank_and_bare_keywords() {
        assert_eq!(split_directive(""), LineContent::Nothing);
        assert_eq!(split_directive("# Port 22"), LineContent::Nothing);
        assert_eq!(split_directive("#Port 22"), LineContent::Nothing);
        assert_eq!(split_directive("\"Port 22"), LineContent::Nothing);
        assert_eq!(
            split_directive("Port   "),
            LineContent::KeywordOnly("Port".into())
        );
    }

    #[test]
    fn arguments_follow_argv_split() {
        let split = |text| split_arguments(text).unwrap();
        assert_eq!(split("a b\tc # comment"), ["a", "b", "c"]);
        assert_eq!(split("/a\"b c\"d"), ["/ab cd"]);
        assert_eq!(split("'x y' \"\""), ["x y", ""]);
        assert_eq!(split(r"/a\ b \\ \q"), ["/a b", "\\", "\\q"]);
        assert_eq!(split("22#x"), ["22#x"]);
        assert_eq!(split_arguments("\"/x"), Err(InvalidQuotes));
    }

    #[test]
    fn nul_glues_the_next_line_like_sshd() {
        let lines = logical_lines(b"HostKey k\nPort 2\0junk\nPort 3\nPort 4\n");
        assert_eq!(lines[1].text, "Port 2Port 3");
        assert!(lines[1].had_nul);
        assert_eq!(lines[2].number, 3);
        assert_eq!(lines[2].text, "Port 4");
    }

    #[test]
    fn leading_blanks_and_invalid_utf8() {
        let lines = logical_lines(b"  \t\rPort 5\r\n\xffPort 6\n");
        assert_eq!(lines[0].text, "Port 5\r");
        assert!(lines[1].invalid_utf8);
        assert_eq!(lines[1].text, "\u{fffd}Port 6");
    }

    #[test]
    fn match_criteria_tokens() {
        assert_eq!(
            strdelim_tokens("User=bob Address \"10.0.0.0/8\""),
            ["User", "bob", "Address", "10.0.0.0/8"]
        );
    }
}
