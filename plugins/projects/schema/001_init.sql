-- projects: externally funded work of a municipality (EU, Sida/ICLD,
-- Svenska institutet, Nordiska ministerrådet ...).  One row per project;
-- its funders, partners and half-yearly reports are JSON arrays in the row
-- (always a value, '[]' / '{}', never NULL), as the client wrote them.
--
-- Columns the plugin derives from the item at each write, for the list:
--   sort_start    start_date, or '' without one: the list is ordered by
--                 (sort_start DESC, id DESC), served by projects_list
--   period_from   first day of start_date's period ("2024" -> 2024-01-01),
--   period_to     last day of end_date's period ("2024-02" -> 2024-02-29),
--                 NULL when open; the `active_on` filter reads these two
--   funder_kinds  the distinct funders[].kind, a JSON array, for `funder`
--   search_text   folded texts for `q` (see partnerships/schema/001_init.sql
--                 for why utf8mb4_unicode_520_ci)
--
-- programme is compared case-insensitively but otherwise exactly
-- (LOWER() under utf8mb4_bin), so `programme=interreg` finds "Interreg" but
-- not "Intérreg".  Timestamps are UTC.

CREATE TABLE projects (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  municipality      VARCHAR(64) CHARACTER SET ascii NOT NULL,
  title             VARCHAR(300) NOT NULL,
  acronym           VARCHAR(50) NULL,
  summary           LONGTEXT NOT NULL DEFAULT '{}' CHECK (JSON_VALID(summary)),
  programme         VARCHAR(200) COLLATE utf8mb4_bin NULL,
  funders           LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(funders)),
  funder_kinds      LONGTEXT CHARACTER SET ascii NOT NULL DEFAULT '[]'
                    CHECK (JSON_VALID(funder_kinds)),
  status            VARCHAR(16) CHARACTER SET ascii NOT NULL,
  start_date        VARCHAR(10) CHARACTER SET ascii NULL,
  end_date          VARCHAR(10) CHARACTER SET ascii NULL,
  sort_start        VARCHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  period_from       DATE NULL,
  period_to         DATE NULL,
  budget_total      DOUBLE NULL CHECK (budget_total IS NULL OR budget_total >= 0),
  budget_grant      DOUBLE NULL CHECK (budget_grant IS NULL OR budget_grant >= 0),
  budget_currency   CHAR(3) CHARACTER SET ascii NULL,
  partners          LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(partners)),
  responsible_unit  VARCHAR(200) NULL,
  areas             LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(areas)),
  url               VARCHAR(2000) NULL,
  reports           LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(reports)),
  search_text       LONGTEXT COLLATE utf8mb4_unicode_520_ci NOT NULL,
  version           INT UNSIGNED NOT NULL DEFAULT 1,
  created_at        DATETIME(3) NOT NULL,
  updated_at        DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  KEY projects_list (municipality, sort_start, id),
  KEY projects_status (municipality, status),
  KEY projects_period (municipality, period_from, period_to)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
