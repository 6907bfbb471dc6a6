//! DNS resolution for webhook delivery that refuses internal targets.
//!
//! Checking the URL when it is saved is not enough: a host name can resolve
//! to 127.0.0.1 or 169.254.169.254 later (DNS rebinding). So the check runs
//! in the resolver the HTTP client connects through, on the addresses it
//! will actually use. IP literals never reach a resolver; the worker checks
//! them with the URL itself before sending.

use paygate_core::callback_url::ip_is_public;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;

pub struct GuardedResolver {
    pub allow_private: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to a loopback, private or link-local address")]
struct PrivateTarget(String);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && addrs.iter().any(|a| !ip_is_public(a.ip())) {
                return Err(Box::new(PrivateTarget(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[tokio::test]
    async fn refuses_names_resolving_to_loopback_unless_allowed() {
        let strict = GuardedResolver { allow_private: false };
        let err = match strict.resolve(Name::from_str("localhost").unwrap()).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("loopback"), "{err}");
        let open = GuardedResolver { allow_private: true };
        let addrs: Vec<_> = open.resolve(Name::from_str("localhost").unwrap()).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
