-- pocketca schema v2. Forward only: never edit once landed.
-- `list` shows certificates in the order they were issued (ORDER BY
-- issued_at, serial). With this index SQLite walks them in that order instead
-- of sorting every listed row, which for 100,000 certificates was most of the
-- time `list --json` took (issue 6).
CREATE INDEX certificates_issued_at ON certificates (issued_at, serial);
