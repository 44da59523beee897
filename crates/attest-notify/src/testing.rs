//! Real servers on the loopback interface for tests (feature `testing`): an HTTP server that
//! answers webhook requests as scripted and keeps them, and an SMTP server (the `mailin`
//! protocol state machine over TCP, with STARTTLS or implicit TLS through rustls) that keeps
//! the messages it accepts. Both listen on `127.0.0.1` on a free port and stop when dropped.

use std::collections::VecDeque;
use std::io::{self, BufRead as _, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder, response};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// How the webhook server answers one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// This status with a short body.
    Status(u16),
    /// This status with a `Retry-After` header of this many seconds.
    RetryAfter(u16, u64),
    /// 200, after this long (to make a client time out).
    Slow(Duration),
    /// This status with the request's path and query as the body, as some servers echo
    /// what they could not route.
    Echo(u16),
}

/// One request the webhook server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// Method, e.g. `POST`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// The body, as text.
    pub body: String,
}

/// An HTTP server on `127.0.0.1` that answers with the scripted replies in order, then with
/// the last one for ever, and keeps every request.
pub struct WebhookServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<ReceivedRequest>>>,
    thread: Option<JoinHandle<()>>,
}

impl WebhookServer {
    /// Starts a server that answers `replies` in order, repeating the last (200 if empty).
    pub fn start(replies: &[Reply]) -> io::Result<Self> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("the server has no IP address"))?;
        let server = Arc::new(server);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let mut script: VecDeque<Reply> = replies.iter().copied().collect();
        let last = script.back().copied().unwrap_or(Reply::Status(200));
        let (listener, kept) = (Arc::clone(&server), Arc::clone(&requests));
        let thread = std::thread::spawn(move || {
            for mut request in listener.incoming_requests() {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let content_type = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Content-Type"))
                    .map(|h| h.value.to_string());
                kept.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(ReceivedRequest {
                        method: request.method().to_string(),
                        path: request.url().to_owned(),
                        content_type,
                        body,
                    });
                let reply = script.pop_front().unwrap_or(last);
                // Each answer on its own thread, so a slow one does not hold up the next request.
                std::thread::spawn(move || answer(request, reply));
            }
        });
        Ok(WebhookServer {
            server,
            addr,
            requests,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn answer(request: tiny_http::Request, reply: Reply) {
    let (status, retry_after) = match reply {
        Reply::Status(status) | Reply::Echo(status) => (status, None),
        Reply::RetryAfter(status, seconds) => (status, Some(seconds)),
        Reply::Slow(wait) => {
            std::thread::sleep(wait);
            (200, None)
        }
    };
    let body = match reply {
        Reply::Echo(_) => format!("no route for {}", request.url()),
        _ if status < 300 => "ok".to_owned(),
        _ => "scripted failure".to_owned(),
    };
    let mut response = tiny_http::Response::from_string(body).with_status_code(status);
    if let Some(seconds) = retry_after
        && let Ok(header) = tiny_http::Header::from_bytes("Retry-After", seconds.to_string())
    {
        response.add_header(header);
    }
    let _ = request.respond(response);
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A certificate authority and a certificate it signed for `localhost` and `127.0.0.1`.
pub struct TestCertificate {
    ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl TestCertificate {
    /// A fresh CA and server certificate.
    pub fn localhost() -> Result<Self, rcgen::Error> {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Attest test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate()?)?;
        let key = rcgen::KeyPair::generate()?;
        let params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        let cert = params.signed_by(&key, &ca)?;
        Ok(TestCertificate {
            ca_pem: ca.pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        })
    }

    /// The CA certificate, PEM: what a client must trust (`ca_file`).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    fn server_config(&self) -> io::Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(self.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
            )
            .map_err(io::Error::other)?;
        Ok(Arc::new(config))
    }
}

/// How the SMTP server secures connections.
pub enum SmtpTls<'a> {
    /// Plain text only; STARTTLS is not offered.
    None,
    /// Plain text, with STARTTLS offered.
    StartTls(&'a TestCertificate),
    /// TLS from the first byte.
    Implicit(&'a TestCertificate),
}

/// A message the SMTP server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message as sent (headers and body).
    pub data: String,
    /// The user name the client authenticated as, if it did.
    pub user: Option<String>,
    /// Whether the session was encrypted when the message was sent.
    pub tls: bool,
}

/// An SMTP server on `127.0.0.1` that keeps every message it accepts.
pub struct SmtpServer {
    addr: SocketAddr,
    mail: Arc<Mutex<Vec<ReceivedMail>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Starts a server; with `credentials`, it offers AUTH PLAIN and LOGIN (over plain text
    /// too) and accepts only this user name and password.
    pub fn start(tls: &SmtpTls<'_>, credentials: Option<(&str, &str)>) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (config, implicit) = match tls {
            SmtpTls::None => (None, false),
            SmtpTls::StartTls(cert) => (Some(cert.server_config()?), false),
            SmtpTls::Implicit(cert) => (Some(cert.server_config()?), true),
        };
        let mut builder = SessionBuilder::new("attest-test-smtp");
        if config.is_some() && !implicit {
            builder.enable_start_tls();
        }
        if credentials.is_some() {
            builder
                .enable_auth(AuthMechanism::Plain)
                .enable_auth(AuthMechanism::Login)
                .insecure_enable_plaintext_auth();
        }
        let credentials = credentials.map(|(u, p)| (u.to_owned(), p.to_owned()));
        let mail = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (kept, stopping) = (Arc::clone(&mail), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let connection = Connection {
                    builder: builder.clone(),
                    config: config.clone(),
                    implicit,
                    handler: Collector {
                        credentials: credentials.clone(),
                        user: None,
                        tls: Arc::new(AtomicBool::new(implicit)),
                        envelope: None,
                        data: Vec::new(),
                        mail: Arc::clone(&kept),
                    },
                };
                std::thread::spawn(move || {
                    let _ = connection.serve(stream);
                });
            }
        });
        Ok(SmtpServer {
            addr,
            mail,
            stop,
            thread: Some(thread),
        })
    }

    /// The port it listens on (on `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The messages accepted so far.
    pub fn mail(&self) -> Vec<ReceivedMail> {
        self.mail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One client connection.
struct Connection {
    builder: SessionBuilder,
    config: Option<Arc<rustls::ServerConfig>>,
    implicit: bool,
    handler: Collector,
}

impl Connection {
    fn serve(self, stream: TcpStream) -> io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let peer = stream
            .peer_addr()
            .map_or(IpAddr::from([127, 0, 0, 1]), |a| a.ip());
        let tls = Arc::clone(&self.handler.tls);
        let mut session = self.builder.build(peer, self.handler);
        if self.implicit {
            let config = self
                .config
                .ok_or_else(|| io::Error::other("no TLS set-up"))?;
            let mut stream = tls_stream(config, stream)?;
            write_response(&mut stream, &session.greeting())?;
            run(&mut session, stream)?;
            return Ok(());
        }
        let mut stream = stream;
        write_response(&mut stream, &session.greeting())?;
        let (stream, upgrade) = run(&mut session, stream)?;
        if upgrade {
            let config = self
                .config
                .ok_or_else(|| io::Error::other("no TLS set-up"))?;
            let stream = tls_stream(config, stream)?;
            session.tls_active();
            tls.store(true, Ordering::SeqCst);
            run(&mut session, stream)?;
        }
        Ok(())
    }
}

fn tls_stream(
    config: Arc<rustls::ServerConfig>,
    stream: TcpStream,
) -> io::Result<rustls::StreamOwned<rustls::ServerConnection, TcpStream>> {
    let connection = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    Ok(rustls::StreamOwned::new(connection, stream))
}

/// Feeds the client's lines to the session until it ends; returns the stream and whether the
/// client asked for STARTTLS.
fn run<S: Read + Write, H: Handler>(
    session: &mut mailin::Session<H>,
    stream: S,
) -> io::Result<(S, bool)> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok((reader.into_inner(), false));
        }
        let response = session.process(&line);
        match response.action {
            Action::NoReply => {}
            Action::Reply => write_response(reader.get_mut(), &response)?,
            Action::Close => {
                write_response(reader.get_mut(), &response)?;
                return Ok((reader.into_inner(), false));
            }
            Action::UpgradeTls => {
                write_response(reader.get_mut(), &response)?;
                return Ok((reader.into_inner(), true));
            }
        }
    }
}

fn write_response(out: &mut dyn Write, response: &Response) -> io::Result<()> {
    response.write_to(out)?;
    out.flush()
}

/// The session's handler: checks credentials and keeps accepted messages.
struct Collector {
    credentials: Option<(String, String)>,
    user: Option<String>,
    tls: Arc<AtomicBool>,
    envelope: Option<(String, Vec<String>)>,
    data: Vec<u8>,
    mail: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl Collector {
    fn check(&mut self, user: &str, password: &str) -> Response {
        match &self.credentials {
            Some((u, p)) if u == user && p == password => {
                self.user = Some(user.to_owned());
                response::AUTH_OK
            }
            _ => response::INVALID_CREDENTIALS,
        }
    }
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.envelope = Some((from.to_owned(), to.to_vec()));
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let (from, to) = self.envelope.take().unwrap_or_default();
        self.mail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ReceivedMail {
                from,
                to,
                data: String::from_utf8_lossy(&self.data).into_owned(),
                user: self.user.clone(),
                tls: self.tls.load(Ordering::SeqCst),
            });
        response::OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, user: &str, password: &str) -> Response {
        self.check(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.check(user, password)
    }
}
