//! Callback URLs: `http`/`https` only, and never an address inside the
//! gateway's own network unless the operator allows it (API.md section 4).
//! This module judges the URL text and IP addresses; resolving host names
//! is I/O and happens in the server, which feeds the addresses back to
//! [`ip_is_public`].

use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackUrl(url::Url);

/// What a refusal of an internal target tells the operator: the first thing
/// anyone tries on a laptop is a receiver on 127.0.0.1.
pub const ALLOW_PRIVATE_HINT: &str =
    "for local use, start paygate with PAYGATE_ALLOW_PRIVATE_CALLBACKS=true or allow_private_callbacks = true in its config";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallbackUrlError {
    #[error("not a valid absolute URL")]
    Invalid,
    #[error("scheme must be http or https")]
    Scheme,
    #[error("must not contain user name or password")]
    Credentials,
    #[error("longer than 2048 characters")]
    TooLong,
    #[error("targets a loopback, private, link-local or otherwise internal address ({ALLOW_PRIVATE_HINT})")]
    PrivateTarget,
}

impl CallbackUrl {
    pub fn parse(text: &str, allow_private: bool) -> Result<CallbackUrl, CallbackUrlError> {
        if text.len() > 2048 {
            return Err(CallbackUrlError::TooLong);
        }
        let url = url::Url::parse(text).map_err(|_| CallbackUrlError::Invalid)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CallbackUrlError::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(CallbackUrlError::Credentials);
        }
        let host = url.host().ok_or(CallbackUrlError::Invalid)?;
        if !allow_private {
            let literal = match host {
                url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
                url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
                url::Host::Domain(d) => {
                    let d = d.trim_end_matches('.').to_ascii_lowercase();
                    if d == "localhost"
                        || d.ends_with(".localhost")
                        || d.ends_with(".internal")
                        || d.ends_with(".local")
                    {
                        return Err(CallbackUrlError::PrivateTarget);
                    }
                    None
                }
            };
            if literal.is_some_and(|ip| !ip_is_public(ip)) {
                return Err(CallbackUrlError::PrivateTarget);
            }
        }
        Ok(CallbackUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn host(&self) -> Option<String> {
        self.0.host_str().map(str::to_string)
    }

    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(80)
    }
}

/// True for addresses on the public internet. Everything a request forger
/// could use to reach the gateway's own network is false: loopback,
/// private, carrier-grade NAT, link-local (and so cloud metadata at
/// 169.254.169.254), unspecified, multicast, broadcast, documentation and
/// benchmarking ranges, IPv6 unique-local and IPv4-mapped forms of those.
pub fn ip_is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let embedded =
                |hi: u16, lo: u16| IpAddr::V4(std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
            if let Some(v4) = v6.to_ipv4_mapped() {
                return ip_is_public(IpAddr::V4(v4));
            }
            // Forms that carry an IPv4 address are judged by that address:
            // IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16.
            if seg[..6] == [0; 6] && !(v6.is_loopback() || v6.is_unspecified()) {
                return ip_is_public(embedded(seg[6], seg[7]));
            }
            if seg[0] == 0x64 && seg[1] == 0xff9b {
                return ip_is_public(embedded(seg[6], seg[7]));
            }
            if seg[0] == 0x2002 {
                return ip_is_public(embedded(seg[1], seg[2]));
            }
            // Otherwise only global unicast (2000::/3), less documentation.
            (seg[0] & 0xe000) == 0x2000 && !(seg[0] == 0x2001 && seg[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_internal_targets_unless_allowed() {
        for bad in [
            "http://127.0.0.1/hook",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:3000/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
            "http://[fec0::1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[::7f00:1]/",
        ] {
            assert_eq!(CallbackUrl::parse(bad, false), Err(CallbackUrlError::PrivateTarget), "{bad}");
            assert!(CallbackUrl::parse(bad, true).is_ok(), "{bad}");
        }
        assert!(CallbackUrl::parse("https://shop.example.com/paygate", false).is_ok());
        assert!(CallbackUrl::parse("https://8.8.8.8/x", false).is_ok());
        assert!(CallbackUrl::parse("https://[2606:4700::1111]/x", false).is_ok());
        assert!(CallbackUrl::parse("https://[64:ff9b::808:808]/x", false).is_ok(), "NAT64 of a public address");
        assert_eq!(CallbackUrl::parse("ftp://x.example/", true), Err(CallbackUrlError::Scheme));
        assert_eq!(CallbackUrl::parse("https://u:p@x.example/", true), Err(CallbackUrlError::Credentials));
        assert_eq!(CallbackUrl::parse("/relative", true), Err(CallbackUrlError::Invalid));
    }
}
