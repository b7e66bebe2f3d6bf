//! RTCDataChannel object model and the SCTP transport's appearance.

mod common;
use common::*;
use polyrtc_engine::*;

#[test]
fn create_validation_errors() {
    let mut a = pc(1);
    let long = "x".repeat(65536);
    assert_eq!(
        channel(&mut a, &long, dc_init()).unwrap_err().name,
        ErrorName::TypeError
    );
    let mut i = dc_init();
    i.protocol = long;
    assert_eq!(
        channel(&mut a, "", i).unwrap_err().name,
        ErrorName::TypeError
    );
    let mut i = dc_init();
    i.negotiated = true;
    assert_eq!(
        channel(&mut a, "", i.clone()).unwrap_err().name,
        ErrorName::TypeError
    );
    i.id = Some(65535);
    assert_eq!(
        channel(&mut a, "", i.clone()).unwrap_err().name,
        ErrorName::TypeError
    );
    i.id = Some(5);
    let c = channel(&mut a, "neg", i.clone()).unwrap();
    assert_eq!(c.id, Some(5));
    assert!(c.negotiated);
    assert_eq!(
        channel(&mut a, "dup", i).unwrap_err().name,
        ErrorName::OperationError
    );
    let mut i = dc_init();
    i.max_retransmits = Some(3);
    i.max_packet_life_time = Some(3);
    assert_eq!(
        channel(&mut a, "", i).unwrap_err().name,
        ErrorName::TypeError
    );
}

#[test]
fn defaults_and_ids_before_negotiation() {
    let mut a = pc(1);
    let mut i = dc_init();
    i.id = Some(9); // ignored when not negotiated
    let c = channel(&mut a, "chat", i).unwrap();
    assert_eq!(c.id, None);
    assert_eq!(c.ready_state, DataChannelState::Connecting);
    assert_eq!(c.priority, "low");
    assert!(c.ordered);
    assert_eq!(c.label, "chat");
    assert!(
        a.snapshot().sctp.is_none(),
        "no sctp before a description with data"
    );
}

#[test]
fn sctp_appears_after_description_and_uses_remote_max_message_size() {
    let (mut a, mut b) = (pc(1), pc(2));
    channel(&mut a, "c", dc_init()).unwrap();
    let o = offer(&mut a);
    assert!(o
        .sdp
        .contains("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
    assert!(o.sdp.contains("a=sctp-port:5000\r\n"));
    sld(&mut a, &o).unwrap();
    let sctp = a.snapshot().sctp.unwrap();
    assert_eq!(sctp.state, SctpTransportState::Connecting);
    assert_eq!(sctp.max_channels, None);
    // A remote offer without a=max-message-size: 65536 (webrtc-pc §6.1.1).
    let no_mms: String = o
        .sdp
        .lines()
        .filter(|l| !l.starts_with("a=max-message-size"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    srd(&mut b, &desc(SdpType::Offer, &no_mms)).unwrap();
    assert_eq!(b.snapshot().sctp.unwrap().max_message_size, 65536.0);
    let ans = answer(&mut b);
    sld(&mut b, &ans).unwrap();
    srd(&mut a, &ans).unwrap();
    assert_eq!(a.snapshot().sctp.unwrap().max_message_size, 262144.0);
}

#[test]
fn close_fires_closing_then_closed() {
    let mut a = pc(1);
    let c = channel(&mut a, "c", dc_init()).unwrap();
    ok(&mut a, ApiCall::CloseDataChannel { channel: c.handle });
    let ev = events(&mut a);
    assert_eq!(
        ev,
        vec![
            Event::DataChannelStateChange {
                channel: c.handle,
                state: DataChannelState::Closing,
                id: None
            },
            Event::DataChannelStateChange {
                channel: c.handle,
                state: DataChannelState::Closed,
                id: None
            },
        ]
    );
    ok(&mut a, ApiCall::CloseDataChannel { channel: c.handle });
    assert!(events(&mut a).is_empty());
    assert_eq!(
        a.snapshot().data_channels[0].ready_state,
        DataChannelState::Closed
    );
}

#[test]
fn answerer_in_active_role_gets_even_ids() {
    let (mut a, mut b) = (pc(1), pc(2));
    channel(&mut a, "a1", dc_init()).unwrap();
    channel(&mut a, "a2", dc_init()).unwrap();
    channel(&mut b, "b1", dc_init()).unwrap();
    negotiate(&mut a, &mut b);
    let ids = |pc: &PeerConnection| {
        pc.snapshot()
            .data_channels
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    // Chromium keeps the id of a channel created before the DTLS role was known null until
    // SCTP connects; the ids are reserved (1 and 3 on the server, 0 on the client).
    assert_eq!(ids(&a), vec![None, None]);
    assert_eq!(ids(&b), vec![None]);
    assert_eq!(channel(&mut a, "a3", dc_init()).unwrap().id, Some(5));
    assert_eq!(channel(&mut b, "b2", dc_init()).unwrap().id, Some(2));
}
