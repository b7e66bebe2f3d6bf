//! RTCConfiguration validation, setConfiguration rules, certificates and getStats.

mod common;
use common::*;
use polyrtc_engine::*;
use std::time::Instant;

fn new_err(c: Configuration) -> ErrorName {
    PeerConnection::new(c, [0; 32], Instant::now(), WALL_MS)
        .err()
        .expect("constructor fails")
        .name
}

fn server(urls: Urls, user: bool) -> IceServer {
    IceServer {
        urls,
        username: user.then(|| "u".into()),
        credential: user.then(|| "c".into()),
    }
}

#[test]
fn constructor_validation() {
    let with = |s: IceServer| Configuration {
        ice_servers: vec![s],
        ..config()
    };
    assert_eq!(
        new_err(with(server(Urls::One("".into()), true))),
        ErrorName::SyntaxError
    );
    assert_eq!(
        new_err(with(server(Urls::Many(vec![]), true))),
        ErrorName::SyntaxError
    );
    assert_eq!(
        new_err(with(server(Urls::One("http://x".into()), true))),
        ErrorName::SyntaxError
    );
    assert_eq!(
        new_err(with(server(Urls::One("stun:".into()), true))),
        ErrorName::SyntaxError
    );
    assert_eq!(
        new_err(with(server(Urls::One("turn:x".into()), false))),
        ErrorName::InvalidAccessError
    );
    // Chromium 156 accepts rtcpMuxPolicy "negotiate" in the constructor.
    assert!(PeerConnection::new(
        Configuration {
            rtcp_mux_policy: RtcpMuxPolicy::Negotiate,
            ..config()
        },
        [1; 32],
        std::time::Instant::now(),
        WALL_MS,
    )
    .is_ok());
    let mut expired = fake_cert(7);
    expired.expires = WALL_MS - 1.0;
    assert_eq!(
        new_err(Configuration {
            certificates: vec![expired],
            ..Default::default()
        }),
        ErrorName::InvalidAccessError
    );
    pc_with(
        with(server(
            Urls::Many(vec![
                "stun:a".into(),
                "turns:b:443?transport=tcp".into(),
                "wss://r/x".into(),
            ]),
            true,
        )),
        1,
    );
}

#[test]
fn get_configuration_includes_certificates() {
    let mut a = pc(1);
    let ApiReply::Configuration { configuration } = ok(&mut a, ApiCall::GetConfiguration) else {
        panic!()
    };
    assert_eq!(configuration.certificates, vec![fake_cert(1)]);
    assert_eq!(configuration.bundle_policy, BundlePolicy::Balanced);
}

#[test]
fn set_configuration_rules() {
    let mut a = pc(1);
    let set = |a: &mut PeerConnection, c: Configuration| {
        call(a, ApiCall::SetConfiguration { configuration: c })
    };
    assert_eq!(
        set(
            &mut a,
            Configuration {
                certificates: vec![fake_cert(2)],
                ..config()
            }
        )
        .unwrap_err()
        .name,
        ErrorName::InvalidModificationError
    );
    // The constructor named a certificate: leaving it out is a modification (Chromium).
    assert_eq!(
        set(&mut a, Configuration::default()).unwrap_err().name,
        ErrorName::InvalidModificationError
    );
    let mut generated = pc_with(Configuration::default(), 9);
    assert!(set(&mut generated, Configuration::default()).is_ok());
    assert_eq!(
        set(
            &mut a,
            Configuration {
                bundle_policy: BundlePolicy::MaxBundle,
                ..config()
            }
        )
        .unwrap_err()
        .name,
        ErrorName::InvalidModificationError
    );
    assert_eq!(
        set(
            &mut a,
            Configuration {
                rtcp_mux_policy: RtcpMuxPolicy::Negotiate,
                ..config()
            }
        )
        .unwrap_err()
        .name,
        ErrorName::InvalidModificationError
    );
    assert_eq!(
        set(
            &mut a,
            Configuration {
                ice_servers: vec![server(Urls::One("bogus".into()), false)],
                ..config()
            }
        )
        .unwrap_err()
        .name,
        ErrorName::SyntaxError
    );
    // Repeating the certificates keeps them.
    set(
        &mut a,
        Configuration {
            ice_candidate_pool_size: 2,
            ice_transport_policy: IceTransportPolicy::Relay,
            ..config()
        },
    )
    .unwrap();
    let ApiReply::Configuration { configuration } = ok(&mut a, ApiCall::GetConfiguration) else {
        panic!()
    };
    assert_eq!(configuration.certificates, vec![fake_cert(1)]);
    assert_eq!(
        configuration.ice_transport_policy,
        IceTransportPolicy::Relay
    );
    set(
        &mut a,
        Configuration {
            peer_identity: Some("id".into()),
            ..config()
        },
    )
    .unwrap();
    assert_eq!(
        set(
            &mut a,
            Configuration {
                peer_identity: Some("other".into()),
                ..config()
            }
        )
        .unwrap_err()
        .name,
        ErrorName::InvalidModificationError
    );
    // iceCandidatePoolSize is frozen once a local offer is applied.
    add_track(&mut a, "t", MediaKind::Audio, &[]);
    let o = offer(&mut a);
    sld(&mut a, &o).unwrap();
    let base = Configuration {
        ice_candidate_pool_size: 0,
        peer_identity: Some("id".into()),
        ..config()
    };
    set(&mut a, base.clone()).unwrap();
    assert_eq!(
        set(
            &mut a,
            Configuration {
                ice_candidate_pool_size: 3,
                ..base
            }
        )
        .unwrap_err()
        .name,
        ErrorName::InvalidModificationError
    );
}

#[test]
fn stats_have_peer_connection_and_certificate() {
    use polyrtc_engine::serde_json_compat::Value;
    let mut a = pc(1);
    let ApiReply::Stats { stats } = ok(&mut a, ApiCall::GetStats { timestamp: 1234.5 }) else {
        panic!()
    };
    let get = |v: &Value, k: &str| match v {
        Value::Object(m) => m.get(k).cloned(),
        _ => None,
    };
    // A fresh connection: only "peer-connection" (Chromium has no transport, hence no
    // certificate stats, before a description).
    assert_eq!(stats.len(), 1);
    assert_eq!(
        get(&stats[0], "type"),
        Some(Value::String("peer-connection".into()))
    );
    assert_eq!(get(&stats[0], "timestamp"), Some(Value::Number(1234.5)));
    assert_eq!(
        get(&stats[0], "dataChannelsOpened"),
        Some(Value::Number(0.0))
    );
    // After the first SLD: data-channel, transport and certificate.
    channel(&mut a, "x", dc_init()).unwrap();
    let o = offer(&mut a);
    sld(&mut a, &o).unwrap();
    let ApiReply::Stats { stats } = ok(&mut a, ApiCall::GetStats { timestamp: 1234.5 }) else {
        panic!()
    };
    let types: Vec<_> = stats.iter().filter_map(|s| get(s, "type")).collect();
    assert_eq!(
        types,
        [
            "peer-connection",
            "data-channel",
            "transport",
            "certificate"
        ]
        .map(|t| Value::String(t.into()))
    );
    let dc = &stats[1];
    assert_eq!(get(dc, "label"), Some(Value::String("x".into())));
    assert_eq!(get(dc, "state"), Some(Value::String("connecting".into())));
    assert_eq!(get(dc, "dataChannelIdentifier"), None);
    assert_eq!(get(dc, "messagesSent"), Some(Value::Number(0.0)));
    let tr = &stats[2];
    assert_eq!(get(tr, "dtlsState"), Some(Value::String("new".into())));
    assert_eq!(get(tr, "localCertificateId"), get(&stats[3], "id"));
    let stats = [stats[0].clone(), stats[3].clone()];
    assert_eq!(
        get(&stats[1], "type"),
        Some(Value::String("certificate".into()))
    );
    assert_eq!(
        get(&stats[1], "fingerprintAlgorithm"),
        Some(Value::String("sha-256".into()))
    );
    assert_eq!(
        get(&stats[1], "base64Certificate"),
        Some(Value::String("MAMCAQE=".into()))
    );
    assert!(matches!(get(&stats[1], "id"), Some(Value::String(id)) if id.starts_with("CF")));
}

#[test]
fn generated_certificate_when_none_given() {
    // Needs polyrtc-dtls certificate generation; tolerate its absence (an OperationError).
    match PeerConnection::new(Configuration::default(), [3; 32], Instant::now(), WALL_MS) {
        Ok(mut a) => {
            let ApiReply::Configuration { configuration } = ok(&mut a, ApiCall::GetConfiguration)
            else {
                panic!()
            };
            let cert = &configuration.certificates[0];
            assert!(cert.expires > WALL_MS + 29.0 * 86_400_000.0);
            let fp = &cert.fingerprints[0];
            assert_eq!(fp.algorithm, "sha-256");
            assert_eq!(fp.value.len(), 32 * 3 - 1);
            let o = offer(&mut a);
            assert!(
                o.sdp
                    .contains(&format!("a=fingerprint:sha-256 {}", fp.value))
                    || !o.sdp.contains("m=")
            );
        }
        Err(e) => assert_eq!(e.name, ErrorName::OperationError),
    }
}

#[test]
fn api_serde_shapes() {
    let ev = Event::IceCandidateError {
        address: None,
        port: None,
        url: "stun:x".into(),
        error_code: 701,
        error_text: "t".into(),
    };
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(json["type"], "icecandidateerror");
    assert_eq!(json["errorCode"], 701);
    let call: ApiCall =
        serde_json::from_str(r#"{"op":"setLocalDescription","description":{}}"#).unwrap();
    assert_eq!(
        call,
        ApiCall::SetLocalDescription {
            description: LocalDescriptionInit::default()
        }
    );
}
