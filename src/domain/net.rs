//! Network addresses as reftrack compares them: in canonical form, so an IPv4 peer seen by a
//! socket bound to `[::]` (as `::ffff:a.b.c.d`) is the same address as over IPv4.

use ipnet::{IpNet, Ipv4Net};

/// A block written as IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) as the IPv4 block it means
/// (`10.0.0.0/8`): addresses are matched in canonical form, so the mapped form would match
/// nothing. Other blocks are returned as given.
pub fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && v6.prefix_len() >= 96
        && let Some(v4) = v6.network().to_ipv4_mapped()
        && let Ok(v4) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(v4);
    }
    net
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_blocks_in_the_configuration_mean_their_ipv4_blocks() {
        let canonical = |s: &str| canonical_net(s.parse().unwrap()).to_string();
        assert_eq!(canonical("::ffff:10.0.0.0/104"), "10.0.0.0/8");
        assert_eq!(canonical("::ffff:192.0.2.1/128"), "192.0.2.1/32");
        assert_eq!(canonical("2001:db8::/32"), "2001:db8::/32");
        assert_eq!(canonical("::/0"), "::/0");
        assert_eq!(canonical("10.0.0.0/8"), "10.0.0.0/8");
    }
}
