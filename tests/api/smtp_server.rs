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

impl SmtpServer {
    /// None (skip) when aiosmtpd is missing outside CI; under CI that is a failure.
    pub fn start() -> Option<SmtpServer> {
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
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
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

    /// The first delivered message addressed to `to`, with quoted-printable soft breaks undone.
    pub async fn wait_for(&self, to: &str) -> String {
        let new = self.dir.path().join("mail").join("new");
        for _ in 0..100 {
            if let Ok(entries) = std::fs::read_dir(&new) {
                for e in entries.flatten() {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    if text.contains(&format!("To: {to}")) {
                        return text
                            .replace("=\r\n", "")
                            .replace("=\n", "")
                            .replace("=3D", "=");
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} arrived");
    }
}
