//! IP lists as users type them: `10.0.0.2,10.0.0.3` and ranges `10.0.0.1-10.0.0.9`.

use std::net::{IpAddr, Ipv4Addr};

/// The largest range accepted, so a typo cannot expand into millions of hosts.
pub const MAX_RANGE: u32 = 4096;

/// Expand one comma-separated list of IPs and IPv4 ranges, keeping order and dropping duplicates.
pub fn expand_ip_list(text: &str) -> Result<Vec<IpAddr>, String> {
    let mut out: Vec<IpAddr> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        for ip in expand_item(item)? {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    Ok(out)
}

/// Expand one entry: a single IP or an IPv4 range `a.b.c.d-e.f.g.h`.
pub fn expand_item(item: &str) -> Result<Vec<IpAddr>, String> {
    if let Ok(ip) = item.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let Some((start, end)) = item.split_once('-') else {
        return Err(format!(
            "invalid IP {item:?}: expected an address like 10.0.0.2 or a range like 10.0.0.1-10.0.0.9"
        ));
    };
    let parse = |s: &str| {
        s.trim().parse::<Ipv4Addr>().map_err(|_| {
            format!(
                "invalid IP range {item:?}: {s:?} is not an IPv4 address (ranges are IPv4 only)"
            )
        })
    };
    let (a, b) = (u32::from(parse(start)?), u32::from(parse(end)?));
    if a > b {
        return Err(format!(
            "invalid IP range {item:?}: the start is after the end"
        ));
    }
    if b - a >= MAX_RANGE {
        return Err(format!(
            "IP range {item:?} covers {} addresses, more than the limit of {MAX_RANGE}",
            u64::from(b - a) + 1
        ));
    }
    Ok((a..=b).map(|n| IpAddr::V4(Ipv4Addr::from(n))).collect())
}

#[cfg(test)]
#[path = "../tests/clusterfile_iprange.rs"]
mod tests;
