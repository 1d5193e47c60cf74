#!/usr/bin/env bash
# Recreates the PDF test files of crates/content/src/pdf.rs: the content
# acceptance test's PDFs (crates/cli/tests/content/make.sh) rewritten by
# qpdf with compressed object streams, so every dictionary — /OpenAction
# and /JavaScript included — sits inside a FlateDecode /ObjStm.
#   apt-get install -y qpdf   (qpdf 11)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
printf '%%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n3 0 obj\n<< /Type /Action /S /JavaScript /JS (app.alert\\("netsift test"\\);) >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%%%EOF\n' > invoice.pdf
printf '%%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%%%EOF\n' > report.pdf
# qpdf repairs the hand-written files (no xref table) and warns: exit 3.
qpdf --object-streams=generate --deterministic-id invoice.pdf "$HERE/objstm-openaction.pdf" || [ $? = 3 ]
qpdf --object-streams=generate --deterministic-id report.pdf "$HERE/objstm-benign.pdf" || [ $? = 3 ]
ls -l "$HERE"
