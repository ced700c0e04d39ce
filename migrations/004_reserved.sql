-- pocketca schema v4: reserved for the key-types work (ectypes), which may
-- replace this file with its own 004. Migrations are numbered without gaps,
-- and 005 (intermediate profile) came first. Intentionally a no-op.
SELECT 1;
