-- contacts: the people and units to ask about a municipality's
-- international work, as the municipality publishes them.  One row per
-- contact; languages, areas and links (the ids of the partnerships and
-- projects it answers for, {"partnerships": [...], "projects": [...]}) are
-- JSON members of the row (LONGTEXT checked with JSON_VALID, always a
-- value, never NULL).  The core's `links` table holds
-- the same links for the partnerships' and projects' side; the ids are not
-- foreign keys (other plugins' tables), they are checked through the core
-- on write.
--
-- public = 0 (the default) keeps a contact to tokens of the municipality
-- with role reader or higher.
--
-- search_text uses utf8mb4_unicode_520_ci, filled with the core's
-- search_fold() of name, title and unit.  Timestamps are UTC.

CREATE TABLE contacts (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  municipality     VARCHAR(64) CHARACTER SET ascii NOT NULL,
  name             VARCHAR(200) NOT NULL,
  title            VARCHAR(200) NULL,
  unit             VARCHAR(200) NULL,
  email            VARCHAR(254) NULL,
  phone            VARCHAR(40) NULL,
  languages        LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(languages)),
  areas            LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(areas)),
  links            LONGTEXT NOT NULL DEFAULT '{}' CHECK (JSON_VALID(links)),
  public           TINYINT(1) NOT NULL DEFAULT 0,
  search_text      LONGTEXT COLLATE utf8mb4_unicode_520_ci NOT NULL,
  version          INT UNSIGNED NOT NULL DEFAULT 1,
  created_at       DATETIME(3) NOT NULL,
  updated_at       DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  KEY contacts_list (municipality, name, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
