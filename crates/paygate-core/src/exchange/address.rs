//! Destination addresses of crypto payouts, checked where the format is
//! known so a typo is refused before money is sent to nowhere: BTC (base58check
//! P2PKH/P2SH and bech32/bech32m segwit), ETH-style (`0x` + 40 hex, with the
//! EIP-55 checksum when the address is mixed case; also USDT/USDC on
//! Ethereum). Other currencies get a plain sanity check.

use sha2::{Digest, Sha256};
use sha3::Keccak256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("is not a valid {0} address")]
    Invalid(&'static str),
    #[error("fails its EIP-55 checksum (check the letter case)")]
    Checksum,
    #[error("must be 1–128 printable characters without spaces")]
    Malformed,
}

/// Checks `address` as a destination for `currency` (`network`, when the
/// currency lives on several, e.g. `ERC20`/`TRC20` for USDT).
pub fn check(currency: &str, network: Option<&str>, address: &str) -> Result<(), AddressError> {
    if address.is_empty() || address.len() > 128 || !address.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AddressError::Malformed);
    }
    let network = network.map(str::to_ascii_uppercase);
    match (currency, network.as_deref()) {
        ("BTC", _) => btc(address),
        ("ETH", _) | ("USDT" | "USDC", Some("ERC20" | "ETH" | "ETHEREUM")) => eth(address),
        _ => Ok(()),
    }
}

fn btc(address: &str) -> Result<(), AddressError> {
    let lower = address.to_ascii_lowercase();
    if lower.starts_with("bc1") || lower.starts_with("tb1") {
        return segwit(address).then_some(()).ok_or(AddressError::Invalid("BTC"));
    }
    let decoded = base58(address).ok_or(AddressError::Invalid("BTC"))?;
    if decoded.len() != 25 || ![0x00, 0x05, 0x6f, 0xc4].contains(&decoded[0]) {
        return Err(AddressError::Invalid("BTC"));
    }
    let (payload, checksum) = decoded.split_at(21);
    let hash = Sha256::digest(Sha256::digest(payload));
    (hash[..4] == *checksum).then_some(()).ok_or(AddressError::Invalid("BTC"))
}

fn base58(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut bytes: Vec<u8> = Vec::new();
    for c in s.bytes() {
        let mut carry = ALPHABET.iter().position(|a| *a == c)? as u32;
        for b in bytes.iter_mut().rev() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|c| *c == b'1').count();
    let mut out = vec![0u8; zeros];
    out.extend(bytes);
    Some(out)
}

/// BIP-173 (witness v0, bech32) and BIP-350 (v1+, bech32m).
fn segwit(address: &str) -> bool {
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    if address.len() > 90 || (address != address.to_ascii_lowercase() && address != address.to_ascii_uppercase()) {
        return false;
    }
    let a = address.to_ascii_lowercase();
    let Some((hrp, data)) = a.rsplit_once('1') else { return false };
    if data.len() < 7 {
        return false;
    }
    let Some(values): Option<Vec<u8>> =
        data.bytes().map(|c| CHARSET.iter().position(|x| *x == c).map(|p| p as u8)).collect()
    else {
        return false;
    };
    let mut check: Vec<u8> = hrp.bytes().map(|b| b >> 5).collect();
    check.push(0);
    check.extend(hrp.bytes().map(|b| b & 31));
    check.extend(&values);
    let constant = polymod(&check);
    let version = values[0];
    let expected = if version == 0 { 1 } else { 0x2bc8_30a3 };
    if constant != expected || version > 16 {
        return false;
    }
    let Some(program) = regroup(&values[1..values.len() - 6]) else { return false };
    (2..=40).contains(&program.len()) && (version != 0 || program.len() == 20 || program.len() == 32)
}

fn polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(*v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// 5-bit groups to bytes; leftover bits must be zero padding.
fn regroup(data: &[u8]) -> Option<Vec<u8>> {
    let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for v in data {
        acc = (acc << 5) | u32::from(*v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    (bits < 5 && (acc & ((1 << bits) - 1)) == 0).then_some(out)
}

fn eth(address: &str) -> Result<(), AddressError> {
    let hex_part = address.strip_prefix("0x").ok_or(AddressError::Invalid("ETH"))?;
    if hex_part.len() != 40 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AddressError::Invalid("ETH"));
    }
    let mixed = hex_part.bytes().any(|b| b.is_ascii_uppercase()) && hex_part.bytes().any(|b| b.is_ascii_lowercase());
    if !mixed {
        return Ok(());
    }
    let hash = Keccak256::digest(hex_part.to_ascii_lowercase().as_bytes());
    for (i, c) in hex_part.bytes().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        if c.is_ascii_alphabetic() && c.is_ascii_uppercase() != (nibble >= 8) {
            return Err(AddressError::Checksum);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitcoin_addresses() {
        // The genesis coinbase address, a P2SH, BIP-173 and BIP-350 examples.
        for ok in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ] {
            assert_eq!(check("BTC", None, ok), Ok(()), "{ok}");
        }
        for bad in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
            "bc1qw508d6qejxtdg4y5r3zarvarY0c5xw7kv8f3t4",
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "not an address",
        ] {
            assert!(check("BTC", None, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ethereum_addresses_with_eip55() {
        assert_eq!(check("ETH", None, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"), Ok(()));
        assert_eq!(check("ETH", None, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), Ok(()), "all lower case");
        assert_eq!(check("ETH", None, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"), Err(AddressError::Checksum));
        assert!(check("ETH", None, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA").is_err());
        assert_eq!(check("USDT", Some("erc20"), "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"), Ok(()));
        assert_eq!(check("USDT", Some("TRC20"), "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"), Ok(()));
        assert_eq!(check("LTC", None, "has space"), Err(AddressError::Malformed));
    }
}
