//! A partner's callback endpoint written in PHP (`support/partner_callback.php`
//! under `php -S`), verifying each callback as a PHP shop plugin does, and
//! the Perl check of unpadded signatures (`support/verify_unpadded.pl`).

#![allow(dead_code)]

use serde_json::Value;
use std::time::Duration;

pub struct PhpEndpoint {
    pub url: String,
    _child: tokio::process::Child,
    dir: tempfile::TempDir,
}

fn support(file: &str) -> String {
    format!("{}/tests/api/support/{file}", env!("CARGO_MANIFEST_DIR"))
}

impl PhpEndpoint {
    /// Answers 401 to a callback whose padded signature does not match.
    pub async fn start(callback_secret: &str) -> PhpEndpoint {
        Self::start_with(callback_secret, false).await
    }

    /// Answers 200 to everything, logging what PHP's check said.
    pub async fn start_accepting(callback_secret: &str) -> PhpEndpoint {
        Self::start_with(callback_secret, true).await
    }

    async fn start_with(callback_secret: &str, accept_all: bool) -> PhpEndpoint {
        let dir = tempfile::tempdir().unwrap();
        let (secret_file, log_file) = (dir.path().join("secret"), dir.path().join("log"));
        std::fs::write(&secret_file, callback_secret).unwrap();
        std::fs::write(&log_file, "").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = tokio::process::Command::new("php")
            .args(["-S", &format!("127.0.0.1:{port}"), &support("partner_callback.php")])
            .env("SECRET_FILE", &secret_file)
            .env("LOG_FILE", &log_file)
            .env("ACCEPT_ALL", if accept_all { "1" } else { "0" })
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("php-cli runs the partner's callback endpoint");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return PhpEndpoint { url: format!("http://127.0.0.1:{port}/callback"), _child: child, dir };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("php -S did not start");
    }

    pub fn records(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("log")).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Waits (bounded) until at least `n` callbacks arrived.
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

    /// Runs Perl's `hmac_sha512_base64` over every logged callback:
    /// (signatures equal to its unpadded output, others).
    pub fn perl_verdict(&self) -> (usize, usize) {
        let secret_file = self.dir.path().join("secret");
        let input: String = self
            .records()
            .iter()
            .map(|r| format!("{}\t{}\n", r["signature"].as_str().unwrap(), hex::encode(r["raw"].as_str().unwrap())))
            .collect();
        let mut child = std::process::Command::new("perl")
            .args([support("verify_unpadded.pl"), secret_file.to_str().unwrap().to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("perl runs");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
        let num = |k: &str| out.split_whitespace().find_map(|w| w.strip_prefix(k)).unwrap().parse().unwrap();
        (num("good="), num("bad="))
    }
}

/// Runs the PHP documentation's signing code against `base + path`: the
/// status and the parsed body.
pub async fn php_partner_post(base: &str, key: &str, secret: &str, path: &str, body: &str) -> (u16, Value) {
    let out = tokio::process::Command::new("php")
        .args([&support("partner_client.php"), base, key, secret, path, body])
        .output()
        .await
        .expect("php-cli runs");
    let text = String::from_utf8(out.stdout).unwrap();
    let (status, body) = text.split_once('\n').unwrap_or_else(|| panic!("php printed {text:?}"));
    (status.parse().unwrap(), serde_json::from_str(body).unwrap_or(Value::String(body.into())))
}
