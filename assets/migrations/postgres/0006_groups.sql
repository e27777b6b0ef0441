-- The similar-request group a case joined when it arrived untriaged: the id of the group's
-- first case (its anchor). The anchor's own group_id stays NULL, so a member's arrival
-- changes no other case.
ALTER TABLE cases ADD COLUMN group_id BIGINT REFERENCES cases(id);
CREATE INDEX cases_group ON cases (group_id) WHERE group_id IS NOT NULL;
-- A new case is compared only with the open untriaged cases from its phone or its town.
CREATE INDEX cases_untriaged_phone ON cases (requester_phone) WHERE status = 'new' AND tier IS NULL;
CREATE INDEX cases_untriaged_town ON cases (town) WHERE status = 'new' AND tier IS NULL;
