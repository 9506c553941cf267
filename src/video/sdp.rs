//! Just enough SDP to tell whether a description sends media: an observer (the big screen)
//! receives only, and the server refuses its offers and answers that would send.

/// Whether `sdp` would send media: some audio or video section that is not rejected (port 0,
/// unless bundled) has the direction `sendrecv` or `sendonly`, by its own attribute, else the
/// session's, else the default (`sendrecv`, RFC 8866 §6.7).
#[must_use]
pub fn sends_media(sdp: &str) -> bool {
    let mut session_direction = None;
    let mut sections: Vec<Section<'_>> = Vec::new();
    for line in sdp.lines().map(str::trim) {
        if let Some(media) = line.strip_prefix("m=") {
            let mut parts = media.split_whitespace();
            let kind = parts.next().unwrap_or_default();
            let port = parts.next().unwrap_or_default();
            sections.push(Section {
                media: matches!(kind, "audio" | "video"),
                rejected: port == "0" || port.starts_with("0/"),
                bundled: false,
                direction: None,
            });
        } else if let Some(attribute) = line.strip_prefix("a=") {
            let direction = matches!(attribute, "sendrecv" | "sendonly" | "recvonly" | "inactive").then_some(attribute);
            match (sections.last_mut(), direction) {
                (Some(section), Some(d)) => section.direction = Some(d),
                (None, Some(d)) => session_direction = Some(d),
                (Some(section), None) if attribute == "bundle-only" => section.bundled = true,
                _ => {}
            }
        }
    }
    sections.iter().any(|s| {
        s.media
            && (!s.rejected || s.bundled)
            && matches!(s.direction.or(session_direction), None | Some("sendrecv" | "sendonly"))
    })
}

struct Section<'a> {
    media: bool,
    rejected: bool,
    bundled: bool,
    direction: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::sends_media;

    const HEAD: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

    fn sdp(body: &str) -> String {
        format!("{HEAD}{body}")
    }

    #[test]
    fn receive_only_and_inactive_sections_do_not_send() {
        let s = sdp("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n\
             m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=inactive\r\n");
        assert!(!sends_media(&s));
    }

    #[test]
    fn any_sending_media_section_sends() {
        for direction in ["sendrecv", "sendonly"] {
            let s = sdp(&format!(
                "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na={direction}\r\n"
            ));
            assert!(sends_media(&s), "{direction}");
        }
    }

    #[test]
    fn a_section_without_a_direction_takes_the_sessions_or_sends() {
        assert!(sends_media(&sdp("m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n")), "the default is sendrecv");
        assert!(!sends_media(&sdp("a=recvonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n")));
        assert!(sends_media(&sdp("a=sendonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n")));
    }

    #[test]
    fn rejected_and_non_media_sections_do_not_count_but_bundled_ones_do() {
        assert!(!sends_media(&sdp("m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\n")));
        assert!(!sends_media(&sdp("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n")));
        assert!(sends_media(&sdp("m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=bundle-only\r\na=sendonly\r\n")));
    }
}
