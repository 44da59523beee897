//! Algorithm lists: how `Ciphers`, `MACs`, `KexAlgorithms` and the key algorithm keywords
//! resolve against OpenSSH's built-in lists, as `kex_assemble_names` (`kex.c`) does.
//!
//! A value is an explicit list, or a list starting with `+` (appended to the default list),
//! `-` (patterns removed from the default list) or `^` (placed at the head of the default
//! list). Names are validated first, as `ciphers_valid`, `mac_valid`, `kex_names_valid` and
//! `sshkey_names_valid2` do: only the key algorithm keywords accept wildcards outside a `-`
//! list. Then every pattern of the list is expanded against the names the server supports.
//!
//! The lists are those of OpenSSH 9.6 built with OpenSSL: the defaults from `myproposal.h`
//! and the supported names as `ssh -Q cipher`, `ssh -Q mac`, `ssh -Q kex`, `ssh -Q key` and
//! `ssh -Q key-sig` print them.

/// One family of algorithms and its lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Family {
    /// What sshd calls a bad value, e.g. `SSH2 cipher spec`.
    what: &'static str,
    /// The default list, in preference order.
    default: &'static [&'static str],
    /// Every supported name, in the order OpenSSH lists them.
    all: &'static [&'static str],
    /// Whether names may be patterns outside a `-` list.
    wildcards: bool,
}

/// `Ciphers`.
pub(crate) const CIPHERS: Family = Family {
    what: "SSH2 cipher spec",
    default: &[
        "chacha20-poly1305@openssh.com",
        "aes128-ctr",
        "aes192-ctr",
        "aes256-ctr",
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
    ],
    all: &[
        "3des-cbc",
        "aes128-cbc",
        "aes192-cbc",
        "aes256-cbc",
        "aes128-ctr",
        "aes192-ctr",
        "aes256-ctr",
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        "chacha20-poly1305@openssh.com",
    ],
    wildcards: false,
};

/// `MACs`.
pub(crate) const MACS: Family = Family {
    what: "SSH2 mac spec",
    default: &[
        "umac-64-etm@openssh.com",
        "umac-128-etm@openssh.com",
        "hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-512-etm@openssh.com",
        "hmac-sha1-etm@openssh.com",
        "umac-64@openssh.com",
        "umac-128@openssh.com",
        "hmac-sha2-256",
        "hmac-sha2-512",
        "hmac-sha1",
    ],
    all: &[
        "hmac-sha1",
        "hmac-sha1-96",
        "hmac-sha2-256",
        "hmac-sha2-512",
        "hmac-md5",
        "hmac-md5-96",
        "umac-64@openssh.com",
        "umac-128@openssh.com",
        "hmac-sha1-etm@openssh.com",
        "hmac-sha1-96-etm@openssh.com",
        "hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-512-etm@openssh.com",
        "hmac-md5-etm@openssh.com",
        "hmac-md5-96-etm@openssh.com",
        "umac-64-etm@openssh.com",
        "umac-128-etm@openssh.com",
    ],
    wildcards: false,
};

/// `KexAlgorithms`.
pub(crate) const KEX: Family = Family {
    what: "SSH2 KexAlgorithms",
    default: &[
        "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        "diffie-hellman-group-exchange-sha256",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512",
        "diffie-hellman-group14-sha256",
    ],
    all: &[
        "diffie-hellman-group1-sha1",
        "diffie-hellman-group14-sha1",
        "diffie-hellman-group14-sha256",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512",
        "diffie-hellman-group-exchange-sha1",
        "diffie-hellman-group-exchange-sha256",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "sntrup761x25519-sha512@openssh.com",
    ],
    wildcards: false,
};

/// Every key and signature algorithm (`ssh -Q key` with the signature-only names).
const ALL_KEYS: &[&str] = &[
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
    "ssh-dss-cert-v01@openssh.com",
    "ssh-rsa",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512",
    "rsa-sha2-512-cert-v01@openssh.com",
];

/// `HostKeyAlgorithms`, `PubkeyAcceptedAlgorithms` and `HostbasedAcceptedAlgorithms`.
pub(crate) const KEYS: Family = Family {
    what: "key types",
    default: &[
        "ssh-ed25519-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "rsa-sha2-512-cert-v01@openssh.com",
        "rsa-sha2-256-cert-v01@openssh.com",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "rsa-sha2-512",
        "rsa-sha2-256",
    ],
    all: ALL_KEYS,
    wildcards: true,
};

/// `CASignatureAlgorithms`: the default is the allowed CA signature list, and only plain
/// (non-certificate) signature algorithms are supported.
pub(crate) const CA_SIGNATURES: Family = Family {
    what: "key types",
    default: &[
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "rsa-sha2-512",
        "rsa-sha2-256",
    ],
    all: &[
        "ssh-ed25519",
        "sk-ssh-ed25519@openssh.com",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-dss",
        "ssh-rsa",
        "rsa-sha2-256",
        "rsa-sha2-512",
    ],
    wildcards: true,
};

impl Family {
    /// The default list, comma-separated, as `sshd -T` prints it.
    pub(crate) fn default_list(&self) -> String {
        self.default.join(",")
    }

    /// Checks a value as sshd does when it reads the line: `Err` is sshd's complaint.
    pub(crate) fn validate(&self, spec: &str) -> Result<(), String> {
        if spec.starts_with('-') {
            return Ok(());
        }
        let names = spec.strip_prefix(['+', '^']).unwrap_or(spec);
        let bad = || Err(format!("bad {} `{spec}`", self.what));
        if names.is_empty() {
            return bad();
        }
        // Like OpenSSH, stop at the first empty name.
        for name in names.split(',').take_while(|n| !n.is_empty()) {
            let known = self.all.contains(&name)
                || (self.wildcards && self.all.iter().any(|a| match_pattern_list(a, name) != 0));
            if !known {
                return bad();
            }
        }
        Ok(())
    }

    /// The list sshd uses for a value that passed [`Family::validate`].
    pub(crate) fn resolve(&self, spec: &str) -> Result<String, String> {
        let default = self.default.join(",");
        let list = if let Some(patterns) = spec.strip_prefix('-') {
            // Removal patterns apply to the default list, and the result is final.
            return Ok(self
                .default
                .iter()
                .filter(|name| match_pattern_list(name, patterns) != 1)
                .copied()
                .collect::<Vec<_>>()
                .join(","));
        } else if let Some(names) = spec.strip_prefix('+') {
            names_cat(&default, names)
        } else if let Some(names) = spec.strip_prefix('^') {
            names_cat(names, &default)
        } else {
            spec.to_owned()
        };
        let mut resolved = String::new();
        for pattern in list.split(',') {
            if pattern.starts_with('!') {
                return Err(format!("negated names are not allowed in `{spec}`"));
            }
            let matching: Vec<&str> = self
                .all
                .iter()
                .filter(|name| match_pattern_list(name, pattern) == 1)
                .copied()
                .collect();
            resolved = names_cat(&resolved, &matching.join(","));
        }
        if resolved.is_empty() {
            return Err(format!("`{spec}` leaves no {} algorithm", self.what));
        }
        Ok(resolved)
    }
}

/// `kex_names_cat`: `a`, then each name of `b` not yet present (stopping at an empty name).
fn names_cat(a: &str, b: &str) -> String {
    if a.is_empty() {
        return b.to_owned();
    }
    if b.is_empty() {
        return a.to_owned();
    }
    let mut out = a.to_owned();
    for name in b.split(',').take_while(|n| !n.is_empty()) {
        if !out.split(',').any(|present| present == name) {
            out.push(',');
            out.push_str(name);
        }
    }
    out
}

/// `match_pattern`: `*` and `?` wildcards, case-sensitive, matched without backtracking
/// blow-up.
pub(crate) fn match_pattern(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut t, mut p) = (0_usize, 0_usize);
    // Where the last `*` was, and the text position it currently absorbs up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match (pattern.get(p), text.get(t)) {
            (Some('*'), _) => {
                star = Some((p, t));
                p = p.saturating_add(1);
            }
            (Some(pc), Some(tc)) if *pc == '?' || pc == tc => {
                p = p.saturating_add(1);
                t = t.saturating_add(1);
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp.saturating_add(1);
                    t = st.saturating_add(1);
                    star = Some((sp, t));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// `match_pattern_list`: 1 if a positive pattern of the comma-separated list matches, -1 if
/// a negated (`!`) one does, 0 otherwise.
pub(crate) fn match_pattern_list(text: &str, list: &str) -> i8 {
    let mut positive = false;
    for pattern in list.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if match_pattern(text, pattern) {
            if negated {
                return -1;
            }
            positive = true;
        }
    }
    i8::from(positive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_openssh() {
        assert!(match_pattern("aes128-cbc", "*-cbc"));
        assert!(match_pattern("aes128-cbc", "aes1?8-*"));
        assert!(!match_pattern("aes128-ctr", "*-cbc"));
        assert!(match_pattern("", "*"));
        assert!(!match_pattern("a", ""));
        assert!(match_pattern("abcabc", "*abc"));
        assert_eq!(match_pattern_list("aes128-cbc", "*-cbc,!aes*"), -1);
        assert_eq!(match_pattern_list("3des-cbc", "*-cbc,!aes*"), 1);
        assert_eq!(match_pattern_list("aes128-ctr", "*-cbc"), 0);
        // A long run of stars does not take exponential time.
        let text = "a".repeat(64);
        let pattern = format!("{}b", "*a".repeat(32));
        assert!(!match_pattern(&text, &pattern));
    }

    #[test]
    fn plus_minus_and_caret_resolve_against_the_defaults() {
        assert_eq!(CIPHERS.resolve("-*-cbc").unwrap(), CIPHERS.default_list());
        assert_eq!(
            CIPHERS.resolve("-aes*").unwrap(),
            "chacha20-poly1305@openssh.com"
        );
        assert_eq!(
            CIPHERS.resolve("+aes128-cbc").unwrap(),
            format!("{},aes128-cbc", CIPHERS.default_list())
        );
        assert_eq!(
            CIPHERS.resolve("^aes256-ctr").unwrap(),
            "aes256-ctr,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
        );
        assert_eq!(
            CIPHERS.resolve("aes256-ctr,aes128-ctr").unwrap(),
            "aes256-ctr,aes128-ctr"
        );
        assert_eq!(
            KEYS.resolve("ssh-ed25519*").unwrap(),
            "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com"
        );
        assert!(CIPHERS.resolve("!aes128-ctr").is_err());
    }

    #[test]
    fn only_key_algorithms_accept_wildcards_outside_a_removal() {
        assert!(CIPHERS.validate("-*-cbc").is_ok());
        assert!(CIPHERS.validate("+aes128-cbc").is_ok());
        assert_eq!(
            CIPHERS.validate("+*-cbc").unwrap_err(),
            "bad SSH2 cipher spec `+*-cbc`"
        );
        assert!(CIPHERS.validate("arcfour").is_err());
        assert!(CIPHERS.validate("").is_err());
        assert!(CIPHERS.validate("+").is_err());
        assert!(KEYS.validate("+ssh-rsa*").is_ok());
        assert!(KEYS.validate("nonsense*").is_err());
        assert!(MACS.validate("hmac-md5,hmac-sha1").is_ok());
        assert!(KEX.validate("diffie-hellman-group1-sha1").is_ok());
    }
}
