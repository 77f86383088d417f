-- news: articles a municipality publishes about its international work
-- (a delegation's visit, a new project, a signed agreement).  One row per
-- article; `related` holds the ids of the partnerships, projects and
-- visits it is about (checked by the owning module on every write, and
-- mirrored in the core's `links` table so those items can show the news).
--
-- JSON members (areas, related) are kept as LONGTEXT checked with
-- JSON_VALID, always a value ('[]' / '{}'), never NULL.  Timestamps are
-- UTC (the core sets time_zone = '+00:00', and the plugin writes
-- UTC_TIMESTAMP(3) and UTC published_at all the same).
--
-- sort_at orders the list newest first: published_at, or for a draft
-- without one the end of time, so undated drafts come first.
--
-- search_text uses utf8mb4_unicode_520_ci: case- and accent-insensitive at
-- the primary level, so "chisinau" LIKE-matches "Chișinău" and "borlange"
-- "Borlänge"; letters that expand (ß, æ, œ, þ) are folded by the core's
-- search_fold before they are stored here, and in the query the same way.

CREATE TABLE news (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  municipality  VARCHAR(64) CHARACTER SET ascii NOT NULL,
  slug          VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  title         VARCHAR(300) NOT NULL,
  lead          TEXT NULL,
  body          MEDIUMTEXT NULL,
  lang          VARCHAR(35) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  status        VARCHAR(16) CHARACTER SET ascii NOT NULL,
  published_at  DATETIME NULL,
  sort_at       DATETIME AS (IFNULL(published_at, TIMESTAMP'9999-12-31 23:59:59')) STORED,
  author        VARCHAR(200) NULL,
  areas         LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(areas)),
  related       LONGTEXT NOT NULL DEFAULT '{}' CHECK (JSON_VALID(related)),
  image_url     VARCHAR(2000) NULL,
  image_alt     VARCHAR(500) NULL,
  image_credit  VARCHAR(200) NULL,
  search_text   LONGTEXT COLLATE utf8mb4_unicode_520_ci NOT NULL,
  version       INT UNSIGNED NOT NULL DEFAULT 1,
  created_at    DATETIME(3) NOT NULL,
  updated_at    DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY news_slug (municipality, slug),
  KEY news_list (municipality, sort_at, id),
  CONSTRAINT news_published CHECK (status <> 'published' OR published_at IS NOT NULL),
  CONSTRAINT news_image CHECK ((image_url IS NULL) = (image_alt IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
