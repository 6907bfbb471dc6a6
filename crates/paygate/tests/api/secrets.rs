//! Secrets at rest, in logs and in `Debug` output.

use crate::both_backends;
use crate::helpers::*;
use sqlx::Row;

both_backends!(secret_token_is_not_stored_in_plaintext, debug_output_never_shows_secrets);

async fn secret_token_is_not_stored_in_plaintext(app: TestApp) {
    let m = app.create_merchant("vault@example.com").await;
    let row =
        sqlx::query("SELECT * FROM merchants WHERE id = $1").bind(&m.id).fetch_one(app.state.db.pool()).await.unwrap();
    let sealed: String = row.get("secret_sealed");
    assert!(sealed.starts_with("v1.") && !sealed.contains(&m.secret));
    // Every text column of the row, not just the one we expect.
    for col in ["id", "email", "name", "public_token", "secret_sealed", "ip_allowlist", "fees", "limits"] {
        let v: String = row.get(col);
        assert!(!v.contains(&m.secret) && !v.contains(&m.secret["sk_test_".len()..]), "secret in column {col}");
    }
    // And the raw SQLite files on disk, WAL included.
    if let Some(dir) = app.guard.sqlite_dir() {
        app.state.db.close().await;
        let mut scanned = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "key") {
                continue;
            }
            // Closing checkpoints the WAL and may remove it while we list.
            let Ok(bytes) = std::fs::read(&path) else { continue };
            scanned += bytes.len();
            let needle = m.secret.as_bytes();
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "secret in {}", path.display());
        }
        assert!(scanned > 0);
    }
}

async fn debug_output_never_shows_secrets(app: TestApp) {
    let m = app.create_merchant("debug@example.com").await;
    let record = app.state.db.merchant(&m.id).await.unwrap().unwrap();
    let text = format!("{record:?} {:?}", app.state.settings);
    assert!(!text.contains(&m.secret));
    assert!(!text.contains(ADMIN_TOKEN), "{text}");
    assert!(!format!("{:?}", app.state.master_key).contains(&hex::encode([7u8; 32])));
    let (_, rotated) =
        app.admin(reqwest::Method::POST, &format!("/admin/v1/merchants/{}/rotate-secret", m.id), None).await;
    let new_secret = rotated["data"]["secret_token"].as_str().unwrap();
    let record = app.state.db.merchant(&m.id).await.unwrap().unwrap();
    let text = format!("{record:?}");
    assert!(!text.contains(new_secret) && !text.contains(&m.secret));
}
