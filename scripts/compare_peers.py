#!/usr/bin/env python3
"""Compares Attest's verdicts with OpenSCAP's and Lynis's for the settings they share.

usage: compare_peers.py ATTEST_SCAN.json OSCAP_RESULTS.xml LYNIS_REPORT.dat

OpenSCAP rules are matched through the `SSG <rule>` references of Attest's checks; Lynis
tests through the table below. Prints a Markdown table with a reason for each disagreement
that has a known cause.
"""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

attest_json, oscap_xml, lynis_dat = sys.argv[1:4]
scan = json.load(open(attest_json))
attest_bin = os.environ.get("ATTEST", "target/release/attest")
checks = json.loads(subprocess.run([attest_bin, "checks", "list", "--format", "json"], capture_output=True, text=True, check=True).stdout)
refs = {c["id"]: [r.split(" ", 1)[1] for r in c["references"] if r.startswith("SSG ")] for c in checks}

def verdict(statuses):
    for s in ("fail", "error", "pass", "not_applicable"):
        if s in statuses:
            return s
    return "none"

by_check = {}
messages = {}
for r in scan["results"]:
    by_check.setdefault(r["check"], set()).add(r["status"])
    if r["status"] == "fail":
        messages.setdefault(r["check"], r["message"])
attest = {c: verdict(s) for c, s in by_check.items()}

oscap = {}
if os.path.exists(oscap_xml):
    for el in ET.parse(oscap_xml).getroot().iter():
        if el.tag.endswith("rule-result"):
            rule = el.get("idref", "").replace("xccdf_org.ssgproject.content_rule_", "")
            result = next((c.text for c in el if c.tag.endswith("result")), None)
            oscap[rule] = result

in_container = os.path.exists("/.dockerenv")
def why(check, a, o):
    if o == "notapplicable" and in_container:
        return "SSG judges its `machine` platform false in a container (/.dockerenv) and skips the rule; Attest judges the root it was given"
    if o == "notapplicable":
        return "the rule's platform does not apply in SSG's view (e.g. package not installed)"
    if a == "error":
        return "Attest reports the fact as unknown (not readable or not live) instead of guessing"
    if check == "host.system.no_legacy_services" and a == "fail" and o == "pass":
        return "Attest's check covers every legacy or plain-text network service (%s); this SSG rule covers telnetd only" % messages.get(check, "")
    if check.startswith("host.kernel.") and o == "fail" and a == "pass":
        return "SSG also requires the value to be persisted in sysctl.d; Attest judges the running value on a live root"
    if check.startswith("host.kernel.") and o == "pass" and a == "fail":
        return "the persisted value and the running value differ; Attest judges the running value"
    return ""

rows = []
for check, rules in sorted(refs.items()):
    for rule in rules:
        # Rules outside the evaluated profile are not verdicts.
        if rule in oscap and check in attest and oscap[rule] not in ("notselected", None):
            o = oscap[rule]
            a = attest[check]
            same = (a, o) in {("pass", "pass"), ("fail", "fail"), ("not_applicable", "notapplicable")}
            rows.append((check, a, f"oscap {rule}", o, "yes" if same else "no", "" if same else why(check, a, o)))

# Lynis test ids whose suggestion or warning means the same as an Attest failure.
LYNIS = {
    "AUTH-9328": "host.accounts.default_umask",
    "AUTH-9286": "host.accounts.password_max_age",
    "AUTH-9262": "host.auth.password_quality_enforced",
    "FIRE-4590": "host.network.firewall_installed",
    "ACCT-9628": "host.logging.auditd_installed",
    "TIME-3104": "host.system.time_sync_configured",
    "HRDN-7230": "host.system.endpoint_protection",
    "PKGS-7420": "host.system.automatic_updates",
    "KRNL-5820": "host.system.core_dumps_restricted",
    "BANN-7126": "host.system.login_banner",
    "LOGG-2154": "host.logging.remote_logging",
    "SSH-7408": "host.ssh.root_login_disabled",
}
if os.path.exists(lynis_dat):
    executed, flagged = set(), set()
    for line in open(lynis_dat, errors="replace"):
        key, _, value = line.strip().partition("=")
        if key == "tests_executed":
            executed.update(t for t in value.split("|") if t)
        if key in ("suggestion[]", "warning[]"):
            flagged.add(value.split("|", 1)[0])
    for test, check in LYNIS.items():
        if check not in attest:
            continue
        l = "fail" if test in flagged else ("pass" if test in executed else "not run")
        a = attest[check]
        same = a == l or (a == "not_applicable" and l == "not run")
        reason = ""
        if not same:
            if a == "error":
                reason = "Attest reports the fact as unknown (not readable or not live) instead of guessing"
            elif l == "not run":
                reason = "Lynis skipped the test (its precondition, e.g. an installed service, was not met)"
            elif test == "FIRE-4590" and l == "pass":
                reason = "Lynis counts packet filter rules it finds in the running kernel (in a container, the host's); Attest looks for a firewall installed and enabled on this root"
            elif check == "host.system.time_sync_configured":
                reason = "Lynis looks for a running NTP daemon; Attest's configured check reads boot configuration (its running check is host.system.time_sync_running)"
        rows.append((check, a, f"lynis {test}", l, "yes" if same else "no", reason))

agree = sum(1 for r in rows if r[4] == "yes")
print(f"Shared verdicts: {len(rows)}, agreeing: {agree}, disagreeing: {len(rows) - agree}")
print()
print("| Attest check | Attest | peer rule | peer | agree | why they differ |")
print("|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
