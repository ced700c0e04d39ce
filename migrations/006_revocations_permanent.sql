-- pocketca schema v6. Forward only: never edit once landed.
-- A revocation is permanent (RFC 5280 §3.3; pocketca uses no certificateHold,
-- §5.3.1): once a serial is in `revocations`, no statement takes it out,
-- whoever runs it. Deleting a row, or changing its serial, aborts the
-- statement. (INSERT OR REPLACE of the same serial keeps it revoked.)
-- Every command compares the schema with what these migrations make, so a
-- home without these triggers is refused, not trusted (SPEC "The record
-- cannot be bent behind pocketca's back"). A later migration that rebuilds
-- `revocations` drops them with the table and must create them again.
CREATE TRIGGER revocations_permanent_delete BEFORE DELETE ON revocations
BEGIN
  SELECT RAISE(ABORT, 'a revocation is permanent');
END;
CREATE TRIGGER revocations_permanent_serial BEFORE UPDATE OF serial ON revocations
BEGIN
  SELECT RAISE(ABORT, 'a revocation is permanent');
END;
