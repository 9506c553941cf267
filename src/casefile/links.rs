//! Every party's own copy (issue #20 point 4): when the agreement takes effect, each party
//! other than the reporter (who has the tracking link) gets a read-only capability link
//! `/p/{incident}.{party}.{secret}` — unguessable (256-bit secret), scoped to that party and
//! that incident, expiring after `casefile.party_link_valid_for`, revoked by re-issuing — to
//! their copy of the agreement and the case's dates. It is texted to the party's phone when
//! `[sms]` is configured (the phone opened only to send, never logged; at most `sms.per_report`
//! texts per party a day); the holder's case page
//! shows each link, its QR code and whether the text went out.

use super::domain::{CaseFile, Conflict, Invalid, Party, PartyLink};
use super::{CaseFileError, CaseFiles};
use crate::auth::{random_token, sha256_hex};
use crate::domain::account::Phone;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use jiff::Timestamp;
use subtle::ConstantTimeEq;

/// A party's link as the holder's page shows it.
#[derive(Debug, Clone)]
pub struct IssuedLink {
    /// Whose.
    pub party_id: String,
    /// The full link.
    pub url: String,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When the text carrying it was accepted; None: not (yet) sent.
    pub texted_at: Option<Timestamp>,
}

/// What a party's link opens: the incident, its case file (the agreement in effect) and the
/// party.
#[derive(Debug, Clone)]
pub struct PartyCopy {
    /// The incident.
    pub incident: Incident,
    /// Its case file.
    pub case: CaseFile,
    /// The party holding the link.
    pub party: Party,
    /// The link.
    pub link: PartyLink,
}

fn sealed_context(id: &IncidentId, party_id: &str) -> String {
    format!("{id}:{party_id}:link")
}

impl CaseFiles {
    /// A fresh link for `party_id` in `case` (replacing theirs); returns it.
    fn issue_link(&self, case: &mut CaseFile, id: &IncidentId, party_id: &str, now: Timestamp) -> PartyLink {
        let secret = random_token();
        let link = PartyLink {
            party_id: party_id.to_owned(),
            secret: self.inner.sealer.seal(&sealed_context(id, party_id), &secret),
            secret_sha256: sha256_hex(&secret),
            issued_at: now,
            expires_at: self.after(now, self.inner.settings.party_link_valid_for),
            texted_at: None,
        };
        case.party_links.retain(|l| l.party_id != party_id);
        case.party_links.push(link.clone());
        link
    }

    /// On the agreement taking effect: a link for every party but the reporter who has no
    /// live one; returns whose were issued (to text them).
    pub(super) fn issue_missing_links(&self, case: &mut CaseFile, id: &IncidentId, now: Timestamp) -> Vec<String> {
        let wanting: Vec<String> = case
            .parties
            .iter()
            .filter(|p| !p.from_reporter)
            .filter(|p| !case.party_links.iter().any(|l| l.party_id == p.id && l.expires_at > now))
            .map(|p| p.id.clone())
            .collect();
        for party in &wanting {
            self.issue_link(case, id, party, now);
        }
        wanting
    }

    /// The full link of `link`.
    fn url(&self, id: &IncidentId, link: &PartyLink) -> Result<String, CaseFileError> {
        let secret = self.inner.sealer.open(&sealed_context(id, &link.party_id), &link.secret)?;
        let base = self.inner.dispatcher.settings().http.public_base_url.trim_end_matches('/').to_owned();
        Ok(format!("{base}/p/{id}.{}.{secret}", link.party_id))
    }

    /// Every party's link, for the holder's page.
    ///
    /// # Errors
    /// `Unopenable` when the sealing key is gone.
    pub fn issued_links(&self, id: &IncidentId, case: &CaseFile) -> Result<Vec<IssuedLink>, CaseFileError> {
        case.party_links
            .iter()
            .map(|l| {
                Ok(IssuedLink {
                    party_id: l.party_id.clone(),
                    url: self.url(id, l)?,
                    expires_at: l.expires_at,
                    texted_at: l.texted_at,
                })
            })
            .collect()
    }

    /// The holder issues `party_id` a new link (the old one stops working) and texts it.
    ///
    /// # Errors
    /// `NotFound` (incident or party); `Conflict::NoAgreement` before the agreement takes
    /// effect; `Invalid` for the reporter (their copy is on the tracking link).
    pub async fn reissue_link(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        party_id: &str,
    ) -> Result<IssuedLink, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        let now = self.now();
        let link = self
            .update(id, incident.claimed_at, |case| {
                let party = case.parties.iter().find(|p| p.id == party_id).ok_or(CaseFileError::NotFound)?;
                if party.from_reporter {
                    return Err(Invalid::new("party", "the reporter's copy is on their tracking link").into());
                }
                if case.in_effect().is_none() {
                    return Err(Conflict::NoAgreement.into());
                }
                Ok(self.issue_link(case, id, party_id, now))
            })
            .await?;
        tracing::info!(incident_id = %id, party = %party_id, "party link re-issued");
        let texted_at = self.text_links(&incident, &[party_id.to_owned()]).await.then_some(now);
        Ok(IssuedLink {
            party_id: party_id.to_owned(),
            url: self.url(id, &link)?,
            expires_at: link.expires_at,
            texted_at,
        })
    }

    /// Text their links to `parties` that have a phone, when texts are configured; records
    /// each text the gateway accepted. True when all of them went out.
    pub(super) async fn text_links(&self, incident: &Incident, parties: &[String]) -> bool {
        let Some(sms) = self.inner.sms.clone() else { return false };
        if parties.is_empty() {
            return false;
        }
        let id = &incident.id;
        let Ok(stored) = self.inner.store.load(id).await else { return false };
        let number = id.to_string();
        let number = &number[number.len().saturating_sub(6)..];
        let mut texted = vec![];
        for party in stored.case.parties.iter().filter(|p| parties.contains(&p.id)) {
            let Some(link) = stored.case.party_links.iter().find(|l| l.party_id == party.id) else { continue };
            let Some(sealed) = &party.phone else { continue };
            let phone = self.inner.sealer.open(&format!("{id}:{}:phone", party.id), sealed).ok();
            let (Some(phone), Ok(url)) = (phone.and_then(|p| Phone::parse(&p).ok()), self.url(id, link)) else {
                continue;
            };
            // `sms.per_report` texts per party a day: re-issuing cannot flood a phone.
            let limit_key = sha256_hex(&format!("party_sms:{id}:{}", party.id));
            let day = std::time::Duration::from_secs(24 * 3600);
            match self.inner.leases.hit_rate_window(&limit_key, day).await {
                Ok(hit) if hit.count <= u64::from(self.inner.dispatcher.settings().sms.per_report) => {}
                Ok(_) => {
                    tracing::warn!(incident_id = %id, party = %party.id, "party link not texted: the daily limit is reached");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(incident_id = %id, party = %party.id, error = %e, "party link not texted");
                    continue;
                }
            }
            let text = format!(
                "{}：您参与调解的纠纷（编号 {number}）调解协议已生效，查看您的协议书和后续日期：{url}",
                party.name
            );
            match sms.send(&phone, &text).await {
                Ok(()) => {
                    metrics::counter!("gd_sms_sent_total").increment(1);
                    tracing::info!(incident_id = %id, party = %party.id, to = %phone.masked(), "party link texted");
                    texted.push((party.id.clone(), link.secret_sha256.clone()));
                }
                Err(e) => {
                    tracing::warn!(incident_id = %id, party = %party.id, to = %phone.masked(), error = %e, "party link not texted");
                }
            }
        }
        let all = texted.len() == parties.len();
        if texted.is_empty() {
            return false;
        }
        let now = self.now();
        let recorded = self
            .update(id, None, |case| {
                for link in &mut case.party_links {
                    if texted.iter().any(|(p, sha)| *p == link.party_id && *sha == link.secret_sha256) {
                        link.texted_at = Some(now);
                    }
                }
                Ok(())
            })
            .await;
        if let Err(e) = recorded {
            tracing::warn!(incident_id = %id, error = %e, "could not record that party links were texted");
        }
        all
    }

    /// What the party's link `token` opens: 404 (`NotFound`) for a malformed, unknown,
    /// replaced or expired link, a removed party, or before an agreement is in effect.
    ///
    /// # Errors
    /// `NotFound`; `Store`.
    pub async fn party_copy(&self, token: &str) -> Result<PartyCopy, CaseFileError> {
        let mut parts = token.splitn(3, '.');
        let (Some(incident), Some(party_id), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CaseFileError::NotFound);
        };
        let id = IncidentId::parse(incident).map_err(|_| CaseFileError::NotFound)?;
        if secret.len() > 64 || party_id.len() > 16 {
            return Err(CaseFileError::NotFound);
        }
        let case = self.inner.store.load(&id).await?.case;
        let link = case.party_links.iter().find(|l| l.party_id == party_id).ok_or(CaseFileError::NotFound)?;
        let matches: bool = sha256_hex(secret).as_bytes().ct_eq(link.secret_sha256.as_bytes()).into();
        if !matches || link.expires_at <= self.now() || case.in_effect().is_none() {
            return Err(CaseFileError::NotFound);
        }
        let party = case.parties.iter().find(|p| p.id == party_id).ok_or(CaseFileError::NotFound)?.clone();
        let link = link.clone();
        let incident = self.inner.incidents.get_incident(&id).await?.ok_or(CaseFileError::NotFound)?;
        Ok(PartyCopy { incident, case, party, link })
    }

    /// The agreement in effect, as the party holding `token` gets their copy.
    ///
    /// # Errors
    /// As [`Self::party_copy`]; `PdfUnavailable`.
    pub async fn party_agreement(&self, token: &str) -> Result<Vec<u8>, CaseFileError> {
        let PartyCopy { incident, case, .. } = self.party_copy(token).await?;
        self.copy_in_effect(incident, case).await
    }
}
