-- partnerships: twin towns, friendship and cooperation agreements of a
-- municipality with another place.  One row per partnership, the
-- agreements signed within it are rows of partnership_agreements, in the
-- order the editor gave them (position).
--
-- JSON members (other_names, areas, description, signatories) are kept as
-- LONGTEXT checked with JSON_VALID, always a value ('[]' / '{}'), never NULL.
-- Timestamps are UTC (the core sets time_zone = '+00:00', and the plugin writes
-- UTC_TIMESTAMP(3) all the same).
--
-- sort_name and search_text use utf8mb4_unicode_520_ci: case- and
-- accent-insensitive at the primary level, so "chisinau" LIKE-matches
-- "Chișinău", "ukmerge" "Ukmergė", "lodz" "Łódź" and "koge" "Køge"
-- (utf8mb4_unicode_ci, UCA 4.0, keeps ł, ø and đ apart from l, o and d).
-- Letters that expand (ß, æ, œ, þ) are folded by the plugin before they
-- are stored here, and in the query the same way.

CREATE TABLE partnerships (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  municipality  VARCHAR(64) CHARACTER SET ascii NOT NULL,
  partner_name  VARCHAR(200) NOT NULL,
  sort_name     VARCHAR(200) COLLATE utf8mb4_unicode_520_ci NOT NULL,
  other_names   LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(other_names)),
  country       CHAR(2) CHARACTER SET ascii NULL,
  region        VARCHAR(200) NULL,
  wikidata      VARCHAR(12) CHARACTER SET ascii NULL,
  lat           DOUBLE NULL,
  lon           DOUBLE NULL,
  website       VARCHAR(2000) NULL,
  kind          VARCHAR(32) CHARACTER SET ascii NOT NULL,
  status        VARCHAR(16) CHARACTER SET ascii NOT NULL,
  start_date    VARCHAR(10) CHARACTER SET ascii NULL,
  end_date      VARCHAR(10) CHARACTER SET ascii NULL,
  end_reason    TEXT NULL,
  areas         LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(areas)),
  description   LONGTEXT NOT NULL DEFAULT '{}' CHECK (JSON_VALID(description)),
  search_text   LONGTEXT COLLATE utf8mb4_unicode_520_ci NOT NULL,
  version       INT UNSIGNED NOT NULL DEFAULT 1,
  created_at    DATETIME(3) NOT NULL,
  updated_at    DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  KEY partnerships_list (municipality, sort_name, id),
  KEY partnerships_country (municipality, country),
  KEY partnerships_kind (municipality, kind),
  KEY partnerships_status (municipality, status),
  CONSTRAINT partnerships_position CHECK ((lat IS NULL) = (lon IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE partnership_agreements (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  partnership_id  BIGINT UNSIGNED NOT NULL,
  position        INT UNSIGNED NOT NULL,
  date            VARCHAR(10) CHARACTER SET ascii NULL,
  kind            VARCHAR(32) CHARACTER SET ascii NOT NULL,
  title           VARCHAR(500) NULL,
  signatories     LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(signatories)),
  unit            VARCHAR(200) NULL,
  document_url    VARCHAR(2000) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY partnership_agreements_order (partnership_id, position),
  CONSTRAINT partnership_agreements_partnership FOREIGN KEY (partnership_id)
    REFERENCES partnerships (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
