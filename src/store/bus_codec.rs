//! How a [`BusMessage`] travels between instances (the Redis bus; the memory bus passes the
//! value itself), and [`FixBatch`], the batch of positions such a message holds.
//!
//! Positions are nearly all of the bus (every phone every few seconds, received by every
//! instance), so a batch of them ([`BusMessage::Fixes`]) travels as a compact binary frame;
//! every other message stays JSON. A frame starts with its version byte, never `{`, so the
//! first byte tells the two apart, and a JSON `fixes` message (from an instance of an older
//! build) still decodes. An instance of such a build drops a binary frame as undecodable.
//!
//! Version 1, little-endian: the version byte `0x01`, the count (u32), then per position
//! [`ENTRY_BYTES`] bytes: the mediator's id (16, the UUID's bytes), latitude and longitude
//! (f64 each, WGS-84, bit for bit), the time (i64 seconds and i32 nanoseconds since the Unix
//! epoch, as jiff gives them), whether an accuracy follows (one byte, 0 or 1) and the
//! accuracy in metres (f32; 0 when there is none). A frame of any other length, version or
//! value is refused as corrupt.

use super::{BusMessage, StoreError};
use crate::domain::account::Fix;
use crate::domain::ids::AccountId;
use crate::domain::location::GeoPoint;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The first byte of a version-1 position frame.
pub const FIXES_V1: u8 = 0x01;
/// Bytes before the first position: the version and the count.
pub const HEADER_BYTES: usize = 1 + 4;
/// Bytes per position in a version-1 frame.
pub const ENTRY_BYTES: usize = 16 + 8 + 8 + 8 + 4 + 1 + 4;

/// A batch of positions on the bus, shared: every subscriber of an instance gets the same
/// allocation, not a copy of the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct FixBatch(Arc<[(AccountId, Fix)]>);

impl std::ops::Deref for FixBatch {
    type Target = [(AccountId, Fix)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<Vec<(AccountId, Fix)>> for FixBatch {
    fn from(fixes: Vec<(AccountId, Fix)>) -> Self {
        Self(fixes.into())
    }
}

impl Serialize for FixBatch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FixBatch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<(AccountId, Fix)>::deserialize(deserializer).map(Self::from)
    }
}

/// `message` as it is published.
///
/// # Errors
/// [`StoreError::Corrupt`] if it cannot be encoded (more than `u32::MAX` positions, or a
/// message JSON cannot carry).
pub fn encode(message: &BusMessage) -> Result<Vec<u8>, StoreError> {
    match message {
        BusMessage::Fixes { fixes } => encode_fixes(fixes),
        other => serde_json::to_vec(other).map_err(|e| StoreError::Corrupt(format!("bus message: {e}"))),
    }
}

/// A published message back.
///
/// # Errors
/// [`StoreError::Corrupt`] for bytes no build of ours publishes.
pub fn decode(bytes: &[u8]) -> Result<BusMessage, StoreError> {
    match bytes.first() {
        Some(b'{') => serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("bus message: {e}"))),
        Some(&FIXES_V1) => decode_fixes(&bytes[1..]).map(|fixes| BusMessage::Fixes { fixes }),
        Some(other) => Err(StoreError::Corrupt(format!("bus message of unknown version {other:#04x}"))),
        None => Err(StoreError::Corrupt("empty bus message".into())),
    }
}

fn encode_fixes(fixes: &[(AccountId, Fix)]) -> Result<Vec<u8>, StoreError> {
    let count = u32::try_from(fixes.len()).map_err(|_| StoreError::Corrupt("too many positions in a batch".into()))?;
    let mut out = Vec::with_capacity(HEADER_BYTES + fixes.len() * ENTRY_BYTES);
    out.push(FIXES_V1);
    out.extend_from_slice(&count.to_le_bytes());
    for (mediator, fix) in fixes {
        out.extend_from_slice(mediator.as_bytes());
        out.extend_from_slice(&fix.point.lat().to_le_bytes());
        out.extend_from_slice(&fix.point.lng().to_le_bytes());
        out.extend_from_slice(&fix.at.as_second().to_le_bytes());
        out.extend_from_slice(&fix.at.subsec_nanosecond().to_le_bytes());
        out.push(u8::from(fix.accuracy_m.is_some()));
        out.extend_from_slice(&fix.accuracy_m.unwrap_or(0.0).to_le_bytes());
    }
    Ok(out)
}

/// Reads fixed-size fields off the front of a frame (the length is checked once, up front).
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        head.try_into().unwrap_or([0; N])
    }
}

fn decode_fixes(body: &[u8]) -> Result<FixBatch, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("bus position frame: {what}"));
    let (count, entries) = body.split_at_checked(4).ok_or_else(|| corrupt("no count"))?;
    let count = u32::from_le_bytes(count.try_into().map_err(|_| corrupt("no count"))?) as usize;
    if count.checked_mul(ENTRY_BYTES) != Some(entries.len()) {
        return Err(corrupt("its length does not match its count"));
    }
    let mut read = Reader(entries);
    let mut fixes = Vec::with_capacity(count);
    for _ in 0..count {
        let mediator = AccountId::from_bytes(read.take());
        let (lat, lng) = (f64::from_le_bytes(read.take()), f64::from_le_bytes(read.take()));
        let point = GeoPoint::new(lat, lng).map_err(|_| corrupt("a point off the globe"))?;
        let (secs, nanos) = (i64::from_le_bytes(read.take()), i32::from_le_bytes(read.take()));
        let at = Timestamp::new(secs, nanos).map_err(|_| corrupt("a time out of range"))?;
        let [has_accuracy] = read.take();
        let accuracy = f32::from_le_bytes(read.take());
        let accuracy_m = match has_accuracy {
            0 => None,
            1 => Some(accuracy),
            _ => return Err(corrupt("an accuracy flag that is neither 0 nor 1")),
        };
        fixes.push((mediator, Fix { point, at, accuracy_m }));
    }
    Ok(fixes.into())
}
