# Accounts, privileges and the password policy.
package attest.host.accounts

import data.attest.lib
import rego.v1

guard := lib.unknown("accounts", lib.why("accounts")) if count(object.get(input.accounts, "users", [])) == 0

known if count(object.get(input.accounts, "users", [])) > 0

only_root_has_uid0 contains guard
only_root_has_uid0 contains lib.verdict(
	input.accounts.uid0 == ["root"],
	"uid0",
	"only root has uid 0",
	sprintf("accounts with uid 0: %s; every uid-0 account is root under another name", [concat(", ", input.accounts.uid0)]),
) if known

no_empty_passwords contains guard
no_empty_passwords contains lib.unknown("accounts", lib.why("accounts.password")) if {
	known
	input.unknown["accounts.password"]
}

no_empty_passwords contains lib.verdict(
	count(input.accounts.empty_passwords) == 0,
	"accounts",
	"no account has an empty password",
	sprintf("accounts with an empty password: %s", [concat(", ", input.accounts.empty_passwords)]),
) if {
	known
	not input.unknown["accounts.password"]
}

strong_hashes := {"sha512", "yescrypt", "gost-yescrypt", "bcrypt", "scrypt"}

weakly_hashed := {u.name | some u in input.accounts.users; u.password == "set"; not u.algorithm in strong_hashes}

strong_password_hashing contains guard
strong_password_hashing contains lib.unknown("accounts", lib.why("accounts.password")) if {
	known
	input.unknown["accounts.password"]
}

strong_password_hashing contains lib.verdict(
	count(weakly_hashed) == 0,
	"accounts",
	"every password is hashed with SHA-512, yescrypt, bcrypt or scrypt",
	sprintf("passwords hashed with a weak algorithm (MD5, DES, SHA-256): %s", [concat(", ", sort(weakly_hashed))]),
) if {
	known
	not input.unknown["accounts.password"]
}

system_accounts_cannot_log_in contains guard
system_accounts_cannot_log_in contains lib.verdict(
	count(interactive_system) == 0,
	"accounts",
	"system accounts have no login shell",
	sprintf("system accounts with a login shell: %s", [concat(", ", sort(interactive_system))]),
) if known

# System accounts (uid below 1000, not root) with a shell and a password that can match.
interactive_system := {u.name |
	some u in input.accounts.users
	u.system
	u.uid != 0
	u.interactive
	not u.password in {"locked", "no_password"}
}

login_defs(key) := input.auth.login_defs[key]

defs_known if count(object.get(input.auth, "login_defs", {})) > 0

defs_guard := lib.unknown("/etc/login.defs", lib.why("auth.login_defs")) if not defs_known

password_max_age contains defs_guard
password_max_age contains lib.verdict(
	to_number(object.get(input.auth.login_defs, "PASS_MAX_DAYS", "99999")) <= 365,
	"/etc/login.defs",
	sprintf("PASS_MAX_DAYS is %s", [object.get(input.auth.login_defs, "PASS_MAX_DAYS", "unset")]),
	sprintf("PASS_MAX_DAYS is %s; new passwords should expire within 365 days", [object.get(input.auth.login_defs, "PASS_MAX_DAYS", "unset (99999)")]),
) if defs_known

password_min_age contains defs_guard
password_min_age contains lib.verdict(
	to_number(object.get(input.auth.login_defs, "PASS_MIN_DAYS", "0")) >= 1,
	"/etc/login.defs",
	sprintf("PASS_MIN_DAYS is %s", [object.get(input.auth.login_defs, "PASS_MIN_DAYS", "unset")]),
	sprintf("PASS_MIN_DAYS is %s; at least 1 stops immediate cycling back to an old password", [object.get(input.auth.login_defs, "PASS_MIN_DAYS", "unset (0)")]),
) if defs_known

default_umask contains defs_guard
default_umask contains lib.verdict(
	object.get(input.auth.login_defs, "UMASK", "022") in {"027", "077", "0027", "0077"},
	"/etc/login.defs",
	sprintf("UMASK is %s", [object.get(input.auth.login_defs, "UMASK", "unset")]),
	sprintf("UMASK is %s; new files are readable by every user (027 or 077 keeps them private)", [object.get(input.auth.login_defs, "UMASK", "unset (022)")]),
) if defs_known

nopasswd_rules := [r | some r in input.accounts.sudo_rules; r.nopasswd]

sudoers_read if not input.unknown["accounts.sudoers:/etc/sudoers"]

# A sudoers file or folder that could not be read may hold any rule.
sudo_rules_complete if not input.unknown["accounts.sudo_rules"]

nopasswd_message := sprintf("sudo rules without a password: %s", [concat("; ", [sprintf("%s:%d %s %s", [r.file, r.line, r.principal, r.rule]) | some r in nopasswd_rules])])

sudo_requires_password contains lib.verdict(
	count(nopasswd_rules) == 0,
	"sudoers",
	sprintf("%d sudo rule(s), none with NOPASSWD", [count(input.accounts.sudo_rules)]),
	nopasswd_message,
) if {
	sudoers_read
	sudo_rules_complete
}

# Rules read are judged even when others could not be read; their absence proves nothing.
sudo_requires_password contains lib.fail("sudoers", nopasswd_message) if {
	sudoers_read
	not sudo_rules_complete
	count(nopasswd_rules) > 0
}

sudo_requires_password contains lib.unknown("sudoers", input.unknown["accounts.sudo_rules"]) if {
	sudoers_read
	not sudo_rules_complete
	count(nopasswd_rules) == 0
}

sudo_requires_password contains lib.na("sudoers", "sudo is not configured (/etc/sudoers is absent)") if {
	reason := input.unknown["accounts.sudoers:/etc/sudoers"]
	endswith(reason, "absent")
}

sudo_requires_password contains lib.unknown("sudoers", reason) if {
	reason := input.unknown["accounts.sudoers:/etc/sudoers"]
	not endswith(reason, "absent")
}

sudo_uses_pty contains lib.verdict(
	count([d | some d in input.accounts.sudo_defaults; "use_pty" in split(replace(d, ",", " "), " ")]) > 0,
	"sudoers",
	"Defaults use_pty is set",
	"Defaults use_pty is not set: commands run by sudo can keep running in the background after the session",
) if {
	sudoers_read
	sudo_rules_complete
}

sudo_uses_pty contains lib.unknown("sudoers", input.unknown["accounts.sudo_rules"]) if {
	sudoers_read
	not sudo_rules_complete
}

sudo_uses_pty contains lib.na("sudoers", "sudo is not configured (/etc/sudoers is absent)") if {
	endswith(input.unknown["accounts.sudoers:/etc/sudoers"], "absent")
}

sudo_uses_pty contains lib.unknown("sudoers", reason) if {
	reason := input.unknown["accounts.sudoers:/etc/sudoers"]
	not endswith(reason, "absent")
}
