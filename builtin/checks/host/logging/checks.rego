# Logging and audit trails.
package attest.host.logging

import data.attest.lib
import rego.v1

auditd := input.logging.auditd

auditd_installed contains lib.verdict(
	auditd.installed,
	"auditd",
	"the Linux audit daemon is installed",
	"the Linux audit daemon (auditd) is not installed: security-relevant system calls are not recorded",
)

# Whether a daemon runs: judged on a live root with systemd; otherwise unknown, never pass.
running_verdict(c, resource) := lib.fail(resource, sprintf("%s is not installed", [c.name])) if not c.installed

running_verdict(c, resource) := lib.unknown(resource, lib.why("processes")) if {
	c.installed
	c.running == null
}

running_verdict(c, resource) := lib.verdict(
	c.running,
	resource,
	sprintf("%s is enabled and running", [c.name]),
	sprintf("%s is installed but not running%s", [c.name, enabled_note(c)]),
) if {
	c.installed
	c.running != null
	input.services.systemd_running != false
}

running_verdict(c, resource) := lib.unknown(resource, sprintf("%s is not running, but systemd is not running either (a container?): services are managed outside this root", [c.name])) if {
	c.installed
	c.running == false
	input.services.systemd_running == false
}

running_verdict(c, resource) := lib.pass(resource, sprintf("%s is running", [c.name])) if {
	c.installed
	c.running == true
	input.services.systemd_running == false
}

enabled_note(c) := "" if c.enabled

enabled_note(c) := " and not enabled at boot" if not c.enabled

auditd_running contains running_verdict(auditd, "auditd")

identity_files := ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers"]

unwatched := [f | some f in identity_files; not f in input.logging.audit_watches]

audit_rules_watch_identity contains lib.na("auditd", "auditd is not installed; see host.logging.auditd_installed") if not auditd.installed

audit_rules_watch_identity contains lib.verdict(
	count(unwatched) == 0,
	"auditd",
	sprintf("%d audit rules, watching changes to accounts and sudo rules", [input.logging.audit_rules]),
	sprintf("changes to %s are not audited (no -w rule)", [concat(", ", unwatched)]),
) if {
	auditd.installed
	not input.unknown["logging.audit_rules"]
}

# Rule files that cannot be read may hold the watches.
audit_rules_watch_identity contains lib.unknown("auditd", input.unknown["logging.audit_rules"]) if auditd.installed

journal_persistent contains lib.verdict(
	input.logging.journald_persistent,
	"journald",
	sprintf("journald keeps logs on disk (Storage=%s)", [input.logging.journald_storage]),
	sprintf("journald keeps logs in memory only (Storage=%s%s): they are lost at reboot", [input.logging.journald_storage, missing_dir]),
) if not input.unknown["logging.journald_storage"]

# A journald.conf drop-in that could not be read may set Storage=.
journal_persistent contains lib.unknown("journald", input.unknown["logging.journald_storage"])

missing_dir := ", no /var/log/journal" if input.logging.journald_storage == "auto"

missing_dir := "" if input.logging.journald_storage != "auto"

remote_logging contains lib.verdict(
	count(input.logging.remote_targets) > 0,
	"logging",
	sprintf("logs are forwarded to %s", [concat(", ", [t.target | some t in input.logging.remote_targets])]),
	"logs stay on the host: no rsyslog, syslog-ng or journal-upload forwarding is configured",
) if {
	not remote_config_unread
}

remote_config_unread if {
	input.unknown["logging.remote_targets"]
	count(input.logging.remote_targets) == 0
}

# No forwarding found, but a logging configuration file could not be read.
remote_logging contains lib.unknown("logging", input.unknown["logging.remote_targets"]) if remote_config_unread
