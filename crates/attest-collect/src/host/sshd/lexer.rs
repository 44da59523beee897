//! Splitting lines and reading values the way OpenSSH's `misc.c` does: `strdelim` for the
//! keyword, `argv_split` for the arguments, `convtime` for time values and `atoi_err` for
//! integers.

/// What OpenSSH treats as white space between a keyword and its value.
const WHITESPACE: [char; 4] = [' ', '\t', '\r', '\n'];

/// `strdelim`: the next token of `s` and the rest after its delimiter (white space, one `=`,
/// or a double-quoted token). `None` when a quote is not closed.
fn strdelim(s: &str) -> Option<(String, &str)> {
    let Some(at) = s.find(|c: char| WHITESPACE.contains(&c) || c == '"' || c == '=') else {
        return Some((s.to_owned(), ""));
    };
    let (token, tail) = s.split_at(at);
    if let Some(quoted) = tail.strip_prefix('"') {
        let (inside, after) = quoted.split_once('"')?;
        return Some((
            format!("{token}{inside}"),
            after.trim_start_matches(WHITESPACE),
        ));
    }
    let (equals, after) = match tail.strip_prefix('=') {
        Some(after) => (true, after),
        None => (false, tail.get(1..).unwrap_or_default()),
    };
    let rest = after.trim_start_matches(WHITESPACE);
    if !equals && let Some(after_equals) = rest.strip_prefix('=') {
        return Some((
            token.to_owned(),
            after_equals.trim_start_matches(WHITESPACE),
        ));
    }
    Some((token.to_owned(), rest))
}

/// A line's keyword and the text of its arguments, as sshd splits it; `None` for blank and
/// comment lines (and lines sshd skips).
pub(crate) fn split_line(raw: &str) -> Option<(String, &str)> {
    let line = raw
        .trim_end_matches([' ', '\t', '\r', '\n', '\x0c'])
        .trim_start_matches([' ', '\t', '\r']);
    if line.is_empty() {
        return None;
    }
    let (mut keyword, mut rest) = strdelim(line)?;
    // A line starting with `=` is read as if the `=` were white space.
    if keyword.is_empty() {
        (keyword, rest) = strdelim(rest)?;
    }
    if keyword.is_empty() || keyword.starts_with('#') {
        return None;
    }
    Some((keyword, rest))
}

/// `argv_split` with comments: arguments separated by spaces or tabs; `"` and `'` quote;
/// a backslash escapes `\`, `"`, `'` (and a space outside quotes) and is kept before any
/// other character; an argument starting with `#` starts a comment. `None` for an unclosed
/// quote.
pub(crate) fn split_args(text: &str) -> Option<Vec<String>> {
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        match chars.peek() {
            None | Some('#') => break,
            Some(_) => {}
        }
        let mut arg = String::new();
        let mut quote: Option<char> = None;
        loop {
            let Some(c) = chars.next() else {
                if quote.is_some() {
                    return None;
                }
                break;
            };
            match c {
                '\\' => {
                    let escaped = chars.next_if(|n| {
                        matches!(n, '\\' | '"' | '\'') || (quote.is_none() && *n == ' ')
                    });
                    arg.push(escaped.unwrap_or('\\'));
                }
                ' ' | '\t' if quote.is_none() => break,
                '"' | '\'' if quote.is_none() => quote = Some(c),
                _ if quote == Some(c) => quote = None,
                _ => arg.push(c),
            }
        }
        args.push(arg);
    }
    Some(args)
}

/// The longest run of ASCII digits at the start of `s`, after `strtol`'s optional white space
/// and sign; `None` when there are no digits. The value saturates.
fn strtol(s: &str) -> Option<(i64, &str)> {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, rest) = s.split_at(end);
    if digits.is_empty() {
        return None;
    }
    let value = digits.bytes().fold(0_i64, |acc, d| {
        acc.saturating_mul(10)
            .saturating_add(i64::from(d.saturating_sub(b'0')))
    });
    Some((
        if negative {
            value.saturating_neg()
        } else {
            value
        },
        rest,
    ))
}

/// `convtime`: a time value in seconds. A value is a sequence of numbers each followed by
/// an optional unit (`s`, `m`, `h`, `d`, `w`, either case); a bare number is seconds.
/// `None` for anything sshd rejects, including totals above `INT_MAX`.
pub(crate) fn convtime(s: &str) -> Option<i64> {
    const LIMIT: i64 = i32::MAX as i64;
    if s.is_empty() {
        return None;
    }
    let mut total = 0_i64;
    let mut rest = s;
    while !rest.is_empty() {
        let (seconds, after) = strtol(rest)?;
        if !(0..=LIMIT).contains(&seconds) {
            return None;
        }
        let mut units = after.chars();
        let multiplier = match units.next() {
            None | Some('s' | 'S') => 1,
            Some('m' | 'M') => 60,
            Some('h' | 'H') => 3_600,
            Some('d' | 'D') => 86_400,
            Some('w' | 'W') => 604_800,
            Some(_) => return None,
        };
        let part = seconds.checked_mul(multiplier).filter(|p| *p <= LIMIT)?;
        total = total.checked_add(part).filter(|t| *t <= LIMIT)?;
        rest = units.as_str();
    }
    Some(total)
}

/// `atoi_err`: a whole decimal number from 0 to `INT_MAX`, and nothing else.
pub(crate) fn integer(s: &str) -> Option<i64> {
    match strtol(s)? {
        (value, "") if (0..=i64::from(i32::MAX)).contains(&value) => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        split_args(text).unwrap()
    }

    #[test]
    fn keywords_split_on_white_space_or_one_equals_sign() {
        for line in [
            "PermitRootLogin no",
            "PermitRootLogin=no",
            "PermitRootLogin = no",
            "  PermitRootLogin\tno  ",
            "=PermitRootLogin no",
            "\"PermitRootLogin\" no",
        ] {
            let (keyword, rest) = split_line(line).unwrap();
            assert_eq!(
                (keyword.as_str(), rest),
                ("PermitRootLogin", "no"),
                "{line}"
            );
        }
        // Only one `=` is a separator.
        assert_eq!(split_line("Banner==x").unwrap().1, "=x");
        assert_eq!(split_line("Banner = = x").unwrap().1, "= x");
        assert_eq!(split_line("PermitRootLogin").unwrap().1, "");
        assert!(split_line("   # comment").is_none());
        assert!(split_line("#PermitRootLogin no").is_none());
        assert!(split_line(" \t\r").is_none());
        assert!(split_line("\"unclosed no").is_none());
    }

    #[test]
    fn arguments_split_like_argv_split() {
        assert_eq!(args("a b\tc"), ["a", "b", "c"]);
        assert_eq!(args("\"a b\" 'c d'"), ["a b", "c d"]);
        assert_eq!(args("a\"b c\"d"), ["ab cd"]);
        assert_eq!(args("a # comment"), ["a"]);
        assert_eq!(args("a#b"), ["a#b"]);
        assert_eq!(args("\"\""), [""]);
        // Escapes: only backslash, quotes, and a space outside quotes.
        assert_eq!(args(r"a\ b"), ["a b"]);
        assert_eq!(args(r#""a\ b""#), [r"a\ b"]);
        assert_eq!(args(r"a\tb"), [r"a\tb"]);
        assert_eq!(args(r#""a\\b""#), [r"a\b"]);
        assert_eq!(args(r#"'a"b'"#), ["a\"b"]);
        assert_eq!(args(r#""a\"b""#), ["a\"b"]);
        assert_eq!(args(r"a\"), [r"a\"]);
        assert_eq!(args(r"\#a"), [r"\#a"]);
        assert!(split_args("\"unclosed").is_none());
        assert!(split_args("'unclosed\\'").is_none());
    }

    #[test]
    fn time_values_follow_convtime() {
        assert_eq!(convtime("300"), Some(300));
        assert_eq!(convtime("5m"), Some(300));
        assert_eq!(convtime("1m30s"), Some(90));
        assert_eq!(convtime("1h"), Some(3600));
        assert_eq!(convtime("2d"), Some(172_800));
        assert_eq!(convtime("1w"), Some(604_800));
        assert_eq!(convtime("1H1M1S"), Some(3661));
        assert_eq!(convtime("0"), Some(0));
        assert_eq!(convtime("90m"), Some(5400));
        for bad in ["", "m", "5x", "-1", "5mm", "1.5m", "4000w", "99999999999"] {
            assert_eq!(convtime(bad), None, "{bad}");
        }
    }

    #[test]
    fn integers_follow_atoi_err() {
        assert_eq!(integer("4"), Some(4));
        assert_eq!(integer("04"), Some(4));
        assert_eq!(integer("+4"), Some(4));
        assert_eq!(integer("2147483647"), Some(2_147_483_647));
        for bad in ["", "4x", "-1", "2147483648", "four"] {
            assert_eq!(integer(bad), None, "{bad}");
        }
    }
}
