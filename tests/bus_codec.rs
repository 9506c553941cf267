//! The bus's wire encoding (`store::bus_codec`): position batches as compact binary frames
//! that round-trip bit for bit, JSON for everything else (and for batches from older builds),
//! and anything else refused as corrupt, never misread.

use grid_dispatch::domain::account::Fix;
use grid_dispatch::domain::ids::AccountId;
use grid_dispatch::domain::location::GeoPoint;
use grid_dispatch::store::bus_codec::{ENTRY_BYTES, FIXES_V1, HEADER_BYTES, decode, encode};
use grid_dispatch::store::{BusMessage, StoreError};
use jiff::Timestamp;

fn fix(lat: f64, lng: f64, at: Timestamp, accuracy_m: Option<f32>) -> Fix {
    Fix { point: GeoPoint::new(lat, lng).unwrap(), at, accuracy_m }
}

fn batch() -> BusMessage {
    let now = Timestamp::now();
    let before_1970 = Timestamp::new(0, -500).unwrap();
    BusMessage::Fixes {
        fixes: vec![
            (AccountId::generate(), fix(36.617_123_456_789_01, 101.778_2, now, Some(12.5))),
            (AccountId::generate(), fix(-89.999_999, -179.999_999_999, before_1970, None)),
            (AccountId::operations(), fix(0.0, 0.0, Timestamp::UNIX_EPOCH, Some(0.0))),
        ]
        .into(),
    }
}

#[test]
fn a_batch_of_positions_round_trips_bit_for_bit_in_under_half_its_json() {
    let message = batch();
    let frame = encode(&message).unwrap();
    assert_eq!(frame[0], FIXES_V1);
    assert_eq!(frame.len(), HEADER_BYTES + 3 * ENTRY_BYTES);
    assert_eq!(decode(&frame).unwrap(), message);
    let json = serde_json::to_vec(&message).unwrap();
    assert!(frame.len() * 2 < json.len(), "{} B binary, {} B JSON", frame.len(), json.len());
    let empty = BusMessage::Fixes { fixes: Vec::new().into() };
    assert_eq!(decode(&encode(&empty).unwrap()).unwrap(), empty);
}

#[test]
fn a_json_batch_from_an_older_build_and_every_other_message_decode_as_json() {
    let message = batch();
    assert_eq!(decode(&serde_json::to_vec(&message).unwrap()).unwrap(), message);
    let duty = BusMessage::Duty { mediator_id: AccountId::generate(), on: true };
    let sent = encode(&duty).unwrap();
    assert_eq!(sent.first(), Some(&b'{'));
    assert_eq!(decode(&sent).unwrap(), duty);
}

#[test]
fn frames_of_another_version_length_or_value_are_refused_as_corrupt() {
    let frame = encode(&batch()).unwrap();
    let mut bad = vec![Vec::new(), vec![0x02], frame[..frame.len() - 1].to_vec(), [frame.as_slice(), &[0]].concat()];
    let mut version = frame.clone();
    version[0] = 0x02;
    bad.push(version);
    let mut huge_count = frame.clone();
    huge_count[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
    bad.push(huge_count);
    let mut off_globe = frame.clone();
    off_globe[HEADER_BYTES + 16..HEADER_BYTES + 24].copy_from_slice(&f64::NAN.to_le_bytes());
    bad.push(off_globe);
    let mut flag = frame.clone();
    flag[HEADER_BYTES + ENTRY_BYTES - 5] = 7;
    bad.push(flag);
    let mut nanos = frame;
    nanos[HEADER_BYTES + 40..HEADER_BYTES + 44].copy_from_slice(&2_000_000_000u32.to_le_bytes());
    bad.push(nanos);
    for bytes in bad {
        assert!(matches!(decode(&bytes), Err(StoreError::Corrupt(_))), "{bytes:?}");
    }
}
