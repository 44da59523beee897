//! Accounts, groups, sudo rules and authentication policy.
//!
//! INVARIANT: no password hash, or any part of one, leaves this module. From `/etc/shadow`
//! only the state of the password (set, empty, locked, none), the hashing algorithm and the
//! aging fields are kept.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::Gather;
use crate::RootFs;

/// The state of an account's password, never the password or its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordState {
    /// A password hash is set.
    Set,
    /// The password field is empty: login without a password.
    Empty,
    /// Locked (`!` before the hash).
    Locked,
    /// No password can match (`*`, `!`, `!!` alone).
    NoPassword,
}

/// One account.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Login shell.
    pub shell: String,
    /// Whether the shell allows an interactive login.
    pub interactive: bool,
    /// Password state from the shadow file (absent when unreadable).
    pub password: Option<PasswordState>,
    /// Hash algorithm, e.g. `sha512`, `yescrypt` (never the hash).
    pub algorithm: Option<String>,
    /// Days since the password was last changed.
    pub password_age_days: Option<i64>,
    /// Maximum password age in days.
    pub max_days: Option<i64>,
    /// Whether the account has a uid below 1000 (a system account).
    pub system: bool,
}

/// A group.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Members listed in `/etc/group`.
    pub members: Vec<String>,
}

/// One sudo rule (a user specification).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SudoRule {
    /// The file it is in.
    pub file: String,
    /// Line number.
    pub line: usize,
    /// Who it applies to: a user, `%group` or an alias.
    pub principal: String,
    /// The rule after the principal, as written.
    pub rule: String,
    /// Whether it allows running commands without a password.
    pub nopasswd: bool,
    /// Whether it allows every command (`ALL`).
    pub all_commands: bool,
}

/// Accounts and privilege facts.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct AccountFacts {
    /// Every account in `/etc/passwd`.
    pub users: Vec<Account>,
    /// Every group in `/etc/group`.
    pub groups: Vec<Group>,
    /// Accounts with uid 0.
    pub uid0: Vec<String>,
    /// Accounts whose password field is empty.
    pub empty_passwords: Vec<String>,
    /// Interactive accounts with a uid of 1000 or more.
    pub interactive_users: Vec<String>,
    /// Members of the administrative groups (`sudo`, `wheel`, `admin`).
    pub admin_group_members: Vec<String>,
    /// Sudo rules from `/etc/sudoers` and its include folders.
    pub sudo_rules: Vec<SudoRule>,
    /// `Defaults` lines of sudoers, as written.
    pub sudo_defaults: Vec<String>,
}

/// What is kept of one `/etc/shadow` line.
struct ShadowFacts {
    state: PasswordState,
    algorithm: Option<String>,
    last_change: Option<i64>,
    max_days: Option<i64>,
}

fn password_state(field: &str) -> (PasswordState, Option<String>) {
    if field.is_empty() {
        return (PasswordState::Empty, None);
    }
    let (locked, hash) = match field.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, field),
    };
    let algorithm = hash
        .strip_prefix('$')
        .and_then(|h| h.split('$').next())
        .map(|id| {
            match id {
                "1" => "md5",
                "2a" | "2b" | "2y" => "bcrypt",
                "5" => "sha256",
                "6" => "sha512",
                "y" => "yescrypt",
                "gy" => "gost-yescrypt",
                "7" => "scrypt",
                _ => "unknown",
            }
            .to_owned()
        });
    let algorithm = algorithm
        .or_else(|| (hash.len() == 13 && !hash.starts_with('*')).then(|| "des".to_owned()));
    // `*`, `!` or `!!` alone: no password can ever match (the account has none).
    if hash.is_empty() || hash.starts_with('*') || hash.starts_with('!') {
        return (PasswordState::NoPassword, None);
    }
    if algorithm.is_none() && !locked {
        return (PasswordState::NoPassword, None);
    }
    (
        if locked {
            PasswordState::Locked
        } else {
            PasswordState::Set
        },
        algorithm,
    )
}

/// Shells that allow no interactive login.
fn is_non_interactive(shell: &str) -> bool {
    shell.is_empty()
        || shell.ends_with("/nologin")
        || shell.ends_with("/false")
        || shell.ends_with("/sync")
        || shell.ends_with("/shutdown")
        || shell.ends_with("/halt")
}

pub(crate) fn accounts(fs: &RootFs, today_days: i64, g: &mut Gather) -> AccountFacts {
    let mut facts = AccountFacts::default();
    let passwd = match fs.read_text("/etc/passwd") {
        Ok(t) => t,
        Err(e) => {
            g.unknown("accounts", e.0);
            return facts;
        }
    };
    let mut shadow: BTreeMap<String, ShadowFacts> = BTreeMap::new();
    match fs.read_text("/etc/shadow") {
        Ok(text) => {
            for line in text.lines() {
                let mut fields = line.split(':');
                let Some(name) = fields.next().filter(|n| !n.is_empty()) else {
                    continue;
                };
                // The hash is reduced to its state and algorithm here; it is never stored.
                let (state, algorithm) = password_state(fields.next().unwrap_or_default());
                let mut days = fields.map(|v| v.parse::<i64>().ok());
                let last_change = days.next().flatten();
                let max_days = days.nth(1).flatten();
                shadow.insert(
                    name.to_owned(),
                    ShadowFacts {
                        state,
                        algorithm,
                        last_change,
                        max_days,
                    },
                );
            }
        }
        Err(e) => g.unknown("accounts.password", e.0),
    }
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        let (Some(name), Some(uid), Some(gid)) = (f.first(), f.get(2), f.get(3)) else {
            continue;
        };
        let (Ok(uid), Ok(gid)) = (uid.parse::<u32>(), gid.parse::<u32>()) else {
            continue;
        };
        let shell = f.get(6).copied().unwrap_or_default().to_owned();
        let interactive = !is_non_interactive(&shell);
        let entry = shadow.get(*name);
        let password = match entry {
            Some(e) => Some(e.state),
            // Without a shadow entry, an empty passwd password field means no password at all.
            None if f.get(1) == Some(&"") => Some(PasswordState::Empty),
            None => None,
        };
        let account = Account {
            name: (*name).to_owned(),
            uid,
            gid,
            shell,
            interactive,
            password,
            algorithm: entry.and_then(|e| e.algorithm.clone()),
            password_age_days: entry
                .and_then(|e| e.last_change)
                .filter(|d| *d > 0)
                .map(|d| today_days.saturating_sub(d)),
            max_days: entry.and_then(|e| e.max_days),
            system: uid < 1000,
        };
        if uid == 0 {
            facts.uid0.push(account.name.clone());
        }
        if password == Some(PasswordState::Empty) {
            facts.empty_passwords.push(account.name.clone());
        }
        if interactive && uid >= 1000 && uid != 65534 {
            facts.interactive_users.push(account.name.clone());
        }
        facts.users.push(account);
    }
    match fs.read_text("/etc/group") {
        Ok(text) => {
            for line in text.lines() {
                let f: Vec<&str> = line.split(':').collect();
                let (Some(name), Some(Ok(gid))) = (f.first(), f.get(2).map(|g| g.parse::<u32>()))
                else {
                    continue;
                };
                let members: Vec<String> = f
                    .get(3)
                    .unwrap_or(&"")
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect();
                if matches!(*name, "sudo" | "wheel" | "admin") {
                    facts.admin_group_members.extend(members.iter().cloned());
                    // Users whose primary group is an admin group are members too.
                    facts.admin_group_members.extend(
                        facts
                            .users
                            .iter()
                            .filter(|u| u.gid == gid)
                            .map(|u| u.name.clone()),
                    );
                }
                facts.groups.push(Group {
                    name: (*name).to_owned(),
                    gid,
                    members,
                });
            }
            facts.admin_group_members.sort();
            facts.admin_group_members.dedup();
        }
        Err(e) => g.unknown("accounts.groups", e.0),
    }
    sudoers(fs, &mut facts, g);
    facts
}

/// Reads `/etc/sudoers` and the folders it includes (`@includedir`, `#includedir`,
/// `@include`, `#include`). A file or folder that exists but cannot be read leaves the rules
/// incomplete: `accounts.sudo_rules` is then unknown with the reason, since the part not
/// read may hold any rule.
fn sudoers(fs: &RootFs, facts: &mut AccountFacts, g: &mut Gather) {
    let mut queue = vec!["/etc/sudoers".to_owned()];
    let mut seen = std::collections::BTreeSet::new();
    let mut unreadable = Vec::new();
    while let Some(file) = queue.pop() {
        if !seen.insert(file.clone()) || seen.len() > 128 {
            continue;
        }
        let text = match fs.read_text(&file) {
            Ok(t) => t,
            Err(e) => {
                if !e.is_absent() {
                    unreadable.push(e.0.clone());
                }
                g.unknown(&format!("accounts.sudoers:{file}"), e.0);
                continue;
            }
        };
        let mut includes = Vec::new();
        let mut pending = String::new();
        for (index, raw) in text.lines().enumerate() {
            // Lines ending in a backslash continue on the next line.
            if let Some(start) = raw.strip_suffix('\\') {
                pending.push_str(start);
                pending.push(' ');
                continue;
            }
            pending.push_str(raw);
            let line = std::mem::take(&mut pending);
            let line = line.trim();
            let line_no = index.saturating_add(1);
            if let Some(dir) = line
                .strip_prefix("@includedir")
                .or_else(|| line.strip_prefix("#includedir"))
            {
                let dir = dir.trim();
                match fs.entries(dir) {
                    Ok(names) => {
                        // sudo skips names with a dot or ending in `~`.
                        includes.extend(
                            names
                                .into_iter()
                                .filter(|n| !n.contains('.') && !n.ends_with('~'))
                                .map(|n| format!("{dir}/{n}")),
                        );
                    }
                    Err(e) => {
                        unreadable.push(e.0.clone());
                        g.unknown(&format!("accounts.sudoers:{dir}"), e.0);
                    }
                }
                continue;
            }
            if let Some(path) = line
                .strip_prefix("@include")
                .or_else(|| line.strip_prefix("#include"))
            {
                includes.push(path.trim().to_owned());
                continue;
            }
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            if line.starts_with("Defaults") {
                facts.sudo_defaults.push(line.to_owned());
                continue;
            }
            if [
                "User_Alias",
                "Runas_Alias",
                "Host_Alias",
                "Cmnd_Alias",
                "Cmd_Alias",
            ]
            .iter()
            .any(|a| line.starts_with(a))
            {
                continue;
            }
            let Some((principal, rule)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            let rule = rule.trim();
            let commands = rule.rsplit(':').next().unwrap_or(rule);
            let all_commands = commands
                .split(',')
                .any(|c| c.split_whitespace().last() == Some("ALL"));
            facts.sudo_rules.push(SudoRule {
                file: file.clone(),
                line: line_no,
                principal: principal.to_owned(),
                rule: rule.to_owned(),
                nopasswd: rule.contains("NOPASSWD:"),
                all_commands,
            });
        }
        includes.reverse();
        queue.extend(includes);
    }
    if !unreadable.is_empty() {
        g.unknown(
            "accounts.sudo_rules",
            format!("sudoers cannot be read in full: {}", unreadable.join("; ")),
        );
    }
}

/// PAM and login.defs settings that make up the password and lockout policy.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct AuthPolicyFacts {
    /// Password quality module in the PAM password stack: `pam_pwquality`, `pam_cracklib`, or none.
    pub quality_module: Option<String>,
    /// Effective password quality options: PAM arguments over `pwquality.conf`.
    pub quality: BTreeMap<String, String>,
    /// Lockout module in the PAM auth stack: `pam_faillock`, `pam_tally2`, or none.
    pub lockout_module: Option<String>,
    /// Effective lockout options: PAM arguments over `faillock.conf`.
    pub lockout: BTreeMap<String, String>,
    /// Whether `pam_unix` accepts empty passwords (`nullok`).
    pub unix_nullok: bool,
    /// `remember=N` of `pam_unix` or `pam_pwhistory`.
    pub password_history: Option<u32>,
    /// `/etc/login.defs` keys and values.
    pub login_defs: BTreeMap<String, String>,
    /// PAM files read.
    pub pam_files: Vec<String>,
}

fn pam_args(line: &str, module: &str) -> Option<BTreeMap<String, String>> {
    let mut words = line.split_whitespace();
    let _kind = words.next()?;
    // The control field may be a bracketed list with spaces.
    let mut control = words.next()?.to_owned();
    if control.starts_with('[') {
        while !control.ends_with(']') {
            control.push(' ');
            control.push_str(words.next()?);
        }
    }
    let path = words.next()?;
    if !path.ends_with(&format!("{module}.so")) && path != module {
        return None;
    }
    Some(
        words
            .map(|w| match w.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (w.to_owned(), "true".to_owned()),
            })
            .collect(),
    )
}

fn key_values(text: &str, separator: char) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = if separator == ' ' {
                l.split_once(char::is_whitespace)?
            } else {
                l.split_once(separator).unwrap_or((l, "true"))
            };
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

pub(crate) fn auth_policy(fs: &RootFs, g: &mut Gather) -> AuthPolicyFacts {
    let mut facts = AuthPolicyFacts::default();
    let password_files = [
        "/etc/pam.d/common-password",
        "/etc/pam.d/system-auth",
        "/etc/pam.d/password-auth",
    ];
    let auth_files = [
        "/etc/pam.d/common-auth",
        "/etc/pam.d/system-auth",
        "/etc/pam.d/password-auth",
    ];
    let mut texts = BTreeMap::new();
    let mut unreadable = Vec::new();
    for file in password_files.iter().chain(auth_files.iter()) {
        match fs.read_if_present(file) {
            Ok(Some(text)) => {
                facts.pam_files.push((*file).to_owned());
                texts.insert(*file, text);
            }
            Ok(None) => {}
            Err(e) => unreadable.push(e.0),
        }
    }
    facts.pam_files.sort();
    facts.pam_files.dedup();
    unreadable.sort();
    unreadable.dedup();
    if !unreadable.is_empty() {
        // An unread stack may hold or lack any module: the policy is not known in full.
        let why = format!(
            "PAM configuration cannot be read in full: {}",
            unreadable.join("; ")
        );
        for fact in [
            "auth.pam",
            "auth.quality",
            "auth.lockout",
            "auth.unix_nullok",
        ] {
            g.unknown(fact, why.clone());
        }
    }
    if texts.is_empty() && unreadable.is_empty() {
        g.unknown(
            "auth.pam",
            "no PAM password or auth stack found (/etc/pam.d/common-* or system-auth)",
        );
    }
    let lines = |files: &[&str]| -> Vec<String> {
        files
            .iter()
            .filter_map(|f| texts.get(f))
            .flat_map(|t| t.lines().map(str::to_owned))
            .collect()
    };
    let password_lines = lines(&password_files);
    let auth_lines = lines(&auth_files);
    for line in password_lines
        .iter()
        .filter(|l| l.trim_start().starts_with("password"))
    {
        for module in ["pam_pwquality", "pam_cracklib"] {
            if let Some(args) = pam_args(line, module) {
                facts
                    .quality_module
                    .get_or_insert_with(|| module.to_owned());
                for (k, v) in args {
                    facts.quality.entry(k).or_insert(v);
                }
            }
        }
        for module in ["pam_unix", "pam_pwhistory"] {
            if let Some(n) = pam_args(line, module)
                .and_then(|args| args.get("remember").and_then(|v| v.parse().ok()))
            {
                facts.password_history = Some(n);
            }
        }
    }
    for line in auth_lines
        .iter()
        .filter(|l| l.trim_start().starts_with("auth"))
    {
        for module in ["pam_faillock", "pam_tally2"] {
            if let Some(args) = pam_args(line, module) {
                facts
                    .lockout_module
                    .get_or_insert_with(|| module.to_owned());
                for (k, v) in args {
                    if k != "preauth" && k != "authfail" && k != "authsucc" {
                        facts.lockout.entry(k).or_insert(v);
                    }
                }
            }
        }
        if pam_args(line, "pam_unix")
            .is_some_and(|a| a.contains_key("nullok") || a.contains_key("nullok_secure"))
        {
            facts.unix_nullok = true;
        }
    }
    for (module, file, fact, options) in [
        (
            "pam_pwquality",
            "/etc/security/pwquality.conf",
            "auth.quality",
            &mut facts.quality,
        ),
        (
            "pam_faillock",
            "/etc/security/faillock.conf",
            "auth.lockout",
            &mut facts.lockout,
        ),
    ] {
        let used = facts.quality_module.as_deref() == Some(module)
            || facts.lockout_module.as_deref() == Some(module);
        if !used {
            continue;
        }
        match fs.read_if_present(file) {
            Ok(Some(text)) => {
                for (k, v) in key_values(&text, '=') {
                    options.entry(k).or_insert(v);
                }
            }
            Ok(None) => {}
            Err(e) => g.unknown(fact, e.0),
        }
    }
    match fs.read_text("/etc/login.defs") {
        Ok(text) => facts.login_defs = key_values(&text, ' '),
        Err(e) => g.unknown("auth.login_defs", e.0),
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_states_never_keep_the_hash() {
        assert_eq!(password_state(""), (PasswordState::Empty, None));
        assert_eq!(password_state("*"), (PasswordState::NoPassword, None));
        assert_eq!(password_state("!"), (PasswordState::NoPassword, None));
        assert_eq!(password_state("!!"), (PasswordState::NoPassword, None));
        assert_eq!(
            password_state("$6$salt$hash"),
            (PasswordState::Set, Some("sha512".into()))
        );
        assert_eq!(
            password_state("!$y$j9T$salt$hash"),
            (PasswordState::Locked, Some("yescrypt".into()))
        );
        assert_eq!(
            password_state("abcdefghijklm"),
            (PasswordState::Set, Some("des".into()))
        );
    }

    #[test]
    fn pam_arguments_are_read_with_bracketed_controls() {
        let args = pam_args(
            "password [success=1 default=ignore] pam_unix.so obscure yescrypt remember=5",
            "pam_unix",
        )
        .unwrap();
        assert_eq!(args["remember"], "5");
        assert_eq!(args["obscure"], "true");
        assert!(pam_args("password requisite pam_pwquality.so retry=3", "pam_unix").is_none());
        assert!(pam_args("password", "pam_unix").is_none());
    }
}
