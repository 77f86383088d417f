-- Links between modules' items (a visit's partnerships, a news item's
-- projects), kept by the core so that no plugin reads another's tables.
-- The source's title, date and public flag are copied here at each write
-- of the source, so a target can list what links to it in one query.

CREATE TABLE links (
  municipality  VARCHAR(64) NOT NULL,
  from_module   VARCHAR(64) NOT NULL,
  from_id       BIGINT UNSIGNED NOT NULL,
  to_module     VARCHAR(64) NOT NULL,
  to_id         BIGINT UNSIGNED NOT NULL,
  title         VARCHAR(500) NOT NULL,
  date          VARCHAR(32) NULL,
  public        TINYINT(1) NOT NULL DEFAULT 1,
  PRIMARY KEY (municipality, from_module, from_id, to_module, to_id),
  KEY links_target (municipality, to_module, to_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
