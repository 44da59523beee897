# Kernel parameters (sysctl). Each check lists the keys it judges and the values it accepts;
# a key neither live nor configured is an error with the collector's reason.
package attest.host.kernel

import data.attest.lib
import rego.v1

spec := {
	"aslr": {"keys": ["kernel.randomize_va_space"], "allowed": ["2"]},
	"kernel_pointers_hidden": {"keys": ["kernel.kptr_restrict"], "allowed": ["1", "2"]},
	"dmesg_restricted": {"keys": ["kernel.dmesg_restrict"], "allowed": ["1"]},
	"ptrace_restricted": {"keys": ["kernel.yama.ptrace_scope"], "allowed": ["1", "2", "3"]},
	"unprivileged_bpf_disabled": {"keys": ["kernel.unprivileged_bpf_disabled"], "allowed": ["1", "2"]},
	"suid_core_dumps_disabled": {"keys": ["fs.suid_dumpable"], "allowed": ["0"]},
	"link_protection": {"keys": ["fs.protected_hardlinks", "fs.protected_symlinks"], "allowed": ["1"]},
	"ip_forwarding_disabled": {"keys": ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"], "allowed": ["0"]},
	"icmp_redirects_refused": {"keys": ["net.ipv4.conf.all.accept_redirects", "net.ipv4.conf.default.accept_redirects", "net.ipv6.conf.all.accept_redirects", "net.ipv6.conf.default.accept_redirects"], "allowed": ["0"]},
	"redirects_not_sent": {"keys": ["net.ipv4.conf.all.send_redirects", "net.ipv4.conf.default.send_redirects"], "allowed": ["0"]},
	"source_routing_refused": {"keys": ["net.ipv4.conf.all.accept_source_route", "net.ipv4.conf.default.accept_source_route"], "allowed": ["0"]},
	"reverse_path_filtering": {"keys": ["net.ipv4.conf.all.rp_filter"], "allowed": ["1", "2"]},
	"martians_logged": {"keys": ["net.ipv4.conf.all.log_martians"], "allowed": ["1"]},
	"syn_cookies": {"keys": ["net.ipv4.tcp_syncookies"], "allowed": ["1"]},
	"icmp_broadcasts_ignored": {"keys": ["net.ipv4.icmp_echo_ignore_broadcasts", "net.ipv4.icmp_ignore_bogus_error_responses"], "allowed": ["1"]},
}

one(key, allowed) := lib.verdict(
	v in allowed,
	key,
	sprintf("%s = %s", [key, v]),
	sprintf("%s = %s; expected %s", [key, v, concat(" or ", sort(allowed))]),
) if v := input.kernel.sysctl[key]

one(key, allowed) := lib.unknown(key, lib.why(concat("", ["kernel.sysctl.", key]))) if not input.kernel.sysctl[key]

results(name) := {one(key, spec[name].allowed) | some key in spec[name].keys}

aslr contains r if some r in results("aslr")

kernel_pointers_hidden contains r if some r in results("kernel_pointers_hidden")

dmesg_restricted contains r if some r in results("dmesg_restricted")

ptrace_restricted contains r if some r in results("ptrace_restricted")

unprivileged_bpf_disabled contains r if some r in results("unprivileged_bpf_disabled")

suid_core_dumps_disabled contains r if some r in results("suid_core_dumps_disabled")

link_protection contains r if some r in results("link_protection")

ip_forwarding_disabled contains r if some r in results("ip_forwarding_disabled")

icmp_redirects_refused contains r if some r in results("icmp_redirects_refused")

redirects_not_sent contains r if some r in results("redirects_not_sent")

source_routing_refused contains r if some r in results("source_routing_refused")

reverse_path_filtering contains r if some r in results("reverse_path_filtering")

martians_logged contains r if some r in results("martians_logged")

syn_cookies contains r if some r in results("syn_cookies")

icmp_broadcasts_ignored contains r if some r in results("icmp_broadcasts_ignored")
