-- Item tokens for the response cache (core/server/cache.c): a cached answer
-- to one item (GET /api/v1/{m}/{module}/{id}) stays valid through writes to
-- other items.  Every write still replaces `token` (what lists, pages and
-- feeds are checked against, as before).  A write through the item
-- lifecycle also sets `item_token` to the same value and replaces the token
-- of every item it touched (the item itself and the items linked to or from
-- it, before and after the write) in `cache_items`; any other write also
-- sets `other_token` to it.  So `token` equals one of the two unless the last
-- write was neither (an older portald, an edit by hand in SQL), and the next
-- item write then replaces `other_token` too.  An item's answer is valid
-- while `other_token` and its own row here are unchanged and `token` is one
-- of the two.

ALTER TABLE cache_generations
  ADD COLUMN item_token BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN other_token BIGINT NOT NULL DEFAULT 0;

CREATE TABLE cache_items (
  municipality  VARCHAR(64) NOT NULL,
  module        VARCHAR(64) NOT NULL,
  item_id       BIGINT NOT NULL,
  token         BIGINT NOT NULL,
  PRIMARY KEY (municipality, module, item_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
