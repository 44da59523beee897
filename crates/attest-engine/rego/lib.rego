# Helpers every check may import as `data.attest.lib`.
#
# A check is a partial set rule: `<name> contains r if { ... }`, each `r` an object with
# `status` (pass, fail, error, not_applicable), `resource` and `message`. Build results with
# the functions below rather than by hand.
package attest.lib

import rego.v1

result(status, resource, message) := {"status": status, "resource": resource, "message": message}

pass(resource, message) := result("pass", resource, message)

fail(resource, message) := result("fail", resource, message)

# A fact the check needs could not be read: unknown is not pass.
unknown(resource, message) := result("error", resource, message)

na(resource, message) := result("not_applicable", resource, message)

# pass when `ok` is true, fail otherwise.
verdict(ok, resource, pass_message, fail_message) := r if {
	ok == true
	r := pass(resource, pass_message)
}

verdict(ok, resource, pass_message, fail_message) := r if {
	ok != true
	r := fail(resource, fail_message)
}

# Why the fact at `path` is unknown, as the collector recorded it.
why(path) := input.unknown[path]

why(path) := "the fact was not collected" if not input.unknown[path]
