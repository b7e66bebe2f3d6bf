//! `RTCPeerConnection` (webrtc-pc §4): the one object the shells drive. Calls go in through
//! `handle_api_call`, events come out of `poll_event`, every attribute is in `snapshot`.

use std::collections::VecDeque;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::api::*;
use crate::candidate::Candidate;
use crate::config::{self, IceUrl};
use crate::data_channel::DataChannel;
use crate::jsep::{Created, Descriptions, IceCredentials};
use crate::network::Network;
use crate::random;
use crate::transceiver::Transceiver;

/// Lifetime of the certificate generated when the configuration has none (Chromium: 30 days).
const CERT_LIFETIME_MS: u64 = 30 * 24 * 3600 * 1000;

/// Our SCTP implementation's largest message (Chromium advertises the same 256 KiB).
pub(crate) const LOCAL_MAX_MESSAGE_SIZE: u32 = 262_144;

pub struct PeerConnection {
    pub(crate) config: Configuration,
    pub(crate) ice_urls: Vec<IceUrl>,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) signaling: SignalingState,
    pub(crate) descs: Descriptions,
    pub(crate) transceivers: Vec<Transceiver>,
    pub(crate) channels: Vec<DataChannel>,
    pub(crate) session_id: String,
    pub(crate) session_version: u64,
    pub(crate) cname: String,
    /// Credentials of the last applied local description (None before the first SLD).
    pub(crate) applied_ice: Option<IceCredentials>,
    /// Credentials the next offer/answer uses.
    pub(crate) next_ice: IceCredentials,
    /// webrtc-pc [[LocalIceCredentialsToReplace]] is non-empty.
    pub(crate) ice_restart_pending: bool,
    pub(crate) last_offer: Option<Created>,
    pub(crate) last_answer: Option<Created>,
    pub(crate) rollback: Option<crate::jsep::apply::RollbackState>,
    /// Mid of the data m-section once a description with one is applied.
    pub(crate) data_mid: Option<String>,
    /// We are the DTLS server (remote took setup:active): odd SCTP stream ids (RFC 8832 §6).
    pub(crate) dtls_server: Option<bool>,
    pub(crate) gathering: IceGatheringState,
    pub(crate) ice_connection: IceConnectionState,
    pub(crate) connection: PeerConnectionState,
    pub(crate) can_trickle: Option<bool>,
    pub(crate) remote_candidates: Vec<(usize, Candidate)>,
    pub(crate) events: VecDeque<Event>,
    pub(crate) next_transceiver_id: TransceiverId,
    pub(crate) next_channel_handle: DataChannelHandle,
    pub(crate) channels_opened: u32,
    pub(crate) channels_closed: u32,
    pub(crate) closed: bool,
    /// The constructor's configuration named certificates (setConfiguration must repeat them).
    pub(crate) user_certificates: bool,
    /// TURN allocations and the ICE agent (crate::network).
    pub(crate) network: Network,
    /// The constructor's time: the engine's epoch before any later input.
    pub(crate) created_at: Instant,
    /// DTLS and SCTP once ICE selected a pair (crate::transport).
    pub(crate) transport: Option<crate::transport::Transport>,
}

impl PeerConnection {
    /// Validates `configuration` (webrtc-pc §4.4.1.6) and, if it has no certificate, generates
    /// an ECDSA P-256 one valid for 30 days from `wall_ms`.
    pub fn new(
        configuration: Configuration,
        seed: [u8; 32],
        now: Instant,
        wall_ms: f64,
    ) -> Result<Self, ApiError> {
        config::validate_initial(&configuration)?;
        let mut rng = ChaCha20Rng::from_seed(seed);
        let mut configuration = configuration;
        configuration.certificates = configuration
            .certificates
            .iter()
            .map(|c| config::normalize_certificate(c, wall_ms))
            .collect::<Result<_, _>>()?;
        let ice_urls = config::validate_ice_servers(&configuration.ice_servers)?;
        let user_certificates = !configuration.certificates.is_empty();
        if configuration.certificates.is_empty() {
            configuration
                .certificates
                .push(generate_certificate(&mut rng, wall_ms)?);
        }
        let next_ice = IceCredentials {
            ufrag: random::ice_ufrag(&mut rng),
            pwd: random::ice_pwd(&mut rng),
        };
        let mut pc = Self {
            session_id: random::session_id(&mut rng),
            cname: random::ice_chars(&mut rng, 16),
            config: configuration,
            ice_urls,
            rng,
            signaling: SignalingState::Stable,
            descs: Descriptions::default(),
            transceivers: Vec::new(),
            channels: Vec::new(),
            // Chromium's first description has session version 2.
            session_version: 1,
            applied_ice: None,
            next_ice,
            ice_restart_pending: false,
            last_offer: None,
            last_answer: None,
            rollback: None,
            data_mid: None,
            dtls_server: None,
            gathering: IceGatheringState::New,
            ice_connection: IceConnectionState::New,
            connection: PeerConnectionState::New,
            can_trickle: None,
            remote_candidates: Vec::new(),
            events: VecDeque::new(),
            next_transceiver_id: 0,
            next_channel_handle: 0,
            channels_opened: 0,
            channels_closed: 0,
            closed: false,
            user_certificates,
            network: Network::default(),
            created_at: now,
            transport: None,
        };
        pc.update_candidate_pool(now);
        Ok(pc)
    }

    pub fn handle_api_call(
        &mut self,
        call: ApiCall,
        now: Instant,
        wall_ms: f64,
    ) -> Result<ApiReply, ApiError> {
        self.network.now = Some(now);
        let touches_network = matches!(
            call,
            ApiCall::SetLocalDescription { .. }
                | ApiCall::SetRemoteDescription { .. }
                | ApiCall::AddIceCandidate { .. }
                | ApiCall::Close
        );
        let reply = self.dispatch(call, wall_ms);
        if touches_network && !self.closed {
            self.sync_remote_ice(now);
            self.drive_network(now);
        }
        reply
    }

    fn dispatch(&mut self, call: ApiCall, wall_ms: f64) -> Result<ApiReply, ApiError> {
        match call {
            ApiCall::GetConfiguration => Ok(ApiReply::Configuration {
                configuration: self.config.clone(),
            }),
            ApiCall::SetConfiguration { configuration } => self
                .set_configuration(configuration, wall_ms)
                .map(|_| ApiReply::Done),
            ApiCall::CreateOffer { options } => self.create_offer(&options),
            ApiCall::CreateAnswer => self.create_answer(),
            ApiCall::SetLocalDescription { description } => self.set_local_description(description),
            ApiCall::SetRemoteDescription { description } => {
                self.set_remote_description(description)
            }
            ApiCall::AddIceCandidate { candidate } => self.add_ice_candidate(candidate),
            ApiCall::ParseCandidate { candidate } => self.parse_candidate(&candidate),
            ApiCall::RestartIce => {
                // webrtc-pc §4.4.1.6 restartIce(): no-op when closed apart from the flag.
                if !self.closed {
                    self.ice_restart_pending = true;
                }
                Ok(ApiReply::Done)
            }
            ApiCall::CheckNegotiationNeeded => Ok(ApiReply::Bool {
                value: self.is_negotiation_needed(),
            }),
            ApiCall::CreateDataChannel { label, init } => self.create_data_channel(label, init),
            ApiCall::CloseDataChannel { channel } => self.close_data_channel(channel),
            ApiCall::SendDataChannelMessage {
                channel,
                data,
                binary,
            } => {
                let now = self.network.now.unwrap_or(self.created_at);
                self.send_data_channel_message(now, channel, &data, binary)
            }
            ApiCall::AddTrack { track, stream_ids } => self.add_track(track, stream_ids),
            ApiCall::RemoveTrack { transceiver } => self.remove_track(transceiver),
            ApiCall::AddTransceiver { kind, track, init } => {
                self.add_transceiver(kind, track, init)
            }
            ApiCall::SetDirection {
                transceiver,
                direction,
            } => self.set_direction(transceiver, direction),
            ApiCall::StopTransceiver { transceiver } => self.stop_transceiver(transceiver),
            ApiCall::ReplaceTrack { transceiver, track } => self.replace_track(transceiver, track),
            ApiCall::SetStreams {
                transceiver,
                stream_ids,
            } => self.set_streams(transceiver, stream_ids),
            ApiCall::GetStats { timestamp } => Ok(ApiReply::Stats {
                stats: self.stats(timestamp),
            }),
            ApiCall::Close => {
                self.close();
                Ok(ApiReply::Done)
            }
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            signaling_state: self.signaling,
            ice_gathering_state: self.gathering,
            ice_connection_state: self.ice_connection,
            connection_state: self.connection,
            dtls_state: self.snapshot_dtls(),
            can_trickle_ice_candidates: self.can_trickle,
            current_local_description: self.descs.current_local.as_ref().map(|d| d.to_api()),
            pending_local_description: self.descs.pending_local.as_ref().map(|d| d.to_api()),
            current_remote_description: self.descs.current_remote.as_ref().map(|d| d.to_api()),
            pending_remote_description: self.descs.pending_remote.as_ref().map(|d| d.to_api()),
            transceivers: self
                .transceivers
                .iter()
                .map(Transceiver::snapshot)
                .collect(),
            sctp: self.sctp_snapshot(),
            data_channels: self.channels.iter().map(DataChannel::snapshot).collect(),
        }
    }

    pub(crate) fn snapshot_dtls(&self) -> DtlsTransportState {
        if self.closed {
            DtlsTransportState::Closed
        } else {
            self.transport
                .as_ref()
                .map_or(DtlsTransportState::New, |t| t.dtls_state)
        }
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn set_configuration(&mut self, new: Configuration, wall_ms: f64) -> Result<(), ApiError> {
        if self.closed {
            return Err(config::ConfigError::Closed.into());
        }
        let offer_applied = self.applied_ice.is_some();
        config::validate_modification(&self.config, &new, offer_applied, self.user_certificates)?;
        for c in &new.certificates {
            config::normalize_certificate(c, wall_ms)?;
        }
        let ice_urls = config::validate_ice_servers(&new.ice_servers)?;
        let certificates = std::mem::take(&mut self.config.certificates);
        let peer_identity = self.config.peer_identity.clone();
        self.config = Configuration {
            certificates,
            ..new
        };
        if self.config.peer_identity.is_none() {
            self.config.peer_identity = peer_identity;
        }
        self.ice_urls = ice_urls;
        self.update_candidate_pool(self.network.now.unwrap_or(self.created_at));
        Ok(())
    }

    /// webrtc-pc §4.4.1.3 "close the connection": no events fire.
    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.signaling = SignalingState::Closed;
        for t in &mut self.transceivers {
            t.mark_stopped();
            // Chromium reports mid null after close().
            t.mid = None;
        }
        // webrtc-pc: channels' [[ReadyState]] becomes "closed" without events here (Chromium
        // fires close on each open channel; none can be open without a network).
        for c in &mut self.channels {
            if c.ready_state == DataChannelState::Open {
                self.channels_closed += 1;
            }
            c.ready_state = DataChannelState::Closed;
        }
        let now = self.network.now.unwrap_or(self.created_at);
        self.close_transport(now);
        self.close_network();
        self.ice_connection = IceConnectionState::Closed;
        self.connection = PeerConnectionState::Closed;
        self.events.clear();
    }

    pub(crate) fn fingerprint(&self) -> String {
        self.config
            .certificates
            .first()
            .and_then(|c| {
                c.fingerprints
                    .iter()
                    .find(|f| f.algorithm.eq_ignore_ascii_case("sha-256"))
            })
            .map(|f| format!("sha-256 {}", f.value))
            .unwrap_or_default()
    }

    pub(crate) fn check_open(&self) -> Result<(), ApiError> {
        if self.closed {
            Err(ApiError::invalid_state(
                "The RTCPeerConnection's signalingState is 'closed'.",
            ))
        } else {
            Ok(())
        }
    }

    fn parse_candidate(&self, init: &IceCandidateInit) -> Result<ApiReply, ApiError> {
        if init.sdp_mid.is_none() && init.sdp_m_line_index.is_none() {
            return Err(ApiError::type_error(
                "sdpMid and sdpMLineIndex are both null",
            ));
        }
        Ok(ApiReply::Candidate {
            candidate: crate::candidate::info_from_init(init),
        })
    }

    fn sctp_snapshot(&self) -> Option<SctpSnapshot> {
        self.data_mid.as_ref()?;
        let remote = self.descs.remote().and_then(|d| {
            let m = d.parsed.media.iter().find(|m| m.is_data())?;
            Some(
                crate::sdp::Attributes::attr(m, "max-message-size")
                    .and_then(|v| v.parse::<u32>().ok()),
            )
        });
        // webrtc-pc §6.1.1 "update the data max message size": absent → 65536, 0 → unlimited.
        let remote_max = match remote.flatten() {
            None => 65536,
            Some(0) => LOCAL_MAX_MESSAGE_SIZE,
            Some(n) => n,
        };
        Some(SctpSnapshot {
            state: if self.closed {
                SctpTransportState::Closed
            } else {
                self.transport
                    .as_ref()
                    .map_or(SctpTransportState::Connecting, |t| t.sctp_state)
            },
            max_message_size: f64::from(remote_max.min(LOCAL_MAX_MESSAGE_SIZE)),
            max_channels: self
                .transport
                .as_ref()
                .and_then(|t| t.sctp.as_ref())
                .map(crate::sctp::SctpTransport::max_channels)
                .filter(|&n| n > 0),
        })
    }

    pub(crate) fn alloc_transceiver_id(&mut self) -> TransceiverId {
        let id = self.next_transceiver_id;
        self.next_transceiver_id += 1;
        id
    }
}

fn generate_certificate(rng: &mut ChaCha20Rng, wall_ms: f64) -> Result<CertificateData, ApiError> {
    use polyrtc_dtls::certificate::{Certificate, KeyAlgorithm};
    let now = if wall_ms.is_finite() && wall_ms > 0.0 {
        wall_ms as u64
    } else {
        0
    };
    let cert = Certificate::generate(KeyAlgorithm::EcdsaP256, rng, now, CERT_LIFETIME_MS).map_err(
        |e| {
            ApiError::new(
                ErrorName::OperationError,
                format!("certificate generation failed: {e}"),
            )
        },
    )?;
    Ok(CertificateData {
        fingerprints: vec![Fingerprint {
            algorithm: "sha-256".into(),
            value: cert.fingerprint_sha256(),
        }],
        expires: cert.expires_unix_ms as f64,
        certificate_der: cert.der,
        private_key_der: cert.private_key_pkcs8,
    })
}
