//! Klarna's payment option as a sale keeps it in the journal, also when the row was
//! written by a version before Klarna's Payment Presentation shape (a flat
//! `descriptors` object with `header`, `subheader`, `subheader_enriched`, `badge_url`).

use posagent_acquirer_api::{
    EnrichedSubheader, PaymentOption, PresentationIcon, PresentationSubheader, PresentationText,
};
use serde::{Deserialize, Deserializer};

/// The wording a sale journaled before the payment option (0.1.0 to 0.11).
#[derive(Deserialize)]
struct LegacyDescriptors {
    header: String,
    subheader: String,
    #[serde(default)]
    subheader_enriched: Option<String>,
    badge_url: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Journaled {
    Current(PaymentOption),
    Legacy(LegacyDescriptors),
}

impl From<LegacyDescriptors> for PaymentOption {
    /// The old wording in the new shape. It has no payment option id: an empty one,
    /// which the sale never sends to the acquirer ([`option_id_to_send`]).
    fn from(d: LegacyDescriptors) -> Self {
        PaymentOption {
            payment_option_id: String::new(),
            header: PresentationText { text: d.header.clone() },
            subheader: PresentationSubheader {
                short: PresentationText { text: d.subheader },
                enriched: d.subheader_enriched.map(|text| EnrichedSubheader { text, link: None }),
            },
            icon: PresentationIcon {
                alt: "Klarna".into(),
                badge_image_url: d.badge_url,
                rectangle_image_url: String::new(),
                square_image_url: String::new(),
            },
            payment_button: PresentationText { text: d.header },
        }
    }
}

/// Reads a journaled payment option in either shape.
pub fn journaled_payment_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PaymentOption>, D::Error> {
    Ok(Option::<Journaled>::deserialize(d)?.map(|j| match j {
        Journaled::Current(o) => o,
        Journaled::Legacy(l) => l.into(),
    }))
}

/// The payment option id to authorize with: none for an option read from an old row.
pub fn option_id_to_send(option: Option<&PaymentOption>) -> Option<String> {
    option.map(|o| o.payment_option_id.clone()).filter(|id| !id.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Row {
        #[serde(default, alias = "descriptors", deserialize_with = "journaled_payment_option")]
        payment_option: Option<PaymentOption>,
    }

    #[test]
    fn an_old_rows_wording_reads_as_a_payment_option_without_an_id() {
        let old = r#"{"descriptors": {"locale": "sv-SE", "header": "Betala med Klarna", "subheader": "s",
            "subheader_enriched": "Dela upp", "badge_url": "https://b/badge.svg"}}"#;
        let o = serde_json::from_str::<Row>(old).unwrap().payment_option.unwrap();
        assert_eq!(o.header.text, "Betala med Klarna");
        assert_eq!(o.offer(), Some("Dela upp"));
        assert_eq!(o.icon.badge_image_url, "https://b/badge.svg");
        assert_eq!(option_id_to_send(Some(&o)), None);
        assert!(serde_json::from_str::<Row>(r#"{"descriptors": null}"#).unwrap().payment_option.is_none());
        assert!(serde_json::from_str::<Row>("{}").unwrap().payment_option.is_none());
        assert!(serde_json::from_str::<Row>(r#"{"descriptors": {"header": 1}}"#).is_err());
    }

    #[test]
    fn a_current_row_keeps_its_id() {
        let new = r#"{"payment_option": {"payment_option_id": "krn:o", "header": {"text": "h"},
            "subheader": {"short": {"text": "s"}}, "icon": {"alt": "a", "badge_image_url": "b",
            "rectangle_image_url": "r", "square_image_url": "q"}, "payment_button": {"text": "p"}}}"#;
        let o = serde_json::from_str::<Row>(new).unwrap().payment_option.unwrap();
        assert_eq!(option_id_to_send(Some(&o)).as_deref(), Some("krn:o"));
        assert_eq!(o.offer_or_short(), "s");
    }
}
