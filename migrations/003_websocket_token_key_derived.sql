-- pocketca schema v3. Forward only: never edit once landed.
-- The WebSocket token's HMAC key was kept here in plain text, and so in every
-- backup: whoever had the stick or a backup could mint cookies without the
-- passphrase (issue 9). It is now derived from the CA key (HKDF-SHA256 with
-- the per-home salt `websocket_token_salt` and the server name), so the old
-- key is forgotten: cookies it signed stop working at the next publish.
DELETE FROM settings WHERE key = 'websocket_token_secret';
