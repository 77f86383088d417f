-- Core tables: API tokens and the audit log.  Plugins bring their own
-- migrations; all of them are recorded in schema_migrations, which
-- `portalctl migrate` creates before applying anything.

CREATE TABLE tokens (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  hash          CHAR(64) CHARACTER SET ascii NOT NULL,   -- SHA-256 of the token, hex
  prefix        VARCHAR(16) CHARACTER SET ascii NOT NULL, -- first characters, to tell tokens apart in lists
  municipality  VARCHAR(64) NOT NULL,                    -- a slug, or '*' for all
  role          ENUM('reader','editor','admin') NOT NULL,
  label         VARCHAR(200) NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  revoked_at    DATETIME(3) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY tokens_hash (hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE audit_log (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  at            DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  token_id      BIGINT UNSIGNED NULL,
  municipality  VARCHAR(64) NOT NULL,
  module        VARCHAR(64) NOT NULL,
  item_id       BIGINT UNSIGNED NULL,
  action        VARCHAR(16) NOT NULL,
  request_id    VARCHAR(64) NULL,
  before_doc    LONGTEXT NULL,
  after_doc     LONGTEXT NULL,
  PRIMARY KEY (id),
  KEY audit_item (municipality, module, item_id),
  KEY audit_at (municipality, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
