# Ownership and permissions of sensitive files (never their content).
package attest.host.files

import data.attest.lib
import rego.v1

# Whether `mode` allows a permission bit that `max` does not (both four octal digits).
too_open(mode, max) if {
	some i in numbers.range(0, 3)
	bits.and(to_number(substring(mode, i, 1)), 7 - to_number(substring(max, i, 1))) != 0
}

# Judges one file against the most open mode and the owners allowed.
judge(path, max, owners, groups) := lib.unknown(path, lib.why(concat("", ["files.", path]))) if not input.files[path]

judge(path, max, owners, groups) := lib.na(path, sprintf("%s does not exist", [path])) if input.files[path].exists == false

judge(path, max, owners, groups) := lib.verdict(
	count(problems(f, max, owners, groups)) == 0,
	path,
	sprintf("%s is %s %s:%s", [path, f.mode, f.owner, f.group]),
	sprintf("%s is %s %s:%s; %s", [path, f.mode, f.owner, f.group, concat("; ", sort(problems(f, max, owners, groups)))]),
) if {
	f := input.files[path]
	f.exists == true
}

problems(f, max, owners, groups) := (
	{sprintf("mode should be %s or stricter", [max]) | too_open(f.mode, max)} |
	{sprintf("owner should be %s", [concat(" or ", owners)]) | not f.owner in owners}
) | {sprintf("group should be %s", [concat(" or ", groups)]) | not f.group in groups}

shadow_protected contains judge(path, "0640", ["root"], ["root", "shadow"]) if some path in ["/etc/shadow", "/etc/gshadow"]

shadow_backups_protected contains judge(path, "0640", ["root"], ["root", "shadow"]) if some path in ["/etc/shadow-", "/etc/gshadow-"]

account_files_protected contains judge(path, "0644", ["root"], ["root"]) if some path in ["/etc/passwd", "/etc/group", "/etc/passwd-", "/etc/group-"]

sshd_config_protected contains judge("/etc/ssh/sshd_config", "0644", ["root"], ["root"])

ssh_host_keys_protected contains judge(path, "0640", ["root"], ["root", "ssh_keys", "_ssh"]) if {
	some path, _ in input.files
	startswith(path, "/etc/ssh/ssh_host_")
	endswith(path, "_key")
}

ssh_host_keys_protected contains lib.na("/etc/ssh", "no SSH host keys") if {
	count([p | some p, _ in input.files; startswith(p, "/etc/ssh/ssh_host_")]) == 0
	not input.unknown["files./etc/ssh/ssh_host_*_key"]
}

# A folder that cannot be listed may hold keys: not "no keys".
ssh_host_keys_protected contains lib.unknown("/etc/ssh", input.unknown["files./etc/ssh/ssh_host_*_key"])

sudoers_protected contains judge("/etc/sudoers", "0440", ["root"], ["root"])

cron_protected contains judge("/etc/crontab", "0600", ["root"], ["root"])

cron_protected contains judge(path, "0700", ["root"], ["root"]) if some path in ["/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly"]

bootloader_config_protected contains judge(path, "0600", ["root"], ["root"]) if {
	some path in ["/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"]
	input.files[path].exists == true
}

bootloader_config_protected contains lib.na("/boot", "no GRUB configuration") if {
	every path in ["/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"] {
		input.files[path].exists == false
	}
}
