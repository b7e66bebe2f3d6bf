//! `RTCDataChannel` object model (webrtc-pc §6.2) and stream id allocation (RFC 8832 §6: the
//! DTLS client uses even ids, the DTLS server odd ids). No SCTP in this milestone.

use crate::api::{
    ApiError, ApiReply, DataChannelHandle, DataChannelInit, DataChannelSnapshot, DataChannelState,
    ErrorName, Event,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataChannelError {
    #[error("label is longer than 65535 bytes")]
    LabelTooLong,
    #[error("protocol is longer than 65535 bytes")]
    ProtocolTooLong,
    #[error("negotiated is true but no id was given")]
    NegotiatedWithoutId,
    #[error("maxPacketLifeTime and maxRetransmits cannot both be set")]
    BothReliabilityLimits,
    #[error("id {0} is out of range (0..=65534)")]
    IdOutOfRange(u16),
    #[error("id {0} is already in use")]
    IdInUse(u16),
    #[error("no free stream id")]
    NoFreeId,
}

impl From<DataChannelError> for ApiError {
    fn from(e: DataChannelError) -> Self {
        let name = match e {
            DataChannelError::IdInUse(_) | DataChannelError::NoFreeId => ErrorName::OperationError,
            _ => ErrorName::TypeError,
        };
        let mut err = ApiError::new(name, e.to_string());
        if name == ErrorName::OperationError {
            err.error_detail = Some("data-channel-failure".into());
        }
        err
    }
}

#[derive(Debug, Clone)]
pub struct DataChannel {
    pub handle: DataChannelHandle,
    pub label: String,
    pub init: DataChannelInit,
    pub id: Option<u16>,
    pub ready_state: DataChannelState,
    /// The id was reserved when the DTLS role became known, after the channel was created:
    /// Chromium reports such an id only once the SCTP association is up, so `id` stays null
    /// to the page until then (the stream id is reserved all the same).
    pub id_hidden: bool,
    /// webrtc-stats RTCDataChannelStats counters.
    pub counters: MessageCounters,
}

/// Messages and payload bytes through a channel (webrtc-stats §7.13). An empty message counts
/// as a message of 0 bytes, as in Chromium.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounters {
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
}

impl DataChannel {
    /// The `id` attribute as the page sees it.
    pub fn visible_id(&self) -> Option<u16> {
        if self.id_hidden {
            None
        } else {
            self.id
        }
    }

    pub fn snapshot(&self) -> DataChannelSnapshot {
        DataChannelSnapshot {
            handle: self.handle,
            label: self.label.clone(),
            ordered: self.init.ordered,
            max_packet_life_time: self.init.max_packet_life_time,
            max_retransmits: self.init.max_retransmits,
            protocol: self.init.protocol.clone(),
            negotiated: self.init.negotiated,
            id: self.visible_id(),
            ready_state: self.ready_state,
            priority: self.init.priority.clone().unwrap_or_else(|| "low".into()),
        }
    }
}

/// createDataChannel steps 3–13 (webrtc-pc §6.1), minus the closed check the caller does.
/// `in_use`: ids of channels that are not closed.
pub fn validate_init(
    label: &str,
    mut init: DataChannelInit,
    in_use: &[u16],
) -> Result<DataChannelInit, DataChannelError> {
    if label.len() > 65535 {
        return Err(DataChannelError::LabelTooLong);
    }
    if init.protocol.len() > 65535 {
        return Err(DataChannelError::ProtocolTooLong);
    }
    if init.negotiated {
        let id = init.id.ok_or(DataChannelError::NegotiatedWithoutId)?;
        if id > 65534 {
            return Err(DataChannelError::IdOutOfRange(id));
        }
        if in_use.contains(&id) {
            return Err(DataChannelError::IdInUse(id));
        }
    } else {
        // The id member is ignored for in-band negotiated channels.
        init.id = None;
    }
    if init.max_packet_life_time.is_some() && init.max_retransmits.is_some() {
        return Err(DataChannelError::BothReliabilityLimits);
    }
    // The u16 members are already clamped to 65535 by the JS shell's WebIDL
    // [EnforceRange]/[Clamp] conversion of "unsigned short" values above 65535.
    Ok(init)
}

/// Smallest free id of the parity our DTLS role dictates (RFC 8832 §6).
pub fn allocate_id(dtls_server: bool, in_use: &[u16]) -> Result<u16, DataChannelError> {
    let start = u16::from(dtls_server);
    (start..=65534)
        .step_by(2)
        .find(|id| !in_use.contains(id))
        .ok_or(DataChannelError::NoFreeId)
}

impl crate::peer_connection::PeerConnection {
    fn ids_in_use(&self) -> Vec<u16> {
        self.channels
            .iter()
            .filter(|c| c.ready_state != DataChannelState::Closed)
            .filter_map(|c| c.id)
            .collect()
    }

    /// webrtc-pc §4.9.1 createDataChannel.
    pub(crate) fn create_data_channel(
        &mut self,
        label: String,
        init: DataChannelInit,
    ) -> Result<ApiReply, ApiError> {
        self.check_open()?;
        let in_use = self.ids_in_use();
        let init = validate_init(&label, init, &in_use)?;
        let mut id = init.id;
        if id.is_none() {
            if let Some(server) = self.dtls_server {
                id = Some(allocate_id(server, &in_use)?);
            }
        }
        let handle = self.next_channel_handle;
        self.next_channel_handle += 1;
        let channel = DataChannel {
            handle,
            label,
            init,
            id,
            ready_state: DataChannelState::Connecting,
            id_hidden: false,
            counters: MessageCounters::default(),
        };
        let snapshot = channel.snapshot();
        self.channels.push(channel);
        let now = self.network.now.unwrap_or(self.created_at);
        self.open_on_sctp(now, handle);
        self.drive_network(now);
        Ok(ApiReply::DataChannel { channel: snapshot })
    }

    /// RTCDataChannel.close() before SCTP exists: Chromium goes closing → closed at once.
    pub(crate) fn close_data_channel(
        &mut self,
        handle: DataChannelHandle,
    ) -> Result<ApiReply, ApiError> {
        let Some(c) = self.channels.iter_mut().find(|c| c.handle == handle) else {
            return Err(ApiError::new(
                ErrorName::NotFoundError,
                "unknown data channel",
            ));
        };
        if matches!(
            c.ready_state,
            DataChannelState::Closing | DataChannelState::Closed
        ) {
            return Ok(ApiReply::Done);
        }
        let now = self.network.now.unwrap_or(self.created_at);
        if self.close_channel_on_sctp(now, handle) {
            return Ok(ApiReply::Done);
        }
        let Some(c) = self.channels.iter_mut().find(|c| c.handle == handle) else {
            return Ok(ApiReply::Done);
        };
        if c.ready_state == DataChannelState::Open {
            self.channels_closed += 1;
        }
        c.ready_state = DataChannelState::Closing;
        let (channel, id) = (c.handle, c.visible_id());
        self.events.push_back(Event::DataChannelStateChange {
            channel,
            state: DataChannelState::Closing,
            id,
        });
        if let Some(c) = self.channels.iter_mut().find(|c| c.handle == handle) {
            c.ready_state = DataChannelState::Closed;
        }
        self.events.push_back(Event::DataChannelStateChange {
            channel,
            state: DataChannelState::Closed,
            id,
        });
        Ok(ApiReply::Done)
    }

    /// Once the DTLS role is known, channels created without an id get one (webrtc-pc §6.1
    /// "When the RTCSctpTransport's DTLS role is known").
    pub(crate) fn assign_data_channel_ids(&mut self) {
        let Some(server) = self.dtls_server else {
            return;
        };
        for i in 0..self.channels.len() {
            let needs = self
                .channels
                .get(i)
                .is_some_and(|c| c.id.is_none() && c.ready_state != DataChannelState::Closed);
            if !needs {
                continue;
            }
            let in_use = self.ids_in_use();
            match allocate_id(server, &in_use) {
                Ok(id) => {
                    if let Some(c) = self.channels.get_mut(i) {
                        c.id = Some(id);
                        c.id_hidden = true;
                    }
                }
                // No id left: the spec closes the channel with an OperationError.
                Err(_) => {
                    if let Some(c) = self.channels.get_mut(i) {
                        c.ready_state = DataChannelState::Closed;
                        let (channel, id) = (c.handle, c.visible_id());
                        self.events.push_back(Event::DataChannelStateChange {
                            channel,
                            state: DataChannelState::Closed,
                            id,
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() -> DataChannelInit {
        DataChannelInit {
            ordered: true,
            ..Default::default()
        }
    }

    #[test]
    fn validation() {
        assert!(validate_init("x", init(), &[]).is_ok());
        let long = "x".repeat(65536);
        assert_eq!(
            validate_init(&long, init(), &[]),
            Err(DataChannelError::LabelTooLong)
        );
        let mut i = init();
        i.protocol = long;
        assert_eq!(
            validate_init("", i, &[]),
            Err(DataChannelError::ProtocolTooLong)
        );
        let mut i = init();
        i.negotiated = true;
        assert_eq!(
            validate_init("", i.clone(), &[]),
            Err(DataChannelError::NegotiatedWithoutId)
        );
        i.id = Some(65535);
        assert_eq!(
            validate_init("", i.clone(), &[]),
            Err(DataChannelError::IdOutOfRange(65535))
        );
        i.id = Some(3);
        assert_eq!(
            validate_init("", i.clone(), &[3]),
            Err(DataChannelError::IdInUse(3))
        );
        assert_eq!(
            ApiError::from(DataChannelError::IdInUse(3)).name,
            ErrorName::OperationError
        );
        let mut i = init();
        i.max_retransmits = Some(1);
        i.max_packet_life_time = Some(1);
        assert_eq!(
            validate_init("", i, &[]),
            Err(DataChannelError::BothReliabilityLimits)
        );
        let mut i = init();
        i.id = Some(7);
        assert_eq!(validate_init("", i, &[]).unwrap().id, None);
    }

    #[test]
    fn id_parity() {
        assert_eq!(allocate_id(false, &[]), Ok(0));
        assert_eq!(allocate_id(false, &[0, 2]), Ok(4));
        assert_eq!(allocate_id(true, &[]), Ok(1));
        assert_eq!(allocate_id(true, &[1]), Ok(3));
    }
}
