//! The effective OpenSSH server configuration, computed as `sshd` computes it.
//!
//! Semantics follow `sshd_config(5)` and OpenSSH's `servconf.c` and `misc.c`:
//! - keywords are case-insensitive; `Keyword value`, `Keyword=value` and `Keyword = value`
//!   are the same; arguments are split as `argv_split` splits them: `"` and `'` quote, a
//!   backslash escapes only `\`, `"`, `'` and (outside quotes) a space, and an argument
//!   starting with `#` starts a comment;
//! - values are checked as sshd checks them: `PermitRootLogin no#x` or a second argument
//!   where one is expected is a problem, and the setting is then unknown, never guessed;
//!   time values (`5m`, `1m30s`) are read as `convtime` reads them and kept in seconds, as
//!   `sshd -T` prints them;
//! - for most keywords the **first** value obtained wins; `Port`, `ListenAddress`,
//!   `HostKey`, `HostCertificate`, `AcceptEnv`, `AllowUsers`, `DenyUsers`, `AllowGroups`
//!   and `DenyGroups` accumulate; each `Subsystem` name is defined once (its first line);
//!   `MaxStartups`, `PerSourceMaxStartups`, `PerSourceNetBlockSize`, `IPQoS` and
//!   `StreamLocalBindMask` take their **last** value;
//! - `Ciphers`, `MACs`, `KexAlgorithms`, `HostKeyAlgorithms`, `PubkeyAcceptedAlgorithms`,
//!   `HostbasedAcceptedAlgorithms` and `CASignatureAlgorithms` accept a list, or one
//!   starting with `+` (append to the default), `-` (remove patterns from the default) or
//!   `^` (put at the head of the default), resolved against OpenSSH 9.6's lists
//!   (see `algorithms.rs`);
//! - `Include` expands globs (relative paths are under `/etc/ssh`) in lexical order, in
//!   place, up to 16 levels deep; a pattern that matches nothing is not an error; an included
//!   file continues the section it is included from, and a `Match` inside it ends with it;
//! - a `Match` block lasts until the next `Match` or the end of the file it is in. Its lines
//!   do not change the startup configuration, but for a connection it matches they
//!   **override** it: within a block the first value wins, and the values of matching blocks
//!   (in file order) replace the global ones. `Match all` matches every connection, so its
//!   lines apply globally and override earlier global lines for the keywords a `Match` block
//!   may set. A `Match` inside a file included from a block applies when both match;
//! - keywords never set take OpenSSH's built-in defaults (OpenSSH 9.6).

mod algorithms;
mod keywords;
mod lexer;

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;

use keywords::{Keyword, Kind};

/// Where the config files come from; implemented by the root filesystem and by tests.
pub trait ConfigSource {
    /// The text of an absolute path, or why it cannot be read.
    fn read(&self, path: &str) -> Result<String, String>;
    /// Paths matching a glob pattern, sorted, or why a folder could not be listed.
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String>;
}

/// One setting as written in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Setting {
    /// The effective value it gives, as `sshd -T` prints it.
    pub value: String,
    /// The file it was read from.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
}

/// A `Match` block and what it sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MatchBlock {
    /// The criteria, as written after `Match` (with those of the enclosing block when the
    /// block is in a file included from another block).
    pub criteria: String,
    /// The file of the `Match` line.
    pub file: String,
    /// Its line number.
    pub line: usize,
    /// What a connection matching the block gets for each keyword the block sets: the
    /// block's own value (first wins within the block), unless a `Match all` line before it
    /// already set the keyword.
    pub settings: BTreeMap<String, String>,
}

/// A line sshd would reject or warn about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ConfigProblem {
    /// The file.
    pub file: String,
    /// 1-based line number (0 for the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The effective sshd configuration for a connection that matches no `Match` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshdConfig {
    /// Every known keyword (lower case) with its effective value; accumulating keywords
    /// have their values joined by spaces, `Subsystem` entries by `; `.
    pub effective: BTreeMap<String, String>,
    /// The keywords set explicitly for every connection, with the line that set them.
    pub explicit: BTreeMap<String, Setting>,
    /// `Match` blocks in order.
    pub match_blocks: Vec<MatchBlock>,
    /// Files read, in order.
    pub files: Vec<String>,
    /// Lines sshd would reject.
    pub problems: Vec<ConfigProblem>,
    /// Keywords whose effective value cannot be known because sshd would reject the line
    /// that sets it, with the reason; they are absent from `effective`.
    pub unknown: BTreeMap<String, String>,
    /// Files and folders the configuration names that could not be read, with the reason:
    /// what they set is unknown, so the effective configuration is too.
    pub unreadable: Vec<String>,
}

const MAX_INCLUDE_DEPTH: usize = 16;

/// OpenSSH 9.6 built-in defaults, as `sshd -T` prints them (lower-case keys). The algorithm
/// lists are in `algorithms.rs`.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("acceptenv", ""),
    ("addressfamily", "any"),
    ("allowagentforwarding", "yes"),
    ("allowgroups", ""),
    ("allowstreamlocalforwarding", "yes"),
    ("allowtcpforwarding", "yes"),
    ("allowusers", ""),
    ("authenticationmethods", "any"),
    (
        "authorizedkeysfile",
        ".ssh/authorized_keys .ssh/authorized_keys2",
    ),
    ("banner", "none"),
    ("clientalivecountmax", "3"),
    ("clientaliveinterval", "0"),
    ("compression", "yes"),
    ("denygroups", ""),
    ("denyusers", ""),
    ("disableforwarding", "no"),
    ("fingerprinthash", "SHA256"),
    ("gatewayports", "no"),
    ("gssapiauthentication", "no"),
    ("hostbasedauthentication", "no"),
    ("hostbasedusesnamefrompacketonly", "no"),
    (
        "hostkey",
        "/etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ed25519_key",
    ),
    ("ignorerhosts", "yes"),
    ("ignoreuserknownhosts", "no"),
    ("kbdinteractiveauthentication", "yes"),
    ("kerberosauthentication", "no"),
    ("listenaddress", "0.0.0.0 ::"),
    ("logingracetime", "120"),
    ("loglevel", "INFO"),
    ("maxauthtries", "6"),
    ("maxsessions", "10"),
    ("maxstartups", "10:30:100"),
    ("passwordauthentication", "yes"),
    ("permitemptypasswords", "no"),
    ("permitopen", "any"),
    ("permitrootlogin", "prohibit-password"),
    ("permittty", "yes"),
    ("permittunnel", "no"),
    ("permituserenvironment", "no"),
    ("permituserrc", "yes"),
    ("port", "22"),
    ("printlastlog", "yes"),
    ("printmotd", "yes"),
    ("pubkeyauthentication", "yes"),
    ("rekeylimit", "default none"),
    ("strictmodes", "yes"),
    ("subsystem", ""),
    ("syslogfacility", "AUTH"),
    ("tcpkeepalive", "yes"),
    ("usedns", "no"),
    ("usepam", "no"),
    ("x11displayoffset", "10"),
    ("x11forwarding", "no"),
    ("x11uselocalhost", "yes"),
];

/// The defaults, algorithm lists included.
fn defaults() -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = DEFAULTS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for keyword in keywords::KEYWORDS.iter().filter(|k| k.name == k.sets) {
        if let Kind::Algorithms(family) = keyword.kind {
            map.insert(keyword.name.to_owned(), family.default_list());
        }
    }
    map
}

/// Normalises a value of `sshd -T` output: keyword-like values in lower case, and the old
/// spelling `without-password` as `prohibit-password`.
pub fn normalise(keyword: &str, value: &str) -> String {
    let keeps_case = matches!(
        keyword,
        "banner"
            | "authorizedkeysfile"
            | "authorizedkeyscommand"
            | "authorizedprincipalsfile"
            | "chrootdirectory"
            | "forcecommand"
            | "hostkey"
            | "hostcertificate"
            | "pidfile"
            | "revokedkeys"
            | "trustedusercakeys"
            | "subsystem"
            | "allowusers"
            | "denyusers"
            | "allowgroups"
            | "denygroups"
            | "acceptenv"
            | "setenv"
            | "xauthlocation"
            | "modulifile"
            | "versionaddendum"
            | "authorizedkeyscommanduser"
            | "permituserenvironment"
            | "loglevel"
            | "syslogfacility"
            | "fingerprinthash"
    );
    let value = if keeps_case {
        value.to_owned()
    } else {
        value.to_ascii_lowercase()
    };
    if keyword == "permitrootlogin" && value == "without-password" {
        return "prohibit-password".to_owned();
    }
    match keyword {
        "loglevel" | "syslogfacility" | "fingerprinthash" => value.to_ascii_uppercase(),
        _ => value,
    }
}

/// Which connections a line applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Outside any `Match`: the startup configuration.
    Global,
    /// After `Match all`: the startup configuration, and an override for every connection.
    All,
    /// Inside `Match` block `n`: connections it matches.
    Block(usize),
}

/// A value read from one line.
#[derive(Debug, Clone)]
enum Value {
    /// One value, already normalised (an algorithm list is kept as written until resolved).
    One(String),
    /// Arguments, kept as written.
    Many(Vec<String>),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::One(v) => v.clone(),
            Value::Many(args) => args.join(" "),
        }
    }
}

/// One setting line.
#[derive(Debug, Clone)]
struct Line {
    context: Context,
    keyword: &'static Keyword,
    /// The value, or why sshd rejects it.
    value: Result<Value, String>,
    file: String,
    number: usize,
}

/// The value several lines give one keyword.
#[derive(Debug, Clone)]
struct Folded {
    value: Result<String, String>,
    file: String,
    line: usize,
}

/// Combines lines in order: first wins, last wins or accumulate, by keyword.
fn fold<'l>(lines: impl Iterator<Item = &'l Line>) -> BTreeMap<&'static str, Folded> {
    let mut out: BTreeMap<&'static str, Folded> = BTreeMap::new();
    for line in lines {
        let keyword = line.keyword;
        let value = line.value.as_ref().map(Value::text).map_err(Clone::clone);
        let Some(entry) = out.get_mut(keyword.sets) else {
            out.insert(
                keyword.sets,
                Folded {
                    value,
                    file: line.file.clone(),
                    line: line.number,
                },
            );
            continue;
        };
        if keyword.accumulates() {
            let separator = if keyword.kind == Kind::Subsystem {
                "; "
            } else {
                " "
            };
            if let (Ok(so_far), Ok(more)) = (&mut entry.value, &value) {
                so_far.push_str(separator);
                so_far.push_str(more);
            } else if entry.value.is_ok() {
                entry.value = value;
            }
        } else if keyword.last_wins() {
            *entry = Folded {
                value,
                file: line.file.clone(),
                line: line.number,
            };
        }
    }
    out
}

/// The value sshd uses for a folded setting: algorithm lists resolved against the defaults.
fn resolve(keyword: &str, value: Result<String, String>) -> Result<String, String> {
    let value = value?;
    match keywords::by_effective_name(keyword).map(|k| k.kind) {
        Some(Kind::Algorithms(family)) => family.resolve(&value),
        _ => Ok(value),
    }
}

/// Exactly one argument.
fn one<'a>(keyword: &str, args: &'a [String]) -> Result<&'a str, String> {
    match args {
        [arg] => Ok(arg),
        [] => Err(format!("{keyword}: missing argument")),
        _ => Err(format!("{keyword}: extra arguments at end of line")),
    }
}

/// Reads the value of one line as sshd does; `Ok(None)` for ignored keywords.
fn read_value(
    keyword: &Keyword,
    written: &str,
    args: &[String],
    rest: &str,
) -> Result<Option<Value>, String> {
    let unsupported = |arg: &str| format!("{written}: unsupported value `{arg}`");
    let arity = |min: usize, max: usize| {
        if args.len() < min {
            Err(format!("{written}: missing argument"))
        } else if args.len() > max {
            Err(format!("{written}: extra arguments at end of line"))
        } else {
            Ok(Some(Value::Many(args.to_vec())))
        }
    };
    let value = match keyword.kind {
        Kind::Flag => {
            let arg = one(written, args)?;
            ["yes", "no"]
                .into_iter()
                .find(|v| arg.eq_ignore_ascii_case(v))
                .map(str::to_owned)
                .ok_or_else(|| unsupported(arg))?
        }
        Kind::Choice(table) => {
            let arg = one(written, args)?;
            table
                .iter()
                .find(|(accepted, _)| arg.eq_ignore_ascii_case(accepted))
                .map(|(_, printed)| (*printed).to_owned())
                .ok_or_else(|| unsupported(arg))?
        }
        Kind::ExactChoice(list) => {
            let arg = one(written, args)?;
            if !list.contains(&arg) {
                return Err(unsupported(arg));
            }
            arg.to_owned()
        }
        Kind::Integer => {
            let arg = one(written, args)?;
            lexer::integer(arg)
                .ok_or_else(|| format!("{written}: invalid integer `{arg}`"))?
                .to_string()
        }
        Kind::Time => {
            let arg = one(written, args)?;
            lexer::convtime(arg)
                .ok_or_else(|| format!("{written}: invalid time value `{arg}`"))?
                .to_string()
        }
        Kind::Algorithms(family) => {
            let arg = one(written, args)?;
            family
                .validate(arg)
                .map_err(|why| format!("{written}: {why}"))?;
            arg.to_owned()
        }
        Kind::Text | Kind::LastText | Kind::YesNoOrPatterns => one(written, args)?.to_owned(),
        Kind::Words { min, max } | Kind::LastWords { min, max } => return arity(min, max),
        Kind::Repeat { min, max } => {
            if keyword.sets == "port" {
                let port = one(written, args)?;
                if !lexer::integer(port).is_some_and(|p| (1..=65_535).contains(&p)) {
                    return Err(format!("{written}: badly formatted port number `{port}`"));
                }
            }
            return arity(min, max);
        }
        Kind::List => {
            if let Some(bad) = args
                .iter()
                .find(|a| a.is_empty() || (keyword.sets == "acceptenv" && a.contains('=')))
            {
                return Err(format!("{written}: invalid pattern `{bad}`"));
            }
            return arity(1, usize::MAX);
        }
        Kind::Rest => {
            let text = if keyword.sets == "versionaddendum" {
                rest.split('#').next().unwrap_or_default().trim_end()
            } else {
                rest
            };
            if keyword.sets.ends_with("command")
                && !text.starts_with('/')
                && !text.eq_ignore_ascii_case("none")
            {
                return Err(format!("{written}: must be an absolute path"));
            }
            text.to_owned()
        }
        Kind::Subsystem => {
            let [name, command @ ..] = args else {
                return Err(format!("{written}: missing argument"));
            };
            if command.is_empty() {
                return Err(format!("{written}: missing subsystem command"));
            }
            format!("{name} {}", command.join(" "))
        }
        Kind::Ignored => return Ok(None),
    };
    Ok(Some(Value::One(value)))
}

/// `Match` attributes that take an argument.
const MATCH_ATTRIBUTES: &[&str] = &[
    "user",
    "group",
    "host",
    "address",
    "localaddress",
    "localport",
    "rdomain",
];

struct Parser<'a> {
    source: &'a dyn ConfigSource,
    config: SshdConfig,
    lines: Vec<Line>,
    /// For each block, the blocks it is nested in (through an `Include` inside a block).
    enclosing: Vec<Vec<usize>>,
    /// Subsystem names defined for every connection.
    subsystems: BTreeSet<String>,
}

impl Parser<'_> {
    fn problem(&mut self, file: &str, line: usize, message: impl Into<String>) {
        self.config.problems.push(ConfigProblem {
            file: file.to_owned(),
            line,
            message: message.into(),
        });
    }

    /// Parses `path`, whose lines start in `start` (the section it is included from).
    fn parse_file(&mut self, path: &str, depth: usize, start: Context) {
        let text = match self.source.read(path) {
            Ok(text) => text,
            Err(reason) => {
                self.problem(path, 0, format!("cannot read: {reason}"));
                self.config.unreadable.push(format!("{path}: {reason}"));
                return;
            }
        };
        self.config.files.push(path.to_owned());
        let mut context = start;
        for (index, raw_line) in text.split('\n').enumerate() {
            let line_no = index.saturating_add(1);
            let Some((keyword, rest)) = lexer::split_line(raw_line) else {
                continue;
            };
            if rest.is_empty() {
                self.problem(
                    path,
                    line_no,
                    format!("{keyword}: no argument after keyword"),
                );
                continue;
            }
            let known = keywords::lookup(&keyword);
            let is_match = keyword.eq_ignore_ascii_case("match");
            let is_include = keyword.eq_ignore_ascii_case("include");
            if known.is_none() && !is_match && !is_include {
                self.problem(
                    path,
                    line_no,
                    format!("{keyword}: bad configuration option"),
                );
                continue;
            }
            let Some(args) = lexer::split_args(rest) else {
                self.problem(path, line_no, format!("{keyword}: unbalanced quotes"));
                continue;
            };
            if is_match {
                context = self.match_line(path, line_no, &args, start);
                continue;
            }
            if is_include {
                self.include(path, line_no, &args, depth, context);
                continue;
            }
            let Some(known) = known else { continue };
            self.setting(known, &keyword, &args, rest, context, (path, line_no));
        }
    }

    fn setting(
        &mut self,
        keyword: &'static Keyword,
        written: &str,
        args: &[String],
        rest: &str,
        context: Context,
        (path, line): (&str, usize),
    ) {
        if matches!(context, Context::Block(_)) && !keyword.in_match {
            self.problem(
                path,
                line,
                format!("{written}: not allowed within a Match block"),
            );
            return;
        }
        let value = match read_value(keyword, written, args, rest) {
            Ok(None) => return,
            Ok(Some(value)) => Ok(value),
            Err(why) => {
                self.problem(path, line, why.clone());
                Err(format!("{path}:{line}: {why}"))
            }
        };
        if keyword.kind == Kind::Subsystem
            && let (Some(name), Ok(_)) = (args.first(), &value)
            && !self.subsystems.insert(name.clone())
        {
            self.problem(
                path,
                line,
                format!("{written}: subsystem `{name}` already defined"),
            );
            return;
        }
        self.lines.push(Line {
            context,
            keyword,
            value,
            file: path.to_owned(),
            number: line,
        });
    }

    /// Handles a `Match` line in a file that started in `start`; returns the new section.
    fn match_line(&mut self, path: &str, line: usize, args: &[String], start: Context) -> Context {
        if args.is_empty() {
            self.problem(path, line, "Match: missing criteria");
        }
        let all = args.first().is_some_and(|a| a.eq_ignore_ascii_case("all"));
        if all && args.len() > 1 {
            self.problem(
                path,
                line,
                "Match: `all` cannot be combined with other criteria",
            );
        }
        let mut words = args.iter();
        while let Some(attribute) = words.next() {
            if MATCH_ATTRIBUTES
                .iter()
                .any(|a| attribute.eq_ignore_ascii_case(a))
                && words.next().is_none()
            {
                self.problem(
                    path,
                    line,
                    format!("Match: missing criteria for `{attribute}`"),
                );
            }
        }
        if all && args.len() == 1 {
            // Every connection matches: inside an included block it is that block again.
            return match start {
                Context::Block(outer) => Context::Block(outer),
                Context::Global | Context::All => Context::All,
            };
        }
        let mut criteria = args.join(" ");
        let mut enclosing = Vec::new();
        if let Context::Block(outer) = start
            && let Some(block) = self.config.match_blocks.get(outer)
        {
            criteria = format!("{} {criteria}", block.criteria);
            enclosing.push(outer);
            enclosing.extend(self.enclosing.get(outer).into_iter().flatten().copied());
        }
        self.config.match_blocks.push(MatchBlock {
            criteria,
            file: path.to_owned(),
            line,
            settings: BTreeMap::new(),
        });
        self.enclosing.push(enclosing);
        Context::Block(self.config.match_blocks.len().saturating_sub(1))
    }

    fn include(
        &mut self,
        file: &str,
        line: usize,
        patterns: &[String],
        depth: usize,
        context: Context,
    ) {
        if depth >= MAX_INCLUDE_DEPTH {
            self.problem(file, line, "Include: too many nested includes");
            return;
        }
        if patterns.is_empty() {
            self.problem(file, line, "Include: missing file name");
        }
        for pattern in patterns {
            if pattern.is_empty() {
                self.problem(file, line, "Include: empty argument");
                return;
            }
            let pattern = if pattern.starts_with('/') || pattern.starts_with('~') {
                pattern.clone()
            } else {
                format!("/etc/ssh/{pattern}")
            };
            match self.source.glob(&pattern) {
                Ok(paths) => {
                    for path in paths {
                        self.parse_file(&path, depth.saturating_add(1), context);
                    }
                }
                Err(reason) => {
                    self.problem(
                        file,
                        line,
                        format!("Include: cannot expand `{pattern}`: {reason}"),
                    );
                    self.config.unreadable.push(reason);
                }
            }
        }
    }

    /// Computes the effective configuration and each block's settings from the lines read.
    fn finish(mut self) -> SshdConfig {
        // The startup configuration: global lines and `Match all` lines, in order.
        let startup = fold(
            self.lines
                .iter()
                .filter(|l| matches!(l.context, Context::Global | Context::All)),
        );
        // Every connection matches `Match all`, so its values replace the startup ones for
        // keywords a Match block may set.
        let every_connection = fold(
            self.lines
                .iter()
                .filter(|l| l.context == Context::All && l.keyword.in_match),
        );
        let mut chosen = startup;
        chosen.extend(every_connection);
        let mut effective = defaults();
        for (keyword, folded) in chosen {
            match resolve(keyword, folded.value) {
                Ok(value) => {
                    effective.insert(keyword.to_owned(), value.clone());
                    self.config.explicit.insert(
                        keyword.to_owned(),
                        Setting {
                            value,
                            file: folded.file,
                            line: folded.line,
                        },
                    );
                }
                Err(why) => {
                    effective.remove(keyword);
                    self.config.unknown.insert(keyword.to_owned(), why);
                }
            }
        }
        self.config.effective = effective;
        for (index, block) in self.config.match_blocks.iter_mut().enumerate() {
            let enclosing = self.enclosing.get(index).cloned().unwrap_or_default();
            let applies = |context: Context| match context {
                Context::All => true,
                Context::Block(b) => b == index || enclosing.contains(&b),
                Context::Global => false,
            };
            let own: BTreeSet<&str> = self
                .lines
                .iter()
                .filter(|l| l.context == Context::Block(index))
                .map(|l| l.keyword.sets)
                .collect();
            let view = fold(
                self.lines
                    .iter()
                    .filter(|l| l.keyword.in_match && applies(l.context)),
            );
            block.settings = view
                .into_iter()
                .filter(|(keyword, _)| own.contains(keyword))
                .filter_map(|(keyword, folded)| {
                    resolve(keyword, folded.value)
                        .ok()
                        .map(|v| (keyword.to_owned(), v))
                })
                .collect();
        }
        self.config
    }
}

/// Parses `main` (usually `/etc/ssh/sshd_config`) and what it includes.
pub fn parse(source: &dyn ConfigSource, main: &str) -> SshdConfig {
    let mut parser = Parser {
        source,
        config: SshdConfig::default(),
        lines: Vec::new(),
        enclosing: Vec::new(),
        subsystems: BTreeSet::new(),
    };
    parser.parse_file(main, 0, Context::Global);
    parser.finish()
}

/// Parses `sshd -T` output (`keyword value` lines) into effective values.
pub fn parse_dump(text: &str) -> BTreeMap<String, String> {
    let mut effective: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        let Some((keyword, value)) = line.trim().split_once(' ') else {
            continue;
        };
        let keyword = keyword.to_ascii_lowercase();
        let value = normalise(&keyword, value.trim());
        let known = keywords::by_effective_name(&keyword);
        effective
            .entry(keyword)
            .and_modify(|v| {
                if let Some(k) = known.filter(|k| k.accumulates()) {
                    v.push_str(if k.kind == Kind::Subsystem { "; " } else { " " });
                    v.push_str(&value);
                }
            })
            .or_insert(value);
    }
    effective
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Files(BTreeMap<String, String>);

    impl ConfigSource for Files {
        fn read(&self, path: &str) -> Result<String, String> {
            self.0.get(path).cloned().ok_or_else(|| "absent".to_owned())
        }
        fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
            if pattern.starts_with("/unreadable/") {
                return Err("/unreadable: permission denied".to_owned());
            }
            let matcher = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .unwrap()
                .compile_matcher();
            Ok(self
                .0
                .keys()
                .filter(|k| matcher.is_match(k.as_str()))
                .cloned()
                .collect())
        }
    }

    fn files(entries: &[(&str, &str)]) -> Files {
        Files(
            entries
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn effective(entries: &[(&str, &str)]) -> SshdConfig {
        parse(&files(entries), "/etc/ssh/sshd_config")
    }

    fn main_only(text: &str) -> SshdConfig {
        effective(&[("/etc/ssh/sshd_config", text)])
    }

    fn problems(config: &SshdConfig) -> Vec<(usize, &str)> {
        config
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = main_only("");
        assert_eq!(config.effective["permitrootlogin"], "prohibit-password");
        assert_eq!(config.effective["passwordauthentication"], "yes");
        assert_eq!(config.effective["maxauthtries"], "6");
        assert_eq!(
            config.effective["ciphers"],
            "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
        );
        assert!(config.effective["pubkeyacceptedalgorithms"].starts_with("ssh-ed25519-cert"));
        assert!(config.explicit.is_empty());
        assert!(config.problems.is_empty());
        assert!(config.unknown.is_empty());
    }

    #[test]
    fn first_value_wins_and_keywords_ignore_case() {
        let config = main_only(
            "PERMITROOTLOGIN no\npermitrootlogin yes\nPermitRootLogin=without-password\nMaxAuthTries = 3\n",
        );
        assert_eq!(config.effective["permitrootlogin"], "no");
        assert_eq!(config.explicit["permitrootlogin"].line, 1);
        assert_eq!(config.effective["maxauthtries"], "3");
    }

    #[test]
    fn includes_expand_in_place_in_lexical_order_and_relative_to_etc_ssh() {
        let config = effective(&[
            (
                "/etc/ssh/sshd_config",
                "Include sshd_config.d/*.conf\nPasswordAuthentication yes\nPermitRootLogin yes\n",
            ),
            (
                "/etc/ssh/sshd_config.d/50-cloud-init.conf",
                "PasswordAuthentication yes\n",
            ),
            (
                "/etc/ssh/sshd_config.d/10-hardening.conf",
                "PermitRootLogin no\nPasswordAuthentication no\n",
            ),
            ("/etc/ssh/sshd_config.d/README", "PermitRootLogin yes\n"),
        ]);
        // 10-hardening comes before 50-cloud-init, and both before the lines after Include.
        assert_eq!(config.effective["permitrootlogin"], "no");
        assert_eq!(config.effective["passwordauthentication"], "no");
        assert_eq!(
            config.explicit["permitrootlogin"].file,
            "/etc/ssh/sshd_config.d/10-hardening.conf"
        );
        assert_eq!(
            config.files,
            [
                "/etc/ssh/sshd_config",
                "/etc/ssh/sshd_config.d/10-hardening.conf",
                "/etc/ssh/sshd_config.d/50-cloud-init.conf"
            ]
        );
    }

    #[test]
    fn an_include_after_a_setting_does_not_override_it() {
        let config = effective(&[
            (
                "/etc/ssh/sshd_config",
                "PermitRootLogin no\nInclude /etc/ssh/extra.conf\n",
            ),
            ("/etc/ssh/extra.conf", "PermitRootLogin yes\n"),
        ]);
        assert_eq!(config.effective["permitrootlogin"], "no");
    }

    #[test]
    fn match_blocks_do_not_change_the_global_settings() {
        let config = main_only(
            "PasswordAuthentication no\nMatch User backup\n  PermitRootLogin yes\n  PasswordAuthentication yes\nMatch Address 10.0.0.0/8\n  X11Forwarding yes\n",
        );
        assert_eq!(config.effective["permitrootlogin"], "prohibit-password");
        assert_eq!(config.effective["passwordauthentication"], "no");
        assert_eq!(config.effective["x11forwarding"], "no");
        assert_eq!(config.match_blocks.len(), 2);
        assert_eq!(config.match_blocks[0].criteria, "User backup");
        assert_eq!(config.match_blocks[0].settings["permitrootlogin"], "yes");
        assert_eq!(config.match_blocks[1].settings["x11forwarding"], "yes");
    }

    /// A block that sets what the global section already set overrides it for the
    /// connections it matches, directly or through an `Include` inside the block.
    #[test]
    fn a_match_block_overriding_a_global_setting_keeps_its_value() {
        let direct = main_only(
            "PasswordAuthentication no\nMatch User bob\n  PasswordAuthentication yes\n  PasswordAuthentication no\n",
        );
        assert_eq!(direct.effective["passwordauthentication"], "no");
        assert_eq!(
            direct.match_blocks[0].settings["passwordauthentication"],
            "yes"
        );
        let included = effective(&[
            (
                "/etc/ssh/sshd_config",
                "PasswordAuthentication no\nPermitRootLogin no\nMatch User bob\n  Include /etc/ssh/bob.conf\n  PermitRootLogin yes\n",
            ),
            (
                "/etc/ssh/bob.conf",
                "PasswordAuthentication yes\nX11Forwarding yes\n",
            ),
        ]);
        assert_eq!(included.effective["passwordauthentication"], "no");
        assert_eq!(included.effective["permitrootlogin"], "no");
        let bob = &included.match_blocks[0].settings;
        assert_eq!(bob["passwordauthentication"], "yes");
        assert_eq!(bob["x11forwarding"], "yes");
        assert_eq!(bob["permitrootlogin"], "yes");
        assert!(included.problems.is_empty(), "{:?}", included.problems);
    }

    #[test]
    fn match_all_returns_to_the_global_section() {
        let config = main_only(
            "Match User backup\n  PasswordAuthentication yes\nMatch All\nPasswordAuthentication no\nPermitRootLogin no\n",
        );
        assert_eq!(config.effective["passwordauthentication"], "no");
        assert_eq!(config.effective["permitrootlogin"], "no");
        assert_eq!(config.match_blocks.len(), 1);
        assert_eq!(
            config.match_blocks[0].settings["passwordauthentication"],
            "yes"
        );
    }

    /// `Match all` lines are applied for every connection after the startup configuration,
    /// so they win over earlier global lines (as `sshd -T` shows), for keywords a Match
    /// block may set; global-only keywords keep first-value-wins.
    #[test]
    fn match_all_overrides_earlier_global_values() {
        let config = main_only(
            "PasswordAuthentication no\nAllowUsers x\nCiphers aes256-ctr\nPort 22\nMatch all\nPasswordAuthentication yes\nAllowUsers c\nCiphers aes128-ctr\nPort 2222\n",
        );
        assert_eq!(config.effective["passwordauthentication"], "yes");
        assert_eq!(config.explicit["passwordauthentication"].line, 6);
        assert_eq!(config.effective["allowusers"], "c");
        assert_eq!(config.effective["ciphers"], "aes256-ctr");
        assert_eq!(config.effective["port"], "22 2222");
        assert!(config.match_blocks.is_empty());
    }

    /// For a connection matching a block, an earlier `Match all` value is obtained first.
    #[test]
    fn an_earlier_match_all_value_shadows_a_later_block() {
        let config = main_only(
            "Match all\nPasswordAuthentication no\nMatch User bob\nPasswordAuthentication yes\nX11Forwarding yes\n",
        );
        assert_eq!(
            config.match_blocks[0].settings["passwordauthentication"],
            "no"
        );
        assert_eq!(config.match_blocks[0].settings["x11forwarding"], "yes");
    }

    #[test]
    fn a_match_in_an_included_file_ends_with_that_file() {
        let config = effective(&[
            (
                "/etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
            ),
            (
                "/etc/ssh/sshd_config.d/a.conf",
                "Match User git\n  PermitRootLogin yes\n",
            ),
        ]);
        assert_eq!(config.effective["permitrootlogin"], "no");
        assert_eq!(
            config.explicit["permitrootlogin"].file,
            "/etc/ssh/sshd_config"
        );
        assert_eq!(config.match_blocks[0].settings["permitrootlogin"], "yes");
    }

    #[test]
    fn an_include_inside_a_match_block_belongs_to_it() {
        let config = effective(&[
            (
                "/etc/ssh/sshd_config",
                "Match User admin\n  Include /etc/ssh/admin.conf\n",
            ),
            (
                "/etc/ssh/admin.conf",
                "PermitRootLogin yes\nMatch all\nX11Forwarding yes\nMatch Address 10.0.0.0/8\nPasswordAuthentication yes\n",
            ),
        ]);
        assert_eq!(config.effective["permitrootlogin"], "prohibit-password");
        assert_eq!(config.effective["x11forwarding"], "no");
        assert_eq!(config.effective["passwordauthentication"], "yes");
        assert!(!config.explicit.contains_key("passwordauthentication"));
        // `Match all` inside the block's file stays in the block; a Match there applies
        // when both match.
        assert_eq!(config.match_blocks.len(), 2);
        assert_eq!(config.match_blocks[0].settings["permitrootlogin"], "yes");
        assert_eq!(config.match_blocks[0].settings["x11forwarding"], "yes");
        assert_eq!(
            config.match_blocks[1].criteria,
            "User admin Address 10.0.0.0/8"
        );
        assert_eq!(
            config.match_blocks[1].settings["passwordauthentication"],
            "yes"
        );
    }

    #[test]
    fn comments_quotes_and_escapes() {
        let config = main_only(
            "# PermitRootLogin yes\n   # indented comment\nBanner \"/etc/issue net\" # trailing comment\nAllowUsers alice bob#notacomment 'carol d'\nAuthorizedKeysFile /keys/%u\\ file\nChrootDirectory \"/srv/a\\ b\"\nForceCommand /bin/echo \"hi there\"\n\n\t\r\n",
        );
        assert_eq!(config.effective["banner"], "/etc/issue net");
        assert_eq!(
            config.effective["allowusers"],
            "alice bob#notacomment carol d"
        );
        assert_eq!(config.effective["authorizedkeysfile"], "/keys/%u file");
        // Inside quotes a backslash before a space is kept.
        assert_eq!(config.effective["chrootdirectory"], "/srv/a\\ b");
        assert_eq!(config.effective["forcecommand"], "/bin/echo \"hi there\"");
        assert!(config.problems.is_empty(), "{:?}", config.problems);
    }

    /// `PermitRootLogin no#x` is not `no`: sshd rejects it, and the value is unknown.
    #[test]
    fn invalid_values_are_problems_and_unknown() {
        let config = main_only(
            "PermitRootLogin no#x\nPermitRootLogin no\nPasswordAuthentication no yes\nX11Forwarding maybe\nMaxAuthTries 3x\nPort 70000\nPermitTunnel Yes\nCiphers arcfour\nMatch User bob\n  Port 2222\n  Ciphers aes128-ctr\n",
        );
        assert_eq!(
            problems(&config),
            vec![
                (1, "PermitRootLogin: unsupported value `no#x`"),
                (3, "PasswordAuthentication: extra arguments at end of line"),
                (4, "X11Forwarding: unsupported value `maybe`"),
                (5, "MaxAuthTries: invalid integer `3x`"),
                (6, "Port: badly formatted port number `70000`"),
                (7, "PermitTunnel: unsupported value `Yes`"),
                (8, "Ciphers: bad SSH2 cipher spec `arcfour`"),
                (10, "Port: not allowed within a Match block"),
                (11, "Ciphers: not allowed within a Match block"),
            ]
        );
        for keyword in [
            "permitrootlogin",
            "passwordauthentication",
            "x11forwarding",
            "maxauthtries",
            "port",
            "permittunnel",
            "ciphers",
        ] {
            assert!(
                !config.effective.contains_key(keyword),
                "{keyword}: {:?}",
                config.effective.get(keyword)
            );
            assert!(config.unknown.contains_key(keyword), "{keyword}");
        }
        assert_eq!(
            config.unknown["permitrootlogin"],
            "/etc/ssh/sshd_config:1: PermitRootLogin: unsupported value `no#x`"
        );
    }

    /// `Ciphers -*-cbc` removes from the defaults; it is not a cipher named `-*-cbc`.
    #[test]
    fn algorithm_lists_resolve_plus_minus_and_caret() {
        let config = main_only(
            "Ciphers -*-cbc\nMACs -*sha1*,umac-64*\nKexAlgorithms +diffie-hellman-group14-sha1\nHostKeyAlgorithms ^ssh-rsa\nPubkeyAcceptedAlgorithms +ssh-rsa*\nCASignatureAlgorithms ssh-ed25519,rsa-sha2-512\n",
        );
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        assert_eq!(
            config.effective["ciphers"],
            "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
        );
        assert_eq!(
            config.effective["macs"],
            "umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512"
        );
        assert!(
            config.effective["kexalgorithms"]
                .ends_with(",diffie-hellman-group14-sha256,diffie-hellman-group14-sha1")
        );
        assert!(config.effective["hostkeyalgorithms"].starts_with("ssh-rsa,ssh-ed25519-cert"));
        assert!(
            config.effective["pubkeyacceptedalgorithms"]
                .ends_with(",rsa-sha2-256,ssh-rsa,ssh-rsa-cert-v01@openssh.com")
        );
        assert_eq!(
            config.effective["casignaturealgorithms"],
            "ssh-ed25519,rsa-sha2-512"
        );
        assert_eq!(
            config.explicit["ciphers"].value,
            config.effective["ciphers"]
        );
        let weak = main_only("Ciphers +aes128-cbc,3des-cbc\n");
        assert!(weak.effective["ciphers"].ends_with(",aes128-cbc,3des-cbc"));
    }

    /// `ClientAliveInterval 5m` is 300 seconds, as `sshd -T` prints it.
    #[test]
    fn time_values_are_kept_in_seconds() {
        let config = main_only(
            "ClientAliveInterval 5m\nLoginGraceTime 1m30s\nMatch User bob\n  ClientAliveInterval 1h\n",
        );
        assert_eq!(config.effective["clientaliveinterval"], "300");
        assert_eq!(config.effective["logingracetime"], "90");
        assert_eq!(
            config.match_blocks[0].settings["clientaliveinterval"],
            "3600"
        );
        let bad = main_only("LoginGraceTime 5x\n");
        assert_eq!(
            problems(&bad),
            vec![(1, "LoginGraceTime: invalid time value `5x`")]
        );
        assert!(!bad.effective.contains_key("logingracetime"));
    }

    #[test]
    fn accumulating_keywords_collect_every_value() {
        let config = main_only(
            "Port 22\nPort 2222\nAllowUsers alice\nAllowUsers bob\nDenyUsers eve\nDenyUsers mallory\nAllowGroups ssh\nAllowGroups admin\nDenyGroups guests\nDenyGroups nobody\nAcceptEnv LANG\nAcceptEnv LC_*\nHostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_rsa_key\nListenAddress 10.0.0.1\nListenAddress 10.0.0.2:2200\nSubsystem sftp /usr/lib/openssh/sftp-server -l INFO\nSubsystem backup /usr/local/bin/backup\n",
        );
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        assert_eq!(config.effective["port"], "22 2222");
        assert_eq!(config.effective["allowusers"], "alice bob");
        assert_eq!(config.effective["denyusers"], "eve mallory");
        assert_eq!(config.effective["allowgroups"], "ssh admin");
        assert_eq!(config.effective["denygroups"], "guests nobody");
        assert_eq!(config.effective["acceptenv"], "LANG LC_*");
        assert_eq!(
            config.effective["hostkey"],
            "/etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key"
        );
        assert_eq!(config.effective["listenaddress"], "10.0.0.1 10.0.0.2:2200");
        assert_eq!(
            config.effective["subsystem"],
            "sftp /usr/lib/openssh/sftp-server -l INFO; backup /usr/local/bin/backup"
        );
    }

    #[test]
    fn a_subsystem_name_is_defined_once() {
        let config = main_only("Subsystem sftp /a\nSubsystem sftp /b\n");
        assert_eq!(config.effective["subsystem"], "sftp /a");
        assert_eq!(
            problems(&config),
            vec![(2, "Subsystem: subsystem `sftp` already defined")]
        );
        // An incomplete definition leaves the list of subsystems unknown.
        let broken = main_only("Subsystem sftp /a\nSubsystem x\n");
        assert_eq!(
            problems(&broken),
            vec![(2, "Subsystem: missing subsystem command")]
        );
        assert!(broken.unknown.contains_key("subsystem"));
    }

    /// Within a block the lists accumulate too, and replace the global list.
    #[test]
    fn accumulating_keywords_inside_a_block() {
        let config = main_only(
            "AllowUsers admin\nMatch Address 10.0.0.0/8\n  AllowUsers a\n  AllowUsers b\n",
        );
        assert_eq!(config.effective["allowusers"], "admin");
        assert_eq!(config.match_blocks[0].settings["allowusers"], "a b");
    }

    #[test]
    fn last_value_wins_where_sshd_overwrites() {
        let config = main_only("MaxStartups 5\nMaxStartups 7\nIPQoS af11\nIPQoS cs1 cs1\n");
        assert_eq!(config.effective["maxstartups"], "7");
        assert_eq!(config.effective["ipqos"], "cs1 cs1");
    }

    #[test]
    fn old_names_and_spellings_are_canonical() {
        let config = main_only(
            "ChallengeResponseAuthentication no\nPermitRootLogin without-password\nLogLevel verbose\nCompression delayed\nAllowTcpForwarding all\nKeepAlive no\n",
        );
        assert_eq!(config.effective["kbdinteractiveauthentication"], "no");
        assert_eq!(config.effective["permitrootlogin"], "prohibit-password");
        assert_eq!(config.effective["loglevel"], "VERBOSE");
        assert_eq!(config.effective["compression"], "yes");
        assert_eq!(config.effective["allowtcpforwarding"], "yes");
        assert_eq!(config.effective["tcpkeepalive"], "no");
        assert!(config.problems.is_empty(), "{:?}", config.problems);
    }

    #[test]
    fn deprecated_keywords_are_accepted_and_ignored() {
        let config = main_only("Protocol 2\nUsePrivilegeSeparation sandbox\nUseLogin no\n");
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        assert!(!config.effective.contains_key("protocol"));
    }

    #[test]
    fn bad_lines_are_problems_with_positions() {
        let config = main_only(
            "PermitRootLogin\nFrobnicate yes\nBanner \"unclosed\nMatch\nInclude /nowhere/*.conf\nMatch all User bob\nMatch User\n",
        );
        assert_eq!(
            problems(&config),
            vec![
                (1, "PermitRootLogin: no argument after keyword"),
                (2, "Frobnicate: bad configuration option"),
                (3, "Banner: unbalanced quotes"),
                (4, "Match: no argument after keyword"),
                (6, "Match: `all` cannot be combined with other criteria"),
                (7, "Match: missing criteria for `User`"),
            ]
        );
    }

    /// A file or folder the configuration includes that cannot be read makes the effective
    /// configuration incomplete, never a configuration without it.
    #[test]
    fn unreadable_includes_are_reported() {
        let config = main_only("Include /unreadable/*.conf\nPermitRootLogin no\n");
        assert_eq!(config.unreadable, ["/unreadable: permission denied"]);
        assert_eq!(
            problems(&config),
            vec![(
                1,
                "Include: cannot expand `/unreadable/*.conf`: /unreadable: permission denied"
            )]
        );
        let missing = effective(&[]);
        assert_eq!(missing.unreadable, ["/etc/ssh/sshd_config: absent"]);
    }

    #[test]
    fn include_loops_stop_at_the_depth_limit() {
        let config = main_only("Include /etc/ssh/sshd_config\nPermitRootLogin no\n");
        assert_eq!(config.effective["permitrootlogin"], "no");
        assert!(
            config
                .problems
                .iter()
                .any(|p| p.message.contains("too many nested includes"))
        );
    }

    #[test]
    fn a_missing_main_file_is_a_problem_not_a_panic() {
        let config = effective(&[]);
        assert_eq!(config.problems[0].message, "cannot read: absent");
        assert!(config.files.is_empty());
    }

    #[test]
    fn sshd_dump_output_is_parsed() {
        let dump = parse_dump(
            "port 22\nport 2222\npermitrootlogin without-password\npasswordauthentication no\nciphers aes256-ctr\nsubsystem sftp /usr/lib/openssh/sftp-server\nsubsystem backup internal-sftp\n",
        );
        assert_eq!(dump["port"], "22 2222");
        assert_eq!(dump["permitrootlogin"], "prohibit-password");
        assert_eq!(dump["passwordauthentication"], "no");
        assert_eq!(
            dump["subsystem"],
            "sftp /usr/lib/openssh/sftp-server; backup internal-sftp"
        );
    }

    /// Quotes an argument so that `argv_split` gives it back.
    fn quote(arg: &str) -> String {
        let mut out = String::from("\"");
        for c in arg.chars() {
            if matches!(c, '\\' | '"' | '\'') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Any text parses without panicking, and every explicit setting is what is effective.
        #[test]
        fn arbitrary_configs_never_panic(text in "\\PC{0,300}") {
            let config = main_only(&text);
            for (keyword, setting) in &config.explicit {
                prop_assert_eq!(&config.effective[keyword], &setting.value);
            }
            for keyword in config.unknown.keys() {
                prop_assert!(!config.effective.contains_key(keyword));
            }
        }

        /// Lines made of known keywords and arbitrary arguments never panic either.
        #[test]
        fn arbitrary_values_of_known_keywords_never_panic(
            lines in proptest::collection::vec(
                (proptest::sample::select(keywords::KEYWORDS), "[ -~]{0,40}"),
                0..20,
            )
        ) {
            let text = lines.iter().fold(String::new(), |acc, (k, v)| acc + k.name + " " + v + "\n");
            let config = main_only(&text);
            for (keyword, setting) in &config.explicit {
                prop_assert_eq!(&config.effective[keyword], &setting.value);
            }
        }

        /// For generated lines of known keywords, the first global occurrence wins.
        #[test]
        fn first_occurrence_wins(values in proptest::collection::vec((
            prop_oneof![
                proptest::sample::select(vec!["yes", "no", "prohibit-password", "without-password", "forced-commands-only"]).prop_map(|v| ("PermitRootLogin", v.to_owned())),
                "[0-9]{1,4}".prop_map(|v| ("MaxAuthTries", v)),
                proptest::sample::select(vec!["yes", "no", "YES", "No"]).prop_map(|v| ("X11Forwarding", v.to_owned())),
            ],
            "( |=| = |\t)",
        ), 1..12)) {
            let text = values.iter().fold(String::new(), |acc, ((k, v), sep)| acc + k + sep + v + "\n");
            let config = main_only(&text);
            prop_assert!(config.problems.is_empty(), "{:?}", config.problems);
            for keyword in ["PermitRootLogin", "MaxAuthTries", "X11Forwarding"] {
                if let Some(((_, first), _)) = values.iter().find(|((k, _), _)| *k == keyword) {
                    let lc = keyword.to_ascii_lowercase();
                    let expected = match lc.as_str() {
                        "maxauthtries" => first.parse::<u32>().unwrap().to_string(),
                        other => normalise(other, first),
                    };
                    prop_assert_eq!(&config.effective[&lc], &expected);
                }
            }
        }

        /// Arguments quoted with escapes split back to themselves.
        #[test]
        fn quoted_arguments_round_trip(args in proptest::collection::vec("[^\n\r]{0,12}", 1..5)) {
            let text = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
            prop_assert_eq!(lexer::split_args(&text).unwrap(), args);
        }

        /// A time value is the sum of its parts.
        #[test]
        fn time_values_add_up(parts in proptest::collection::vec((0_i64..1000, proptest::sample::select(vec![("", 1), ("s", 1), ("M", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)])), 1..4)) {
            let text = parts.iter().fold(String::new(), |acc, (n, (unit, _))| acc + &n.to_string() + unit);
            let total: i64 = parts.iter().map(|(n, (_, factor))| n.checked_mul(*factor).unwrap()).sum();
            // A bare number must come last: `5 3` is not a time.
            prop_assume!(parts.iter().rev().skip(1).all(|(_, (unit, _))| !unit.is_empty()));
            prop_assert_eq!(lexer::convtime(&text), Some(total));
        }
    }
}
