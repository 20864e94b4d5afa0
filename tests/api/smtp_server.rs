//! A real SMTP server for tests: Debian's `python3-aiosmtpd`, delivering into a Maildir that
//! the test reads.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::in_ci;

pub struct SmtpServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_with_aiosmtpd() -> Option<String> {
    let candidates = [
        std::env::var("HERALD_TEST_PYTHON").unwrap_or_default(),
        "/usr/bin/python3".into(),
        "python3".into(),
    ];
    candidates.into_iter().filter(|p| !p.is_empty()).find(|p| {
        Command::new(p)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// How the test server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Plain,
    /// STARTTLS, required before MAIL.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Implicit,
}

/// A test CA and a server certificate for 127.0.0.1 signed by it, made with the openssl
/// command (a self-signed leaf is refused by webpki as a CA used as an end entity);
/// returns (server cert, server key); the CA is `ca.pem` beside them.
fn test_certificates(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let run = |args: &[&str]| {
        let ok = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "openssl {args:?} failed");
    };
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext file");
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=Herald Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// aiosmtpd's Mailbox, except that `nobody@…` gets the answer of a mailbox that does not exist.
const REFUSING_HANDLER: &str = r#"
from aiosmtpd.handlers import Mailbox

class Refusing(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("nobody@"):
            return "550 5.1.1 <%s>: Recipient address rejected: mailbox does not exist" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"
"#;

impl SmtpServer {
    /// None (skip) when aiosmtpd is missing outside CI; under CI that is a failure.
    pub fn start() -> Option<SmtpServer> {
        Self::start_with(Security::Plain)
    }

    /// The CA that signed the server's certificate (PEM), when it speaks TLS.
    pub fn certificate(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("ca.pem")).ok()
    }

    /// A plain server that refuses every recipient at `nobody@…` with 550 (mailbox does not
    /// exist) and keeps the rest.
    pub fn start_refusing_nobody() -> Option<SmtpServer> {
        Self::start_inner(Security::Plain, true)
    }

    pub fn start_with(security: Security) -> Option<SmtpServer> {
        Self::start_inner(security, false)
    }

    fn start_inner(security: Security, refusing: bool) -> Option<SmtpServer> {
        let Some(python) = python_with_aiosmtpd() else {
            assert!(!in_ci(), "CI=true and python3-aiosmtpd is not installed");
            eprintln!("skipped: python3-aiosmtpd not installed");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = tempfile::tempdir().expect("maildir");
        let maildir = dir.path().join("mail");
        let mut command = Command::new(python);
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"));
        if security != Security::Plain {
            let (cert, key) = test_certificates(dir.path());
            let (c, k) = if security == Security::StartTls {
                ("--tlscert", "--tlskey")
            } else {
                ("--smtpscert", "--smtpskey")
            };
            command.arg(c).arg(cert).arg(k).arg(key);
        }
        let handler = if refusing {
            std::fs::write(dir.path().join("refusing.py"), REFUSING_HANDLER).expect("handler");
            command.env("PYTHONPATH", dir.path());
            "refusing.Refusing"
        } else {
            "aiosmtpd.handlers.Mailbox"
        };
        let child = command
            .args(["-c", handler])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let server = SmtpServer { child, port, dir };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    /// Plain SMTP, as for a local relay.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The first delivered message addressed to `to`, with quoted-printable soft breaks undone.
    pub async fn wait_for(&self, to: &str) -> String {
        self.wait_for_containing(to, "").await
    }

    /// The first delivered message addressed to `to` that contains `text`.
    pub async fn wait_for_containing(&self, to: &str, text: &str) -> String {
        let new = self.dir.path().join("mail").join("new");
        for _ in 0..100 {
            if let Ok(entries) = std::fs::read_dir(&new) {
                for e in entries.flatten() {
                    let mail = std::fs::read_to_string(e.path())
                        .unwrap_or_default()
                        .replace("=\r\n", "")
                        .replace("=\n", "")
                        .replace("=3D", "=");
                    if mail.contains(&format!("To: {to}")) && mail.contains(text) {
                        return mail;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} arrived");
    }
}
