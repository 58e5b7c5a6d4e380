// The locales posagent formats amounts in (Klarna's in-store markets, each country's
// languages and English), and the currencies it handles with their ISO 4217 minor units
// (ISO 4217, not CLDR's display digits: amounts are ISO minor units on the wire).
export const LOCALES = [
  "en-US", "es-US", "en-GB", "en-IE", "en-AU", "en-NZ", "en-CA", "fr-CA",
  "de-DE", "en-DE", "de-AT", "en-AT", "de-CH", "fr-CH", "it-CH", "en-CH",
  "nl-NL", "en-NL", "nl-BE", "fr-BE", "en-BE", "fr-FR", "en-FR",
  "es-ES", "en-ES", "it-IT", "en-IT", "pt-PT", "en-PT",
  "da-DK", "en-DK", "nb-NO", "en-NO", "sv-SE", "en-SE", "fi-FI", "sv-FI", "en-FI",
  "pl-PL", "en-PL", "cs-CZ", "en-CZ", "sk-SK", "hu-HU", "ro-RO", "el-GR", "es-MX",
];

export const CURRENCIES = [
  ["AUD", 2], ["CAD", 2], ["CHF", 2], ["CZK", 2], ["DKK", 2], ["EUR", 2], ["GBP", 2],
  ["HUF", 2], ["ISK", 0], ["JPY", 0], ["KWD", 3], ["MXN", 2], ["NOK", 2], ["NZD", 2],
  ["PLN", 2], ["RON", 2], ["SEK", 2], ["USD", 2],
];
