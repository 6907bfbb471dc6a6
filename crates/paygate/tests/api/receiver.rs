//! A real webhook receiver: `support/receiver.py`, run by Python, verifying
//! each signature with Python's own `hmac` exactly as merchants are told to.

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

pub struct Receiver {
    pub url: String,
    _child: tokio::process::Child,
    dir: tempfile::TempDir,
}

impl Receiver {
    /// Starts a receiver that checks signatures with `secret` and answers
    /// with the statuses of `plan` (comma-separated), then 200.
    pub async fn start(secret: &str, plan: &str) -> Receiver {
        Self::start_on(secret, plan, 0).await
    }

    /// Like [`Receiver::start`] on a chosen port (0: any).
    pub async fn start_on(secret: &str, plan: &str, port: u16) -> Receiver {
        Self::start_with(secret, plan, port, Duration::ZERO).await
    }

    /// Like [`Receiver::start_on`], holding each answer back by `pause`
    /// after the request is logged.
    pub async fn start_with(secret: &str, plan: &str, port: u16, pause: Duration) -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        let (port_file, secret_file, log_file) =
            (dir.path().join("port"), dir.path().join("secret"), dir.path().join("log"));
        std::fs::write(&secret_file, secret).unwrap();
        std::fs::write(&log_file, "").unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/support/receiver.py");
        let child = tokio::process::Command::new("python3")
            .args([
                script,
                port_file.to_str().unwrap(),
                secret_file.to_str().unwrap(),
                log_file.to_str().unwrap(),
                plan,
                &port.to_string(),
            ])
            .env("RECEIVER_PAUSE_MS", pause.as_millis().to_string())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the receiver");
        for _ in 0..100 {
            if let Ok(port) = std::fs::read_to_string(&port_file) {
                return Receiver { url: format!("http://127.0.0.1:{}/hook", port.trim()), _child: child, dir };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("receiver did not start");
    }

    pub fn port(&self) -> u16 {
        self.url.trim_start_matches("http://127.0.0.1:").trim_end_matches("/hook").parse().unwrap()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    pub fn set_secret(&self, secret: &str) {
        std::fs::write(self.dir.path().join("secret"), secret).unwrap();
    }

    pub fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(self.log()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Waits (bounded) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let got = self.records();
            if got.len() >= n || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
