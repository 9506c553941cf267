//! WeChat Official Account protocol (issue #3): signatures and safe-mode crypto
//! ([`crypto`]), inbound XML and passive replies ([`message`]), and the outbound API client
//! ([`client`]).
//!
//! Knows nothing of HTTP routing or of dispatch rules: the webhook handler
//! (`http/wechat_webhook.rs`) verifies and decodes with this module, the conversation
//! (`services/resident_chat.rs`) decides what to answer, and notifications
//! (`dispatch/notify.rs`) go out through [`client::WechatClient`].

pub mod client;
pub mod crypto;
pub mod message;

/// An openid (or any identifier) as logs may show it: the first 4 characters, then `***`.
#[must_use]
pub fn mask(id: &str) -> String {
    let head: String = id.chars().take(4).collect();
    format!("{head}***")
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_keep_only_a_short_prefix() {
        assert_eq!(super::mask("oUser1234567890"), "oUse***");
        assert_eq!(super::mask("ab"), "ab***");
    }
}
