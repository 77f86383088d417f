-- visits: delegations that come to the municipality (incoming) or that it
-- sends (outgoing).  One row per visit; its day-by-day programme and the
-- delegation's organisations and countries are JSON members of the row
-- (LONGTEXT checked with JSON_VALID, always a value, never NULL).
--
-- start_date/end_date are partial dates as the client wrote them.  The
-- server derives from them:
--   sort_date     start_date, or '' when unknown: the list's order
--                 (sort_date DESC, id DESC), undated visits last
--   period_start  first day of start_date's period ("2024" -> 2024-01-01)
--   period_end    last day of end_date's period, or of start_date's when
--                 there is no end_date ("2024-09" -> 2024-09-30)
-- from/to filters compare the period with theirs (overlap).
--
-- visit_partnerships repeats partnership_ids as rows, for the
-- `partnership` filter; the core's `links` table holds the same links for
-- the partnerships' side.  project_id is not a foreign key: projects are
-- another plugin's table, checked through the core on write.
--
-- search_text uses utf8mb4_unicode_520_ci (case- and accent-insensitive at
-- the primary level: "jakobsgardsskolan" LIKE-matches "Jakobsgårdsskolan"),
-- filled with the core's search_fold() of title, purpose, outcome,
-- host_unit, the delegation's organisations and the programme's places
-- and descriptions.  Timestamps are UTC.

CREATE TABLE visits (
  id                        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  municipality              VARCHAR(64) CHARACTER SET ascii NOT NULL,
  title                     VARCHAR(300) NOT NULL,
  direction                 VARCHAR(16) CHARACTER SET ascii NOT NULL,
  status                    VARCHAR(16) CHARACTER SET ascii NOT NULL,
  start_date                VARCHAR(10) CHARACTER SET ascii NULL,
  end_date                  VARCHAR(10) CHARACTER SET ascii NULL,
  sort_date                 VARCHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  period_start              DATE NULL,
  period_end                DATE NULL,
  partnership_ids           LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(partnership_ids)),
  project_id                BIGINT UNSIGNED NULL,
  delegation_organisations  LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(delegation_organisations)),
  delegation_countries      LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(delegation_countries)),
  delegation_participants   INT UNSIGNED NULL,
  purpose                   MEDIUMTEXT NULL,
  programme                 LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(programme)),
  host_unit                 VARCHAR(200) NULL,
  cost_amount               DOUBLE NULL,
  cost_currency             CHAR(3) CHARACTER SET ascii NULL,
  outcome                   MEDIUMTEXT NULL,
  public                    TINYINT(1) NOT NULL DEFAULT 1,
  search_text               LONGTEXT COLLATE utf8mb4_unicode_520_ci NOT NULL,
  version                   INT UNSIGNED NOT NULL DEFAULT 1,
  created_at                DATETIME(3) NOT NULL,
  updated_at                DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  KEY visits_list (municipality, sort_date, id),
  KEY visits_period (municipality, period_start, period_end),
  KEY visits_status (municipality, status),
  CONSTRAINT visits_cost CHECK ((cost_amount IS NULL) = (cost_currency IS NULL)),
  CONSTRAINT visits_period_order CHECK (period_start IS NULL OR period_end >= period_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE visit_partnerships (
  visit_id        BIGINT UNSIGNED NOT NULL,
  partnership_id  BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (visit_id, partnership_id),
  KEY visit_partnerships_partnership (partnership_id, visit_id),
  CONSTRAINT visit_partnerships_visit FOREIGN KEY (visit_id)
    REFERENCES visits (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
