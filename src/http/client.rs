//! Who sent a request: the peer address, or, behind a proxy listed in
//! `HOOKGATE_TRUSTED_PROXIES`, the hop that proxy recorded in `X-Forwarded-For` (SPEC 5). A
//! header from anyone else is ignored: a client cannot choose its own address.

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts},
    http::{request::Parts, HeaderMap},
};
use ipnet::IpNet;
use std::{convert::Infallible, net::IpAddr, net::SocketAddr, sync::Arc};

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Default)]
pub struct TrustedProxies(pub Arc<[IpNet]>);

/// The client's address; `None` when the request came without a socket (in-process tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress
where
    TrustedProxies: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        let trusted = TrustedProxies::from_ref(state);
        Ok(ClientAddress(peer.map(|peer| {
            client_address(peer, &parts.headers, &trusted.0)
        })))
    }
}

/// The peer, unless it is a trusted proxy: then the rightmost `X-Forwarded-For` hop that is
/// not one, which the nearest trusted proxy added. A hop that does not parse stops the walk
/// at the proxy that passed it on.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(address) if is_trusted(&address) => client = address,
            Ok(address) => return address,
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed_and_only_for_the_hop_it_added() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let spoofed = forwarded(&["1.2.3.4, 203.0.113.9"]);
        assert_eq!(
            client_address(ip("198.51.100.1"), &spoofed, &trusted),
            ip("198.51.100.1"),
            "a header from an untrusted peer is ignored"
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &spoofed, &trusted),
            ip("203.0.113.9"),
            "the hop the proxy added, not what the client claimed before it"
        );
        let chain = forwarded(&["203.0.113.9", "10.1.1.1"]);
        assert_eq!(
            client_address(ip("10.0.0.5"), &chain, &trusted),
            ip("203.0.113.9"),
            "trusted hops are walked past"
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &forwarded(&["nonsense"]), &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &HeaderMap::new(), &trusted),
            ip("10.0.0.5")
        );
    }
}
