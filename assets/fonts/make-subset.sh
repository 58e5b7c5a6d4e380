#!/bin/sh
# Cuts the customer display's font (src/screens/font.rs) out of DejaVu Sans 2.37 as
# Debian 12 ships it (fonts-dejavu-core): the characters of the terminal's 11 locale
# catalogs and of Klarna's wording in its markets, nothing else. Needs fontTools
# (`python3 -m venv /tmp/ft && /tmp/ft/bin/pip install fonttools`, then
# PATH=/tmp/ft/bin:$PATH). Run from anywhere: it writes beside itself.
set -eu
here=$(dirname "$0")
src=${DEJAVU_DIR:-/usr/share/fonts/truetype/dejavu}
# Basic Latin, Latin-1, Latin Extended-A; Romanian's comma-below S and T (Latin
# Extended-B); Greek (Klarna's Greek market); figure, thin, narrow no-break spaces;
# hyphens and dashes; typographic quotes; "…"; single guillemets; the euro; the minus sign.
unicodes="U+0020-007E,U+00A0-00FF,U+0100-017F,U+0218-021B,U+0384-03CE,U+2007,U+2009,U+202F,U+2010-2015,U+2018-201E,U+2026,U+2039-203A,U+20AC,U+2212"
for weight in "" "-Bold"; do
    pyftsubset "$src/DejaVuSans$weight.ttf" \
        --unicodes="$unicodes" \
        --layout-features='' \
        --drop-tables+=GSUB,GPOS,GDEF,FFTM,MATH \
        --no-hinting \
        --legacy-kern \
        --name-IDs='*' \
        --notdef-outline \
        --output-file="$here/DejaVuSans$weight-subset.ttf"
done
