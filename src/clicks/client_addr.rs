//! The follower's address, for unique counting (it is hashed, never stored).

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries further left
/// were written by the client and can be forged, so they are never believed.
pub fn client_addr(
    peer: Option<SocketAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?.ip();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    let mut innermost = peer;
    for entry in header.rsplit(',') {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => innermost = ip,
            Ok(ip) => return Some(ip),
            // A malformed hop: nothing left of it can be trusted.
            Err(_) => return Some(innermost),
        }
    }
    Some(innermost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(peer: &str, xff: Option<&str>) -> String {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        client_addr(Some(peer.parse().unwrap()), xff, &trusted)
            .unwrap()
            .to_string()
    }

    #[test]
    fn untrusted_peers_cannot_claim_another_address() {
        assert_eq!(
            resolve("203.0.113.9:5000", Some("198.51.100.1")),
            "203.0.113.9"
        );
    }

    #[test]
    fn trusted_proxies_pass_on_the_right_most_untrusted_address() {
        assert_eq!(
            resolve("127.0.0.1:5000", Some("198.51.100.1")),
            "198.51.100.1"
        );
        assert_eq!(
            resolve("127.0.0.1:5000", Some("6.6.6.6, 198.51.100.1, 10.1.2.3")),
            "198.51.100.1"
        );
        assert_eq!(resolve("127.0.0.1:5000", None), "127.0.0.1");
        assert_eq!(
            resolve("127.0.0.1:5000", Some("10.0.0.2, garbage")),
            "127.0.0.1"
        );
    }
}
