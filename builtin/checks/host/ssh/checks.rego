# SSH server hardening, judged on the effective sshd configuration.
package attest.host.ssh

import data.attest.lib
import rego.v1

# Before any setting is judged: nothing to judge without a server, and no verdict without facts.
guard := lib.na("sshd", "no SSH server is installed") if not input.ssh.installed

guard := lib.unknown("sshd", lib.why("ssh.effective")) if {
	input.ssh.installed
	input.ssh.effective == null
}

judged if input.ssh.effective != null

setting(name) := input.ssh.effective[name]

# A setting sshd would reject (or one `sshd -T` did not print) is unknown: the checks that
# need it yield an error with the collector's reason, never a verdict.
missing_settings(names) := {n | some n in names; not input.ssh.effective[n]}

unknown_setting(names) := lib.unknown("sshd", concat("; ", sort([lib.why(sprintf("ssh.effective.%s", [m])) | some m in missing_settings(names)]))) if {
	judged
	count(missing_settings(names)) > 0
}

number(name) := to_number(setting(name))

root_login_disabled contains guard
root_login_disabled contains unknown_setting(["permitrootlogin"])
root_login_disabled contains lib.verdict(
	setting("permitrootlogin") == "no",
	"sshd",
	"PermitRootLogin is no",
	sprintf("PermitRootLogin is %s: root can log in over SSH", [setting("permitrootlogin")]),
) if judged

password_authentication_disabled contains guard
password_authentication_disabled contains unknown_setting(["passwordauthentication"])
password_authentication_disabled contains lib.verdict(
	setting("passwordauthentication") == "no",
	"sshd",
	"PasswordAuthentication is no: only keys (or other strong methods) are accepted",
	"PasswordAuthentication is yes: passwords can be guessed over the network",
) if judged

empty_passwords_refused contains guard
empty_passwords_refused contains unknown_setting(["permitemptypasswords"])
empty_passwords_refused contains lib.verdict(
	setting("permitemptypasswords") == "no",
	"sshd",
	"PermitEmptyPasswords is no",
	"PermitEmptyPasswords is yes: accounts without a password can log in",
) if judged

max_auth_tries contains guard
max_auth_tries contains unknown_setting(["maxauthtries"])
max_auth_tries contains lib.verdict(
	number("maxauthtries") <= 4,
	"sshd",
	sprintf("MaxAuthTries is %s", [setting("maxauthtries")]),
	sprintf("MaxAuthTries is %s; at most 4 limits password guessing per connection", [setting("maxauthtries")]),
) if judged

x11_forwarding_disabled contains guard
x11_forwarding_disabled contains unknown_setting(["x11forwarding"])
x11_forwarding_disabled contains lib.verdict(
	setting("x11forwarding") == "no",
	"sshd",
	"X11Forwarding is no",
	"X11Forwarding is yes",
) if judged

hostbased_authentication_disabled contains guard
hostbased_authentication_disabled contains unknown_setting(["hostbasedauthentication", "ignorerhosts"])
hostbased_authentication_disabled contains lib.verdict(
	{setting("hostbasedauthentication"), setting("ignorerhosts")} == {"no", "yes"},
	"sshd",
	"HostbasedAuthentication is no and IgnoreRhosts is yes",
	sprintf("HostbasedAuthentication is %s and IgnoreRhosts is %s: trust based on hosts is possible", [setting("hostbasedauthentication"), setting("ignorerhosts")]),
) if judged

user_environment_disabled contains guard
user_environment_disabled contains unknown_setting(["permituserenvironment"])
user_environment_disabled contains lib.verdict(
	setting("permituserenvironment") == "no",
	"sshd",
	"PermitUserEnvironment is no",
	sprintf("PermitUserEnvironment is %s: users can set environment variables that bypass restrictions", [setting("permituserenvironment")]),
) if judged

# sshd time values: the collector and `sshd -T` give seconds; one number with a unit (s, m, h)
# is still read for facts written by hand.
duration(v) := to_number(v) if regex.match(`^[0-9]+$`, v)

duration(v) := to_number(trim_suffix(v, unit)) * factor if {
	regex.match(`^[0-9]+[smh]$`, v)
	some unit, factor in {"s": 1, "m": 60, "h": 3600}
	endswith(v, unit)
}

grace := duration(setting("logingracetime"))

grace := -1 if {
	setting("logingracetime")
	not duration(setting("logingracetime"))
}

default grace_ok := false

grace_ok if {
	grace > 0
	grace <= 60
}

login_grace_time contains guard
login_grace_time contains unknown_setting(["logingracetime"])
login_grace_time contains lib.verdict(
	grace_ok,
	"sshd",
	sprintf("LoginGraceTime is %s", [setting("logingracetime")]),
	sprintf("LoginGraceTime is %s; between 1 and 60 seconds limits unauthenticated connections", [setting("logingracetime")]),
) if judged

default idle_ok := false

idle_ok if {
	number("clientaliveinterval") > 0
	number("clientaliveinterval") <= 900
	number("clientalivecountmax") <= 3
}

idle_timeout contains guard
idle_timeout contains unknown_setting(["clientaliveinterval", "clientalivecountmax"])
idle_timeout contains lib.verdict(
	idle_ok,
	"sshd",
	sprintf("idle sessions end after %d s (ClientAliveInterval %s x ClientAliveCountMax %s)", [number("clientaliveinterval") * number("clientalivecountmax"), setting("clientaliveinterval"), setting("clientalivecountmax")]),
	sprintf("ClientAliveInterval is %s and ClientAliveCountMax is %s; idle sessions are not ended within 15 minutes", [setting("clientaliveinterval"), setting("clientalivecountmax")]),
) if judged

log_level contains guard
log_level contains unknown_setting(["loglevel"])
log_level contains lib.verdict(
	setting("loglevel") in {"INFO", "VERBOSE"},
	"sshd",
	sprintf("LogLevel is %s", [setting("loglevel")]),
	sprintf("LogLevel is %s; INFO or VERBOSE records logins", [setting("loglevel")]),
) if judged

weak_ciphers := {c | some c in split(setting("ciphers"), ","); weak_cipher(c)} if setting("ciphers")

weak_cipher(c) if endswith(c, "-cbc")

weak_cipher(c) if startswith(c, "arcfour")

weak_cipher(c) if c == "3des-cbc"

strong_ciphers contains guard
strong_ciphers contains unknown_setting(["ciphers"])
strong_ciphers contains lib.verdict(
	count(weak_ciphers) == 0,
	"sshd",
	"no CBC or RC4 ciphers are offered",
	sprintf("weak ciphers are offered: %s", [concat(", ", sort(weak_ciphers))]),
) if judged

weak_macs := {m | some m in split(setting("macs"), ","); weak_mac(m)} if setting("macs")

weak_mac(m) if contains(m, "md5")

weak_mac(m) if contains(m, "-96")

weak_mac(m) if startswith(m, "umac-64")

weak_mac(m) if m in {"hmac-sha1", "hmac-sha1-etm@openssh.com"}

strong_macs contains guard
strong_macs contains unknown_setting(["macs"])
strong_macs contains lib.verdict(
	count(weak_macs) == 0,
	"sshd",
	"no MD5, SHA-1 or 64-bit MACs are offered",
	sprintf("weak MACs are offered: %s", [concat(", ", sort(weak_macs))]),
) if judged

weak_kex := {k | some k in split(setting("kexalgorithms"), ","); endswith(k, "-sha1")} if setting("kexalgorithms")

strong_key_exchange contains guard
strong_key_exchange contains unknown_setting(["kexalgorithms"])
strong_key_exchange contains lib.verdict(
	count(weak_kex) == 0,
	"sshd",
	"no SHA-1 key exchange is offered",
	sprintf("weak key exchange algorithms are offered: %s", [concat(", ", sort(weak_kex))]),
) if judged

warning_banner contains guard
warning_banner contains unknown_setting(["banner"])
warning_banner contains lib.verdict(
	setting("banner") != "none",
	"sshd",
	sprintf("Banner is %s", [setting("banner")]),
	"no warning banner is shown before login (Banner none)",
) if judged

config_valid contains guard
config_valid contains lib.pass("sshd", sprintf("%d configuration file(s) read without problems", [count(input.ssh.files)])) if {
	input.ssh.effective != null
	count(input.ssh.problems) == 0
}

config_valid contains lib.fail(
	sprintf("%s:%d", [p.file, p.line]),
	p.message,
) if {
	input.ssh.effective != null
	some p in input.ssh.problems
}

# Settings a Match block must not loosen.
loosened(block) := {sprintf("%s %s", [k, v]) |
	some k, v in block.settings
	[k, v] in {["permitrootlogin", "yes"], ["passwordauthentication", "yes"], ["permitemptypasswords", "yes"], ["permituserenvironment", "yes"]}
}

match_blocks_safe contains guard
match_blocks_safe contains lib.pass("sshd", sprintf("%d Match block(s), none loosens authentication", [count(input.ssh.match_blocks)])) if {
	input.ssh.effective != null
	every block in input.ssh.match_blocks {
		count(loosened(block)) == 0
	}
}

match_blocks_safe contains lib.fail(
	sprintf("%s:%d", [block.file, block.line]),
	sprintf("Match %s sets %s", [block.criteria, concat(", ", sort(loosened(block)))]),
) if {
	input.ssh.effective != null
	some block in input.ssh.match_blocks
	count(loosened(block)) > 0
}

access_limited contains guard
access_limited contains unknown_setting(["allowusers", "allowgroups", "denyusers", "denygroups"])
access_limited contains lib.verdict(
	count([k | some k in ["allowusers", "allowgroups", "denyusers", "denygroups"]; setting(k) != ""]) > 0,
	"sshd",
	"logins are limited with AllowUsers, AllowGroups, DenyUsers or DenyGroups",
	"any account with a shell may log in over SSH: no AllowUsers, AllowGroups, DenyUsers or DenyGroups",
) if judged
