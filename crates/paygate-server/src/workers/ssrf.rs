//! DNS resolution for webhook delivery that refuses internal targets.
//!
//! Checking the URL when it is saved is not enough: a host name can resolve
//! to 127.0.0.1 or 169.254.169.254 later (DNS rebinding). So the check runs
//! in the resolver the HTTP client connects through, on the addresses it
//! will actually use. IP literals never reach a resolver; the worker checks
//! them with the URL itself before sending.

use paygate_core::callback_url::ip_is_public;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub struct GuardedResolver {
    pub allow_private: bool,
    /// Names answered without asking the system resolver, then judged like
    /// any other answer ([`crate::config::Settings::webhook_static_hosts`]).
    pub static_hosts: Arc<BTreeMap<String, IpAddr>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to a loopback, private or link-local address ({hint})", hint = paygate_core::callback_url::ALLOW_PRIVATE_HINT)]
struct PrivateTarget(String);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let fixed = self.static_hosts.get(name.as_str()).copied();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = match fixed {
                Some(ip) => vec![SocketAddr::new(ip, 0)],
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
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
        let strict = GuardedResolver { allow_private: false, static_hosts: Default::default() };
        let err = match strict.resolve(Name::from_str("localhost").unwrap()).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("loopback"), "{err}");
        let open = GuardedResolver { allow_private: true, static_hosts: Default::default() };
        let addrs: Vec<_> = open.resolve(Name::from_str("localhost").unwrap()).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }

    #[tokio::test]
    async fn static_hosts_are_judged_like_resolved_ones() {
        let hosts = Arc::new(BTreeMap::from([("hooks.example".to_string(), IpAddr::from([127, 0, 0, 1]))]));
        let strict = GuardedResolver { allow_private: false, static_hosts: hosts.clone() };
        assert!(strict.resolve(Name::from_str("hooks.example").unwrap()).await.is_err());
        let open = GuardedResolver { allow_private: true, static_hosts: hosts };
        let addrs: Vec<_> = open.resolve(Name::from_str("hooks.example").unwrap()).await.unwrap().collect();
        assert_eq!(addrs, vec![SocketAddr::from(([127, 0, 0, 1], 0))]);
    }
}
