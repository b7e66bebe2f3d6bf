//! The STUN side of connectivity checks: Binding requests with the ICE attributes
//! (RFC 8445 §7.1.1, §7.2.2), their responses (§7.3.1.4) and the validation of incoming
//! requests with short-term credentials (RFC 8489 §9.1.3).

use super::IceCredentials;
use polyrtc_stun::{
    Class, Message, MessageBuilder, Method, TransactionId, ICE_CONTROLLED, ICE_CONTROLLING,
    PRIORITY, USERNAME, USE_CANDIDATE, XOR_MAPPED_ADDRESS,
};
use std::net::SocketAddr;

/// What a check request says about its sender's role (RFC 8445 §7.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RemoteRole {
    Controlling(u64),
    Controlled(u64),
}

/// A validated incoming check.
#[derive(Debug, Clone)]
pub(crate) struct IncomingCheck {
    /// The sender's ufrag: the part after the colon of USERNAME.
    pub remote_ufrag: String,
    pub priority: u32,
    pub use_candidate: bool,
    pub role: Option<RemoteRole>,
}

/// The parameters of one outgoing check.
pub(crate) struct CheckParams<'a> {
    pub local: &'a IceCredentials,
    pub remote: &'a IceCredentials,
    pub priority: u32,
    pub controlling: bool,
    pub tie_breaker: u64,
    pub use_candidate: bool,
}

/// RFC 8445 §7.2.2: USERNAME "remote:local", PRIORITY, ICE-CONTROLLING/-CONTROLLED,
/// USE-CANDIDATE when nominating, MESSAGE-INTEGRITY keyed by the remote password,
/// FINGERPRINT.
pub(crate) fn build_request(tid: TransactionId, p: &CheckParams<'_>) -> Vec<u8> {
    let username = format!("{}:{}", p.remote.ufrag, p.local.ufrag);
    let mut b = MessageBuilder::new(Class::Request, Method::BINDING, tid);
    b.attribute(USERNAME, username.as_bytes());
    b.u32_attribute(PRIORITY, p.priority);
    let role = if p.controlling {
        ICE_CONTROLLING
    } else {
        ICE_CONTROLLED
    };
    b.attribute(role, &p.tie_breaker.to_be_bytes());
    if p.use_candidate {
        b.attribute(USE_CANDIDATE, &[]);
    }
    b.message_integrity(p.remote.pwd.as_bytes());
    b.fingerprint();
    b.into_bytes()
}

/// RFC 8445 §7.3.1.4: success with XOR-MAPPED-ADDRESS = the source of the request,
/// integrity keyed by our password.
pub(crate) fn build_success(tid: TransactionId, mapped: SocketAddr, local_pwd: &str) -> Vec<u8> {
    let mut b = MessageBuilder::new(Class::Success, Method::BINDING, tid);
    b.xor_address(XOR_MAPPED_ADDRESS, mapped);
    b.message_integrity(local_pwd.as_bytes());
    b.fingerprint();
    b.into_bytes()
}

/// An error response. RFC 8489 §9.1.3: 400 and 401 carry no MESSAGE-INTEGRITY (the request
/// could not be authenticated); 487 does (RFC 8445 §7.3.1.1 answers an authenticated request).
pub(crate) fn build_error(tid: TransactionId, code: u16, local_pwd: Option<&str>) -> Vec<u8> {
    let reason = match code {
        400 => "Bad Request",
        401 => "Unauthenticated",
        487 => "Role Conflict",
        _ => "Error",
    };
    let mut b = MessageBuilder::new(Class::Error, Method::BINDING, tid);
    b.error_code(code, reason);
    if let Some(pwd) = local_pwd {
        b.message_integrity(pwd.as_bytes());
    }
    b.fingerprint();
    b.into_bytes()
}

/// Validate a Binding request addressed to us. `Err(code)` is the error response to send.
pub(crate) fn validate_request(
    msg: &Message<'_>,
    local: &IceCredentials,
) -> Result<IncomingCheck, u16> {
    // RFC 8489 §9.1.3: a request without USERNAME or MESSAGE-INTEGRITY is a 400.
    let username = msg.string_attribute(USERNAME).map_err(|_| 400u16)?;
    let Some(username) = username else {
        return Err(400);
    };
    let Some((ours, theirs)) = username.split_once(':') else {
        return Err(400);
    };
    // RFC 8445 §7.3: the part before the colon must be our ufrag; unknown ufrag is 401.
    if ours != local.ufrag {
        return Err(401);
    }
    match msg.verify_integrity(local.pwd.as_bytes()) {
        None => return Err(400),
        Some(false) => return Err(401),
        Some(true) => {}
    }
    // RFC 8445 §7.1.1: PRIORITY is mandatory in checks (it names a peer-reflexive candidate).
    let priority = msg.u32_attribute(PRIORITY).ok().flatten().ok_or(400u16)?;
    let role = match (
        msg.attribute(ICE_CONTROLLING),
        msg.attribute(ICE_CONTROLLED),
    ) {
        (Some(v), None) => Some(RemoteRole::Controlling(tie_breaker(v)?)),
        (None, Some(v)) => Some(RemoteRole::Controlled(tie_breaker(v)?)),
        (None, None) => None,
        (Some(_), Some(_)) => return Err(400),
    };
    Ok(IncomingCheck {
        remote_ufrag: theirs.to_string(),
        priority,
        use_candidate: msg.has(USE_CANDIDATE),
        role,
    })
}

fn tie_breaker(v: &[u8]) -> Result<u64, u16> {
    let bytes: [u8; 8] = v.try_into().map_err(|_| 400u16)?;
    Ok(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(u: &str, p: &str) -> IceCredentials {
        IceCredentials {
            ufrag: u.into(),
            pwd: p.into(),
        }
    }

    #[test]
    fn request_round_trips_through_validation() {
        let (a, b) = (
            creds("aaaa", "apwdapwdapwdapwdapwdap"),
            creds("bbbb", "bpwdbpwdbpwdbpwdbpwdbp"),
        );
        let p = CheckParams {
            local: &a,
            remote: &b,
            priority: 1234,
            controlling: true,
            tie_breaker: 99,
            use_candidate: true,
        };
        let raw = build_request(TransactionId([3; 12]), &p);
        let msg = Message::parse(&raw).unwrap();
        let check = validate_request(&msg, &b).unwrap();
        assert_eq!(check.remote_ufrag, "aaaa");
        assert_eq!(check.priority, 1234);
        assert!(check.use_candidate);
        assert_eq!(check.role, Some(RemoteRole::Controlling(99)));
        // Wrong password at the receiver: 401; wrong ufrag: 401.
        assert_eq!(
            validate_request(&msg, &creds("bbbb", "x")).unwrap_err(),
            401
        );
        assert_eq!(
            validate_request(&msg, &creds("cccc", &b.pwd)).unwrap_err(),
            401
        );
    }

    #[test]
    fn missing_integrity_is_400() {
        let mut b = MessageBuilder::new(Class::Request, Method::BINDING, TransactionId([1; 12]));
        b.attribute(USERNAME, b"bbbb:aaaa");
        let raw = b.into_bytes();
        let msg = Message::parse(&raw).unwrap();
        assert_eq!(
            validate_request(&msg, &creds("bbbb", "p")).unwrap_err(),
            400
        );
    }
}
