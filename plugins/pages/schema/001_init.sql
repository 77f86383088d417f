-- pages: the municipality's own texts about its international work (its
-- strategy, goals, organisation, an introduction).  One row per page and
-- language; the pages that share page_key (the API's `key`) are one text
-- in several languages, at most one per language (pages_translation).
--
-- position is the API's `order` (ORDER and KEY are SQL words); sort_key is
-- position as five digits, the list's order (sort_key, id).
--
-- search_text uses utf8mb4_unicode_520_ci: case- and accent-insensitive at
-- the primary level, filled with the core's search_fold() of title and
-- body.  Timestamps are UTC.

CREATE TABLE pages (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  municipality  VARCHAR(64) CHARACTER SET ascii NOT NULL,
  slug          VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  page_key      VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  title         VARCHAR(300) NOT NULL,
  body          MEDIUMTEXT NULL,
  lang          VARCHAR(35) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  position      INT UNSIGNED NOT NULL DEFAULT 0,
  sort_key      VARCHAR(5) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '00000',
  status        VARCHAR(16) CHARACTER SET ascii NOT NULL,
  search_text   LONGTEXT COLLATE utf8mb4_unicode_520_ci NOT NULL,
  version       INT UNSIGNED NOT NULL DEFAULT 1,
  created_at    DATETIME(3) NOT NULL,
  updated_at    DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY pages_slug (municipality, slug),
  UNIQUE KEY pages_translation (municipality, page_key, lang),
  KEY pages_list (municipality, sort_key, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
