//! Merchant e-mail. It is part of the signed message (`ts + email`), so it is
//! stored exactly as the operator typed it (trimmed): changing its case would
//! break every merchant's signature.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid e-mail address")]
pub struct EmailError;

impl Email {
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let s = raw.trim();
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError)?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && s.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && !local.contains('@');
        if ok {
            Ok(Email(s.to_string()))
        } else {
            Err(EmailError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_documented_examples_including_unicode() {
        for ok in ["merchant@example.com", "shop.owner+payins@mail.example", "üser@exämple.org"] {
            assert_eq!(Email::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "no-at", "@x.y", "a@b", "a b@c.d", "a@.c", "a@c.", "a@b@c.d"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_keeps_text(s in ".{0,80}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(e.as_str(), s.trim());
            }
        }
    }
}
