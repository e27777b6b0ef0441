-- Where a case's triage, dispatch and feedback clocks count from: NULL means received_at; a
-- reopen (or a dissatisfied follow-up sending the case back to the desk) sets it to that
-- moment, so the case gets fresh windows instead of its long-past first ones.
ALTER TABLE cases ADD COLUMN clocks_from BIGINT;
