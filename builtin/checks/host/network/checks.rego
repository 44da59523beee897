# Firewalls, exposed services and encryption at rest.
package attest.host.network

import data.attest.lib
import rego.v1

firewall_installed contains lib.verdict(
	count(input.network.firewalls) > 0,
	"firewall",
	sprintf("firewall found: %s", [concat(", ", [f.name | some f in input.network.firewalls])]),
	"no host firewall (nftables, iptables, ufw or firewalld) is installed",
)

enabled_firewalls := [f.name | some f in input.network.firewalls; f.enabled]

firewall_default_deny contains lib.verdict(
	input.network.default_deny_configured,
	"firewall",
	sprintf("%s starts at boot and drops unsolicited incoming traffic", [concat(", ", enabled_firewalls)]),
	firewall_problem,
) if not firewall_config_unread

firewall_config_unread_reasons := [r | some k, r in input.unknown; firewall_unknown_key(k)]

firewall_unknown_key(k) if startswith(k, "network.firewalls.")

# Which units start at boot could not be read: an installed firewall may be enabled.
firewall_unknown_key("services.enabled") if count(input.network.firewalls) > 0

# No default-deny firewall found, but a saved firewall configuration could not be read.
firewall_config_unread if {
	not input.network.default_deny_configured
	count(firewall_config_unread_reasons) > 0
}

firewall_default_deny contains lib.unknown("firewall", concat("; ", firewall_config_unread_reasons)) if firewall_config_unread

firewall_problem := "no host firewall is installed" if count(input.network.firewalls) == 0

firewall_problem := sprintf("%s installed but not enabled at boot", [concat(", ", [f.name | some f in input.network.firewalls])]) if {
	count(input.network.firewalls) > 0
	count(enabled_firewalls) == 0
}

firewall_problem := sprintf("the incoming policy of %s is not drop or reject", [concat(", ", enabled_firewalls)]) if count(enabled_firewalls) > 0

# The ruleset loaded in the kernel now (live root only): what the saved configuration says
# matters little if nothing is loaded.
firewall_active contains lib.verdict(
	ruleset.active == true,
	"firewall",
	sprintf("the running kernel has %d rule(s) loaded (%s), incoming policy %s", [ruleset.rules, ruleset.tool, ruleset.input_policy]),
	"no packet filter rules are loaded in the running kernel",
) if {
	ruleset := input.network.active_ruleset
	ruleset != null
}

ruleset_read if input.network.active_ruleset != null

firewall_active contains lib.unknown("firewall", lib.why("network.active_ruleset")) if not ruleset_read

# Plain-text or legacy remote access services, by port.
insecure_ports := {21: "FTP", 23: "Telnet", 69: "TFTP", 111: "portmapper", 512: "rexec", 513: "rlogin", 514: "rsh", 2049: "NFS", 161: "SNMP"}

exposed_insecure := [sprintf("%s/%d (%s) on %s", [s.protocol, s.port, insecure_ports[s.port], s.address]) |
	some s in input.network.listening
	s.exposed
	insecure_ports[s.port]
]

no_insecure_services_listening contains lib.unknown("network", lib.why("network.listening")) if input.network.listening == null

no_insecure_services_listening contains lib.verdict(
	count(exposed_insecure) == 0,
	"network",
	sprintf("%d listening socket(s), none for a plain-text or legacy service", [count(input.network.listening)]),
	sprintf("plain-text or legacy services listen on the network: %s", [concat(", ", exposed_insecure)]),
) if input.network.listening != null

root_filesystem_encrypted contains lib.unknown("/", lib.why("encryption.root_encrypted")) if input.encryption.root_encrypted == null

root_filesystem_encrypted contains lib.verdict(
	input.encryption.root_encrypted,
	"/",
	"/ is on a LUKS (dm-crypt) device",
	sprintf("/ is on %s, which is not encrypted", [root_device]),
) if input.encryption.root_encrypted != null

root_device := [m.device | some m in input.encryption.mounts; m.mountpoint == "/"][0]

unencrypted_mounts := [sprintf("%s on %s", [m.mountpoint, m.device]) | some m in input.encryption.mounts; m.encrypted == false]

undecided_mounts := [m.mountpoint | some m in input.encryption.mounts; m.encrypted == null]

data_filesystems_encrypted contains lib.unknown("filesystems", lib.why("encryption.mounts")) if input.unknown["encryption.mounts"]

data_filesystems_encrypted contains lib.fail("filesystems", sprintf("unencrypted file systems: %s", [concat(", ", unencrypted_mounts)])) if {
	not input.unknown["encryption.mounts"]
	count(unencrypted_mounts) > 0
}

data_filesystems_encrypted contains lib.unknown("filesystems", sprintf("encryption of %s cannot be told from the mount table", [concat(", ", undecided_mounts)])) if {
	not input.unknown["encryption.mounts"]
	count(unencrypted_mounts) == 0
	count(undecided_mounts) > 0
}

data_filesystems_encrypted contains lib.pass("filesystems", sprintf("all %d disk file systems are on encrypted devices", [count(input.encryption.mounts)])) if {
	not input.unknown["encryption.mounts"]
	count(input.encryption.mounts) > 0
	count(unencrypted_mounts) == 0
	count(undecided_mounts) == 0
}

data_filesystems_encrypted contains lib.unknown("filesystems", "no disk-backed file systems in the mount table (container or overlay root)") if {
	not input.unknown["encryption.mounts"]
	count(input.encryption.mounts) == 0
}
