//! The terminal's own screen and receipt texts per language (Klarna's wording is not here).

/// A text the terminal shows or prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Text {
    /// Idle screen greeting.
    Welcome,
    /// Shown with the amount while preparing.
    AmountToPay,
    /// After the scan.
    PaymentInProgress,
    /// Follow the steps on your phone.
    FollowPhone,
    /// Approved.
    Approved,
    /// Declined.
    Declined,
    /// Canceled.
    Canceled,
    /// Something went wrong.
    SomethingWentWrong,
    /// Klarna cannot be used for this purchase.
    KlarnaUnavailable,
    /// Please ask the cashier / use another payment method.
    AskCashier,
    /// "Reference" label.
    Reference,
    /// "Expires in" label.
    ExpiresIn,
    /// "Total" on receipts.
    Total,
    /// "Thank you" on receipts.
    ThankYou,
    /// Ask for the card.
    PresentCard,
    /// Heading of the method-choice screen.
    ChooseMethod,
    /// The card option on the method-choice screen.
    PayByCard,
    /// Under the card option: which cards.
    CardKinds,
    /// Short card prompt for 2×20 line displays.
    PresentCardShort,
    /// On a line display: the QR code is on the printed slip.
    ScanSlip,
    /// Decline reason: not enough money on the account.
    ReasonFunds,
    /// Decline reason: the card has expired.
    ReasonExpired,
    /// Decline reason: the card issuer refused.
    ReasonIssuer,
    /// Decline reason: the customer declined in Klarna's app.
    ReasonKlarna,
    /// Decline reason: the terminal is offline and over its limits.
    ReasonOffline,
    /// Insert the card and enter the PIN (after a contactless read that needs one).
    InsertCardPin,
    /// The same for 2×20 line displays.
    InsertCardPinShort,
    /// The card was not read: the customer tries again.
    CardTryAgain,
    /// The reader wants the card inserted (chip).
    CardUseChip,
    /// The card reader is disconnected; the payment waits for it.
    ReaderDisconnected,
    /// While the terminal asks the acquirer before the payment can be shown.
    OneMoment,
    /// The payment ran out of time (QR code expired, no card, no choice).
    TimedOut,
    /// The terminal's own scan prompt beside Klarna's QR code (not Klarna's wording).
    ScanWithCamera,
}

/// The customer-facing text of a decline reason code, if there is one for it.
pub fn decline_reason(code: &str) -> Option<Text> {
    Some(match code {
        "INSUFFICIENT_FUNDS" => Text::ReasonFunds,
        "EXPIRED_CARD" => Text::ReasonExpired,
        "CUSTOMER_DECLINED" => Text::ReasonKlarna,
        c if c.starts_with("OFFLINE_") => Text::ReasonOffline,
        "DO_NOT_HONOR" | "DECLINED" | "PIN_REQUIRED" | "RESTRICTED_CARD" | "SUSPECTED_FRAUD" => Text::ReasonIssuer,
        _ => return None,
    })
}

// en, de, sv, fr, nl, es, it, da, nb, fi, pl
pub(super) const LANGS: [&str; 11] = ["en", "de", "sv", "fr", "nl", "es", "it", "da", "nb", "fi", "pl"];

fn row(t: Text) -> [&'static str; 11] {
    match t {
        Text::Welcome => [
            "Welcome",
            "Willkommen",
            "Välkommen",
            "Bienvenue",
            "Welkom",
            "Bienvenido",
            "Benvenuto",
            "Velkommen",
            "Velkommen",
            "Tervetuloa",
            "Witamy",
        ],
        Text::AmountToPay => [
            "Amount to pay",
            "Zu zahlen",
            "Att betala",
            "Montant à payer",
            "Te betalen",
            "Importe a pagar",
            "Importo da pagare",
            "At betale",
            "Å betale",
            "Maksettava",
            "Do zapłaty",
        ],
        Text::PaymentInProgress => [
            "Payment in progress",
            "Zahlung läuft",
            "Betalning pågår",
            "Paiement en cours",
            "Betaling bezig",
            "Pago en curso",
            "Pagamento in corso",
            "Betaling i gang",
            "Betaling pågår",
            "Maksu käynnissä",
            "Płatność w toku",
        ],
        Text::FollowPhone => [
            "Follow the steps on your phone",
            "Folgen Sie den Schritten auf Ihrem Handy",
            "Följ stegen i din telefon",
            "Suivez les étapes sur votre téléphone",
            "Volg de stappen op uw telefoon",
            "Siga los pasos en su móvil",
            "Segui i passaggi sul telefono",
            "Følg trinnene på din telefon",
            "Følg trinnene på telefonen",
            "Seuraa puhelimen ohjeita",
            "Postępuj zgodnie z krokami w telefonie",
        ],
        Text::Approved => [
            "Payment approved",
            "Zahlung erfolgreich",
            "Betalningen godkänd",
            "Paiement accepté",
            "Betaling geslaagd",
            "Pago aprobado",
            "Pagamento approvato",
            "Betaling godkendt",
            "Betaling godkjent",
            "Maksu hyväksytty",
            "Płatność zaakceptowana",
        ],
        Text::Declined => [
            "Payment declined",
            "Zahlung abgelehnt",
            "Betalningen nekad",
            "Paiement refusé",
            "Betaling geweigerd",
            "Pago rechazado",
            "Pagamento rifiutato",
            "Betaling afvist",
            "Betaling avvist",
            "Maksu hylätty",
            "Płatność odrzucona",
        ],
        Text::Canceled => [
            "Payment canceled",
            "Zahlung abgebrochen",
            "Betalningen avbruten",
            "Paiement annulé",
            "Betaling geannuleerd",
            "Pago cancelado",
            "Pagamento annullato",
            "Betaling annulleret",
            "Betaling avbrutt",
            "Maksu peruttu",
            "Płatność anulowana",
        ],
        Text::SomethingWentWrong => [
            "Something went wrong",
            "Etwas ist schiefgelaufen",
            "Något gick fel",
            "Une erreur est survenue",
            "Er ging iets mis",
            "Algo salió mal",
            "Qualcosa è andato storto",
            "Noget gik galt",
            "Noe gikk galt",
            "Jokin meni vikaan",
            "Coś poszło nie tak",
        ],
        Text::KlarnaUnavailable => [
            "Klarna is not available for this purchase",
            "Klarna ist für diesen Kauf nicht verfügbar",
            "Klarna är inte tillgängligt för detta köp",
            "Klarna n'est pas disponible pour cet achat",
            "Klarna is niet beschikbaar voor deze aankoop",
            "Klarna no está disponible para esta compra",
            "Klarna non è disponibile per questo acquisto",
            "Klarna er ikke tilgængelig for dette køb",
            "Klarna er ikke tilgjengelig for dette kjøpet",
            "Klarna ei ole käytettävissä tähän ostokseen",
            "Klarna nie jest dostępna dla tego zakupu",
        ],
        Text::AskCashier => [
            "Please choose another payment method",
            "Bitte wählen Sie eine andere Zahlungsart",
            "Välj ett annat betalsätt",
            "Veuillez choisir un autre moyen de paiement",
            "Kies een andere betaalmethode",
            "Elija otro método de pago",
            "Scegli un altro metodo di pagamento",
            "Vælg en anden betalingsmetode",
            "Velg en annen betalingsmåte",
            "Valitse toinen maksutapa",
            "Wybierz inną metodę płatności",
        ],
        Text::Reference => [
            "Reference",
            "Referenz",
            "Referens",
            "Référence",
            "Referentie",
            "Referencia",
            "Riferimento",
            "Reference",
            "Referanse",
            "Viite",
            "Numer referencyjny",
        ],
        Text::ExpiresIn => [
            "Expires in",
            "Läuft ab in",
            "Går ut om",
            "Expire dans",
            "Verloopt over",
            "Caduca en",
            "Scade tra",
            "Udløber om",
            "Utløper om",
            "Vanhenee",
            "Wygasa za",
        ],
        Text::Total => {
            ["Total", "Summe", "Totalt", "Total", "Totaal", "Total", "Totale", "I alt", "Totalt", "Yhteensä", "Suma"]
        }
        Text::ChooseMethod => [
            "How would you like to pay?",
            "Wie möchten Sie bezahlen?",
            "Hur vill du betala?",
            "Comment souhaitez-vous payer ?",
            "Hoe wilt u betalen?",
            "¿Cómo desea pagar?",
            "Come vuoi pagare?",
            "Hvordan vil du betale?",
            "Hvordan vil du betale?",
            "Miten haluat maksaa?",
            "Jak chcesz zapłacić?",
        ],
        Text::PayByCard => {
            ["Card", "Karte", "Kort", "Carte", "Kaart", "Tarjeta", "Carta", "Kort", "Kort", "Kortti", "Karta"]
        }
        Text::CardKinds => [
            "Debit or credit card, phone or watch",
            "Debit- oder Kreditkarte, Handy oder Uhr",
            "Betal- eller kreditkort, mobil eller klocka",
            "Carte de débit ou de crédit, téléphone ou montre",
            "Betaal- of creditcard, telefoon of horloge",
            "Tarjeta de débito o crédito, móvil o reloj",
            "Carta di debito o credito, telefono o orologio",
            "Debet- eller kreditkort, telefon eller ur",
            "Debet- eller kredittkort, telefon eller klokke",
            "Pankki- tai luottokortti, puhelin tai kello",
            "Karta debetowa lub kredytowa, telefon lub zegarek",
        ],
        Text::ReasonFunds => [
            "Insufficient funds",
            "Kontodeckung nicht ausreichend",
            "Otillräckligt saldo",
            "Provision insuffisante",
            "Onvoldoende saldo",
            "Fondos insuficientes",
            "Fondi insufficienti",
            "Utilstrækkelig dækning",
            "Ikke dekning på kontoen",
            "Kate ei riitä",
            "Niewystarczające środki",
        ],
        Text::ReasonExpired => [
            "The card has expired",
            "Die Karte ist abgelaufen",
            "Kortet har gått ut",
            "La carte a expiré",
            "De kaart is verlopen",
            "La tarjeta ha caducado",
            "La carta è scaduta",
            "Kortet er udløbet",
            "Kortet er utløpt",
            "Kortti on vanhentunut",
            "Karta straciła ważność",
        ],
        Text::ReasonIssuer => [
            "Declined by the card issuer",
            "Von der Bank abgelehnt",
            "Nekad av kortutgivaren",
            "Refusé par la banque",
            "Geweigerd door de bank",
            "Denegado por el banco",
            "Rifiutato dalla banca",
            "Afvist af kortudstederen",
            "Avvist av kortutstederen",
            "Kortin myöntäjä hylkäsi",
            "Odrzucone przez bank",
        ],
        Text::ReasonKlarna => [
            "Not approved in the Klarna app",
            "In der Klarna App nicht bestätigt",
            "Inte godkänt i Klarna-appen",
            "Non validé dans l'app Klarna",
            "Niet goedgekeurd in de Klarna-app",
            "No aprobado en la app de Klarna",
            "Non approvato nell'app Klarna",
            "Ikke godkendt i Klarna-appen",
            "Ikke godkjent i Klarna-appen",
            "Ei hyväksytty Klarna-sovelluksessa",
            "Nie zatwierdzono w aplikacji Klarna",
        ],
        Text::ReasonOffline => [
            "The terminal is offline: please pay another way",
            "Das Terminal ist offline: bitte anders bezahlen",
            "Terminalen är offline: betala på annat sätt",
            "Le terminal est hors ligne : payez autrement",
            "De terminal is offline: betaal op een andere manier",
            "El terminal está sin conexión: pague de otra forma",
            "Il terminale è offline: paga in altro modo",
            "Terminalen er offline: betal på anden måde",
            "Terminalen er frakoblet: betal på en annen måte",
            "Pääte on offline-tilassa: maksa toisin",
            "Terminal jest offline: zapłać inaczej",
        ],
        Text::InsertCardPin => [
            "Insert your card and enter your PIN",
            "Karte einstecken und PIN eingeben",
            "Sätt i kortet och slå din kod",
            "Insérez la carte et saisissez le code",
            "Steek de kaart in en voer uw pincode in",
            "Inserte la tarjeta e introduzca el PIN",
            "Inserisci la carta e digita il PIN",
            "Indsæt kortet og tast din pinkode",
            "Sett inn kortet og tast PIN-koden",
            "Aseta kortti ja näppäile PIN",
            "Włóż kartę i wpisz PIN",
        ],
        Text::CardTryAgain => [
            "Card not read, please try again",
            "Karte nicht gelesen, bitte erneut versuchen",
            "Kortet kunde inte läsas, försök igen",
            "Carte non lue, veuillez réessayer",
            "Kaart niet gelezen, probeer het opnieuw",
            "Tarjeta no leída, inténtelo de nuevo",
            "Carta non letta, riprova",
            "Kortet blev ikke læst, prøv igen",
            "Kortet ble ikke lest, prøv igjen",
            "Korttia ei luettu, yritä uudelleen",
            "Nie odczytano karty, spróbuj ponownie",
        ],
        Text::CardUseChip => [
            "Please insert your card",
            "Bitte Karte einstecken",
            "Sätt i kortet",
            "Veuillez insérer votre carte",
            "Steek uw kaart in",
            "Inserte la tarjeta",
            "Inserisci la carta",
            "Indsæt venligst dit kort",
            "Sett inn kortet",
            "Aseta kortti lukijaan",
            "Włóż kartę",
        ],
        Text::ReaderDisconnected => [
            "Card reader disconnected, please wait",
            "Kartenleser getrennt, bitte warten",
            "Kortläsaren är frånkopplad, vänta",
            "Lecteur de carte déconnecté, patientez",
            "Kaartlezer losgekoppeld, even geduld",
            "Lector de tarjetas desconectado, espere",
            "Lettore di carte scollegato, attendere",
            "Kortlæseren er afbrudt, vent venligst",
            "Kortleseren er frakoblet, vent litt",
            "Kortinlukija irti, odota hetki",
            "Czytnik kart odłączony, proszę czekać",
        ],
        Text::InsertCardPinShort => [
            "Insert card + PIN",
            "Karte + PIN",
            "Sätt i kort + kod",
            "Carte + code",
            "Kaart in + pincode",
            "Tarjeta + PIN",
            "Carta + PIN",
            "Indsæt kort + pin",
            "Sett inn kort + PIN",
            "Kortti + PIN",
            "Włóż kartę + PIN",
        ],
        Text::PresentCardShort => [
            "Present your card",
            "Karte vorhalten",
            "Visa ditt kort",
            "Présentez la carte",
            "Houd uw kaart bij",
            "Acerque su tarjeta",
            "Avvicina la carta",
            "Hold kortet frem",
            "Hold frem kortet",
            "Näytä korttisi",
            "Zbliż kartę",
        ],
        Text::OneMoment => [
            "One moment...",
            "Einen Moment ...",
            "Ett ögonblick ...",
            "Un instant...",
            "Een ogenblik...",
            "Un momento...",
            "Un momento...",
            "Et øjeblik ...",
            "Et øyeblikk ...",
            "Hetki...",
            "Chwileczkę...",
        ],
        Text::ScanWithCamera => [
            "Scan the code with your phone's camera",
            "Scannen Sie den Code mit der Handykamera",
            "Skanna koden med mobilens kamera",
            "Scannez le code avec l'appareil photo de votre téléphone",
            "Scan de code met de camera van uw telefoon",
            "Escanee el código con la cámara del móvil",
            "Inquadra il codice con la fotocamera del telefono",
            "Scan koden med telefonens kamera",
            "Skann koden med mobilkameraet",
            "Skannaa koodi puhelimen kameralla",
            "Zeskanuj kod aparatem telefonu",
        ],
        Text::TimedOut => [
            "Time ran out",
            "Zeit abgelaufen",
            "Tiden gick ut",
            "Délai dépassé",
            "Tijd verstreken",
            "Tiempo agotado",
            "Tempo scaduto",
            "Tiden er udløbet",
            "Tiden er ute",
            "Aika loppui",
            "Czas minął",
        ],
        Text::ScanSlip => [
            "Scan the slip",
            "Beleg scannen",
            "Skanna kvittot",
            "Scannez le ticket",
            "Scan de bon",
            "Escanee el tique",
            "Scansiona lo scontr.",
            "Scan bonen",
            "Skann lappen",
            "Skannaa kuitti",
            "Zeskanuj wydruk",
        ],
        Text::PresentCard => [
            "Tap, insert or swipe your card",
            "Karte auflegen, einstecken oder durchziehen",
            "Blippa, sätt i eller dra kortet",
            "Approchez, insérez ou glissez votre carte",
            "Houd uw kaart tegen de lezer, steek hem in of haal hem door",
            "Acerque, inserte o deslice su tarjeta",
            "Avvicina, inserisci o striscia la carta",
            "Hold, indsæt eller swipe dit kort",
            "Hold, sett inn eller dra kortet",
            "Näytä, aseta tai vedä korttisi",
            "Zbliż, włóż lub przeciągnij kartę",
        ],
        Text::ThankYou => [
            "Thank you!",
            "Vielen Dank!",
            "Tack!",
            "Merci !",
            "Bedankt!",
            "¡Gracias!",
            "Grazie!",
            "Tak!",
            "Takk!",
            "Kiitos!",
            "Dziękujemy!",
        ],
    }
}

/// `t` in the language of `locale` (English if the language is not known).
pub fn text(t: Text, locale: &str) -> &'static str {
    let lang = locale.split('-').next().unwrap_or("en");
    let i = LANGS.iter().position(|l| *l == lang).unwrap_or(0);
    row(t)[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_and_fallback() {
        assert_eq!(text(Text::Approved, "de-AT"), "Zahlung erfolgreich");
        assert_eq!(text(Text::Approved, "ja-JP"), "Payment approved");
    }
}
