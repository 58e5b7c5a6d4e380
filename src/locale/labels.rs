//! The terminal's own labels on receipts and reports, per language (the customer
//! display's texts are in `texts`; Klarna's wording is never here).

use super::texts::LANGS;

/// A receipt or report label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Label {
    /// "Paid with Klarna" on receipts.
    PaidWithKlarna,
    /// Header of a return receipt.
    Return,
    /// "Paid by card" on receipts.
    PaidByCard,
    /// "Refunded" total on a return receipt.
    Refunded,
    /// Marks a reprinted receipt.
    Copy,
    /// "Original purchase" on a return receipt.
    OriginalPurchase,
    /// Marks a card payment the terminal approved offline.
    ApprovedOffline,
    /// "Tax" (VAT) label on receipts.
    Tax,
    /// "Terminal" label on receipts.
    Terminal,
    /// Marks the customer's receipt when a merchant copy is printed too.
    CustomerCopy,
    /// Marks the merchant's copy.
    MerchantCopy,
    /// The kind of transaction, on a sale receipt.
    Purchase,
    /// The result of an authorization captured at once.
    ResultApproved,
    /// The result of an authorization the register captures later (an amount reserved).
    ResultAuthorized,
    /// Label of the store's VAT or organisation number.
    VatNumber,
    /// Title of a report, `{kind}` being X or Z.
    Report,
    /// Report: sales of a tender.
    Sales,
    /// Report: refunds of a tender.
    Refunds,
    /// Report: declined payments.
    DeclinedCount,
    /// Report: canceled payments.
    CanceledCount,
    /// Report: payments still open.
    OpenCount,
    /// Report: offline payments not yet forwarded.
    OfflinePending,
    /// The card tender.
    Card,
    /// Verification: the PIN was checked (by the chip or the issuer).
    PinVerified,
    /// Verification: the customer's phone or watch verified them.
    DeviceVerified,
    /// Verification: the customer signs.
    Signature,
    /// Verification: none (contactless under the limit).
    NoVerification,
}

fn row(l: Label) -> [&'static str; 11] {
    match l {
        Label::PaidWithKlarna => [
            "Paid with Klarna",
            "Bezahlt mit Klarna",
            "Betalt med Klarna",
            "Payé avec Klarna",
            "Betaald met Klarna",
            "Pagado con Klarna",
            "Pagato con Klarna",
            "Betalt med Klarna",
            "Betalt med Klarna",
            "Maksettu Klarnalla",
            "Zapłacono za pomocą Klarna",
        ],
        Label::Return => [
            "RETURN",
            "RÜCKGABE",
            "RETUR",
            "RETOUR",
            "RETOUR",
            "DEVOLUCIÓN",
            "RESO",
            "RETUR",
            "RETUR",
            "PALAUTUS",
            "ZWROT",
        ],
        Label::PaidByCard => [
            "Paid by card",
            "Mit Karte bezahlt",
            "Betalt med kort",
            "Payé par carte",
            "Betaald met kaart",
            "Pagado con tarjeta",
            "Pagato con carta",
            "Betalt med kort",
            "Betalt med kort",
            "Maksettu kortilla",
            "Zapłacono kartą",
        ],
        Label::Refunded => [
            "Refunded",
            "Erstattet",
            "Återbetalt",
            "Remboursé",
            "Terugbetaald",
            "Reembolsado",
            "Rimborsato",
            "Refunderet",
            "Refundert",
            "Palautettu",
            "Zwrócono",
        ],
        Label::Copy => ["COPY", "KOPIE", "KOPIA", "COPIE", "KOPIE", "COPIA", "COPIA", "KOPI", "KOPI", "KOPIO", "KOPIA"],
        Label::OriginalPurchase => [
            "Original purchase",
            "Ursprünglicher Kauf",
            "Ursprungligt köp",
            "Achat d'origine",
            "Oorspronkelijke aankoop",
            "Compra original",
            "Acquisto originale",
            "Oprindeligt køb",
            "Opprinnelig kjøp",
            "Alkuperäinen osto",
            "Pierwotny zakup",
        ],
        Label::ApprovedOffline => [
            "OFFLINE - approved by the terminal",
            "OFFLINE - vom Terminal genehmigt",
            "OFFLINE - godkänt av terminalen",
            "HORS LIGNE - accepté par le terminal",
            "OFFLINE - goedgekeurd door de terminal",
            "SIN CONEXIÓN - aprobado por el terminal",
            "OFFLINE - approvato dal terminale",
            "OFFLINE - godkendt af terminalen",
            "OFFLINE - godkjent av terminalen",
            "OFFLINE - päätteen hyväksymä",
            "OFFLINE - zatwierdzone przez terminal",
        ],
        Label::Tax => ["VAT", "MwSt.", "Moms", "TVA", "Btw", "IVA", "IVA", "Moms", "Mva", "ALV", "VAT"],
        Label::Terminal => [
            "Terminal",
            "Terminal",
            "Terminal",
            "Terminal",
            "Terminal",
            "Terminal",
            "Terminale",
            "Terminal",
            "Terminal",
            "Pääte",
            "Terminal",
        ],
        Label::CustomerCopy => [
            "Customer copy",
            "Kundenbeleg",
            "Kundens kopia",
            "Copie client",
            "Kopie klant",
            "Copia para el cliente",
            "Copia cliente",
            "Kundens kopi",
            "Kundens kopi",
            "Asiakkaan kappale",
            "Kopia dla klienta",
        ],
        Label::MerchantCopy => [
            "Merchant copy",
            "Händlerbeleg",
            "Butikens kopia",
            "Copie commerçant",
            "Kopie winkelier",
            "Copia para el comercio",
            "Copia esercente",
            "Butikkens kopi",
            "Butikkens kopi",
            "Kauppiaan kappale",
            "Kopia dla sprzedawcy",
        ],
        Label::Purchase => {
            ["PURCHASE", "KAUF", "KÖP", "ACHAT", "AANKOOP", "COMPRA", "ACQUISTO", "KØB", "KJØP", "OSTO", "SPRZEDAŻ"]
        }
        Label::ResultApproved => [
            "APPROVED",
            "GENEHMIGT",
            "GODKÄNT",
            "ACCEPTÉ",
            "GOEDGEKEURD",
            "APROBADO",
            "APPROVATO",
            "GODKENDT",
            "GODKJENT",
            "HYVÄKSYTTY",
            "ZAAKCEPTOWANO",
        ],
        Label::ResultAuthorized => [
            "AUTHORIZED (RESERVED)",
            "RESERVIERT",
            "RESERVERAT",
            "AUTORISÉ (RÉSERVÉ)",
            "GERESERVEERD",
            "AUTORIZADO (RESERVADO)",
            "AUTORIZZATO (RISERVATO)",
            "RESERVERET",
            "RESERVERT",
            "VARATTU",
            "ZAREZERWOWANO",
        ],
        Label::VatNumber => [
            "VAT no.",
            "USt-IdNr.",
            "Org.nr",
            "N° TVA",
            "Btw-nr.",
            "NIF",
            "P. IVA",
            "CVR-nr.",
            "Org.nr.",
            "Y-tunnus",
            "NIP",
        ],
        Label::Report => [
            "{kind} REPORT",
            "{kind}-BERICHT",
            "{kind}-RAPPORT",
            "RAPPORT {kind}",
            "{kind}-RAPPORT",
            "INFORME {kind}",
            "REPORT {kind}",
            "{kind}-RAPPORT",
            "{kind}-RAPPORT",
            "{kind}-RAPORTTI",
            "RAPORT {kind}",
        ],
        Label::Sales => [
            "Sales",
            "Verkäufe",
            "Försäljning",
            "Ventes",
            "Verkopen",
            "Ventas",
            "Vendite",
            "Salg",
            "Salg",
            "Myynti",
            "Sprzedaż",
        ],
        Label::Refunds => [
            "Refunds",
            "Erstattungen",
            "Återbetalningar",
            "Remboursements",
            "Terugbetalingen",
            "Reembolsos",
            "Rimborsi",
            "Refusioner",
            "Refusjoner",
            "Palautukset",
            "Zwroty",
        ],
        Label::DeclinedCount => [
            "Declined",
            "Abgelehnt",
            "Nekade",
            "Refusés",
            "Geweigerd",
            "Rechazados",
            "Rifiutati",
            "Afviste",
            "Avviste",
            "Hylätyt",
            "Odrzucone",
        ],
        Label::CanceledCount => [
            "Canceled",
            "Abgebrochen",
            "Avbrutna",
            "Annulés",
            "Geannuleerd",
            "Cancelados",
            "Annullati",
            "Annullerede",
            "Avbrutte",
            "Perutut",
            "Anulowane",
        ],
        Label::OpenCount => [
            "Open",
            "Offen",
            "Pågående",
            "En cours",
            "Openstaand",
            "Abiertos",
            "Aperti",
            "Åbne",
            "Åpne",
            "Avoimet",
            "Otwarte",
        ],
        Label::OfflinePending => [
            "Offline, to forward",
            "Offline, noch zu senden",
            "Offline, ej skickade",
            "Hors ligne, à transmettre",
            "Offline, nog te verzenden",
            "Sin conexión, por enviar",
            "Offline, da inviare",
            "Offline, ikke sendt",
            "Offline, ikke sendt",
            "Offline, lähettämättä",
            "Offline, do wysłania",
        ],
        Label::Card => {
            ["Card", "Karte", "Kort", "Carte", "Kaart", "Tarjeta", "Carta", "Kort", "Kort", "Kortti", "Karta"]
        }
        Label::PinVerified => [
            "PIN verified",
            "PIN geprüft",
            "PIN verifierad",
            "Code vérifié",
            "Pincode geverifieerd",
            "PIN verificado",
            "PIN verificato",
            "PIN verificeret",
            "PIN verifisert",
            "PIN tarkistettu",
            "PIN zweryfikowany",
        ],
        Label::DeviceVerified => [
            "Verified on device",
            "Auf dem Gerät bestätigt",
            "Verifierad i enheten",
            "Vérifié sur l'appareil",
            "Geverifieerd op apparaat",
            "Verificado en el dispositivo",
            "Verificato sul dispositivo",
            "Verificeret på enheden",
            "Verifisert på enheten",
            "Vahvistettu laitteella",
            "Zweryfikowano na urządzeniu",
        ],
        Label::Signature => [
            "Signature",
            "Unterschrift",
            "Underskrift",
            "Signature",
            "Handtekening",
            "Firma",
            "Firma",
            "Underskrift",
            "Signatur",
            "Allekirjoitus",
            "Podpis",
        ],
        Label::NoVerification => [
            "No verification",
            "Ohne Verifizierung",
            "Ingen verifiering",
            "Sans vérification",
            "Geen verificatie",
            "Sin verificación",
            "Nessuna verifica",
            "Ingen verifikation",
            "Ingen verifisering",
            "Ei vahvistusta",
            "Bez weryfikacji",
        ],
    }
}

/// `l` in the language of `locale` (English if the language is not known).
pub fn label(l: Label, locale: &str) -> &'static str {
    let lang = locale.split('-').next().unwrap_or("en");
    let i = LANGS.iter().position(|x| *x == lang).unwrap_or(0);
    row(l)[i]
}
