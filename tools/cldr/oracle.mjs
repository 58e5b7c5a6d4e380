// The oracle of tests/it/locale_cldr.rs: every locale and currency of tools/cldr/locales.mjs
// with a spread of amounts (minor units), each formatted by ICU's Intl.NumberFormat
// from an exact decimal string. Prints JSON: {icu, cldr, cases: [{locale, currency,
// minor, expect}]}.
import { LOCALES, CURRENCIES } from "./locales.mjs";

const AMOUNTS = [0n, 1n, 5n, 99n, 100n, 1234n, 12345n, 123456n, 1234567n, 123456789n, 2147483647n,
  -1n, -2500n, -123456789n];

function decimal(minor, digits) {
  const neg = minor < 0n;
  const abs = (neg ? -minor : minor).toString().padStart(digits + 1, "0");
  const whole = digits ? abs.slice(0, abs.length - digits) : abs;
  const frac = digits ? "." + abs.slice(abs.length - digits) : "";
  return (neg ? "-" : "") + whole + frac;
}

const cases = [];
for (const locale of LOCALES) {
  for (const [currency, digits] of CURRENCIES) {
    const f = new Intl.NumberFormat(locale, {
      style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: digits,
    });
    for (const minor of AMOUNTS) {
      cases.push({ locale, currency, minor: Number(minor), expect: f.format(decimal(minor, digits)) });
    }
  }
}
console.log(JSON.stringify({ icu: process.versions.icu, cldr: process.versions.cldr, cases }));
