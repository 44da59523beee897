# The PAM password and lockout policy.
package attest.host.auth

import data.attest.lib
import rego.v1

# A PAM stack file that cannot be read may hold or lack any module: no verdict then.
known if {
	count(object.get(input.auth, "pam_files", [])) > 0
	not input.unknown["auth.pam"]
}

guard := lib.unknown("pam", lib.why("auth.pam")) if not known

option(name) := input.auth.quality[name]

password_quality_enforced contains guard
password_quality_enforced contains lib.verdict(
	input.auth.quality_module != null,
	"pam",
	sprintf("%s checks new passwords", [input.auth.quality_module]),
	"no password quality module (pam_pwquality) in the PAM password stack: any password is accepted",
) if known

min_length := to_number(object.get(input.auth.quality, "minlen", "9"))

password_min_length contains guard
password_min_length contains lib.na("pam", "no password quality module; see host.auth.password_quality_enforced") if {
	known
	input.auth.quality_module == null
}

password_min_length contains lib.verdict(
	min_length >= 14,
	"pam",
	sprintf("passwords need at least %d characters", [min_length]),
	sprintf("passwords need only %d characters; at least 14 is expected", [min_length]),
) if {
	known
	input.auth.quality_module != null
	not input.unknown["auth.quality"]
}

# pwquality.conf could not be read: its minlen is unknown, not the default.
password_min_length contains lib.unknown("pam", input.unknown["auth.quality"]) if {
	known
	input.auth.quality_module != null
}

failed_logins_lock_account contains guard
failed_logins_lock_account contains lib.fail("pam", "no pam_faillock (or pam_tally2) in the PAM auth stack: password guessing is never stopped") if {
	known
	input.auth.lockout_module == null
}

deny := to_number(object.get(input.auth.lockout, "deny", "3"))

failed_logins_lock_account contains lib.verdict(
	deny <= 5,
	"pam",
	sprintf("accounts lock after %d failed logins (%s)", [deny, input.auth.lockout_module]),
	sprintf("accounts lock only after %d failed logins; at most 5 is expected", [deny]),
) if {
	known
	input.auth.lockout_module != null
	not input.unknown["auth.lockout"]
}

# faillock.conf could not be read: its deny is unknown, not the default.
failed_logins_lock_account contains lib.unknown("pam", input.unknown["auth.lockout"]) if {
	known
	input.auth.lockout_module != null
}

no_nullok contains guard
no_nullok contains lib.verdict(
	input.auth.unix_nullok == false,
	"pam",
	"pam_unix does not accept empty passwords",
	"pam_unix has nullok: accounts with an empty password can log in",
) if known

password_history contains guard
password_history contains lib.verdict(
	object.get(input.auth, "password_history", 0) >= 5,
	"pam",
	sprintf("the last %d passwords cannot be reused", [object.get(input.auth, "password_history", 0)]),
	"passwords can be reused at once: no remember=N (at least 5) on pam_unix or pam_pwhistory",
) if known
