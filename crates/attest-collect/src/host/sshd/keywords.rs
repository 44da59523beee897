//! The keywords sshd accepts: how each value is read, how repeated lines combine, and
//! whether it may appear in a `Match` block (`keywords[]` and `process_server_config_line`
//! in `servconf.c`).

use super::algorithms::{self, Family};

/// How a keyword's value is read and how repeated lines combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `yes` or `no`, in any case.
    Flag,
    /// One of the accepted words (any case), each with the value `sshd -T` prints.
    Choice(&'static [(&'static str, &'static str)]),
    /// One of the accepted words, case-sensitive (`PermitTunnel`).
    ExactChoice(&'static [&'static str]),
    /// A whole number from 0 to `INT_MAX`.
    Integer,
    /// A time value, printed in seconds.
    Time,
    /// An algorithm list, resolved against the defaults.
    Algorithms(Family),
    /// One argument, kept as written.
    Text,
    /// One argument, and the **last** line wins (sshd does not check whether it is set).
    LastText,
    /// Between `min` and `max` arguments; the first line wins.
    Words { min: usize, max: usize },
    /// Like [`Kind::Words`], but the last line wins.
    LastWords { min: usize, max: usize },
    /// One or more arguments; every line adds to the list.
    List,
    /// Between `min` and `max` arguments per line; every line adds an entry.
    Repeat { min: usize, max: usize },
    /// The rest of the line as written, quotes and all (`ForceCommand`).
    Rest,
    /// `Subsystem name command [args]`: the first definition of each name counts.
    Subsystem,
    /// `yes`, `no` (exact) or a pattern list (`PermitUserEnvironment`).
    YesNoOrPatterns,
    /// Accepted for compatibility and ignored.
    Ignored,
}

/// One keyword.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keyword {
    /// Lower-case name as written.
    pub(crate) name: &'static str,
    /// The keyword it sets, for aliases and old names.
    pub(crate) sets: &'static str,
    /// How its value is read.
    pub(crate) kind: Kind,
    /// Whether it may appear inside a `Match` block.
    pub(crate) in_match: bool,
}

impl Keyword {
    /// Whether repeated lines add to the value instead of the first (or last) one winning.
    pub(crate) fn accumulates(&self) -> bool {
        matches!(
            self.kind,
            Kind::List | Kind::Repeat { .. } | Kind::Subsystem
        )
    }

    /// Whether the last line wins.
    pub(crate) fn last_wins(&self) -> bool {
        matches!(self.kind, Kind::LastText | Kind::LastWords { .. })
    }
}

const PERMIT_ROOT_LOGIN: &[(&str, &str)] = &[
    ("without-password", "prohibit-password"),
    ("prohibit-password", "prohibit-password"),
    ("forced-commands-only", "forced-commands-only"),
    ("yes", "yes"),
    ("no", "no"),
];
const IGNORE_RHOSTS: &[(&str, &str)] =
    &[("yes", "yes"), ("no", "no"), ("shosts-only", "shosts-only")];
const ADDRESS_FAMILY: &[(&str, &str)] = &[("inet", "inet"), ("inet6", "inet6"), ("any", "any")];
const COMPRESSION: &[(&str, &str)] = &[("yes", "yes"), ("delayed", "yes"), ("no", "no")];
const GATEWAY_PORTS: &[(&str, &str)] = &[
    ("clientspecified", "clientspecified"),
    ("yes", "yes"),
    ("no", "no"),
];
const FORWARDING: &[(&str, &str)] = &[
    ("yes", "yes"),
    ("all", "yes"),
    ("no", "no"),
    ("remote", "remote"),
    ("local", "local"),
];
const LOG_LEVEL: &[(&str, &str)] = &[
    ("quiet", "QUIET"),
    ("fatal", "FATAL"),
    ("error", "ERROR"),
    ("info", "INFO"),
    ("verbose", "VERBOSE"),
    ("debug", "DEBUG"),
    ("debug1", "DEBUG"),
    ("debug2", "DEBUG2"),
    ("debug3", "DEBUG3"),
];
const SYSLOG_FACILITY: &[(&str, &str)] = &[
    ("daemon", "DAEMON"),
    ("user", "USER"),
    ("auth", "AUTH"),
    ("authpriv", "AUTHPRIV"),
    ("local0", "LOCAL0"),
    ("local1", "LOCAL1"),
    ("local2", "LOCAL2"),
    ("local3", "LOCAL3"),
    ("local4", "LOCAL4"),
    ("local5", "LOCAL5"),
    ("local6", "LOCAL6"),
    ("local7", "LOCAL7"),
];
const FINGERPRINT_HASH: &[(&str, &str)] = &[("md5", "MD5"), ("sha256", "SHA256")];
const PERMIT_TUNNEL: &[&str] = &["no", "point-to-point", "ethernet", "yes"];

const ONE_OR_MORE: Kind = Kind::Words {
    min: 1,
    max: usize::MAX,
};

/// A keyword that sets itself.
const fn kw(name: &'static str, kind: Kind, in_match: bool) -> Keyword {
    Keyword {
        name,
        sets: name,
        kind,
        in_match,
    }
}

/// An alias or old name of `sets`.
const fn alias(name: &'static str, sets: &'static str, kind: Kind, in_match: bool) -> Keyword {
    Keyword {
        name,
        sets,
        kind,
        in_match,
    }
}

/// Every keyword of OpenSSH 9.x's sshd, with the Debian and Red Hat additions, by lower-case
/// name. `true` marks those allowed in a `Match` block.
pub(crate) const KEYWORDS: &[Keyword] = &[
    kw("usepam", Kind::Flag, false),
    kw("pamservicename", Kind::Text, true),
    kw("port", Kind::Repeat { min: 1, max: 1 }, false),
    kw("hostkey", Kind::Repeat { min: 1, max: 1 }, false),
    alias(
        "hostdsakey",
        "hostkey",
        Kind::Repeat { min: 1, max: 1 },
        false,
    ),
    kw("hostkeyagent", Kind::Text, false),
    kw("pidfile", Kind::Text, false),
    kw("modulifile", Kind::Text, false),
    kw("logingracetime", Kind::Time, false),
    kw("permitrootlogin", Kind::Choice(PERMIT_ROOT_LOGIN), true),
    kw("syslogfacility", Kind::Choice(SYSLOG_FACILITY), false),
    kw("loglevel", Kind::Choice(LOG_LEVEL), true),
    kw("logverbose", ONE_OR_MORE, true),
    kw("hostbasedauthentication", Kind::Flag, true),
    kw("hostbasedusesnamefrompacketonly", Kind::Flag, true),
    kw(
        "hostbasedacceptedalgorithms",
        Kind::Algorithms(algorithms::KEYS),
        true,
    ),
    alias(
        "hostbasedacceptedkeytypes",
        "hostbasedacceptedalgorithms",
        Kind::Algorithms(algorithms::KEYS),
        true,
    ),
    kw(
        "hostkeyalgorithms",
        Kind::Algorithms(algorithms::KEYS),
        false,
    ),
    kw("pubkeyauthentication", Kind::Flag, true),
    alias(
        "dsaauthentication",
        "pubkeyauthentication",
        Kind::Flag,
        false,
    ),
    kw(
        "pubkeyacceptedalgorithms",
        Kind::Algorithms(algorithms::KEYS),
        true,
    ),
    alias(
        "pubkeyacceptedkeytypes",
        "pubkeyacceptedalgorithms",
        Kind::Algorithms(algorithms::KEYS),
        true,
    ),
    kw("pubkeyauthoptions", ONE_OR_MORE, true),
    kw("kerberosauthentication", Kind::Flag, true),
    kw("kerberosorlocalpasswd", Kind::Flag, false),
    kw("kerberosticketcleanup", Kind::Flag, false),
    kw("kerberosgetafstoken", Kind::Text, false),
    kw("kerberosusekuserok", Kind::Text, true),
    kw("gssapiauthentication", Kind::Flag, true),
    kw("gssapicleanupcredentials", Kind::Flag, false),
    kw("gssapistrictacceptorcheck", Kind::Flag, false),
    kw("gssapikeyexchange", Kind::Flag, false),
    kw("gssapistorecredentialsonrekey", Kind::Flag, false),
    kw("gssapikexalgorithms", Kind::Text, false),
    kw("gssapienablek5users", Kind::Text, true),
    kw("passwordauthentication", Kind::Flag, true),
    kw("kbdinteractiveauthentication", Kind::Flag, true),
    alias(
        "challengeresponseauthentication",
        "kbdinteractiveauthentication",
        Kind::Flag,
        true,
    ),
    alias(
        "skeyauthentication",
        "kbdinteractiveauthentication",
        Kind::Flag,
        true,
    ),
    kw("listenaddress", Kind::Repeat { min: 1, max: 3 }, false),
    kw("addressfamily", Kind::Choice(ADDRESS_FAMILY), false),
    kw("printmotd", Kind::Flag, false),
    kw("printlastlog", Kind::Flag, false),
    kw("ignorerhosts", Kind::Choice(IGNORE_RHOSTS), true),
    kw("ignoreuserknownhosts", Kind::Flag, false),
    kw("x11forwarding", Kind::Flag, true),
    kw("x11displayoffset", Kind::Integer, true),
    kw("x11uselocalhost", Kind::Flag, true),
    kw("xauthlocation", Kind::Text, false),
    kw("strictmodes", Kind::Flag, false),
    kw("permitemptypasswords", Kind::Flag, true),
    kw("permituserenvironment", Kind::YesNoOrPatterns, false),
    kw("compression", Kind::Choice(COMPRESSION), false),
    kw("rekeylimit", Kind::Words { min: 1, max: 2 }, true),
    kw("tcpkeepalive", Kind::Flag, false),
    alias("keepalive", "tcpkeepalive", Kind::Flag, false),
    kw("allowtcpforwarding", Kind::Choice(FORWARDING), true),
    kw("allowagentforwarding", Kind::Flag, true),
    kw("allowusers", Kind::List, true),
    kw("denyusers", Kind::List, true),
    kw("allowgroups", Kind::List, true),
    kw("denygroups", Kind::List, true),
    kw("ciphers", Kind::Algorithms(algorithms::CIPHERS), false),
    kw("macs", Kind::Algorithms(algorithms::MACS), false),
    kw("kexalgorithms", Kind::Algorithms(algorithms::KEX), false),
    kw("gatewayports", Kind::Choice(GATEWAY_PORTS), true),
    kw("subsystem", Kind::Subsystem, false),
    kw("maxstartups", Kind::LastText, false),
    kw("persourcemaxstartups", Kind::LastText, false),
    kw("persourcenetblocksize", Kind::LastText, false),
    kw("persourcepenalties", ONE_OR_MORE, false),
    kw("persourcepenaltyexemptlist", Kind::Text, false),
    kw("maxauthtries", Kind::Integer, true),
    kw("maxsessions", Kind::Integer, true),
    kw("banner", Kind::Text, true),
    kw("usedns", Kind::Flag, false),
    kw("clientaliveinterval", Kind::Time, true),
    kw("clientalivecountmax", Kind::Integer, true),
    kw("authorizedkeysfile", ONE_OR_MORE, true),
    kw("acceptenv", Kind::List, true),
    kw("setenv", ONE_OR_MORE, true),
    kw("permittunnel", Kind::ExactChoice(PERMIT_TUNNEL), true),
    kw("permittty", Kind::Flag, true),
    kw("permituserrc", Kind::Flag, true),
    kw("permitopen", ONE_OR_MORE, true),
    kw("permitlisten", ONE_OR_MORE, true),
    kw("forcecommand", Kind::Rest, true),
    kw("chrootdirectory", Kind::Text, true),
    kw("hostcertificate", Kind::Repeat { min: 1, max: 1 }, false),
    kw("revokedkeys", Kind::Text, true),
    kw("trustedusercakeys", Kind::Text, true),
    kw("authorizedprincipalsfile", Kind::Text, true),
    kw("ipqos", Kind::LastWords { min: 1, max: 2 }, true),
    kw("authorizedkeyscommand", Kind::Rest, true),
    kw("authorizedkeyscommanduser", Kind::Text, true),
    kw("authorizedprincipalscommand", Kind::Rest, true),
    kw("authorizedprincipalscommanduser", Kind::Text, true),
    kw("versionaddendum", Kind::Rest, false),
    kw("authenticationmethods", ONE_OR_MORE, true),
    kw("streamlocalbindmask", Kind::LastText, true),
    kw("streamlocalbindunlink", Kind::Flag, true),
    kw("allowstreamlocalforwarding", Kind::Choice(FORWARDING), true),
    kw("fingerprinthash", Kind::Choice(FINGERPRINT_HASH), false),
    kw("disableforwarding", Kind::Flag, true),
    kw("exposeauthinfo", Kind::Flag, true),
    kw("rdomain", Kind::Text, true),
    kw(
        "casignaturealgorithms",
        Kind::Algorithms(algorithms::CA_SIGNATURES),
        true,
    ),
    kw("securitykeyprovider", Kind::Text, false),
    kw("requiredrsasize", Kind::Integer, true),
    kw("channeltimeout", ONE_OR_MORE, true),
    kw("unusedconnectiontimeout", Kind::Text, true),
    kw("sshdsessionpath", Kind::Text, false),
    kw("sshdauthpath", Kind::Text, false),
    kw("refuseconnection", Kind::Flag, true),
    kw("debianbanner", Kind::Flag, false),
    // Deprecated or unsupported: sshd logs them and goes on.
    kw("pamauthenticationviakbdint", Kind::Ignored, false),
    kw("serverkeybits", Kind::Ignored, false),
    kw("keyregenerationinterval", Kind::Ignored, false),
    kw("rhostsauthentication", Kind::Ignored, false),
    kw("rhostsrsaauthentication", Kind::Ignored, true),
    kw("rsaauthentication", Kind::Ignored, true),
    kw("kerberostgtpassing", Kind::Ignored, false),
    kw("afstokenpassing", Kind::Ignored, false),
    kw("checkmail", Kind::Ignored, false),
    kw("uselogin", Kind::Ignored, false),
    kw("protocol", Kind::Ignored, false),
    kw("verifyreversemapping", Kind::Ignored, false),
    kw("reversemappingcheck", Kind::Ignored, false),
    kw("authorizedkeysfile2", Kind::Ignored, true),
    kw("useprivilegeseparation", Kind::Ignored, false),
];

/// The keyword named `name` (any case).
pub(crate) fn lookup(name: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.name.eq_ignore_ascii_case(name))
}

/// The keyword that `name` sets, for reading `sshd -T` output.
pub(crate) fn by_effective_name(name: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.sets == name)
}
