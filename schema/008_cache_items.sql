-- Item tokens for the response cache (core/server/cache.c): a cached answer
-- to one item (GET /api/v1/{m}/{module}/{id}) stays valid through writes to
-- other items.  A write through the item lifecycle replaces `item_token`
-- (not `token`) and the token of every item it touched: the item itself and
-- the items linked to or from it, before and after the write.  Lists,
-- pages and feeds are valid while both tokens are unchanged; an item's
-- answer while `token` and its own row here are.  Anything else (media,
-- accounts, an edit by hand in SQL) replaces `token`, which outdates all.

ALTER TABLE cache_generations ADD COLUMN item_token BIGINT NOT NULL DEFAULT 0;

CREATE TABLE cache_items (
  municipality  VARCHAR(64) NOT NULL,
  module        VARCHAR(64) NOT NULL,
  item_id       BIGINT NOT NULL,
  token         BIGINT NOT NULL,
  PRIMARY KEY (municipality, module, item_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
