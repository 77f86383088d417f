-- funds: funding sources and calls (a municipality's own fund pool, ICLD,
-- EU programmes, Svenska institutet, Nordiska ministerrådet ...).  One row
-- per fund or call.  `status` (upcoming/open/closed) is not stored: it is
-- derived from open_from/open_to and today's date (UTC_DATE()).
--
-- Columns the plugin derives from the item at each write, for the list:
--   sort_open    opens_on, or '' without one: the list is ordered by
--                (sort_open DESC, id DESC), served by funds_list
--   open_from    first day of opens_on's period, NULL without opens_on
--   open_to      last day of closes_on's period, NULL without closes_on
--   search_text  folded texts for `q`

CREATE TABLE funds (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  municipality      VARCHAR(64) CHARACTER SET ascii NOT NULL,
  title             VARCHAR(300) NOT NULL,
  funder_name       VARCHAR(200) NOT NULL,
  funder_kind       VARCHAR(16) CHARACTER SET ascii NOT NULL,
  programme         VARCHAR(200) NULL,
  opens_on          VARCHAR(10) CHARACTER SET ascii NULL,
  closes_on         VARCHAR(10) CHARACTER SET ascii NULL,
  sort_open         VARCHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  open_from         DATE NULL,
  open_to           DATE NULL,
  amount_currency   CHAR(3) CHARACTER SET ascii NULL,
  amount_min        DOUBLE NULL CHECK (amount_min IS NULL OR amount_min >= 0),
  amount_max        DOUBLE NULL CHECK (amount_max IS NULL OR amount_max >= 0),
  eligibility       LONGTEXT NOT NULL DEFAULT '{}' CHECK (JSON_VALID(eligibility)),
  areas             LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(areas)),
  url               VARCHAR(2000) NULL,
  search_text       LONGTEXT COLLATE utf8mb4_unicode_520_ci NOT NULL,
  version           INT UNSIGNED NOT NULL DEFAULT 1,
  created_at        DATETIME(3) NOT NULL,
  updated_at        DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  KEY funds_list (municipality, sort_open, id),
  KEY funds_dates (municipality, open_from, open_to)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
