-- projects.fund_id: the call (an item of the funds module, same
-- municipality) the project applied to; NULL when none is named.  Checked
-- through the core's links (api->link_exists), never a foreign key: the
-- funds module may be absent.
ALTER TABLE projects ADD COLUMN fund_id BIGINT UNSIGNED NULL AFTER reports;
