//! The follower's address, for unique counting and the fraud rules (it is hashed, never
//! stored).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
///
/// `forwarded_for` gives every `X-Forwarded-For` header line in the order received; it is only
/// called when the peer is a trusted proxy, so an untrusted peer costs no header lookup. The
/// lines are one comma-separated list (RFC 9110 §5.3): a proxy that adds its own line (HAProxy's
/// `option forwardfor`) leaves the client's forged line first, so every line is read, from the
/// right. Entries further left than the first untrusted one were written by the client and can
/// be forged, so they are never believed.
///
/// Entries may carry a port (`198.51.100.1:5678`, `[2001:db8::1]:80`, as some proxies write
/// them), which is dropped; empty entries are skipped, as RFC 9110 asks of list recipients. An
/// entry that is no address (`unknown`, an obfuscated name, bytes that are not text) ends the
/// walk: nothing left of it can be trusted, so the innermost trusted hop is the answer.
///
/// `Forwarded` (RFC 7239) is never read: proxies commonly set only `X-Forwarded-For` and pass
/// `Forwarded` through as the client sent it, so believing it would let clients pick their
/// address.
///
/// Every address is canonical: an IPv4 peer of a socket bound to `[::]` arrives as
/// `::ffff:a.b.c.d`, and is matched, hashed and keyed as `a.b.c.d`.
pub fn client_addr<'a, L>(
    peer: Option<SocketAddr>,
    trusted: &[IpNet],
    forwarded_for: impl FnOnce() -> L,
) -> Option<IpAddr>
where
    L: IntoIterator<Item = &'a [u8]>,
    L::IntoIter: DoubleEndedIterator,
{
    let peer = peer?.ip().to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut innermost = peer;
    for line in forwarded_for().into_iter().rev() {
        for entry in line.rsplit(|b| *b == b',') {
            match parse_entry(entry) {
                Entry::Empty => {}
                Entry::Addr(ip) if is_trusted(&ip) => innermost = ip,
                Entry::Addr(ip) => return Some(ip),
                Entry::Opaque => return Some(innermost),
            }
        }
    }
    Some(innermost)
}

/// One `X-Forwarded-For` list entry.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Empty,
    Addr(IpAddr),
    /// Not an address: `unknown`, a name, garbage.
    Opaque,
}

fn parse_entry(entry: &[u8]) -> Entry {
    let entry = entry.trim_ascii();
    if entry.is_empty() {
        return Entry::Empty;
    }
    let Ok(text) = std::str::from_utf8(entry) else {
        return Entry::Opaque;
    };
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let inner = text.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        });
    ip.map_or(Entry::Opaque, |ip| Entry::Addr(ip.to_canonical()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> Vec<IpNet> {
        vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8:ffff::/48".parse().unwrap(),
        ]
    }

    fn resolve_lines(peer: &str, lines: &[&str]) -> String {
        let trusted = trusted();
        client_addr(Some(peer.parse().unwrap()), &trusted, || {
            lines.iter().map(|l| l.as_bytes())
        })
        .unwrap()
        .to_string()
    }

    fn resolve(peer: &str, xff: Option<&str>) -> String {
        resolve_lines(peer, xff.as_slice())
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

    #[test]
    fn a_forged_first_line_is_not_believed() {
        // The client's own line first, then the line HAProxy adds.
        assert_eq!(
            resolve_lines("127.0.0.1:5000", &["6.6.6.6", "198.51.100.1"]),
            "198.51.100.1"
        );
        assert_eq!(
            resolve_lines(
                "127.0.0.1:5000",
                &["6.6.6.6, 7.7.7.7", "198.51.100.1, 10.0.0.3"]
            ),
            "198.51.100.1"
        );
        assert_eq!(
            resolve_lines("127.0.0.1:5000", &["6.6.6.6", "10.0.0.3"]),
            "6.6.6.6",
            "the trusted hop passed it on: the left line is the next hop's"
        );
    }

    #[test]
    fn ports_brackets_spaces_and_empty_entries_are_read_as_the_address() {
        for (xff, expected) in [
            ("198.51.100.1:5678", "198.51.100.1"),
            ("[2001:db8::1]:80", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("\t198.51.100.1 \t", "198.51.100.1"),
            ("6.6.6.6, 198.51.100.1,, ,", "198.51.100.1"),
            ("6.6.6.6,198.51.100.1,10.0.0.2:443", "198.51.100.1"),
        ] {
            assert_eq!(resolve("127.0.0.1:5000", Some(xff)), expected, "{xff}");
        }
    }

    #[test]
    fn an_entry_that_is_no_address_stops_the_walk_at_the_innermost_trusted_hop() {
        for xff in [
            "6.6.6.6, unknown",
            "6.6.6.6, _hidden, 10.0.0.7",
            "6.6.6.6, 198.51.100.1:notaport",
            "6.6.6.6, fe80::1%eth0",
            "6.6.6.6, [198.51.100.1]",
        ] {
            let innermost = if xff.ends_with("10.0.0.7") {
                "10.0.0.7"
            } else {
                "127.0.0.1"
            };
            assert_eq!(resolve("127.0.0.1:5000", Some(xff)), innermost, "{xff}");
        }
        let trusted = trusted();
        let not_text: [&[u8]; 1] = [b"6.6.6.6, \xff\xfe"];
        assert_eq!(
            client_addr(Some("127.0.0.1:1".parse().unwrap()), &trusted, || not_text),
            Some("127.0.0.1".parse().unwrap())
        );
    }

    #[test]
    fn ipv4_mapped_addresses_are_matched_and_returned_as_ipv4() {
        // A server bound to [::] sees an IPv4 proxy as ::ffff:127.0.0.1.
        assert_eq!(
            resolve("[::ffff:127.0.0.1]:5000", Some("198.51.100.1")),
            "198.51.100.1"
        );
        assert_eq!(resolve("[::ffff:203.0.113.9]:5000", None), "203.0.113.9");
        assert_eq!(
            resolve(
                "127.0.0.1:5000",
                Some("::ffff:198.51.100.1, ::ffff:10.0.0.1")
            ),
            "198.51.100.1"
        );
    }
}
