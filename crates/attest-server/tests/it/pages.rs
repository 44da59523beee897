//! Every page as every role, over HTTP: status codes, key content, no template errors; and
//! every form, with its refusals.

use crate::support::{self, ADMIN, AUDITOR, EDITOR, Server, Session, agent, login};

/// What a GET answered.
struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

fn get(server: &Server, session: Option<&Session>, path: &str) -> Page {
    let mut request = agent().get(&server.url(path));
    if let Some(session) = session {
        request = request.header("Cookie", &session.cookie);
    }
    let mut response = request.call().unwrap();
    Page {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: response.body_mut().read_to_string().unwrap(),
    }
}

fn post_form(server: &Server, session: &Session, path: &str, fields: &[(&str, &str)]) -> Page {
    let mut fields: Vec<(&str, &str)> = fields.to_vec();
    fields.push(("csrf_token", &session.csrf));
    let mut response = agent()
        .post(&server.url(path))
        .header("Cookie", &session.cookie)
        .send_form(fields)
        .unwrap();
    Page {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: response.body_mut().read_to_string().unwrap(),
    }
}

fn post_multipart(
    server: &Server,
    session: &Session,
    path: &str,
    fields: &[(&str, &str)],
    file: (&str, &[u8]),
) -> Page {
    let boundary = "attest-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut response = agent()
        .post(&server.url(path))
        .header("Cookie", &session.cookie)
        .header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body[..])
        .unwrap();
    Page {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: response.body_mut().read_to_string().unwrap(),
    }
}

/// The text of the element with `id`, tags stripped.
fn text_of(body: &str, id: &str) -> String {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element #{id}"));
    let rest = &body[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    let mut depth = 1;
    let mut out = String::new();
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '<' {
            let tag = &rest[i..];
            if tag.starts_with("</") {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            } else if !tag.starts_with("<br") && !tag.starts_with("<input") {
                depth += 1;
            }
            for (_, c) in chars.by_ref() {
                if c == '>' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_page(page: &Page, path: &str, role: &str) {
    assert_eq!(page.status, 200, "{role} GET {path}: {}", page.body);
    assert!(
        page.body.starts_with("<!doctype html>"),
        "{role} GET {path}"
    );
    assert!(page.body.contains("<h1"), "{role} GET {path} has a heading");
    assert!(page.body.contains("<main id=\"main\""), "{role} GET {path}");
    assert!(
        page.body.contains("href=\"#main\""),
        "{role} GET {path} has a skip link"
    );
    assert!(
        !page.body.contains("could not complete the request"),
        "{role} GET {path} rendered"
    );
    assert!(
        !page.body.contains("style=\""),
        "{role} GET {path} has no inline style"
    );
    assert!(
        !page.body.contains("<script>"),
        "{role} GET {path} has no inline script"
    );
}

#[test]
fn every_page_renders_for_every_role() {
    let server = support::start(false);
    let pages: Vec<(String, Vec<&str>)> = vec![
        (
            "/".into(),
            vec![
                "id=\"readiness-percent\"",
                "Readiness by category",
                "Availability",
                "<svg class=\"trend-chart\"",
                "Top remediation items",
                "Controls by status",
                "db-1",
            ],
        ),
        (
            "/criteria".into(),
            vec!["CC6.1", "Security", "Availability"],
        ),
        (
            "/controls".into(),
            vec!["Missing evidence", &server.failing_control],
        ),
        (
            "/controls?status=failing".into(),
            vec![&server.failing_control, "aria-current=\"true\""],
        ),
        (
            "/controls?family=xx-unknown".into(),
            vec!["No control matches these filters."],
        ),
        (
            format!("/controls/{}", server.failing_control),
            vec![
                "id=\"control-status\"",
                "Failing",
                "web-1",
                "Current check results",
            ],
        ),
        (
            format!("/controls/{}", server.bare_control),
            vec!["Missing evidence", "No evidence yet."],
        ),
        (
            "/hosts".into(),
            vec!["web-1", "web-2", "db-1", "Silent", "Reporting"],
        ),
        ("/hosts/web-1".into(), vec!["Latest results", "Fail"]),
        (
            "/findings".into(),
            vec!["Overdue", "fails on web-1", "In progress"],
        ),
        ("/findings?show=all".into(), vec!["Risk accepted"]),
        (
            format!("/findings/{}", server.finding),
            vec!["Trail", "Opened", "attest", "and 41 more failing results"],
        ),
        ("/evidence".into(), vec!["-review.pdf", "Download"]),
        (
            "/reports".into(),
            vec![
                "/api/v1/reports/readiness?format=html",
                "/api/v1/reports/type1?format=json",
                "/api/v1/reports/type2?format=html",
                "/api/v1/package",
            ],
        ),
        (
            "/timeline".into(),
            vec![
                "seg-operating",
                "seg-exception",
                "Exceptions noted",
                "<caption",
            ],
        ),
    ];
    for (name, role) in [(ADMIN, "admin"), (EDITOR, "editor"), (AUDITOR, "auditor")] {
        let session = login(&server, name);
        for (path, wanted) in &pages {
            let page = get(&server, Some(&session), path);
            assert_page(&page, path, role);
            for text in wanted {
                assert!(page.body.contains(text), "{role} GET {path} shows `{text}`");
            }
            // The current nav item is marked, and Admin is shown to admins only.
            assert!(
                page.body.contains("aria-current=\"page\""),
                "{role} GET {path}"
            );
            assert_eq!(
                page.body.contains("href=\"/admin\""),
                role == "admin",
                "{role} GET {path}: Admin in the nav"
            );
            // Forms that change things are shown to roles that may use them.
            let upload = page.body.contains("enctype=\"multipart/form-data\"");
            if path.starts_with("/controls/") && path.contains(&server.bare_control)
                || path == "/evidence"
            {
                assert_eq!(upload, role != "auditor", "{role} GET {path}: upload form");
            } else {
                assert!(
                    !upload || role != "auditor",
                    "{role} GET {path}: no upload form"
                );
            }
            if path.starts_with("/findings/") {
                assert_eq!(
                    page.body.contains("Work on this finding"),
                    role != "auditor",
                    "{role} GET {path}: finding forms"
                );
            }
        }
        let admin = get(&server, Some(&session), "/admin");
        if role == "admin" {
            assert_page(&admin, "/admin", role);
            for text in [
                "Add a user",
                "Register a host",
                "web-1",
                EDITOR,
                AUDITOR,
                "/admin/hosts/web-1/revoke",
            ] {
                assert!(admin.body.contains(text), "admin page shows `{text}`");
            }
        } else {
            assert_eq!(admin.status, 403, "{role} GET /admin");
            assert!(admin.body.contains("You do not have access to this"));
            assert!(
                admin.body.contains(&format!(">{name}<")),
                "403 page is in the layout"
            );
        }
    }
}

#[test]
fn the_dashboard_numbers_match_the_readiness_report() {
    let server = support::start(false);
    let session = login(&server, AUDITOR);
    let page = get(&server, Some(&session), "/");
    let mut response = agent()
        .get(&server.url("/api/v1/readiness"))
        .header("Cookie", &session.cookie)
        .call()
        .unwrap();
    let readiness: serde_json::Value = response.body_mut().read_json().unwrap();
    let percent = readiness["summary"]["readiness_percent"].as_f64().unwrap();
    let shown = text_of(&page.body, "readiness-percent");
    let shown: f64 = shown.trim_end_matches('%').parse().unwrap();
    assert!((shown - percent).abs() < 0.051, "{shown} vs {percent}");
    // The trend's text alternative lists every day with a value per category.
    assert!(
        page.body
            .contains("<caption>Share of passing check results per category, by day</caption>")
    );
    assert_eq!(page.body.matches("<tr><th scope=\"row\">20").count(), 30);
}

#[test]
fn unknown_things_and_strangers_get_friendly_answers() {
    let server = support::start(false);
    // Not logged in: pages send to the login form, which returns there afterwards.
    let page = get(&server, None, "/controls");
    assert!(matches!(page.status, 302 | 303 | 307), "{}", page.status);
    assert_eq!(page.location.as_deref(), Some("/login?next=/controls"));
    let login_page = get(&server, None, "/login?next=/controls");
    assert_eq!(login_page.status, 200);
    assert!(
        login_page
            .body
            .contains("name=\"next\" value=\"&#x2f;controls\"")
    );
    assert!(login_page.body.contains("<label for=\"password\">"));
    // A wrong password shows the form again with the error.
    let mut wrong = agent()
        .post(&server.url("/login"))
        .send_form([
            ("name", EDITOR),
            ("password", "not the password"),
            ("next", "/"),
        ])
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(
        wrong
            .body_mut()
            .read_to_string()
            .unwrap()
            .contains("wrong password")
    );
    // Unknown pages: in the layout for a logged-in person, plain otherwise, JSON for the API.
    let session = login(&server, EDITOR);
    let page = get(&server, Some(&session), "/controls/NO-SUCH-CONTROL");
    assert_eq!(page.status, 404);
    assert!(page.body.contains("there is no control `NO-SUCH-CONTROL`"));
    assert!(page.body.contains("class=\"sidebar\""));
    let page = get(&server, Some(&session), "/no/such/page");
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Page not found"));
    assert!(page.body.contains("class=\"sidebar\""));
    let page = get(&server, None, "/no/such/page");
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Page not found"));
    assert!(!page.body.contains("class=\"sidebar\""));
    let page = get(&server, Some(&session), "/api/v1/no-such-thing");
    assert_eq!(page.status, 404);
    assert!(page.body.contains("\"code\":\"not-found\""));
    for path in ["/findings/9999", "/findings/abc", "/hosts/no-such-host"] {
        let page = get(&server, Some(&session), path);
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains("class=\"sidebar\""), "{path}");
    }
    // Static files.
    let css = get(&server, None, "/static/app.css");
    assert_eq!(css.status, 200);
    assert!(css.body.contains(".w-42{width:42%}"));
    assert_eq!(get(&server, None, "/static/app.js").status, 200);
    assert_eq!(get(&server, None, "/static/nope.js").status, 404);
}

#[test]
fn findings_change_through_their_forms_for_editors_only() {
    let server = support::start(false);
    let path = format!("/findings/{}", server.finding);
    let editor = login(&server, EDITOR);
    let page = post_form(
        &server,
        &editor,
        &path,
        &[
            ("action", "update"),
            ("status", "in_progress"),
            ("owner", "Platform team"),
            ("due", ""),
            ("note", "Patching this week."),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location, Some(format!("{path}?changed=update")));
    let page = get(&server, Some(&editor), &format!("{path}?changed=update"));
    assert!(page.body.contains("Finding updated."));
    assert!(page.body.contains("Patching this week."));
    assert!(page.body.contains("Platform team"));
    assert_eq!(text_of(&page.body, "finding-status"), "In progress");
    // Closing needs a root cause and a corrective action: the page says so.
    let page = post_form(
        &server,
        &editor,
        &path,
        &[
            ("action", "close"),
            ("root_cause", ""),
            ("corrective_action", ""),
        ],
    );
    assert_eq!(page.status, 400);
    assert!(
        page.body
            .contains("closing a finding needs a root cause and a corrective action")
    );
    assert!(page.body.contains("class=\"sidebar\""));
    // An automated finding whose control still fails cannot be closed.
    let page = post_form(
        &server,
        &editor,
        &path,
        &[
            ("action", "close"),
            ("root_cause", "Drift"),
            ("corrective_action", "Pinned config"),
        ],
    );
    assert_eq!(page.status, 409);
    assert!(page.body.contains("cannot be closed"));
    // Accepting the risk works.
    let page = post_form(
        &server,
        &editor,
        &path,
        &[
            ("action", "accept_risk"),
            ("reason", "Compensating control in place"),
            ("until", ""),
        ],
    );
    assert_eq!(page.status, 303);
    let page = get(&server, Some(&editor), &path);
    assert_eq!(text_of(&page.body, "finding-status"), "Risk accepted");
    assert!(page.body.contains("Compensating control in place"));
    // Auditors may not; nor may a form without the CSRF token.
    let auditor = login(&server, AUDITOR);
    let page = post_form(
        &server,
        &auditor,
        &path,
        &[("action", "update"), ("note", "x")],
    );
    assert_eq!(page.status, 403);
    let mut response = agent()
        .post(&server.url(&path))
        .header("Cookie", &editor.cookie)
        .send_form([("action", "update"), ("note", "x")])
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let _ = response.body_mut().read_to_string();
}

#[test]
fn evidence_uploads_through_the_form_change_the_control() {
    let server = support::start(false);
    let control = server.bare_control.clone();
    let editor = login(&server, EDITOR);
    let before = get(&server, Some(&editor), &format!("/controls/{control}"));
    assert_eq!(text_of(&before.body, "control-status"), "Missing evidence");
    let today = jiff::Zoned::now().date().to_string();
    let page = post_multipart(
        &server,
        &editor,
        "/evidence?from=control",
        &[
            ("csrf_token", &editor.csrf),
            ("control", &control),
            ("effective_date", &today),
            ("note", "Signed"),
        ],
        ("review.txt", b"Reviewed and signed."),
    );
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.unwrap();
    assert!(
        location.starts_with(&format!("/controls/{control}?uploaded=")),
        "{location}"
    );
    let after = get(&server, Some(&editor), &location);
    assert!(after.body.contains("Evidence uploaded"));
    assert!(after.body.contains("review.txt"));
    assert_eq!(text_of(&after.body, "control-status"), "Passing");
    // From the evidence page, back there with the record named.
    let page = post_multipart(
        &server,
        &editor,
        "/evidence",
        &[
            ("csrf_token", &editor.csrf),
            ("control", &control),
            ("effective_date", &today),
            ("note", ""),
        ],
        ("second.txt", b"Another."),
    );
    assert_eq!(page.status, 303);
    let location = page.location.unwrap();
    assert!(location.starts_with("/evidence?uploaded="), "{location}");
    let page = get(&server, Some(&editor), &location);
    assert!(page.body.contains("Uploaded <strong>second.txt</strong>"));
    // Errors come back on the page: an empty file, a date in the future.
    let page = post_multipart(
        &server,
        &editor,
        "/evidence",
        &[
            ("csrf_token", &editor.csrf),
            ("control", &control),
            ("effective_date", &today),
        ],
        ("empty.txt", b""),
    );
    assert_eq!(page.status, 400);
    assert!(page.body.contains("the file is empty"));
    assert!(page.body.contains("role=\"alert\""));
    let page = post_multipart(
        &server,
        &editor,
        "/evidence?from=control",
        &[
            ("csrf_token", &editor.csrf),
            ("control", &control),
            ("effective_date", "2999-01-01"),
        ],
        ("future.txt", b"x"),
    );
    assert_eq!(page.status, 400);
    assert!(page.body.contains("cannot be effective in the future"));
    assert!(page.body.contains("id=\"control-status\""));
    // A wrong CSRF token, and an auditor, are refused.
    let page = post_multipart(
        &server,
        &editor,
        "/evidence",
        &[("csrf_token", "0000"), ("control", &control)],
        ("x.txt", b"x"),
    );
    assert_eq!(page.status, 403);
    let auditor = login(&server, AUDITOR);
    let page = post_multipart(
        &server,
        &auditor,
        "/evidence",
        &[("csrf_token", &auditor.csrf), ("control", &control)],
        ("x.txt", b"x"),
    );
    assert_eq!(page.status, 403);
}

#[test]
fn admins_add_users_and_register_and_revoke_hosts() {
    let server = support::start(false);
    let admin = login(&server, ADMIN);
    let page = post_form(
        &server,
        &admin,
        "/admin/users",
        &[
            ("name", "victor"),
            ("role", "auditor"),
            ("password", "a long enough password"),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/admin?added=victor"));
    let page = get(&server, Some(&admin), "/admin?added=victor");
    assert!(page.body.contains("Added user `victor`."));
    assert!(page.body.contains(">victor<"));
    let victor = support::login_with(&server, "victor", "a long enough password");
    assert_eq!(get(&server, Some(&victor), "/").status, 200);
    // A weak password and a duplicate name are explained on the page.
    let page = post_form(
        &server,
        &admin,
        "/admin/users",
        &[("name", "walt"), ("role", "editor"), ("password", "short")],
    );
    assert_eq!(page.status, 400);
    assert!(page.body.contains("at least 12 characters"));
    let page = post_form(
        &server,
        &admin,
        "/admin/users",
        &[
            ("name", "victor"),
            ("role", "editor"),
            ("password", "a long enough password"),
        ],
    );
    assert_eq!(page.status, 409);
    let page = post_form(
        &server,
        &admin,
        "/admin/users",
        &[
            ("name", "xavier"),
            ("role", "agent"),
            ("password", "a long enough password"),
        ],
    );
    assert_eq!(page.status, 400);
    // A host's token is shown once, and works.
    let page = post_form(&server, &admin, "/admin/hosts", &[("name", "web-9")]);
    assert_eq!(page.status, 201, "{}", page.body);
    assert!(page.body.contains("Copy it now."));
    let token_start = page.body.find("value=\"atk_").unwrap() + "value=\"".len();
    let token = &page.body[token_start..token_start + 68];
    assert!(token.starts_with("atk_") && token[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    support::push_report(
        &server,
        "web-9",
        token,
        jiff::Timestamp::now(),
        "web-9-first",
        |_| None,
    );
    let page = get(&server, Some(&admin), "/admin");
    assert!(page.body.contains("/admin/hosts/web-9/revoke"));
    assert!(!page.body.contains(token), "the token is not shown again");
    // Revoking it: its reports are refused.
    let page = post_form(&server, &admin, "/admin/hosts/web-9/revoke", &[]);
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/admin?revoked=web-9"));
    let mut response = agent()
        .post(&server.url("/api/v1/reports"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send("{}")
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let _ = response.body_mut().read_to_string();
    // Editors may do none of it.
    let editor = login(&server, EDITOR);
    for path in ["/admin/users", "/admin/hosts", "/admin/hosts/web-1/revoke"] {
        let page = post_form(
            &server,
            &editor,
            path,
            &[
                ("name", "zed"),
                ("role", "admin"),
                ("password", "a long enough password"),
            ],
        );
        assert_eq!(page.status, 403, "{path}");
    }
}

#[test]
fn logging_out_ends_the_session() {
    let server = support::start(false);
    let session = login(&server, EDITOR);
    assert_eq!(get(&server, Some(&session), "/").status, 200);
    let page = post_form(&server, &session, "/logout", &[]);
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/login"));
    let page = get(&server, Some(&session), "/");
    assert!(matches!(page.status, 302 | 303 | 307));
}
