# Operating system support, patching, time, malware protection, services and banners.
package attest.host.system

import data.attest.lib
import rego.v1

os_supported contains lib.unknown("os", lib.why("os.end_of_life")) if input.os.end_of_life_passed == null

os_supported contains lib.verdict(
	input.os.end_of_life_passed == false,
	"os",
	sprintf("%s receives security updates until %s", [input.os.pretty_name, input.os.end_of_life]),
	sprintf("%s stopped receiving security updates on %s", [input.os.pretty_name, input.os.end_of_life]),
) if input.os.end_of_life_passed != null

automatic_updates contains lib.verdict(
	input.patching.automatic_updates,
	"patching",
	sprintf("%s installs updates automatically", [input.patching.mechanism]),
	updates_problem,
) if not input.unknown["patching.automatic_updates"]

# A configuration file that could not be read may switch updates on or off.
automatic_updates contains lib.unknown("patching", input.unknown["patching.automatic_updates"])

updates_problem := "no automatic update mechanism (unattended-upgrades, dnf-automatic) is installed" if input.patching.mechanism == null

updates_problem := sprintf("%s is installed but not switched on (%s)", [input.patching.mechanism, settings_text]) if input.patching.mechanism != null

settings_text := concat(", ", [sprintf("%s=%s", [k, v]) | some k, v in input.patching.settings]) if count(input.patching.settings) > 0

settings_text := "no settings found" if count(input.patching.settings) == 0

package_lists_fresh contains lib.unknown("patching", lib.why("patching.package_lists_age_days")) if input.patching.package_lists_age_days == null

package_lists_fresh contains lib.verdict(
	input.patching.package_lists_age_days <= 7,
	"patching",
	sprintf("package lists were refreshed %d day(s) ago", [input.patching.package_lists_age_days]),
	sprintf("package lists were last refreshed %d days ago: pending security updates are not even known", [input.patching.package_lists_age_days]),
) if input.patching.package_lists_age_days != null

time_sync_configured contains lib.verdict(
	input.time.configured,
	"time",
	sprintf("time is synchronised by %s", [concat(", ", [d.name | some d in input.time.daemons; d.enabled])]),
	time_problem,
) if {
	not time_config_unread
}

time_sync_configured contains lib.pass("time", sprintf("time is synchronised by %s", [concat(", ", [d.name | some d in input.time.daemons; d.enabled])])) if {
	time_config_unread
	input.time.configured
}

# No server found, but a time daemon's configuration could not be read in full.
time_sync_configured contains lib.unknown("time", concat("; ", time_config_unread_reasons)) if {
	time_config_unread
	not input.time.configured
}

time_config_unread_reasons := [r | some k, r in input.unknown; time_unknown_key(k)]

time_unknown_key(k) if startswith(k, "time.daemons.")

# Which units start at boot could not be read: an installed daemon may be enabled.
time_unknown_key("services.enabled") if count(input.time.daemons) > 0

time_config_unread if count(time_config_unread_reasons) > 0

time_problem := "no time synchronisation daemon (chrony, systemd-timesyncd, ntp) is installed" if count(input.time.daemons) == 0

time_problem := sprintf("%s installed but not enabled at boot with a server", [concat(", ", [d.name | some d in input.time.daemons])]) if count(input.time.daemons) > 0

# The first enabled daemon with a server decides; its running state is judged like auditd's.
sync_daemon := [d | some d in input.time.daemons; d.enabled; count(d.servers) > 0][0]

time_sync_running contains lib.fail("time", "no time synchronisation daemon is configured; see host.system.time_sync_configured") if not input.time.configured

time_sync_running contains lib.unknown("time", lib.why("processes")) if {
	input.time.configured
	sync_daemon.running == null
}

time_sync_running contains lib.verdict(
	sync_daemon.running,
	"time",
	sprintf("%s is running", [sync_daemon.name]),
	sprintf("%s is enabled but not running", [sync_daemon.name]),
) if {
	input.time.configured
	sync_daemon.running != null
	input.services.systemd_running != false
}

time_sync_running contains lib.unknown("time", sprintf("%s is not running, and neither is systemd (a container?): the clock is kept by the host outside this root", [sync_daemon.name])) if {
	input.time.configured
	sync_daemon.running == false
	input.services.systemd_running == false
}

time_sync_running contains lib.pass("time", sprintf("%s is running", [sync_daemon.name])) if {
	input.time.configured
	sync_daemon.running == true
	input.services.systemd_running == false
}

endpoint_protection contains lib.verdict(
	input.malware.protected,
	"endpoint",
	sprintf("endpoint protection: %s", [concat(", ", [sprintf("%s (%s)", [a.name, a.kind]) | some a in input.malware.agents])]),
	malware_problem,
) if not agent_enablement_unknown

# An agent is installed but not seen running, and which units start at boot is unknown.
agent_enablement_unknown if {
	not input.malware.protected
	count(input.malware.agents) > 0
	input.unknown["services.enabled"]
}

endpoint_protection contains lib.unknown("endpoint", sprintf("%s installed, not seen running, and whether it starts at boot is unknown: %s", [concat(", ", [a.name | some a in input.malware.agents]), input.unknown["services.enabled"]])) if agent_enablement_unknown

malware_problem := "no anti-malware, EDR or host intrusion detection agent is installed" if count(input.malware.agents) == 0

malware_problem := sprintf("%s installed but neither enabled nor running", [concat(", ", [a.name | some a in input.malware.agents])]) if count(input.malware.agents) > 0

no_legacy_services contains lib.verdict(
	count(input.services.risky_installed) == 0,
	"services",
	"no legacy or plain-text network services are installed",
	sprintf("legacy or plain-text network services are installed: %s", [concat(", ", [k | some k, _ in input.services.risky_installed])]),
)

core_dumps_restricted contains lib.verdict(
	core_dumps_off,
	"coredump",
	"core dumps are limited (hard core limit 0, or systemd-coredump Storage=none)",
	"core dumps are allowed: a crashing program can write its memory, secrets included, to disk",
) if count(core_config_unread) == 0

# limits.d or coredump.conf.d files that could not be read may set anything.
core_config_unread := [r | some k in ["hardening.core_hard_limit_zero", "hardening.coredump_storage"]; r := input.unknown[k]]

core_dumps_restricted contains lib.unknown("coredump", concat("; ", core_config_unread)) if count(core_config_unread) > 0

default core_dumps_off := false

core_dumps_off if input.hardening.core_hard_limit_zero

core_dumps_off if input.hardening.coredump_storage == "none"

banner_paths := ["/etc/issue", "/etc/issue.net"]

login_banner contains lib.pass(path, sprintf("%s warns users and does not reveal the operating system", [path])) if {
	some path in banner_paths
	not input.unknown[concat("", ["hardening.banners.", path])]
	banner_ok(input.hardening.banners[path]) == true
}

login_banner contains lib.fail(path, banner_problem(path)) if {
	some path in banner_paths
	not input.unknown[concat("", ["hardening.banners.", path])]
	banner_ok(input.hardening.banners[path]) == false
}

login_banner contains lib.unknown(path, reason) if {
	some path in banner_paths
	reason := input.unknown[concat("", ["hardening.banners.", path])]
}

banner_ok(b) := true if {
	b.has_text
	not b.reveals_os
}

banner_ok(b) := false if not b.has_text

banner_ok(b) := false if b.reveals_os

banner_problem(path) := sprintf("%s is missing or empty", [path]) if not input.hardening.banners[path].has_text

banner_problem(path) := sprintf("%s reveals the operating system or kernel (\\m, \\r, \\s, \\v or the OS name)", [path]) if {
	input.hardening.banners[path].has_text
	input.hardening.banners[path].reveals_os
}
