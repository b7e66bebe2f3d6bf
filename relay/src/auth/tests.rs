use super::*;
use crate::stun::{Class, MessageBuilder, Method, TransactionId};
use std::time::{Duration, Instant};

fn signed(user: &str, realm: &str, nonce: &str, key: &[u8]) -> Vec<u8> {
    let mut b = MessageBuilder::new(Class::Request, Method::ALLOCATE, TransactionId([9; 12]));
    b.attribute(USERNAME, user.as_bytes())
        .attribute(REALM, realm.as_bytes())
        .attribute(NONCE, nonce.as_bytes())
        .message_integrity(key);
    b.into_bytes()
}

fn auth(users: &[(&str, &str)], secrets: &[&str]) -> Authenticator {
    let users: Vec<_> = users
        .iter()
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .collect();
    Authenticator {
        realm: "polyrtc".into(),
        credentials: Credentials::new(
            "polyrtc",
            &users,
            secrets.iter().map(|s| s.to_string()).collect(),
        ),
        nonces: NonceIssuer::new([5; 32], 600),
    }
}

const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

#[test]
fn static_user_accepted_and_wrong_password_refused() {
    let a = auth(&[("alice", "secret")], &[]);
    let nonce = a.nonces.issue(IP, 100);
    let good = LongTermKey::derive("alice", "polyrtc", "secret");
    let raw = signed("alice", "polyrtc", &nonce, &good.0);
    let msg = Message::parse(&raw).unwrap();
    assert_eq!(a.check(&msg, IP, 101, 0).unwrap().username, "alice");
    let bad = LongTermKey::derive("alice", "polyrtc", "guess");
    let raw = signed("alice", "polyrtc", &nonce, &bad.0);
    assert_eq!(
        a.check(&Message::parse(&raw).unwrap(), IP, 101, 0),
        Err(AuthError::Unauthorized)
    );
    let raw = signed("mallory", "polyrtc", &nonce, &good.0);
    assert_eq!(
        a.check(&Message::parse(&raw).unwrap(), IP, 101, 0),
        Err(AuthError::Unauthorized)
    );
}

#[test]
fn nonce_goes_stale_and_is_bound_to_the_client_ip() {
    let a = auth(&[("alice", "secret")], &[]);
    let nonce = a.nonces.issue(IP, 100);
    let key = LongTermKey::derive("alice", "polyrtc", "secret");
    let raw = signed("alice", "polyrtc", &nonce, &key.0);
    let msg = Message::parse(&raw).unwrap();
    assert_eq!(a.check(&msg, IP, 700, 0), Err(AuthError::StaleNonce));
    let other: IpAddr = "192.0.2.7".parse().unwrap();
    assert_eq!(a.check(&msg, other, 101, 0), Err(AuthError::StaleNonce));
    assert!(!a.nonces.is_valid("zz-00", IP, 1));
    assert!(!a.nonces.is_valid("", IP, 1));
}

#[test]
fn missing_integrity_challenges_and_incomplete_is_400() {
    let a = auth(&[("alice", "secret")], &[]);
    let raw =
        MessageBuilder::new(Class::Request, Method::ALLOCATE, TransactionId([1; 12])).into_bytes();
    assert_eq!(
        a.check(&Message::parse(&raw).unwrap(), IP, 1, 0),
        Err(AuthError::Challenge)
    );
    let mut b = MessageBuilder::new(Class::Request, Method::ALLOCATE, TransactionId([1; 12]));
    b.attribute(USERNAME, b"alice").message_integrity(b"x");
    let raw = b.into_bytes();
    assert_eq!(
        a.check(&Message::parse(&raw).unwrap(), IP, 1, 0),
        Err(AuthError::Incomplete)
    );
}

#[test]
fn time_limited_credentials() {
    let a = auth(&[], &["s3cret", "old"]);
    let user = "1700000600:bob";
    let pass = rest_password("s3cret", user);
    let nonce = a.nonces.issue(IP, 0);
    let key = LongTermKey::derive(user, "polyrtc", &pass);
    let raw = signed(user, "polyrtc", &nonce, &key.0);
    let msg = Message::parse(&raw).unwrap();
    assert_eq!(
        a.check(&msg, IP, 1, 1_700_000_000).unwrap().principal,
        "bob"
    );
    // Expired.
    assert_eq!(
        a.check(&msg, IP, 1, 1_700_000_600),
        Err(AuthError::Unauthorized)
    );
    // Signed with the older, still accepted secret.
    let key = LongTermKey::derive(user, "polyrtc", &rest_password("old", user));
    let raw = signed(user, "polyrtc", &nonce, &key.0);
    assert!(a
        .check(&Message::parse(&raw).unwrap(), IP, 1, 1_700_000_000)
        .is_ok());
    // Not a timestamp.
    let raw = signed("bob", "polyrtc", &nonce, &key.0);
    assert_eq!(
        a.check(&Message::parse(&raw).unwrap(), IP, 1, 0),
        Err(AuthError::Unauthorized)
    );
}

#[test]
fn rest_password_matches_the_published_formula() {
    // echo -n "1700000600:bob" | openssl dgst -binary -sha1 -hmac s3cret | base64
    assert_eq!(
        rest_password("s3cret", "1700000600:bob"),
        "/uJ1o6CrR1crDwA/8/6ofX3Rii0="
    );
}

#[test]
fn rate_limiter_refills_and_stays_bounded() {
    let t0 = Instant::now();
    let mut rl = RateLimiter::new(10, 2, 2);
    assert!(rl.allow(IP, t0));
    assert!(rl.allow(IP, t0));
    assert!(!rl.allow(IP, t0));
    assert!(rl.allow(IP, t0 + Duration::from_millis(100)));
    let b: IpAddr = "192.0.2.1".parse().unwrap();
    let c: IpAddr = "192.0.2.2".parse().unwrap();
    assert!(rl.allow(b, t0));
    assert!(!rl.allow(c, t0), "table full");
    assert!(
        rl.allow(c, t0 + Duration::from_secs(5)),
        "idle buckets purged"
    );
    assert!(rl.len() <= 2);
}
