//! The effective OpenSSH server configuration, computed as `sshd` computes it.
//!
//! Semantics follow `sshd_config(5)` and OpenSSH's `servconf.c`:
//! - keywords are case-insensitive; `Keyword value`, `Keyword=value` and `Keyword = value`
//!   are the same; an argument starting with `#` starts a comment; double or single quotes
//!   group words, and a backslash escapes the next character;
//! - for most keywords the **first** value obtained wins; `Port`, `ListenAddress`, `HostKey`,
//!   `AcceptEnv`, `AllowUsers`, `DenyUsers`, `AllowGroups` and `DenyGroups` accumulate;
//! - `Include` expands globs (relative paths are under `/etc/ssh`) in lexical order, in place,
//!   up to 16 levels deep; a pattern that matches nothing is not an error;
//! - a `Match` block lasts until the next `Match` or the end of the file it is in; its
//!   settings do not apply to the global (default) connection, and are reported per block;
//!   `Match all` matches every connection, so what follows it is global again;
//! - keywords never set take OpenSSH's built-in defaults.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

/// Where the config files come from; implemented by the root filesystem and by tests.
pub trait ConfigSource {
    /// The text of an absolute path, or why it cannot be read.
    fn read(&self, path: &str) -> Result<String, String>;
    /// Paths matching a glob pattern, sorted.
    fn glob(&self, pattern: &str) -> Vec<String>;
}

/// One setting as written in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Setting {
    /// The value, normalised (lower case for keyword-like values).
    pub value: String,
    /// The file it was read from.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
}

/// A `Match` block and what it sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MatchBlock {
    /// The criteria, as written after `Match`.
    pub criteria: String,
    /// The file of the `Match` line.
    pub file: String,
    /// Its line number.
    pub line: usize,
    /// Settings inside the block (first value wins within the block).
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SshdConfig {
    /// Every known keyword (lower case) with its effective value; accumulating keywords
    /// have their values joined by spaces.
    pub effective: BTreeMap<String, String>,
    /// The keywords set explicitly outside `Match` blocks, with where.
    pub explicit: BTreeMap<String, Setting>,
    /// `Match` blocks in order.
    pub match_blocks: Vec<MatchBlock>,
    /// Files read, in order.
    pub files: Vec<String>,
    /// Lines sshd would reject.
    pub problems: Vec<ConfigProblem>,
}

const MAX_INCLUDE_DEPTH: usize = 16;

/// Keywords whose values accumulate instead of first-wins.
const ACCUMULATING: &[&str] = &[
    "port",
    "listenaddress",
    "hostkey",
    "acceptenv",
    "allowusers",
    "denyusers",
    "allowgroups",
    "denygroups",
    "setenv",
    "hostcertificate",
];

/// OpenSSH 9.x built-in defaults, as `sshd -T` prints them (lower-case keys).
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
    (
        "ciphers",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    ),
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
    ("hostkey", ""),
    ("ignorerhosts", "yes"),
    ("ignoreuserknownhosts", "no"),
    ("kbdinteractiveauthentication", "yes"),
    ("kerberosauthentication", "no"),
    (
        "kexalgorithms",
        "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
    ),
    ("listenaddress", "0.0.0.0 ::"),
    ("logingracetime", "120"),
    ("loglevel", "INFO"),
    (
        "macs",
        "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
    ),
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

/// Keywords sshd accepts besides those with defaults above (lower case).
const OTHER_KEYWORDS: &[&str] = &[
    "authorizedkeyscommand",
    "authorizedkeyscommanduser",
    "authorizedprincipalscommand",
    "authorizedprincipalscommanduser",
    "authorizedprincipalsfile",
    "casignaturealgorithms",
    "channeltimeout",
    "chrootdirectory",
    "exposeauthinfo",
    "forcecommand",
    "gssapicleanupcredentials",
    "gssapistrictacceptorcheck",
    "hostbasedacceptedalgorithms",
    "hostcertificate",
    "hostkeyagent",
    "hostkeyalgorithms",
    "include",
    "ipqos",
    "kerberosgetafstoken",
    "kerberosorlocalpasswd",
    "kerberosticketcleanup",
    "logverbose",
    "match",
    "moduliFile",
    "modulifile",
    "perSourceMaxStartups",
    "persourcemaxstartups",
    "persourcenetblocksize",
    "persourcepenalties",
    "persourcepenaltyexemptlist",
    "permitlisten",
    "pidfile",
    "pubkeyacceptedalgorithms",
    "pubkeyauthoptions",
    "requiredrsasize",
    "revokedkeys",
    "securitykeyprovider",
    "setenv",
    "streamlocalbindmask",
    "streamlocalbindunlink",
    "trustedusercakeys",
    "unusedconnectiontimeout",
    "versionaddendum",
    "xauthlocation",
    "protocol",
    "useprivilegeseparation",
    "uselogin",
    "rsaauthentication",
    "rhostsrsaauthentication",
    "serverkeybits",
    "keyregenerationinterval",
    "pamservicename",
    "gssapikeyexchange",
    "gssapistorecredentialsonrekey",
    "gssapikexalgorithms",
    "debianbanner",
    "sshdsessionpath",
    "sshdauthpath",
    "refuseconnection",
    "gssapienablek5users",
    "kerberosusekuserok",
];

/// Old names sshd still accepts, mapped to the current keyword.
fn canonical(keyword: &str) -> &str {
    match keyword {
        "challengeresponseauthentication" | "skeyauthentication" => "kbdinteractiveauthentication",
        "pubkeyacceptedkeytypes" => "pubkeyacceptedalgorithms",
        "hostbasedacceptedkeytypes" => "hostbasedacceptedalgorithms",
        "dsaauthentication" => "pubkeyauthentication",
        "permitlocalcommand" => "permitlocalcommand",
        other => other,
    }
}

fn is_known(keyword: &str) -> bool {
    DEFAULTS.iter().any(|(k, _)| *k == keyword)
        || OTHER_KEYWORDS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(keyword))
}

/// Normalises a value as `sshd -T` prints it: keyword-like values in lower case, and the
/// old spelling `without-password` as `prohibit-password`.
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

/// Splits the arguments of a line as OpenSSH's `argv_split` does with comments enabled.
/// Returns `None` for unbalanced quotes.
fn split_args(text: &str) -> Option<Vec<String>> {
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        if first == '#' {
            break;
        }
        let mut arg = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (c, quote) {
                ('\\', _) => match chars.next() {
                    Some(next) => arg.push(next),
                    None => arg.push('\\'),
                },
                (q @ ('"' | '\''), None) => quote = Some(q),
                (q, Some(open)) if q == open => quote = None,
                (w, None) if w.is_whitespace() => break,
                (other, _) => arg.push(other),
            }
        }
        if quote.is_some() {
            return None;
        }
        args.push(arg);
    }
    Some(args)
}

/// Splits a line into its keyword and the rest, as `strdelim` does: whitespace or one `=`.
fn split_keyword(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(end);
    if keyword.is_empty() || keyword.starts_with('#') {
        return None;
    }
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    Some((keyword, rest))
}

struct Parser<'a> {
    source: &'a dyn ConfigSource,
    config: SshdConfig,
    global: BTreeMap<String, Vec<String>>,
}

impl Parser<'_> {
    fn problem(&mut self, file: &str, line: usize, message: impl Into<String>) {
        self.config.problems.push(ConfigProblem {
            file: file.to_owned(),
            line,
            message: message.into(),
        });
    }

    fn parse_file(&mut self, path: &str, depth: usize) {
        let text = match self.source.read(path) {
            Ok(text) => text,
            Err(reason) => {
                self.problem(path, 0, format!("cannot read: {reason}"));
                return;
            }
        };
        self.config.files.push(path.to_owned());
        // `None`: global section; `Some(i)`: inside match block i (until the end of this file).
        let mut in_match: Option<usize> = None;
        for (index, raw_line) in text.lines().enumerate() {
            let line_no = index.saturating_add(1);
            let Some((keyword, rest)) = split_keyword(raw_line) else {
                continue;
            };
            let keyword_lc = keyword.to_ascii_lowercase();
            let keyword_lc = canonical(&keyword_lc).to_owned();
            let Some(args) = split_args(rest) else {
                self.problem(path, line_no, format!("{keyword}: unbalanced quotes"));
                continue;
            };
            if keyword_lc == "match" {
                if args.is_empty() {
                    self.problem(path, line_no, "Match: missing criteria");
                }
                // `Match all` matches every connection: what follows applies globally again
                // (sshd -T shows it), which is how a Match block is commonly ended.
                if let [all] = args.as_slice()
                    && all.eq_ignore_ascii_case("all")
                {
                    in_match = None;
                    continue;
                }
                self.config.match_blocks.push(MatchBlock {
                    criteria: args.join(" "),
                    file: path.to_owned(),
                    line: line_no,
                    settings: BTreeMap::new(),
                });
                in_match = Some(self.config.match_blocks.len().saturating_sub(1));
                continue;
            }
            if args.is_empty() {
                self.problem(
                    path,
                    line_no,
                    format!("{keyword}: no argument after keyword"),
                );
                continue;
            }
            if keyword_lc == "include" {
                self.include(path, line_no, &args, depth, in_match);
                continue;
            }
            if !is_known(&keyword_lc) {
                self.problem(
                    path,
                    line_no,
                    format!("{keyword}: bad configuration option"),
                );
                continue;
            }
            let value = normalise(&keyword_lc, &args.join(" "));
            match in_match.and_then(|i| self.config.match_blocks.get_mut(i)) {
                Some(block) => {
                    block.settings.entry(keyword_lc).or_insert(value);
                }
                None => self.set_global(&keyword_lc, value, path, line_no),
            }
        }
    }

    fn set_global(&mut self, keyword: &str, value: String, file: &str, line: usize) {
        let values = self.global.entry(keyword.to_owned()).or_default();
        // First value wins, except for keywords whose values accumulate.
        if !values.is_empty() && !ACCUMULATING.contains(&keyword) {
            return;
        }
        values.push(value.clone());
        self.config
            .explicit
            .entry(keyword.to_owned())
            .or_insert(Setting {
                value,
                file: file.to_owned(),
                line,
            });
    }

    fn include(
        &mut self,
        file: &str,
        line: usize,
        patterns: &[String],
        depth: usize,
        in_match: Option<usize>,
    ) {
        if depth >= MAX_INCLUDE_DEPTH {
            self.problem(file, line, "Include: too many nested includes");
            return;
        }
        for pattern in patterns {
            let pattern = if pattern.starts_with('/') {
                pattern.clone()
            } else {
                format!("/etc/ssh/{pattern}")
            };
            for path in self.source.glob(&pattern) {
                if in_match.is_some() {
                    // Settings of a file included inside a Match block belong to that block.
                    self.parse_included_in_match(&path, depth, in_match);
                } else {
                    self.parse_file(&path, depth.saturating_add(1));
                }
            }
        }
    }

    fn parse_included_in_match(&mut self, path: &str, depth: usize, in_match: Option<usize>) {
        let before = self.global.clone();
        let explicit_before = self.config.explicit.clone();
        self.parse_file(path, depth.saturating_add(1));
        // Move what the file set globally into the enclosing block.
        let added: Vec<(String, String)> = self
            .config
            .explicit
            .iter()
            .filter(|(k, _)| !explicit_before.contains_key(*k))
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect();
        self.global = before;
        self.config.explicit = explicit_before;
        if let Some(block) = in_match.and_then(|i| self.config.match_blocks.get_mut(i)) {
            for (k, v) in added {
                block.settings.entry(k).or_insert(v);
            }
        }
    }
}

/// Parses `main` (usually `/etc/ssh/sshd_config`) and what it includes.
pub fn parse(source: &dyn ConfigSource, main: &str) -> SshdConfig {
    let mut parser = Parser {
        source,
        config: SshdConfig::default(),
        global: BTreeMap::new(),
    };
    parser.parse_file(main, 0);
    let mut effective: BTreeMap<String, String> = DEFAULTS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (keyword, values) in parser.global {
        effective.insert(keyword, values.join(" "));
    }
    parser.config.effective = effective;
    parser.config
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
        effective
            .entry(keyword.clone())
            .and_modify(|v| {
                if ACCUMULATING.contains(&keyword.as_str()) {
                    v.push(' ');
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
        fn glob(&self, pattern: &str) -> Vec<String> {
            let matcher = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .unwrap()
                .compile_matcher();
            self.0
                .keys()
                .filter(|k| matcher.is_match(k.as_str()))
                .cloned()
                .collect()
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

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = effective(&[("/etc/ssh/sshd_config", "")]);
        assert_eq!(config.effective["permitrootlogin"], "prohibit-password");
        assert_eq!(config.effective["passwordauthentication"], "yes");
        assert_eq!(config.effective["maxauthtries"], "6");
        assert!(config.explicit.is_empty());
        assert!(config.problems.is_empty());
    }

    #[test]
    fn first_value_wins_and_keywords_ignore_case() {
        let config = effective(&[(
            "/etc/ssh/sshd_config",
            "PERMITROOTLOGIN no\npermitrootlogin yes\nPermitRootLogin=without-password\nMaxAuthTries = 3\n",
        )]);
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
                "PasswordAuthentication no\n",
            ),
            (
                "/etc/ssh/sshd_config.d/10-hardening.conf",
                "PermitRootLogin no\nPasswordAuthentication maybe\n",
            ),
            ("/etc/ssh/sshd_config.d/README", "PermitRootLogin yes\n"),
        ]);
        // 10-hardening comes before 50-cloud-init, and both before the lines after Include.
        assert_eq!(config.effective["permitrootlogin"], "no");
        assert_eq!(config.effective["passwordauthentication"], "maybe");
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
        let config = effective(&[(
            "/etc/ssh/sshd_config",
            "PasswordAuthentication no\nMatch User backup\n  PermitRootLogin yes\n  PasswordAuthentication yes\nMatch Address 10.0.0.0/8\n  X11Forwarding yes\n",
        )]);
        assert_eq!(config.effective["permitrootlogin"], "prohibit-password");
        assert_eq!(config.effective["passwordauthentication"], "no");
        assert_eq!(config.effective["x11forwarding"], "no");
        assert_eq!(config.match_blocks.len(), 2);
        assert_eq!(config.match_blocks[0].criteria, "User backup");
        assert_eq!(config.match_blocks[0].settings["permitrootlogin"], "yes");
        assert_eq!(config.match_blocks[1].settings["x11forwarding"], "yes");
    }

    #[test]
    fn match_all_returns_to_the_global_section() {
        let config = effective(&[(
            "/etc/ssh/sshd_config",
            "Match User backup\n  PasswordAuthentication yes\nMatch All\nPasswordAuthentication no\nPermitRootLogin no\n",
        )]);
        assert_eq!(config.effective["passwordauthentication"], "no");
        assert_eq!(config.effective["permitrootlogin"], "no");
        assert_eq!(config.match_blocks.len(), 1);
        assert_eq!(
            config.match_blocks[0].settings["passwordauthentication"],
            "yes"
        );
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
            ("/etc/ssh/admin.conf", "PermitRootLogin yes\n"),
        ]);
        assert_eq!(config.effective["permitrootlogin"], "prohibit-password");
        assert_eq!(config.match_blocks[0].settings["permitrootlogin"], "yes");
    }

    #[test]
    fn comments_quotes_and_escapes() {
        let config = effective(&[(
            "/etc/ssh/sshd_config",
            "# PermitRootLogin yes\n   # indented comment\nBanner \"/etc/issue net\" # trailing comment\nAllowUsers alice bob#notacomment 'carol d'\nPermitRootLogin no#x\nAuthorizedKeysFile /keys/%u\\ file\n\n\t\n",
        )]);
        assert_eq!(config.effective["banner"], "/etc/issue net");
        assert_eq!(
            config.effective["allowusers"],
            "alice bob#notacomment carol d"
        );
        assert_eq!(config.effective["permitrootlogin"], "no#x");
        assert_eq!(config.effective["authorizedkeysfile"], "/keys/%u file");
        assert!(config.problems.is_empty(), "{:?}", config.problems);
    }

    #[test]
    fn accumulating_keywords_collect_every_value() {
        let config = effective(&[(
            "/etc/ssh/sshd_config",
            "Port 22\nPort 2222\nAllowUsers alice\nAllowUsers bob\nHostKey /etc/ssh/ssh_host_ed25519_key\n",
        )]);
        assert_eq!(config.effective["port"], "22 2222");
        assert_eq!(config.effective["allowusers"], "alice bob");
        assert_eq!(config.effective["hostkey"], "/etc/ssh/ssh_host_ed25519_key");
    }

    #[test]
    fn old_names_and_spellings_are_canonical() {
        let config = effective(&[(
            "/etc/ssh/sshd_config",
            "ChallengeResponseAuthentication no\nPermitRootLogin without-password\nLogLevel verbose\n",
        )]);
        assert_eq!(config.effective["kbdinteractiveauthentication"], "no");
        assert_eq!(config.effective["permitrootlogin"], "prohibit-password");
        assert_eq!(config.effective["loglevel"], "VERBOSE");
    }

    #[test]
    fn bad_lines_are_problems_with_positions() {
        let config = effective(&[(
            "/etc/ssh/sshd_config",
            "PermitRootLogin\nFrobnicate yes\nBanner \"unclosed\nMatch\nInclude /nowhere/*.conf\n",
        )]);
        let found: Vec<(usize, &str)> = config
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (1, "PermitRootLogin: no argument after keyword"),
                (2, "Frobnicate: bad configuration option"),
                (3, "Banner: unbalanced quotes"),
                (4, "Match: missing criteria"),
            ]
        );
    }

    #[test]
    fn include_loops_stop_at_the_depth_limit() {
        let config = effective(&[(
            "/etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config\nPermitRootLogin no\n",
        )]);
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
            "port 22\nport 2222\npermitrootlogin without-password\npasswordauthentication no\nciphers aes256-ctr\n",
        );
        assert_eq!(dump["port"], "22 2222");
        assert_eq!(dump["permitrootlogin"], "prohibit-password");
        assert_eq!(dump["passwordauthentication"], "no");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Any text parses without panicking, and what it sets explicitly is what wins.
        #[test]
        fn arbitrary_configs_never_panic(text in "\\PC{0,300}") {
            let config = effective(&[("/etc/ssh/sshd_config", &text)]);
            for (keyword, setting) in &config.explicit {
                if !ACCUMULATING.contains(&keyword.as_str()) {
                    prop_assert_eq!(&config.effective[keyword], &setting.value);
                }
            }
        }

        /// For generated lines of known keywords, the first global occurrence wins.
        #[test]
        fn first_occurrence_wins(values in proptest::collection::vec(("(PermitRootLogin|MaxAuthTries|X11Forwarding)", "[a-z0-9]{1,8}", "( |=| = )"), 1..12)) {
            let text = values.iter().fold(String::new(), |acc, (k, v, sep)| acc + k + sep + v + "\n");
            let config = effective(&[("/etc/ssh/sshd_config", &text)]);
            for keyword in ["PermitRootLogin", "MaxAuthTries", "X11Forwarding"] {
                if let Some((_, first, _)) = values.iter().find(|(k, _, _)| k == keyword) {
                    let lc = keyword.to_ascii_lowercase();
                    prop_assert_eq!(&config.effective[&lc], &normalise(&lc, first));
                }
            }
        }
    }
}
