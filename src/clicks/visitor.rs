//! The unique-visitor hash.

use std::hash::Hasher;
use std::net::IpAddr;

use sha2::{Digest, Sha256};
use siphasher::sip::SipHasher13;

/// Hashes a visitor's address and user agent with a secret salt shared by all replicas.
///
/// The result only ever enters a HyperLogLog, which keeps a few bits of it; without the salt
/// the hash cannot be reversed or matched against a list of addresses.
#[derive(Clone)]
pub struct VisitorHasher {
    key0: u64,
    key1: u64,
}

impl std::fmt::Debug for VisitorHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VisitorHasher(<salt>)")
    }
}

impl VisitorHasher {
    pub fn new(salt: &str) -> Self {
        let digest = Sha256::digest(salt.as_bytes());
        let word = |i: usize| {
            let mut bytes = [0_u8; 8];
            bytes.copy_from_slice(&digest[i * 8..i * 8 + 8]);
            u64::from_le_bytes(bytes)
        };
        Self {
            key0: word(0),
            key1: word(1),
        }
    }

    pub fn hash(&self, addr: Option<IpAddr>, user_agent: &str) -> u64 {
        let mut hasher = SipHasher13::new_with_keys(self.key0, self.key1);
        // Canonical, so one follower is one visitor whether the socket saw it as IPv4 or as
        // IPv4-mapped IPv6.
        match addr.map(|a| a.to_canonical()) {
            Some(IpAddr::V4(v4)) => hasher.write(&v4.octets()),
            Some(IpAddr::V6(v6)) => hasher.write(&v6.octets()),
            None => {}
        }
        hasher.write_u8(0xff);
        hasher.write(user_agent.as_bytes());
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_visitor_hashes_the_same_and_others_differ() {
        let h = VisitorHasher::new("salt");
        let ip = Some("198.51.100.1".parse().unwrap());
        assert_eq!(h.hash(ip, "ua"), h.hash(ip, "ua"));
        assert_ne!(h.hash(ip, "ua"), h.hash(ip, "ua2"));
        assert_ne!(
            h.hash(ip, "ua"),
            h.hash(Some("198.51.100.2".parse().unwrap()), "ua")
        );
        assert_ne!(h.hash(ip, "ua"), VisitorHasher::new("other").hash(ip, "ua"));
    }

    #[test]
    fn an_ipv4_follower_is_one_visitor_in_either_socket_form() {
        let h = VisitorHasher::new("salt");
        assert_eq!(
            h.hash(Some("198.51.100.1".parse().unwrap()), "ua"),
            h.hash(Some("::ffff:198.51.100.1".parse().unwrap()), "ua")
        );
    }
}
