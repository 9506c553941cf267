//! Inbound WeChat XML → typed messages, and the XML of passive replies.
//!
//! WeChat's XML is one flat `<xml>` element of text/CDATA fields. It is read with quick-xml's
//! pull parser into a field map (no serde, so no recursion), after refusing anything that
//! WeChat never sends and that parsers have been hurt by: a `<!DOCTYPE` (entity bombs, XXE),
//! deep nesting, too many fields, oversize bodies. Undeclared entities are errors; only the
//! five predefined ones and character references are expanded.

use quick_xml::Reader;
use quick_xml::events::Event as XmlEvent;
use std::collections::HashMap;

/// Largest body parsed, bytes (the HTTP layer applies the same cap first).
pub const MAX_XML_BYTES: usize = 64 * 1024;
/// Deepest nesting accepted (`<xml><Field><Sub>` = 3).
const MAX_DEPTH: usize = 4;
/// Most elements accepted in one message.
const MAX_ELEMENTS: usize = 128;

/// Why an inbound body was refused (all are the sender's fault: 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Larger than [`MAX_XML_BYTES`].
    #[error("body too large")]
    TooLarge,
    /// Contains a DTD (`<!DOCTYPE` / `<!ENTITY`), which WeChat never sends.
    #[error("DTDs are not accepted")]
    Doctype,
    /// Not well-formed, wrong root, too deep or too many elements, duplicate fields.
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// A required field is missing or has the wrong form.
    #[error("field {0} is missing or invalid")]
    Field(&'static str),
}

/// The flat fields of one `<xml>` document (nested elements are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    /// A field's text.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn required(&self, name: &'static str) -> Result<&str, XmlError> {
        self.get(name).filter(|v| !v.is_empty()).ok_or(XmlError::Field(name))
    }

    fn number<T: std::str::FromStr>(&self, name: &'static str) -> Result<T, XmlError> {
        self.required(name)?.trim().parse().map_err(|_| XmlError::Field(name))
    }
}

/// Parse a WeChat XML body into its fields.
///
/// # Errors
/// [`XmlError`] for anything WeChat would not send.
pub fn parse_fields(body: &str) -> Result<Fields, XmlError> {
    if body.len() > MAX_XML_BYTES {
        return Err(XmlError::TooLarge);
    }
    let lower = body.to_ascii_lowercase();
    if lower.contains("<!doctype") || lower.contains("<!entity") {
        return Err(XmlError::Doctype);
    }
    let mut reader = Reader::from_str(body);
    reader.config_mut().trim_text(false);
    let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed(e.to_string());
    let mut fields = HashMap::new();
    let mut stack: Vec<String> = vec![];
    let mut text = String::new();
    let mut elements = 0usize;
    let mut seen_root = false;
    loop {
        match reader.read_event().map_err(|e| malformed(&e))? {
            XmlEvent::Start(start) => {
                let name = start.name().as_ref().to_owned();
                if stack.is_empty() {
                    if seen_root || name != "xml" {
                        return Err(XmlError::Malformed("the root must be one <xml>".into()));
                    }
                    seen_root = true;
                }
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err(XmlError::Malformed("too deep or too many elements".into()));
                }
                stack.push(name);
                text.clear();
            }
            XmlEvent::Empty(start) => {
                let name = start.name().as_ref().to_owned();
                elements += 1;
                if stack.is_empty() || elements > MAX_ELEMENTS {
                    return Err(XmlError::Malformed("unexpected empty element".into()));
                }
                if stack.len() == 1 && fields.insert(name, String::new()).is_some() {
                    return Err(XmlError::Malformed("duplicate field".into()));
                }
            }
            XmlEvent::End(_) => {
                let Some(name) = stack.pop() else { return Err(XmlError::Malformed("unbalanced".into())) };
                // Only direct children of <xml> are fields.
                if stack.len() == 1 && fields.insert(name, std::mem::take(&mut text)).is_some() {
                    return Err(XmlError::Malformed("duplicate field".into()));
                }
                text.clear();
            }
            XmlEvent::Text(t) => {
                if stack.len() == 2 {
                    text.push_str(&t.xml10_content());
                } else if stack.is_empty() && !t.xml10_content().trim().is_empty() {
                    return Err(XmlError::Malformed("text outside <xml>".into()));
                }
            }
            XmlEvent::CData(c) => {
                if stack.len() == 2 {
                    text.push_str(&c.into_inner());
                }
            }
            XmlEvent::GeneralRef(r) => {
                if let Some(ch) = r.resolve_char_ref().map_err(|e| malformed(&e))? {
                    text.push(ch);
                } else {
                    let name = r.into_inner();
                    let value = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| XmlError::Malformed("undeclared entity".into()))?;
                    text.push_str(value);
                }
            }
            XmlEvent::DocType(_) => return Err(XmlError::Doctype),
            XmlEvent::Eof => break,
            XmlEvent::Decl(_) | XmlEvent::Comment(_) | XmlEvent::PI(_) => {}
        }
    }
    if !stack.is_empty() || !seen_root {
        return Err(XmlError::Malformed("unterminated document".into()));
    }
    Ok(Fields(fields))
}

/// What every delivery carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Our account's original id (`gh_…`).
    pub to: String,
    /// The sender's OpenID.
    pub from: String,
    /// Seconds since the epoch, as WeChat stamped it.
    pub create_time: i64,
}

/// A delivery, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A text message.
    Text {
        /// Its id (u64: does not fit i32).
        msg_id: u64,
        /// What they wrote.
        content: String,
    },
    /// A location picked on the in-app map (GCJ-02).
    Location {
        /// Its id.
        msg_id: u64,
        /// `Location_X`: latitude.
        lat: f64,
        /// `Location_Y`: longitude.
        lng: f64,
        /// The place's name as WeChat labels it.
        label: String,
    },
    /// `subscribe` (with `qrscene_<scene>` when through a parametric QR) or `SCAN`.
    Scan {
        /// The scene string, if the follow came through a parametric QR.
        scene: Option<String>,
        /// True for `subscribe`, false for `SCAN`.
        subscribed: bool,
    },
    /// The periodic `LOCATION` event (reply must be `success`).
    LocationEvent {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lng: f64,
    },
    /// `unsubscribe`.
    Unsubscribe,
    /// Anything else (voice, image, CLICK, TEMPLATESENDJOBFINISH, …).
    Other {
        /// `MsgType`, or `event:<Event>`.
        kind: String,
        /// Its id when it has one.
        msg_id: Option<u64>,
    },
}

/// One parsed delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Common fields.
    pub envelope: Envelope,
    /// The typed content.
    pub inbound: Inbound,
    /// `Event` for events (part of the dedupe key).
    pub event: Option<String>,
}

impl Message {
    /// Parse the fields of a plaintext delivery.
    ///
    /// # Errors
    /// [`XmlError::Field`] when a field the type needs is missing or malformed.
    pub fn from_fields(fields: &Fields) -> Result<Self, XmlError> {
        let envelope = Envelope {
            to: fields.required("ToUserName")?.to_owned(),
            from: fields.required("FromUserName")?.to_owned(),
            create_time: fields.number("CreateTime")?,
        };
        let msg_type = fields.required("MsgType")?;
        let mut event = None;
        let inbound = match msg_type {
            "text" => Inbound::Text {
                msg_id: fields.number("MsgId")?,
                content: fields.get("Content").unwrap_or("").to_owned(),
            },
            "location" => Inbound::Location {
                msg_id: fields.number("MsgId")?,
                lat: fields.number("Location_X")?,
                lng: fields.number("Location_Y")?,
                label: fields.get("Label").unwrap_or("").to_owned(),
            },
            "event" => {
                let name = fields.required("Event")?.to_owned();
                let key = fields.get("EventKey").map(str::trim).filter(|k| !k.is_empty());
                let inbound = match name.as_str() {
                    "subscribe" => Inbound::Scan {
                        scene: key.and_then(|k| k.strip_prefix("qrscene_")).map(str::to_owned),
                        subscribed: true,
                    },
                    "SCAN" => Inbound::Scan { scene: key.map(str::to_owned), subscribed: false },
                    "LOCATION" => {
                        Inbound::LocationEvent { lat: fields.number("Latitude")?, lng: fields.number("Longitude")? }
                    }
                    "unsubscribe" => Inbound::Unsubscribe,
                    other => Inbound::Other { kind: format!("event:{other}"), msg_id: None },
                };
                event = Some(name);
                inbound
            }
            other => Inbound::Other { kind: other.to_owned(), msg_id: fields.number("MsgId").ok() },
        };
        Ok(Self { envelope, inbound, event })
    }

    /// WeChat's retry identity: FromUserName + `MsgId` for messages (a `MsgId` is only known
    /// to be unique per sender, and one sender's delivery must never answer another's),
    /// FromUserName + CreateTime + Event for events (Event added so two events in one second
    /// stay distinct).
    #[must_use]
    pub fn dedupe_key(&self) -> String {
        let msg_id = match &self.inbound {
            Inbound::Text { msg_id, .. } | Inbound::Location { msg_id, .. } => Some(*msg_id),
            Inbound::Other { msg_id, .. } => *msg_id,
            _ => None,
        };
        match msg_id {
            Some(id) => format!("msg:{}:{id}", self.envelope.from),
            None => format!(
                "evt:{}:{}:{}",
                self.envelope.from,
                self.envelope.create_time,
                self.event.as_deref().unwrap_or("")
            ),
        }
    }
}

/// Write `value` as CDATA, splitting any `]]>` so it cannot close the section early.
fn cdata(value: &str) -> String {
    format!("<![CDATA[{}]]>", value.replace("]]>", "]]]]><![CDATA[>"))
}

/// A passive text reply.
#[must_use]
pub fn text_reply(to_openid: &str, from_original_id: &str, create_time: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime>\
         <MsgType><![CDATA[text]]></MsgType><Content>{}</Content></xml>",
        cdata(to_openid),
        cdata(from_original_id),
        cdata(content)
    )
}

/// The safe-mode wrapper of an encrypted reply.
#[must_use]
pub fn encrypted_reply(encrypt: &str, msg_signature: &str, timestamp: &str, nonce: &str) -> String {
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(encrypt),
        cdata(msg_signature),
        xml_escape(timestamp),
        cdata(nonce)
    )
}

fn xml_escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// XML-ish text: tags WeChat uses, CDATA, entities, doctype and junk, in any order.
    fn xmlish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("<xml>".to_owned()),
            Just("</xml>".to_owned()),
            Just("<ToUserName><![CDATA[gh_1]]></ToUserName>".to_owned()),
            Just("<MsgType><![CDATA[text]]></MsgType>".to_owned()),
            Just("<MsgType><![CDATA[location]]></MsgType>".to_owned()),
            Just("<MsgType><![CDATA[event]]></MsgType>".to_owned()),
            Just("<Event><![CDATA[SCAN]]></Event>".to_owned()),
            Just("<Location_X>NaN</Location_X>".to_owned()),
            Just("<Location_Y>1e999</Location_Y>".to_owned()),
            Just("<CreateTime>-1</CreateTime>".to_owned()),
            Just("<MsgId>99999999999999999999999</MsgId>".to_owned()),
            Just("<!DOCTYPE x [<!ENTITY a \"b\">]>".to_owned()),
            Just("&a;&lt;&#x0;".to_owned()),
            Just("<![CDATA[".to_owned()),
            Just("]]>".to_owned()),
            "\\PC{0,20}",
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Whatever arrives, parsing answers Ok or Err; it never panics.
        #[test]
        fn parsing_outside_bytes_never_panics(body in xmlish()) {
            if let Ok(fields) = parse_fields(&body) {
                let _ = Message::from_fields(&fields);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(body in "\\PC{0,200}") {
            let _ = parse_fields(&body);
        }
    }

    fn msg(xml: &str) -> Message {
        Message::from_fields(&parse_fields(xml).unwrap()).unwrap()
    }

    const HEAD: &str = "<ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName><CreateTime>1348831860</CreateTime>";

    #[test]
    fn a_text_message_parses_with_a_64_bit_msg_id() {
        let m = msg(&format!(
            "<xml>{HEAD}<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[楼上漏水 & 吵]]></Content><MsgId>6054768590064713728</MsgId></xml>"
        ));
        assert_eq!(m.envelope, Envelope { to: "gh_123".into(), from: "oUser1".into(), create_time: 1_348_831_860 });
        assert_eq!(m.inbound, Inbound::Text { msg_id: 6_054_768_590_064_713_728, content: "楼上漏水 & 吵".into() });
        assert_eq!(m.dedupe_key(), "msg:oUser1:6054768590064713728");
    }

    #[test]
    fn a_location_message_reads_x_as_latitude() {
        let m = msg(&format!(
            "<xml>{HEAD}<MsgType><![CDATA[location]]></MsgType><Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[位置信息]]></Label><MsgId>1234567890123456</MsgId></xml>"
        ));
        assert_eq!(
            m.inbound,
            Inbound::Location {
                msg_id: 1_234_567_890_123_456,
                lat: 23.134521,
                lng: 113.358803,
                label: "位置信息".into()
            }
        );
    }

    #[test]
    fn scan_events_carry_string_scenes_with_and_without_the_prefix() {
        let sub = msg(&format!(
            "<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_abc-123]]></EventKey><Ticket><![CDATA[T]]></Ticket></xml>"
        ));
        assert_eq!(sub.inbound, Inbound::Scan { scene: Some("abc-123".into()), subscribed: true });
        assert_eq!(sub.dedupe_key(), "evt:oUser1:1348831860:subscribe");
        let scan = msg(&format!(
            "<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[abc-123]]></EventKey></xml>"
        ));
        assert_eq!(scan.inbound, Inbound::Scan { scene: Some("abc-123".into()), subscribed: false });
        let plain = msg(&format!(
            "<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>"
        ));
        assert_eq!(plain.inbound, Inbound::Scan { scene: None, subscribed: true });
    }

    #[test]
    fn location_unsubscribe_and_unknown_events_parse() {
        let loc = msg(&format!(
            "<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[LOCATION]]></Event><Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision></xml>"
        ));
        assert_eq!(loc.inbound, Inbound::LocationEvent { lat: 23.137466, lng: 113.352425 });
        assert_eq!(loc.dedupe_key(), "evt:oUser1:1348831860:LOCATION");
        let unsub = msg(&format!(
            "<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>"
        ));
        assert_eq!(unsub.inbound, Inbound::Unsubscribe);
        let click = msg(&format!(
            "<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[K]]></EventKey></xml>"
        ));
        assert_eq!(click.inbound, Inbound::Other { kind: "event:CLICK".into(), msg_id: None });
        let image = msg(&format!(
            "<xml>{HEAD}<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x]]></PicUrl><MsgId>42</MsgId></xml>"
        ));
        assert_eq!(image.inbound, Inbound::Other { kind: "image".into(), msg_id: Some(42) });
        assert_eq!(image.dedupe_key(), "msg:oUser1:42");
    }

    #[test]
    fn doctypes_entities_and_malformed_bodies_are_refused() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml><Content>&lol2;</Content></xml>"#;
        assert_eq!(parse_fields(bomb), Err(XmlError::Doctype));
        let xxe = r#"<!doctype xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>"#;
        assert_eq!(parse_fields(xxe), Err(XmlError::Doctype));
        assert!(matches!(parse_fields("<xml><Content>&x;</Content></xml>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse_fields("<xml><a>1</a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse_fields("<root><a>1</a></root>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse_fields("<xml><a>1</a><a>2</a></xml>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse_fields("not xml"), Err(XmlError::Malformed(_))));
        let deep = format!("<xml>{}{}</xml>", "<a>".repeat(10_000), "</a>".repeat(10_000));
        assert!(matches!(parse_fields(&deep), Err(XmlError::TooLarge | XmlError::Malformed(_))));
        assert_eq!(parse_fields(&"x".repeat(MAX_XML_BYTES + 1)), Err(XmlError::TooLarge));
        assert_eq!(
            Message::from_fields(&parse_fields("<xml><ToUserName>g</ToUserName></xml>").unwrap()),
            Err(XmlError::Field("FromUserName"))
        );
    }

    #[test]
    fn predefined_entities_and_character_references_expand() {
        let f = parse_fields("<xml><Content>a &amp; b &#x4E2D; &lt;</Content></xml>").unwrap();
        assert_eq!(f.get("Content"), Some("a & b 中 <"));
    }

    #[test]
    fn replies_escape_cdata_terminators() {
        let xml = text_reply("oUser1", "gh_123", 1, "a]]>b");
        let fields = parse_fields(&xml).unwrap();
        assert_eq!(fields.get("Content"), Some("a]]>b"));
        assert_eq!(fields.get("ToUserName"), Some("oUser1"));
        assert_eq!(fields.get("MsgType"), Some("text"));
        let wrapped = parse_fields(&encrypted_reply("QUJD", "sig", "123", "n")).unwrap();
        assert_eq!(wrapped.get("Encrypt"), Some("QUJD"));
        assert_eq!(wrapped.get("TimeStamp"), Some("123"));
    }
}
