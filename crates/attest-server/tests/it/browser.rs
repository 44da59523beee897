//! The web UI in headless Chromium through `WebDriver` (chromedriver): log in through the form,
//! upload evidence for a control that has none and watch its status and the dashboard's
//! readiness change, what each role sees, logging out; and a screenshot of every page at
//! 1366x768 in `target/ui-screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `apt-get install chromium
//! chromium-driver`), or their paths in `ATTEST_CHROMIUM` and `ATTEST_CHROMEDRIVER`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::support::{self, ADMIN, AUDITOR, EDITOR, PASSWORD, Server};

const WIDTH: u32 = 1366;
const HEIGHT: u32 = 768;

fn program(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: the browser tests need Chromium and its WebDriver; \
         run `apt-get install chromium chromium-driver` (or set {env})",
        path.display()
    );
    path
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let binary = program("ATTEST_CHROMEDRIVER", "/usr/bin/chromedriver");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut response) = ureq::get(&format!("{}/status", driver.url)).call() {
            let status: serde_json::Value = response.body_mut().read_json().unwrap();
            if status["value"]["ready"] == true {
                return driver;
            }
        }
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn browser(driver: &Driver) -> Client {
    let chromium = program("ATTEST_CHROMIUM", "/usr/bin/chromium");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                format!("--window-size={WIDTH},{HEIGHT}"),
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    viewport(&client, WIDTH, HEIGHT).await;
    client
}

/// Sizes the window so that the page's viewport is `width` x `height`.
async fn viewport(client: &Client, width: u32, height: u32) {
    client.set_window_size(width, height).await.unwrap();
    let inner = client
        .execute("return [window.innerWidth, window.innerHeight]", Vec::new())
        .await
        .unwrap();
    let dimension = |i: usize| u32::try_from(inner[i].as_u64().unwrap()).unwrap();
    let (extra_w, extra_h) = (
        width.saturating_sub(dimension(0)),
        height.saturating_sub(dimension(1)),
    );
    if extra_w > 0 || extra_h > 0 {
        client
            .set_window_size(width + extra_w, height + extra_h)
            .await
            .unwrap();
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
    fs_err::create_dir_all(&dir).unwrap();
    dir
}

/// Saves the viewport as `name.png` (checked to be a PNG of 1366x768), and the whole page
/// as `full/name.png`.
async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name} is a PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!(
        (width, height),
        (WIDTH, HEIGHT),
        "{name} is {WIDTH}x{HEIGHT}"
    );
    fs_err::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
    let full = client
        .execute("return document.documentElement.scrollHeight", Vec::new())
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    let full = u32::try_from(full).unwrap().clamp(HEIGHT, 6000);
    viewport(client, WIDTH, full).await;
    let png = client.screenshot().await.unwrap();
    let dir = screenshot_dir().join("full");
    fs_err::create_dir_all(&dir).unwrap();
    fs_err::write(dir.join(format!("{name}.png")), png).unwrap();
    viewport(client, WIDTH, HEIGHT).await;
}

async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
        .text()
        .await
        .unwrap()
}

fn percent(text: &str) -> f64 {
    text.trim()
        .trim_end_matches('%')
        .parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a percentage"))
}

async fn path(client: &Client) -> String {
    let url = client.current_url().await.unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The page's path once `done` accepts it (or after ten seconds).
async fn path_when(client: &Client, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let path = path(client).await;
        let ready = client
            .execute("return document.readyState", Vec::new())
            .await
            .is_ok_and(|state| state == "complete");
        if (ready && done(&path)) || Instant::now() > deadline {
            return path;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn log_in(client: &Client, server: &Server, name: &str) {
    client.goto(&server.url("/login")).await.unwrap();
    client
        .find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let landed = path_when(client, |p| p == "/").await;
    assert_eq!(
        landed,
        "/",
        "{name} lands on the dashboard: {}",
        text(client, "main").await
    );
}

async fn log_out(client: &Client) {
    client
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(path_when(client, |p| p == "/login").await, "/login");
}

async fn nav_labels(client: &Client) -> Vec<String> {
    let mut labels = Vec::new();
    for link in client.find_all(Locator::Css("nav.nav a")).await.unwrap() {
        labels.push(link.text().await.unwrap());
    }
    labels
}

async fn count(client: &Client, css: &str) -> usize {
    client.find_all(Locator::Css(css)).await.unwrap().len()
}

#[test]
fn the_ui_works_in_a_real_browser() {
    let server = support::start(true);
    let driver = start_driver();
    let upload = tempfile::Builder::new()
        .prefix("access-review-")
        .suffix(".txt")
        .tempfile()
        .unwrap();
    fs_err::write(upload.path(), "Access review, signed by the CISO.\n").unwrap();
    server.runtime.block_on(async {
        let client = browser(&driver).await;

        // The login page, then logging in through its form.
        client.goto(&server.url("/")).await.unwrap();
        assert_eq!(path(&client).await, "/login?next=/");
        screenshot(&client, "login").await;
        log_in(&client, &server, ADMIN).await;
        assert_eq!(text(&client, "main h1").await, "Dashboard");
        let before = percent(&text(&client, "#readiness-percent").await);
        assert_eq!(
            text(&client, "nav.nav a[aria-current='page']").await,
            "Dashboard"
        );
        assert!(nav_labels(&client).await.contains(&"Admin".to_owned()));

        // A control with no evidence: upload a file through its form.
        let control = server.bare_control.clone();
        client
            .goto(&server.url(&format!("/controls/{control}")))
            .await
            .unwrap();
        assert_eq!(text(&client, "#control-status").await, "Missing evidence");
        client
            .find(Locator::Id("u-file"))
            .await
            .unwrap()
            .send_keys(&upload.path().display().to_string())
            .await
            .unwrap();
        client
            .find(Locator::Id("u-note"))
            .await
            .unwrap()
            .send_keys("Q3 review")
            .await
            .unwrap();
        client
            .find(Locator::Css("#upload button[type='submit']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let landed = path_when(&client, |p| p.contains("uploaded=")).await;
        assert!(
            landed.starts_with(&format!("/controls/{control}?uploaded=")),
            "{landed}: {}",
            client.source().await.unwrap()
        );
        assert_eq!(text(&client, "#control-status").await, "Passing");
        assert!(
            text(&client, ".notice.good")
                .await
                .contains("Evidence uploaded")
        );
        let file_name = upload
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(text(&client, "#main").await.contains(&file_name));

        // The dashboard's readiness went up.
        client.goto(&server.url("/")).await.unwrap();
        let after = percent(&text(&client, "#readiness-percent").await);
        assert!(after > before, "readiness {before}% → {after}%");

        // Every page, as the admin sees it.
        let pages = [
            ("dashboard", "/".to_owned()),
            ("criteria", "/criteria".to_owned()),
            ("controls", "/controls".to_owned()),
            ("control", format!("/controls/{}", server.failing_control)),
            (
                "control-missing-evidence",
                format!("/controls/{}", server.bare_control),
            ),
            ("hosts", "/hosts".to_owned()),
            ("host", "/hosts/web-1".to_owned()),
            ("findings", "/findings".to_owned()),
            ("finding", format!("/findings/{}", server.finding)),
            ("evidence", "/evidence".to_owned()),
            ("reports", "/reports".to_owned()),
            ("timeline", "/timeline".to_owned()),
            ("admin", "/admin".to_owned()),
            ("not-found", "/controls/NO-SUCH-CONTROL".to_owned()),
        ];
        for (name, page) in &pages {
            client.goto(&server.url(page)).await.unwrap();
            assert!(
                !text(&client, "main h1").await.is_empty(),
                "{page} has a heading"
            );
            screenshot(&client, name).await;
        }
        // The dashboard on a phone.
        viewport(&client, 390, 844).await;
        client.goto(&server.url("/")).await.unwrap();
        let overflow = client
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1",
                Vec::new(),
            )
            .await
            .unwrap();
        assert_eq!(
            overflow,
            serde_json::Value::Bool(false),
            "no sideways scrolling at 390px"
        );
        let png = client.screenshot().await.unwrap();
        fs_err::write(screenshot_dir().join("dashboard-mobile.png"), png).unwrap();
        viewport(&client, WIDTH, HEIGHT).await;

        // Logging out ends the session.
        log_out(&client).await;
        client.goto(&server.url("/controls")).await.unwrap();
        assert_eq!(path(&client).await, "/login?next=/controls");

        // An editor: no Admin, but upload forms.
        log_in(&client, &server, EDITOR).await;
        assert!(!nav_labels(&client).await.contains(&"Admin".to_owned()));
        client.goto(&server.url("/evidence")).await.unwrap();
        assert_eq!(
            count(&client, "form[enctype='multipart/form-data']").await,
            1
        );
        client.goto(&server.url("/admin")).await.unwrap();
        assert_eq!(
            text(&client, "main h1").await,
            "You do not have access to this"
        );
        log_out(&client).await;

        // An auditor: no Admin, no upload forms, no finding forms.
        log_in(&client, &server, AUDITOR).await;
        assert!(!nav_labels(&client).await.contains(&"Admin".to_owned()));
        for page in [
            "/evidence".to_owned(),
            format!("/controls/{}", server.bare_control),
            format!("/findings/{}", server.finding),
        ] {
            client.goto(&server.url(&page)).await.unwrap();
            assert_eq!(
                count(&client, "main form[method='post']").await,
                0,
                "{page}"
            );
        }
        log_out(&client).await;
        client.close().await.unwrap();
    });
}
